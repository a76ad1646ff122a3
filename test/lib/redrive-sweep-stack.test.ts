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

  it('lets the sweep list versions under the ingest prefix, read upload records and start the state machine, nothing more', () => {
    const [[, policy]] = find(resources, 'AWS::IAM::Policy', 'RedriveSweepSweepFnFunctionServiceRoleDefaultPolicy') as [
      [string, Resource],
    ];
    const [[machineId]] = find(resources, 'AWS::StepFunctions::StateMachine', 'Workflow') as [[string, Resource]];
    expect(policy.Properties.PolicyDocument.Statement).toEqual([
      { Effect: 'Allow', Action: ['xray:PutTraceSegments', 'xray:PutTelemetryRecords'], Resource: '*' },
      {
        Effect: 'Allow',
        Action: 's3:ListBucketVersions',
        Condition: { StringEquals: { 's3:prefix': 'incoming/' } },
        Resource: { 'Fn::GetAtt': [expect.stringMatching(/^BucketsIngestBucket/), 'Arn'] },
      },
      {
        Effect: 'Allow',
        Action: 'dynamodb:BatchGetItem',
        Resource: { 'Fn::GetAtt': [expect.stringMatching(/^VerdictsTable/), 'Arn'] },
      },
      { Effect: 'Allow', Action: 'states:StartExecution', Resource: { Ref: machineId } },
    ]);
  });

  it('runs every 15 minutes by default and lists the whole bucket when there is no prefix', () => {
    const defaults = synth({});
    const [[, rule]] = find(defaults, 'AWS::Events::Rule', 'RedriveSweep') as [[string, Resource]];
    expect(rule.Properties.ScheduleExpression).toBe('rate(15 minutes)');
    const [[, policy]] = find(defaults, 'AWS::IAM::Policy', 'RedriveSweepSweepFnFunctionServiceRoleDefaultPolicy') as [
      [string, Resource],
    ];
    const list = policy.Properties.PolicyDocument.Statement.find(
      (s: { Action: unknown }) => s.Action === 's3:ListBucketVersions',
    );
    expect(list.Condition).toBeUndefined();
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
