import { App, Aspects, Stack } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import * as events from 'aws-cdk-lib/aws-events';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import cdkNag from 'cdk-nag';
import { beforeAll, describe, expect, it } from 'vitest';
import { ENV, loadRuntimeConfig } from '../../lambdas/core/config/runtime-config';
import { routeUpload } from '../../lambdas/core/triage/routing';
import { Sandtrap } from '../../lib/sandtrap';
import { SandtrapStack } from '../../lib/sandtrap-stack';
import { SandtrapValidationError } from '../../lib/validation';

const KEY_ARN = 'arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab';
const BUS_ARN = 'arn:aws:events:us-east-1:123456789012:event-bus/security-events';
const ENV_US = { account: '123456789012', region: 'us-east-1' };
const app = () => new App({ context: { 'aws:cdk:bundling-stacks': [] } });

type Statement = { Action: string | string[]; Resource: unknown; Effect: string; Condition?: unknown };
type Resource = { Type: string; Properties: Record<string, unknown> };

/** cdk-nag's unsuppressed findings on a stack, one line each. */
function nagFindings(stack: Stack): string[] {
  const annotations = Annotations.fromStack(stack);
  return [
    ...annotations.findError('*', Match.stringLikeRegexp('AwsSolutions-.*')),
    ...annotations.findWarning('*', Match.stringLikeRegexp('AwsSolutions-.*')),
  ].map((f) => `${f.id}: ${String(f.entry.data).split('\n')[0]}`);
}

/** The statements of the policies attached to the role of a function whose logical id starts with `prefix`. */
function functionStatements(template: Template, prefix: RegExp): Statement[] {
  const fns = template.findResources('AWS::Lambda::Function');
  const [, fn] = Object.entries(fns).find(([id]) => prefix.test(id)) ?? [];
  if (!fn) throw new Error(`no function ${prefix}`);
  const roleId = (fn.Properties.Role as { 'Fn::GetAtt': [string] })['Fn::GetAtt'][0];
  return Object.values(template.findResources('AWS::IAM::Policy'))
    .filter((p) => JSON.stringify(p.Properties.Roles).includes(`"${roleId}"`))
    .flatMap((p) => p.Properties.PolicyDocument.Statement);
}

/** The environment variables of the function whose logical id starts with `prefix`. */
function functionEnvironment(template: Template, prefix: string): Record<string, unknown> {
  const fn = Object.entries(template.findResources('AWS::Lambda::Function')).find(([id]) => id.startsWith(prefix))?.[1];
  if (!fn) throw new Error(`no function ${prefix}`);
  return (fn.Properties.Environment as { Variables: Record<string, unknown> }).Variables;
}

const resourcesFor = (statements: Statement[], action: string) =>
  statements.filter((s) => [s.Action].flat().includes(action)).flatMap((s) => [s.Resource].flat());

/** `arn:${Partition}:s3:::name/pattern` as CDK renders an imported bucket's object ARN. */
const objectArn = (bucket: string, pattern: string) => ({
  'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, `:s3:::${bucket}/${pattern}`]],
});

/**
 * Issue #16's acceptance app, in CDK assertions: an app that already has a bus and two buckets
 * attaches both, one SSE-KMS with prefixes and a confidential disclosure rule, with cdk-nag on.
 */
describe('a Sandtrap attached to two imported buckets and its own bus', () => {
  let stack: SandtrapStack;
  let template: Template;
  let scanner: iam.Role;
  let releaser: iam.Role;
  beforeAll(() => {
    const a = app();
    const shared = new Stack(a, 'Shared', { env: ENV_US });
    const bus = events.EventBus.fromEventBusArn(shared, 'Bus', BUS_ARN);
    stack = new SandtrapStack(a, 'Sandtrap', {
      env: ENV_US,
      eventBus: bus,
      config: {
        settings: {
          vendors: [
            { id: 'cape', baseUrl: 'https://cape.example.org', secret: { env: 'CAPE_KEY' } },
            { id: 'triage', baseUrl: 'https://tria.ge', secret: { env: 'TRIAGE_KEY' } },
          ],
        },
      },
    });
    const mail = s3.Bucket.fromBucketAttributes(stack, 'Mail', {
      bucketName: 'acme-mail-attachments',
      encryptionKey: kms.Key.fromKeyArn(stack, 'MailKey', KEY_ARN),
    });
    const builds = s3.Bucket.fromBucketName(stack, 'Builds', 'acme-build-artefacts');
    stack.addSource(mail, { prefixes: ['inbound/', 'quarantine-review/'], confidential: true, vendors: ['cape'] });
    stack.addSource(builds);
    scanner = new iam.Role(stack, 'Scanner', { assumedBy: new iam.AccountRootPrincipal() });
    releaser = new iam.Role(stack, 'Releaser', { assumedBy: new iam.AccountRootPrincipal() });
    stack.grantScan(scanner);
    stack.grantRelease(releaser);
    Aspects.of(a).add(new cdkNag.AwsSolutionsChecks({ verbose: true }));
    template = Template.fromStack(stack);
  }, 180_000);

  it("synthesizes with cdk-nag on and nothing unsuppressed but on the app's own grantees", () => {
    // The roles granted scan and release are the app's: the wildcard object ARNs a release needs
    // (any key under a source's prefixes) are findings on them, the app's to accept, not Sandtrap's.
    const findings = nagFindings(stack);
    const onGrantees = findings.filter((f) => /^\/Sandtrap\/(Scanner|Releaser)\//.test(f));
    expect(findings.filter((f) => !onGrantees.includes(f))).toEqual([]);
    for (const finding of onGrantees) expect(finding).toMatch(/AwsSolutions-IAM5\[Resource::.*\*\]/);
  });

  it('grants every function that reads samples read on exactly the prefixes of each bucket, and kms:Decrypt on the SSE-KMS one', () => {
    for (const fn of [
      /^WorkflowTriageFn/,
      /^WorkflowVendorSubmitFn/,
      /^WorkflowPrepareDetonationFn/,
      /^WorkflowStaticFn/,
    ]) {
      const statements = functionStatements(template, fn);
      const reads = resourcesFor(statements, 's3:GetObject');
      expect(reads, String(fn)).toEqual(
        expect.arrayContaining([
          objectArn('acme-mail-attachments', 'inbound/*'),
          objectArn('acme-mail-attachments', 'quarantine-review/*'),
          objectArn('acme-build-artefacts', '*'),
        ]),
      );
      // Never the whole of the prefixed bucket.
      expect(reads).not.toContainEqual(objectArn('acme-mail-attachments', '*'));
      expect(resourcesFor(statements, 'kms:Decrypt'), String(fn)).toContain(KEY_ARN);
    }
    // Finalize tags, and tagging needs no key: no decrypt where nothing is read.
    const finalize = functionStatements(template, /^WorkflowFinalizeFn/);
    expect(resourcesFor(finalize, 's3:PutObjectTagging')).toEqual(
      expect.arrayContaining([objectArn('acme-mail-attachments', 'inbound/*'), objectArn('acme-build-artefacts', '*')]),
    );
    expect(resourcesFor(finalize, 'kms:Decrypt')).not.toContain(KEY_ARN);
  });

  it('switches EventBridge notifications on for each imported bucket, keeping its other notifications', () => {
    const notifications = Object.values(template.findResources('Custom::S3BucketNotifications')) as Resource[];
    const imported = notifications.filter((n) => typeof n.Properties.BucketName === 'string');
    expect(imported.map((n) => n.Properties.BucketName).sort()).toEqual([
      'acme-build-artefacts',
      'acme-mail-attachments',
    ]);
    for (const n of imported) {
      // Managed false: the handler merges with the bucket's existing configuration instead of replacing it.
      expect(n.Properties.Managed).toBe(false);
      expect(n.Properties.NotificationConfiguration).toEqual({ EventBridgeConfiguration: {} });
    }
  });

  it("starts analyses from one rule per bucket, matching the source's prefixes", () => {
    const patterns = Object.values(template.findResources('AWS::Events::Rule'))
      .map((r) => r.Properties.EventPattern)
      .filter((p) => p?.['detail-type']?.[0] === 'Object Created');
    const byBucket = Object.fromEntries(
      patterns.map((p) => [JSON.stringify(p.detail.bucket.name[0]), p.detail.object?.key ?? null]),
    );
    expect(byBucket['"acme-mail-attachments"']).toEqual([{ prefix: 'inbound/' }, { prefix: 'quarantine-review/' }]);
    expect(byBucket['"acme-build-artefacts"']).toBeNull();
    expect(patterns).toHaveLength(3);
  });

  it("lets the detonation download from each bucket through the S3 endpoint and resolve each bucket's name", () => {
    const endpoint = Object.values(template.findResources('AWS::EC2::VPCEndpoint')).find(
      (e) => e.Properties.VpcEndpointType === 'Gateway',
    );
    const read = endpoint?.Properties.PolicyDocument.Statement.find((s: { Sid: string }) => s.Sid === 'ReadSamples');
    expect(read.Resource).toEqual(
      expect.arrayContaining([objectArn('acme-mail-attachments', '*'), objectArn('acme-build-artefacts', '*')]),
    );
    const domains = JSON.stringify(template.findResources('AWS::Route53Resolver::FirewallDomainList'));
    expect(domains).toContain('acme-mail-attachments.s3.');
    expect(domains).toContain('acme-build-artefacts.s3.');
  });

  it("carries the confidential source's rule to the functions, whose routing then withholds the vendors it does not name", () => {
    const raw = functionEnvironment(template, 'WorkflowTriageFn');
    // Tokens (the table, the bus) resolve to placeholders: the settings are what matter here.
    const env = Object.fromEntries(Object.entries(raw).map(([k, v]) => [k, flatten(v)]));
    const config = loadRuntimeConfig(env as NodeJS.ProcessEnv);
    const confidential = routeUpload(
      { bucket: 'acme-mail-attachments', key: 'inbound/invoice.pdf', size: 1000, sha256: 'a'.repeat(64) } as never,
      config,
    );
    expect(confidential.withheld.map((w) => w.engine)).toEqual(['triage']);
    expect(confidential.engines).toContain('cape');
    const open = routeUpload(
      { bucket: 'acme-build-artefacts', key: 'release/tool.bin', size: 1000, sha256: 'b'.repeat(64) } as never,
      config,
    );
    expect(open.withheld).toEqual([]);
    expect(env[ENV.settings]).toContain('acme-mail-attachments');
  });

  it('sweeps the unfinished uploads of every source', () => {
    const sources = flatten(functionEnvironment(template, 'RedriveSweepSweepFn').SANDTRAP_SWEEP_SOURCES);
    expect(JSON.parse(sources)).toEqual([
      { bucket: 'REF', prefixes: [''] },
      { bucket: 'acme-mail-attachments', prefixes: ['inbound/', 'quarantine-review/'] },
      { bucket: 'acme-build-artefacts', prefixes: [''] },
    ]);
  });

  it('gives backfills the listing of each source (its prefixes only) and releases the key of the SSE-KMS one', () => {
    const policies = (role: iam.Role) => {
      const roleId = stack.getLogicalId(role.node.defaultChild as iam.CfnRole);
      return Object.values(template.findResources('AWS::IAM::Policy'))
        .filter((p) => JSON.stringify(p.Properties.Roles).includes(roleId))
        .flatMap((p) => p.Properties.PolicyDocument.Statement as Statement[]);
    };
    const lists = policies(scanner).filter((s) => [s.Action].flat().includes('s3:ListBucket'));
    expect(lists.map((s) => s.Condition ?? null)).toEqual([
      null,
      { StringLike: { 's3:prefix': ['inbound/*', 'quarantine-review/*'] } },
      null,
    ]);
    expect(resourcesFor(policies(releaser), 'kms:Decrypt')).toEqual([KEY_ARN]);
    // Each source's prefixes: the ingest bucket's one, the mail bucket's two, the build bucket's one.
    expect(resourcesFor(policies(releaser), 's3:PutObjectTagging')).toHaveLength(4);
  });
});

/** A token rendered as CloudFormation, flattened to a string: references become `REF`. */
function flatten(value: unknown): string {
  if (typeof value === 'string') return value;
  if (value && typeof value === 'object') {
    const v = value as Record<string, unknown>;
    if ('Fn::Join' in v) {
      const [sep, parts] = v['Fn::Join'] as [string, unknown[]];
      return parts.map(flatten).join(sep);
    }
    if ('Ref' in v || 'Fn::GetAtt' in v) return 'REF';
  }
  return JSON.stringify(value);
}

describe('attaching sources: what is refused, naming the bucket', () => {
  const stackWith = (config = {}) => new SandtrapStack(app(), 'Sandtrap', { env: ENV_US, config });
  const cheap = { settings: { static: { enabled: false }, detonation: { enabled: false } } };

  it('refuses a bucket attached twice, more prefixes than the limit, and wildcard or absolute prefixes', () => {
    const stack = stackWith(cheap);
    const bucket = s3.Bucket.fromBucketName(stack, 'Uploads', 'acme-uploads');
    stack.addSource(bucket);
    expect(() => stack.addSource(s3.Bucket.fromBucketName(stack, 'Again', 'acme-uploads'))).toThrow(
      /^Sandtrap: source acme-uploads: is attached twice/,
    );
    const other = s3.Bucket.fromBucketName(stack, 'Other', 'acme-other');
    const prefixes = Array.from({ length: 11 }, (_, i) => `p${i}/`);
    expect(() => stack.addSource(other, { prefixes })).toThrow(/source acme-other: at most 10 prefixes, got 11/);
    expect(() => stack.addSource(other, { prefixes: ['in/*'] })).toThrow(/must not contain \* or \?/);
    expect(() => stack.addSource(other, { prefixes: ['/in/'] })).toThrow(/must not start with "\/"/);
    expect(() => stack.addSource(other, { vendors: ['nobody' as never] })).toThrow(/vendor "nobody" is not one of/);
  });

  it('refuses a bucket of another account unless its owner forwards the events, and then changes nothing on it', () => {
    const stack = stackWith(cheap);
    const theirs = s3.Bucket.fromBucketAttributes(stack, 'Theirs', {
      bucketName: 'partner-drop',
      account: '210987654321',
    });
    let error: unknown;
    try {
      stack.addSource(theirs);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(SandtrapValidationError);
    expect((error as Error).message).toMatch(
      /^Sandtrap: source partner-drop: is in account 210987654321, not 123456789012: .*eventBridge: 'enabled-by-owner'/,
    );
    stack.addSource(theirs, { eventBridge: 'enabled-by-owner' });
    const notifications = Object.values(Template.fromStack(stack).findResources('Custom::S3BucketNotifications'));
    expect(notifications.map((n) => n.Properties.BucketName)).not.toContain('partner-drop');
  });

  it('refuses an imported bucket under read-blocking unless its owner applies the statements, which it hands out', () => {
    const stack = stackWith({ ...cheap, actions: { readBlocking: { enabled: true } } });
    const uploads = s3.Bucket.fromBucketName(stack, 'Uploads', 'acme-uploads');
    expect(() => stack.addSource(uploads)).toThrow(
      /source acme-uploads: read-blocking needs deny statements in the bucket's policy, which this app does not own/,
    );
    stack.addSource(uploads, { readBlockingAppliedByOwner: true });
    const statements = stack.sandtrap.readBlockingStatements(uploads).map((s) => stack.resolve(s.toStatementJson()));
    expect(statements.map((s) => s.Sid)).toEqual([
      'DenyReadUntilVerdictBenign',
      'DenyVerdictTagsOnUpload',
      'DenyCopiesFromOtherBuckets',
      'DenyTagChangesButPipeline',
    ]);
    expect(JSON.stringify(statements[0].Resource)).toContain('acme-uploads/*');
    // No bucket policy is made for the imported bucket: it would replace the owner's.
    const policies = Object.values(Template.fromStack(stack).findResources('AWS::S3::BucketPolicy'));
    expect(policies.map((p) => p.Properties.Bucket)).not.toContain('acme-uploads');
  });

  it("puts the deny statements on a bucket of the app's own, attached after construction", () => {
    const stack = stackWith({ ...cheap, actions: { readBlocking: { enabled: true } } });
    const own = new s3.Bucket(stack, 'TeamUploads', { enforceSSL: true });
    stack.addSource(own, { prefixes: ['drop/'] });
    const policies = Object.values(Template.fromStack(stack).findResources('AWS::S3::BucketPolicy'));
    const onOwn = policies.find((p) => JSON.stringify(p.Properties.Bucket).includes('TeamUploads'));
    const sids = onOwn?.Properties.PolicyDocument.Statement.map((s: { Sid?: string }) => s.Sid);
    expect(sids).toEqual(expect.arrayContaining(['DenyReadUntilVerdictBenign', 'DenyTagChangesButPipeline']));
  });
});

describe('a Sandtrap without an ingest bucket of its own, embedded under other ids', () => {
  let stack: Stack;
  let sandtrap: Sandtrap;
  beforeAll(() => {
    const a = app();
    stack = new Stack(a, 'SecurityTooling', { env: ENV_US });
    const uploads = new s3.Bucket(stack, 'WebUploads', {
      enforceSSL: true,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      serverAccessLogsPrefix: 'logs/',
      versioned: true,
    });
    sandtrap = new Sandtrap(stack, 'Scanner', {
      ingestBucket: false,
      sources: [{ bucket: uploads, prefixes: ['incoming/'] }],
      config: { settings: { static: { enabled: false } } },
    });
    // The app's own resource with a finding of its own (no SSL enforced): it must still be reported.
    new s3.Bucket(stack, 'Careless', {
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      serverAccessLogsPrefix: 'logs/',
    });
    Aspects.of(a).add(new cdkNag.AwsSolutionsChecks({ verbose: true }));
  }, 180_000);

  it("keeps every suppression to Sandtrap's own resources: the app's finding is reported, none of Sandtrap's", () => {
    const findings = nagFindings(stack);
    expect(findings.length).toBeGreaterThan(0);
    for (const finding of findings) expect(finding).toMatch(/^\/SecurityTooling\/Careless\//);
  });

  it('makes no ingest bucket, inventory or submit grant, and still sweeps and triggers on the source', () => {
    const template = Template.fromStack(stack);
    expect(sandtrap.ingestBucket).toBeUndefined();
    expect(sandtrap.buckets.inventory).toBeUndefined();
    const buckets = Object.keys(template.findResources('AWS::S3::Bucket'));
    expect(buckets.some((id) => id.includes('Ingest') || id.includes('Inventory'))).toBe(false);
    const variables = functionEnvironment(template, 'ScannerRedriveSweepSweepFn');
    expect(variables.SANDTRAP_INVENTORY_BUCKET).toBeUndefined();
    expect(variables.SANDTRAP_INGEST_BUCKET).toBeUndefined();
    expect(JSON.parse(flatten(variables.SANDTRAP_SWEEP_SOURCES))).toEqual([{ bucket: 'REF', prefixes: ['incoming/'] }]);
    const grantee = new iam.Role(stack, 'Submitter', { assumedBy: new iam.AccountRootPrincipal() });
    expect(() => sandtrap.grantSubmit(grantee)).toThrow(
      /^SecurityTooling\/Scanner: grantSubmit needs the ingest bucket, and this Sandtrap has none/,
    );
  });
});

describe("the configuration file's sources", () => {
  it('attaches each named bucket, with its key and prefixes, to the stack', () => {
    const stack = new SandtrapStack(app(), 'Sandtrap', {
      env: ENV_US,
      config: {
        settings: { static: { enabled: false }, detonation: { enabled: false } },
        sources: [{ bucket: 'acme-mail-attachments', prefixes: ['inbound/'], kmsKeyArn: KEY_ARN, confidential: true }],
      },
    });
    expect(stack.sandtrap.sources.map((s) => [s.bucket.bucketName, s.prefixes, s.encryptionKey?.keyArn])).toEqual([
      [expect.anything(), [''], undefined],
      ['acme-mail-attachments', ['inbound/'], KEY_ARN],
    ]);
    const triage = functionStatements(Template.fromStack(stack), /^WorkflowTriageFn/);
    expect(resourcesFor(triage, 'kms:Decrypt')).toContain(KEY_ARN);
  });

  it('refuses a source that is not a bucket name, naming the field', () => {
    expect(
      () => new SandtrapStack(app(), 'Sandtrap', { config: { sources: [{ bucket: 'Not A Bucket' }] } as never }),
    ).toThrow(/sources\[0\]\.bucket|sources\.0\.bucket/);
  });
});
