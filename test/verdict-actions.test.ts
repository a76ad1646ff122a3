import { describe, expect, it } from 'vitest';
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { HeadObjectCommand, PutObjectCommand, PutObjectTaggingCommand } from '@aws-sdk/client-s3';
import { getObjectTags } from '../lambdas/core/store/objects';
import { DETAIL_TYPE_VERDICT, SampleVerdictDetailSchema, TAG_VERDICT } from '../lambdas/core/contracts/pipeline';
import { sessionsOfRoleArn } from '../lib/read-blocking';
import { SandtrapStack } from '../lib/sandtrap-stack';
import { CapeEmulator } from '../emulators/cape';
import { startVendorHarness } from './support';

const ADMIN = 'arn:aws:iam::123456789012:role/SecurityAnalyst';

describe('acting on verdicts', () => {
  it('names the sessions of an admin role by its name, without its path', () => {
    expect(sessionsOfRoleArn('arn:aws:iam::123456789012:role/soc/tier2/Analyst')).toBe(
      'arn:aws:sts::123456789012:assumed-role/Analyst/*',
    );
    expect(sessionsOfRoleArn('arn:aws-cn:iam::123456789012:role/Analyst')).toBe(
      'arn:aws-cn:sts::123456789012:assumed-role/Analyst/*',
    );
    expect(sessionsOfRoleArn('arn:aws:iam::123456789012:user/alice')).toBeUndefined();
  });

  it('denies reading unverdicted or non-benign objects to everyone but the pipeline and admin roles', () => {
    const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
    const stack = new SandtrapStack(app, 'Blocking', {
      config: { actions: { readBlocking: { enabled: true, adminRoleArns: [ADMIN] } } },
    });
    const policies = Object.values(Template.fromStack(stack).findResources('AWS::S3::BucketPolicy'));
    const deny = policies
      .flatMap((p) => p.Properties.PolicyDocument.Statement)
      .find((s: { Sid?: string }) => s.Sid === 'DenyReadUntilVerdictBenign');
    expect(deny).toMatchObject({
      Effect: 'Deny',
      Principal: { AWS: '*' },
      Action: ['s3:GetObject', 's3:GetObjectVersion'],
    });
    expect(deny.Condition.StringNotEquals).toEqual({ 's3:ExistingObjectTag/sandtrap:verdict': 'benign' });
    const allowed = deny.Condition.ArnNotLike['aws:PrincipalArn'] as unknown[];
    expect(allowed).toContain(ADMIN);
    // The role's sessions too, for emulators that evaluate aws:PrincipalArn as the session's ARN.
    expect(allowed).toContain('arn:aws:sts::123456789012:assumed-role/SecurityAnalyst/*');
    // Every pipeline function's role and its sessions may still read (Triage hashes, vendors stream, detonation presigns).
    const functions = Object.keys(stack.workflow.functions).length;
    const tokens = allowed.filter((a) => typeof a === 'object').map((a) => JSON.stringify(a));
    expect(tokens.filter((t) => t.includes('"Arn"'))).toHaveLength(functions);
    expect(tokens.filter((t) => t.includes(':assumed-role/'))).toHaveLength(functions);
  });

  it('lets only the pipeline and admin roles write sandtrap tags: no tagged uploads, tag changes or copies in from elsewhere', () => {
    const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
    const stack = new SandtrapStack(app, 'TagGuard', {
      config: { actions: { readBlocking: { enabled: true, adminRoleArns: [ADMIN] } } },
    });
    const statements = Object.values(Template.fromStack(stack).findResources('AWS::S3::BucketPolicy')).flatMap(
      (p) => p.Properties.PolicyDocument.Statement,
    );
    const bySid = (sid: string) => statements.find((s: { Sid?: string }) => s.Sid === sid);
    const read = bySid('DenyReadUntilVerdictBenign');
    const exempt = read.Condition.ArnNotLike['aws:PrincipalArn'];

    const tagged = bySid('DenyVerdictTagsOnUpload');
    expect(tagged).toMatchObject({ Effect: 'Deny', Principal: { AWS: '*' }, Action: 's3:PutObject' });
    expect(tagged.Condition['ForAnyValue:StringLike']).toEqual({ 's3:RequestObjectTagKeys': 'sandtrap:*' });
    expect(tagged.Condition.ArnNotLike['aws:PrincipalArn']).toEqual(exempt);

    // Unconditioned but for the exemption: a tag call replaces the whole set, so any would do.
    const changes = bySid('DenyTagChangesButPipeline');
    expect(changes).toMatchObject({ Effect: 'Deny', Principal: { AWS: '*' } });
    expect(changes.Action).toEqual(
      expect.arrayContaining(['s3:PutObjectTagging', 's3:PutObjectVersionTagging', 's3:DeleteObjectTagging']),
    );
    expect(Object.keys(changes.Condition)).toEqual(['ArnNotLike']);
    expect(changes.Condition.ArnNotLike['aws:PrincipalArn']).toEqual(exempt);
    expect(exempt).toContain(ADMIN);

    const copies = bySid('DenyCopiesFromOtherBuckets');
    expect(copies).toMatchObject({ Effect: 'Deny', Action: 's3:PutObject' });
    expect(copies.Condition.Null).toEqual({ 's3:x-amz-copy-source': 'false' });
    expect(JSON.stringify(copies.Condition.StringNotLike)).toContain('/*');
  });

  it('opens objects no engine could judge only when the configuration says unknown: allow', () => {
    const condition = (unknown?: 'allow' | 'block') => {
      const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
      const stack = new SandtrapStack(app, `Unknown${unknown ?? 'Default'}`, {
        config: { actions: { readBlocking: { enabled: true, ...(unknown ? { unknown } : {}) } } },
      });
      return Object.values(Template.fromStack(stack).findResources('AWS::S3::BucketPolicy'))
        .flatMap((p) => p.Properties.PolicyDocument.Statement)
        .find((s: { Sid?: string }) => s.Sid === 'DenyReadUntilVerdictBenign').Condition.StringNotEquals;
    };
    expect(condition()).toEqual({ 's3:ExistingObjectTag/sandtrap:verdict': 'benign' });
    expect(condition('block')).toEqual({ 's3:ExistingObjectTag/sandtrap:verdict': 'benign' });
    expect(condition('allow')).toEqual({ 's3:ExistingObjectTag/sandtrap:verdict': ['benign', 'unknown'] });
  });

  describe('quarantine, through the local state machine', () => {
    it('moves a malicious object, with its tags, to the quarantine bucket and says where in the event', async () => {
      const q = await startVendorHarness(
        (clock) => new CapeEmulator({ clock, queueSeconds: 5, processingSeconds: 10 }),
        {},
        {},
        {},
        { actions: { quarantine: { enabled: true } } },
      );
      try {
        const quarantine = q.pipeline.plan.buckets.all.find((b) => b.includes('quarantine'));
        expect(quarantine).toBeDefined();
        const bad = await q.pipeline.upload({ key: 'mail/bad.js', body: '// SANDTRAP-TEST-MALICIOUS' });
        const good = await q.pipeline.upload({ key: 'mail/good.js', body: '// nothing to see' });
        await q.pipeline.run(bad);
        await q.pipeline.run(good);
        const details = q.pipeline.events(DETAIL_TYPE_VERDICT).map((e) => SampleVerdictDetailSchema.parse(e.detail));
        const badDetail = details.find((d) => d.key === 'mail/bad.js');
        expect(badDetail).toMatchObject({
          verdict: 'malicious',
          quarantinedTo: { bucket: quarantine, key: 'mail/bad.js' },
        });
        expect(details.find((d) => d.key === 'mail/good.js')?.quarantinedTo).toBeUndefined();
        const s3 = q.pipeline.clients.s3;
        await expect(
          s3.send(new HeadObjectCommand({ Bucket: q.pipeline.plan.buckets.ingest, Key: 'mail/bad.js' })),
        ).rejects.toMatchObject({ name: 'NotFound' });
        expect((await getObjectTags(s3, { bucket: quarantine as string, key: 'mail/bad.js' }))[TAG_VERDICT]).toBe(
          'malicious',
        );
        await expect(
          s3.send(new HeadObjectCommand({ Bucket: q.pipeline.plan.buckets.ingest, Key: 'mail/good.js' })),
        ).resolves.toBeDefined();
      } finally {
        await q.stop();
      }
    }, 120_000);
  });

  describe("the owner's tags, through the local state machine", () => {
    it('keeps all ten of an object’s own tags, and the event and the record say it got no verdict tag', async () => {
      const h = await startVendorHarness(
        (clock) => new CapeEmulator({ clock, queueSeconds: 5, processingSeconds: 10 }),
      );
      try {
        const s3 = h.pipeline.clients.s3;
        const bucket = h.pipeline.plan.buckets.ingest;
        const owners = Object.fromEntries(Array.from({ length: 10 }, (_, i) => [`team-${i}`, `v${i}`]));
        const upload = async (key: string, tags: Record<string, string>) => {
          const body = `// ${key}\n`;
          const put = await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body }));
          // The owner's tags, as an upload's `x-amz-tagging` would set them (s3rver ignores that header).
          await s3.send(
            new PutObjectTaggingCommand({
              Bucket: bucket,
              Key: key,
              Tagging: { TagSet: Object.entries(tags).map(([Key, Value]) => ({ Key, Value })) },
            }),
          );
          return h.pipeline.objectCreatedEvent(
            key,
            Buffer.byteLength(body),
            put.ETag?.replace(/"/g, ''),
            put.VersionId,
          );
        };
        const full = await upload('team/full.txt', owners);
        const roomy = await upload('team/roomy.txt', { team: 'blue' });
        expect((await h.pipeline.run(full)).status).toBe('SUCCEEDED');
        expect((await h.pipeline.run(roomy)).status).toBe('SUCCEEDED');

        expect(await getObjectTags(s3, { bucket, key: 'team/full.txt' })).toEqual(owners);
        expect(await getObjectTags(s3, { bucket, key: 'team/roomy.txt' })).toMatchObject({
          team: 'blue',
          [TAG_VERDICT]: 'benign',
        });
        const details = h.pipeline.events(DETAIL_TYPE_VERDICT).map((e) => SampleVerdictDetailSchema.parse(e.detail));
        expect(details.find((d) => d.key === 'team/full.txt')?.tagging).toEqual({
          status: 'untagged',
          reason: 'tag-limit',
        });
        expect(details.find((d) => d.key === 'team/roomy.txt')?.tagging).toEqual({ status: 'tagged' });
        const record = await h.pipeline.deps('FinalizeFn').store.getObjectRecord({
          bucket,
          key: 'team/full.txt',
          uploadId: full.detail.object['version-id'] ?? full.detail.object.sequencer ?? '',
        });
        expect(record).toMatchObject({ status: 'verdict', tagging: { status: 'untagged', reason: 'tag-limit' } });
      } finally {
        await h.stop();
      }
    }, 120_000);
  });
});
