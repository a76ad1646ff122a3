import { beforeAll, describe, expect, it } from 'vitest';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { FUNCTION_IDS, NODE_FUNCTION_IDS } from '../../lib/steps';
import { SandtrapStack } from '../../lib/sandtrap-stack';
import { STATES, STATIC_TRANSIENT_ERROR } from '../../lib/workflow';
import { localPlanOf, type CfnTemplate } from '../../local/template';
import { allStates } from '../../local/definition';

const config = {
  engineConcurrency: 4,
  ingestPrefix: 'incoming/',
  settings: { cacheTtlSeconds: 86_400, vendors: [{ id: 'cape' as const, baseUrl: 'https://cape.example.org/apiv2/' }] },
};

function synth(): Template {
  const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
  return Template.fromStack(new SandtrapStack(app, 'Sandtrap', { config }));
}

describe('SandtrapStack', () => {
  let template: Template;
  let json: CfnTemplate;
  beforeAll(() => {
    template = synth();
    json = template.toJSON() as CfnTemplate;
  });

  it('creates an ingest bucket that sends events to EventBridge, blocks public access, encrypts and versions', () => {
    template.hasResourceProperties('AWS::S3::Bucket', {
      PublicAccessBlockConfiguration: {
        BlockPublicAcls: true,
        BlockPublicPolicy: true,
        IgnorePublicAcls: true,
        RestrictPublicBuckets: true,
      },
      BucketEncryption: {
        ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }],
      },
      VersioningConfiguration: { Status: 'Enabled' },
      LoggingConfiguration: { LogFilePrefix: 'ingest/' },
      LifecycleConfiguration: {
        Rules: Match.arrayWith([Match.objectLike({ NoncurrentVersionExpiration: { NoncurrentDays: 30 } })]),
      },
    });
    template.hasResourceProperties('Custom::S3BucketNotifications', {
      NotificationConfiguration: { EventBridgeConfiguration: {} },
    });
  });

  it('denies every request to the buckets that does not use TLS', () => {
    const policies = template.findResources('AWS::S3::BucketPolicy');
    // Access logs, ingest, reports, inventory.
    expect(Object.keys(policies)).toHaveLength(4);
    for (const policy of Object.values(policies)) {
      expect(policy.Properties.PolicyDocument.Statement).toEqual(
        expect.arrayContaining([
          expect.objectContaining({
            Effect: 'Deny',
            Action: 's3:*',
            Condition: { Bool: { 'aws:SecureTransport': 'false' } },
          }),
        ]),
      );
    }
  });

  it('expires reports after the retention period', () => {
    template.hasResourceProperties('AWS::S3::Bucket', {
      LoggingConfiguration: { LogFilePrefix: 'reports/' },
      LifecycleConfiguration: { Rules: Match.arrayWith([Match.objectLike({ ExpirationInDays: 365 })]) },
    });
  });

  it('starts the Express front on Object Created events of the ingest bucket under the prefix; the front starts the Standard workflow', () => {
    // The trigger is the one rule with an event pattern (the sweep's rule runs on a schedule).
    const rules = Object.values(template.findResources('AWS::Events::Rule')).filter((r) => r.Properties.EventPattern);
    expect(rules).toHaveLength(1);
    const [rule] = rules;
    expect(rule?.Properties.EventPattern).toEqual({
      source: ['aws.s3'],
      'detail-type': ['Object Created'],
      detail: {
        bucket: { name: [{ Ref: expect.stringMatching(/^BucketsIngestBucket/) }] },
        object: { key: [{ prefix: 'incoming/' }] },
      },
    });
    const target = rule?.Properties.Targets[0];
    expect(target.Arn.Ref).toMatch(/^WorkflowFrontStateMachine/);
    expect(target.DeadLetterConfig.Arn['Fn::GetAtt'][0]).toMatch(/^IngestTriggerDeadLetters/);
    // The Standard workflow keeps its own history: it logs failures only, the front every state.
    template.hasResourceProperties('AWS::StepFunctions::StateMachine', {
      StateMachineType: 'STANDARD',
      TracingConfiguration: { Enabled: true },
      LoggingConfiguration: Match.objectLike({ Level: 'ERROR', IncludeExecutionData: false }),
    });
    template.hasResourceProperties('AWS::StepFunctions::StateMachine', {
      StateMachineType: 'EXPRESS',
      TracingConfiguration: { Enabled: true },
      LoggingConfiguration: Match.objectLike({ Level: 'ALL', IncludeExecutionData: false }),
    });
    // The front may start the Standard workflow and nothing else.
    const frontPolicy = Object.values(template.findResources('AWS::IAM::Policy')).find((p) =>
      JSON.stringify(p.Properties.Roles).includes('WorkflowFrontStateMachineRole'),
    );
    const starts = frontPolicy?.Properties.PolicyDocument.Statement.filter((s: { Action: unknown }) =>
      JSON.stringify(s.Action).includes('states:'),
    );
    expect(starts).toEqual([
      expect.objectContaining({
        Action: 'states:StartExecution',
        Resource: { Ref: expect.stringMatching(/^WorkflowStateMachine/) },
      }),
    ]);
  });

  it('stores verdicts in an on-demand table with point-in-time recovery and a TTL attribute', () => {
    template.hasResourceProperties('AWS::DynamoDB::Table', {
      BillingMode: 'PAY_PER_REQUEST',
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
      TimeToLiveSpecification: { AttributeName: 'expiresAt', Enabled: true },
      KeySchema: [
        { AttributeName: 'pk', KeyType: 'HASH' },
        { AttributeName: 'sk', KeyType: 'RANGE' },
      ],
    });
  });

  it('publishes verdicts on a custom bus named sandtrap', () => {
    template.hasResourceProperties('AWS::Events::EventBus', { Name: 'sandtrap' });
  });

  it('runs every function on ARM64, traced: the Node ones on Node.js 22 with Powertools settings, the static engine on Python 3.12', () => {
    const functions = Object.values(template.findResources('AWS::Lambda::Function')).filter(
      (f) => f.Properties.Environment?.Variables?.SANDTRAP_TABLE,
    );
    expect(functions).toHaveLength(FUNCTION_IDS.length);
    const python = functions.filter((f) => f.Properties.Runtime !== 'nodejs22.x');
    expect(python.map((f) => f.Properties)).toEqual([
      expect.objectContaining({
        Runtime: 'python3.12',
        Handler: 'sandtrap_static.lambda_function.handler',
        Architectures: ['arm64'],
        TracingConfig: { Mode: 'Active' },
      }),
    ]);
    for (const fn of functions.filter((f) => !python.includes(f))) {
      expect(fn.Properties).toMatchObject({
        Runtime: 'nodejs22.x',
        Architectures: ['arm64'],
        TracingConfig: { Mode: 'Active' },
      });
      expect(fn.Properties.Environment.Variables).toMatchObject({ POWERTOOLS_SERVICE_NAME: 'sandtrap' });
    }
  });

  it('keeps one Secrets Manager secret per vendor and lets only the vendor functions read it', () => {
    template.resourceCountIs('AWS::SecretsManager::Secret', 1);
    const readers = Object.entries(template.findResources('AWS::IAM::Policy')).filter(([, p]) =>
      JSON.stringify(p.Properties.PolicyDocument).includes('secretsmanager:GetSecretValue'),
    );
    expect(readers.map(([id]) => id.replace(/[0-9A-F]{8}$/, '')).sort()).toEqual([
      'WorkflowVendorCollectFnFunctionServiceRoleDefaultPolicy',
      'WorkflowVendorPollFnFunctionServiceRoleDefaultPolicy',
      'WorkflowVendorSubmitFnFunctionServiceRoleDefaultPolicy',
    ]);
  });

  it('creates no secret for a vendor called anonymously', () => {
    const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
    const anonymous = Template.fromStack(
      new SandtrapStack(app, 'Anonymous', {
        config: {
          settings: { vendors: [{ id: 'cape', baseUrl: 'https://cape.internal/apiv2/', secret: { anonymous: true } }] },
        },
      }),
    );
    anonymous.resourceCountIs('AWS::SecretsManager::Secret', 0);
  });

  it('writes the state machine in JSONPath, polls with a Wait whose seconds come from the poll step, and fans out in a Map', () => {
    const plan = localPlanOf(json);
    const text = JSON.stringify(plan.definition);
    expect(text).not.toContain('JSONata');
    expect(plan.definition.QueryLanguage ?? 'JSONPath').toBe('JSONPath');
    const states = allStates(plan.definition as never);
    expect(states.get('WaitForVendor')).toMatchObject({ Type: 'Wait', SecondsPath: '$.job.waitSeconds' });
    expect(states.get('Engines')).toMatchObject({ Type: 'Map', MaxConcurrency: 4, ItemsPath: '$.engines' });
    // Finalize publishes the verdict itself and ends the analysis; failures have their publishing state.
    expect(states.get('Finalize')).toMatchObject({ End: true });
    expect(states.get('Finalize')?.Retry).toEqual(
      expect.arrayContaining([expect.objectContaining({ ErrorEquals: ['EventsNotPublishedError'] })]),
    );
    expect(states.has('PublishVerdict')).toBe(false);
    expect(states.get('PublishFailure')).toMatchObject({ Resource: 'arn:aws:states:::events:putEvents' });
    // Every task catches its errors, so no failure can end an execution silently.
    for (const name of ['Triage', 'CheckPeer', 'Engines', 'Finalize']) {
      expect(states.get(name)?.Catch, name).toEqual(
        expect.arrayContaining([expect.objectContaining({ ErrorEquals: ['States.ALL'], Next: 'RecordFailure' })]),
      );
    }
    for (const name of ['SubmitToVendor', 'PollVendor', 'CollectVendorReport']) {
      expect(states.get(name)?.Catch, name).toEqual([
        expect.objectContaining({ ErrorEquals: ['States.ALL'], Next: 'EngineFailed' }),
      ]);
      expect(states.get(name)?.Retry, name).toEqual(
        expect.arrayContaining([expect.objectContaining({ ErrorEquals: ['TransientError', 'BadResponseError'] })]),
      );
    }
  });

  it('runs the static engine from the Map for the engine id static: S3 hiccups retried, failures caught', () => {
    const states = allStates(localPlanOf(json).definition as never);
    const analysis = states.get(STATES.staticAnalysis);
    expect(analysis).toMatchObject({ Type: 'Task', End: true });
    expect(analysis?.Retry).toEqual(
      expect.arrayContaining([expect.objectContaining({ ErrorEquals: [STATIC_TRANSIENT_ERROR] })]),
    );
    expect(analysis?.Catch).toEqual([expect.objectContaining({ ErrorEquals: ['States.ALL'], Next: 'EngineFailed' })]);
    // Listing rule packs is limited to their prefix.
    const policies = Object.values(template.findResources('AWS::IAM::Policy')).filter((p) =>
      JSON.stringify(p.Properties.PolicyDocument).includes('s3:ListBucket'),
    );
    const listing = policies
      .flatMap((p) => p.Properties.PolicyDocument.Statement as { Action: unknown; Condition?: unknown }[])
      .filter((s) => JSON.stringify(s.Action).includes('s3:ListBucket') && JSON.stringify(s).includes('rules/'));
    expect(listing).toEqual([expect.objectContaining({ Condition: { StringLike: { 's3:prefix': ['rules/*'] } } })]);
  });

  it('runs the detonation engine as a Fargate task from the Map, started with presigned URLs, failures caught', () => {
    const states = allStates(localPlanOf(json).definition as never);
    expect(states.get('EngineKind')).toMatchObject({
      Type: 'Choice',
      Choices: [
        expect.objectContaining({ StringEquals: 'static', Next: 'StaticAnalysis' }),
        expect.objectContaining({ StringEquals: 'detonation', Next: 'ReserveDetonationSlot' }),
      ],
      Default: 'SubmitToVendor',
    });
    // A turn of a task slot first, waited for; the URLs are presigned after the wait, never expiring in the queue.
    expect(states.get('ReserveDetonationSlot')).toMatchObject({ Next: 'WaitForDetonationSlot' });
    expect(states.get('WaitForDetonationSlot')).toMatchObject({
      Type: 'Wait',
      SecondsPath: '$.turn.waitSeconds',
      Next: 'PrepareDetonation',
    });
    const run = states.get('RunDetonation');
    expect(run).toMatchObject({ Resource: 'arn:aws:states:::ecs:runTask.sync', Next: 'CollectDetonation' });
    const parameters = run?.Parameters as {
      Overrides: { ContainerOverrides: { Environment: { Name: string }[] }[] };
      NetworkConfiguration: { AwsvpcConfiguration: { AssignPublicIp?: string } };
    };
    const env = parameters.Overrides.ContainerOverrides[0]?.Environment.map((e) => e.Name);
    expect(env).toEqual(['SAMPLE_URL', 'REPORT_URL', 'PCAP_URL', 'AGENT_CONFIG', 'SAMPLE_NAME']);
    // Fargate's default when AssignPublicIp is absent is DISABLED.
    expect(parameters.NetworkConfiguration.AwsvpcConfiguration.AssignPublicIp ?? 'DISABLED').toBe('DISABLED');
    // A busy account (RunTask's failures, throttling) waits with jitter and starts again.
    expect(run?.Retry).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          ErrorEquals: expect.arrayContaining(['AmazonECS.Unknown', 'ECS.ThrottlingException']),
          JitterStrategy: 'FULL',
        }),
      ]),
    );
    for (const name of ['ReserveDetonationSlot', 'PrepareDetonation', 'RunDetonation', 'CollectDetonation']) {
      expect(states.get(name)?.Catch, name).toEqual([
        expect.objectContaining({ ErrorEquals: ['States.ALL'], Next: 'EngineFailed' }),
      ]);
    }
    const taskDefinitions = Object.values(template.findResources('AWS::ECS::TaskDefinition'));
    expect(taskDefinitions).toHaveLength(1);
    expect(taskDefinitions[0]?.Properties.TaskRoleArn).toBeUndefined();
    template.resourceCountIs('AWS::EC2::NatGateway', 0);
    template.resourceCountIs('AWS::EC2::InternetGateway', 0);
  });

  it('grants the functions no wildcard actions and no table-wide scans', () => {
    const statements = Object.values(template.findResources('AWS::IAM::Policy')).flatMap(
      (p) => p.Properties.PolicyDocument.Statement,
    );
    const actions = statements.flatMap((s: { Action: string | string[] }) => [s.Action].flat());
    expect(actions.filter((a) => a.endsWith('*'))).toEqual(
      expect.not.arrayContaining(['s3:*', 'dynamodb:*', 's3:GetObject*']),
    );
    expect(actions).not.toContain('dynamodb:Scan');
  });

  it('gives every function the shared dependency layer', () => {
    const layers = Object.keys(template.findResources('AWS::Lambda::LayerVersion'));
    expect(layers).toHaveLength(1);
    const functions = Object.values(template.findResources('AWS::Lambda::Function')).filter(
      (f) => f.Properties.Runtime === 'nodejs22.x',
    );
    expect(functions.length).toBeGreaterThanOrEqual(NODE_FUNCTION_IDS.length);
    for (const fn of functions) expect(fn.Properties.Layers).toEqual([{ Ref: layers[0] }]);
  });

  it('bundles every handler with the local esbuild (no Docker) into an ES module that loads in a Lambda-like layout with the layer', async () => {
    const outdir = mkdtempSync(join(tmpdir(), 'sandtrap-bundle-test-'));
    const app = new App({ outdir: join(outdir, 'cdk.out') });
    new SandtrapStack(app, 'Bundled', { config });
    const assembly = app.synth();
    const assets = readdirSync(assembly.directory)
      .filter((d) => d.startsWith('asset.'))
      .map((d) => join(assembly.directory, d));
    const handlers = assets.map((dir) => join(dir, 'index.mjs')).filter((file) => existsSync(file));
    const layers = assets.filter((dir) => existsSync(join(dir, 'nodejs', 'node_modules')));
    expect(handlers).toHaveLength(NODE_FUNCTION_IDS.length);
    expect(layers).toHaveLength(1);
    // The static engine's asset: its package with the bundled rules beside it (test/lib/static-bundle.test.ts checks the wheels).
    const staticAssets = assets.filter((dir) => existsSync(join(dir, 'sandtrap_static', 'lambda_function.py')));
    expect(staticAssets).toHaveLength(1);
    expect(existsSync(join(staticAssets[0]!, 'rules', 'eicar.yar'))).toBe(true);
    // As on Lambda: the handler resolves packages only from the layer and the runtime's AWS SDK, never
    // from this project's node_modules (the temporary directory is outside it).
    const modules = join(outdir, 'node_modules');
    mkdirSync(modules);
    const layerModules = join(layers[0]!, 'nodejs', 'node_modules');
    for (const entry of readdirSync(layerModules)) symlinkSync(join(layerModules, entry), join(modules, entry));
    symlinkSync(join(import.meta.dirname, '..', '..', 'node_modules', '@aws-sdk'), join(modules, '@aws-sdk'));
    for (const file of handlers) {
      const module = (await import(file)) as { handler?: unknown };
      expect(typeof module.handler, file).toBe('function');
    }
    rmSync(outdir, { recursive: true, force: true });
  }, 120_000);
});
