import { beforeAll, describe, expect, it } from 'vitest';
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { parseSandtrapConfig, type SandtrapConfigInput } from '../../lib/config';
import { SandtrapStack } from '../../lib/sandtrap-stack';

type Resource = { Type: string; Properties: Record<string, any> };

function synth(config: SandtrapConfigInput): Record<string, Resource> {
  const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
  return Template.fromStack(new SandtrapStack(app, 'Sandtrap', { config })).toJSON().Resources as Record<
    string,
    Resource
  >;
}

const find = (resources: Record<string, Resource>, type: string, idPrefix: string) =>
  Object.entries(resources).filter(([id, r]) => r.Type === type && id.startsWith(idPrefix));

describe('RedriveSweep in the stack', () => {
  let resources: Record<string, Resource>;
  let sweepFnId: string;
  beforeAll(() => {
    resources = synth({ ingestPrefix: 'incoming/', sweep: { rateMinutes: 10, deadlineMinutes: 90 } });
    const functions = find(resources, 'AWS::Lambda::Function', 'RedriveSweepSweepFn');
    expect(functions).toHaveLength(1);
    sweepFnId = functions[0]![0];
  });

  it('runs the sweep function on a schedule at the configured rate, and only it', () => {
    const rules = find(resources, 'AWS::Events::Rule', 'RedriveSweep');
    expect(rules).toHaveLength(1);
    const rule = rules[0]![1].Properties;
    expect(rule).toMatchObject({ ScheduleExpression: 'rate(10 minutes)', State: 'ENABLED' });
    expect(rule.Targets).toEqual([
      expect.objectContaining({
        Arn: { 'Fn::GetAtt': [sweepFnId, 'Arn'] },
        RetryPolicy: { MaximumEventAgeInSeconds: 600, MaximumRetryAttempts: 2 },
      }),
    ]);
    const permissions = Object.values(resources).filter(
      (r) => r.Type === 'AWS::Lambda::Permission' && JSON.stringify(r.Properties.FunctionName).includes(sweepFnId),
    );
    expect(permissions.map((p) => p.Properties)).toEqual([
      expect.objectContaining({
        Action: 'lambda:InvokeFunction',
        Principal: 'events.amazonaws.com',
        SourceArn: { 'Fn::GetAtt': [rules[0]![0], 'Arn'] },
      }),
    ]);
  });

  it('configures the sweep with the ingest bucket and prefix, the state machine, its settings, and the settings Triage reads', () => {
    const env = resources[sweepFnId]!.Properties.Environment.Variables;
    const [[machineId]] = find(resources, 'AWS::StepFunctions::StateMachine', 'Workflow') as [[string, Resource]];
    expect(env.SANDTRAP_INGEST_BUCKET).toEqual({ Ref: expect.stringMatching(/^BucketsIngestBucket/) });
    expect(env.SANDTRAP_INGEST_PREFIX).toBe('incoming/');
    expect(env.SANDTRAP_STATE_MACHINE_ARN).toEqual({ Ref: machineId });
    expect(JSON.parse(env.SANDTRAP_SWEEP)).toEqual({
      deadlineMinutes: 90,
      lookbackDays: 7,
      maxRedrivesPerRun: 100,
      maxAttempts: 3,
    });
    // The same engine deadline as Triage, hence the same claim staleness.
    const [[, triage]] = find(resources, 'AWS::Lambda::Function', 'WorkflowTriageFn') as [[string, Resource]];
    expect(env.SANDTRAP_SETTINGS).toBe(triage.Properties.Environment.Variables.SANDTRAP_SETTINGS);
  });

  it('lets the sweep query the time index, read upload records and the inventory, and start the state machine, nothing more', () => {
    const [[, policy]] = find(resources, 'AWS::IAM::Policy', 'RedriveSweepSweepFnFunctionServiceRoleDefaultPolicy') as [
      [string, Resource],
    ];
    const [[machineId]] = find(resources, 'AWS::StepFunctions::StateMachine', 'Workflow') as [[string, Resource]];
    const inventoryBucket = expect.stringMatching(/^BucketsInventoryBucket/);
    const ingestBucket = expect.stringMatching(/^BucketsIngestBucket/);
    const inventoryPrefix = { 'Fn::Join': ['', ['ingest/', { Ref: ingestBucket }, '/sandtrap-sweep/']] };
    const table = expect.stringMatching(/^VerdictsTable/);
    expect(policy.Properties.PolicyDocument.Statement).toEqual([
      { Effect: 'Allow', Action: ['xray:PutTraceSegments', 'xray:PutTelemetryRecords'], Resource: '*' },
      {
        Effect: 'Allow',
        Action: 's3:ListBucket',
        Condition: { StringEquals: { 's3:prefix': inventoryPrefix } },
        Resource: { 'Fn::GetAtt': [inventoryBucket, 'Arn'] },
      },
      {
        Effect: 'Allow',
        Action: 's3:GetObject',
        Resource: {
          'Fn::Join': [
            '',
            [{ 'Fn::GetAtt': [inventoryBucket, 'Arn'] }, '/ingest/', { Ref: ingestBucket }, '/sandtrap-sweep/*'],
          ],
        },
      },
      { Effect: 'Allow', Action: 'dynamodb:BatchGetItem', Resource: { 'Fn::GetAtt': [table, 'Arn'] } },
      {
        Effect: 'Allow',
        Action: 'dynamodb:Query',
        Resource: { 'Fn::Join': ['', [{ 'Fn::GetAtt': [table, 'Arn'] }, '/index/uploads-by-time']] },
      },
      { Effect: 'Allow', Action: 'states:StartExecution', Resource: { Ref: machineId } },
    ]);
    // Nothing on the ingest bucket: no listing of any kind.
    const statements = policy.Properties.PolicyDocument.Statement as { Action: unknown; Resource: unknown }[];
    for (const statement of statements.filter((s) => JSON.stringify(s.Action).includes('List')))
      expect(JSON.stringify(statement.Resource)).not.toMatch(/BucketsIngestBucket[^"]*","Arn"/);
    expect(JSON.stringify(statements)).not.toMatch(/ListBucketVersions/);
    const env = resources[sweepFnId]!.Properties.Environment.Variables;
    expect(env.SANDTRAP_INVENTORY_BUCKET).toEqual({ Ref: inventoryBucket });
    expect(env.SANDTRAP_INVENTORY_PREFIX).toEqual(inventoryPrefix);
  });

  it('has S3 deliver a daily CSV inventory of every ingest version (size, time, ETag) into the inventory bucket, under the ingest prefix only', () => {
    const [[, ingest]] = find(resources, 'AWS::S3::Bucket', 'BucketsIngestBucket') as [[string, Resource]];
    expect(ingest.Properties.InventoryConfigurations).toEqual([
      {
        Id: 'sandtrap-sweep',
        Enabled: true,
        Destination: {
          BucketArn: { 'Fn::GetAtt': [expect.stringMatching(/^BucketsInventoryBucket/), 'Arn'] },
          Format: 'CSV',
          Prefix: 'ingest',
        },
        IncludedObjectVersions: 'All',
        OptionalFields: ['Size', 'LastModifiedDate', 'ETag'],
        Prefix: 'incoming/',
        ScheduleFrequency: 'Daily',
      },
    ]);
    // S3 may write into the inventory bucket only for the ingest bucket.
    const [[, bucketPolicy]] = find(resources, 'AWS::S3::BucketPolicy', 'BucketsInventoryBucketPolicy') as [
      [string, Resource],
    ];
    expect(bucketPolicy.Properties.PolicyDocument.Statement).toContainEqual(
      expect.objectContaining({
        Effect: 'Allow',
        Action: 's3:PutObject',
        Principal: { Service: 's3.amazonaws.com' },
        Condition: {
          ArnLike: { 'aws:SourceArn': { 'Fn::GetAtt': [expect.stringMatching(/^BucketsIngestBucket/), 'Arn'] } },
        },
      }),
    );
    expect(bucketPolicy.Properties.PolicyDocument.Statement).toContainEqual(
      expect.objectContaining({
        Effect: 'Deny',
        Action: 's3:PutObject',
        Principal: { Service: 's3.amazonaws.com' },
        Condition: { StringNotEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } } },
      }),
    );
  });

  it('runs every 15 minutes by default and inventories the whole bucket when there is no prefix', () => {
    const defaults = synth({});
    const [[, rule]] = find(defaults, 'AWS::Events::Rule', 'RedriveSweep') as [[string, Resource]];
    expect(rule.Properties.ScheduleExpression).toBe('rate(15 minutes)');
    const [[, ingest]] = find(defaults, 'AWS::S3::Bucket', 'BucketsIngestBucket') as [[string, Resource]];
    expect(ingest.Properties.InventoryConfigurations[0].Prefix).toBeUndefined();
  });

  it('expires noncurrent ingest versions after the configured days, never before the sweep stops looking back', () => {
    const [[, ingest]] = find(synth({ ingestNoncurrentDays: 9 }), 'AWS::S3::Bucket', 'BucketsIngestBucket') as [
      [string, Resource],
    ];
    expect(ingest.Properties.LifecycleConfiguration.Rules).toContainEqual(
      expect.objectContaining({ NoncurrentVersionExpiration: { NoncurrentDays: 9 } }),
    );
    expect(parseSandtrapConfig({}).ingestNoncurrentDays).toBe(30);
    expect(() => parseSandtrapConfig({ ingestNoncurrentDays: 6 })).toThrow(
      /lookbackDays: 7\)\s+→ at ingestNoncurrentDays/,
    );
    expect(() => parseSandtrapConfig({ ingestNoncurrentDays: 0 })).toThrow(/ingestNoncurrentDays/);
    expect(() => parseSandtrapConfig({ ingestNoncurrentDays: 2, sweep: { lookbackDays: 2 } })).not.toThrow();
  });

  it('refuses a lookback that does not reach past the longest execution, or the deadline', () => {
    expect(() =>
      parseSandtrapConfig({ sweep: { lookbackDays: 1 }, settings: { engineDeadlineSeconds: 86_400 } }),
    ).toThrow(/sweep\.lookbackDays/);
    expect(() => parseSandtrapConfig({ sweep: { lookbackDays: 1, deadlineMinutes: 1440 } })).toThrow(
      /lookbackDays must reach further back than deadlineMinutes/,
    );
    expect(() => parseSandtrapConfig({ sweep: { rateMinutes: 0 } })).toThrow(/sweep\.rateMinutes/);
  });
});
