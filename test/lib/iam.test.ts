import { describe, expect, it } from 'vitest';
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { WILDCARD_JUSTIFICATIONS } from '../../lib/iam-justifications';
import { SandtrapStack } from '../../lib/sandtrap-stack';

/** A resource or action as text: tokens rendered as their intrinsic JSON. */
const text = (value: unknown) => (typeof value === 'string' ? value : JSON.stringify(value));

describe('IAM least privilege', () => {
  const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
  const stack = new SandtrapStack(app, 'Sandtrap', {
    config: {
      actions: {
        quarantine: { enabled: true },
        readBlocking: { enabled: true, adminRoleArns: ['arn:aws:iam::123456789012:role/Admin'] },
      },
      settings: { vendors: [{ id: 'cape', baseUrl: 'https://cape.example.org/apiv2/' }] },
    },
  });
  const template = Template.fromStack(stack);
  const statements = [
    ...Object.entries(template.findResources('AWS::IAM::Policy')).flatMap(([id, p]) =>
      p.Properties.PolicyDocument.Statement.map((s: object) => ({ id, ...s })),
    ),
    ...Object.entries(template.findResources('AWS::IAM::Role')).flatMap(([id, r]) =>
      (r.Properties.Policies ?? []).flatMap((p: { PolicyDocument: { Statement: object[] } }) =>
        p.PolicyDocument.Statement.map((s) => ({ id, ...s })),
      ),
    ),
  ] as { id: string; Effect: string; Action: unknown; Resource: unknown }[];

  it('justifies every wildcard action and resource of every statement', () => {
    const unexplained: string[] = [];
    let wildcards = 0;
    for (const statement of statements.filter((s) => s.Effect === 'Allow')) {
      const entries = [
        ...[statement.Action].flat().map((a) => ['Action', a] as const),
        ...[statement.Resource].flat().map((r) => ['Resource', r] as const),
      ];
      for (const [kind, value] of entries) {
        const rendered = text(value);
        if (!rendered.includes('*')) continue;
        wildcards++;
        if (kind === 'Action' || !WILDCARD_JUSTIFICATIONS.some((j) => j.pattern.test(rendered)))
          unexplained.push(`${statement.id}: ${kind} ${rendered.slice(0, 160)}`);
      }
    }
    expect(unexplained).toEqual([]);
    expect(wildcards).toBeGreaterThan(0);
    for (const j of WILDCARD_JUSTIFICATIONS) expect(j.reason.length).toBeGreaterThan(30);
  });

  it('grants no service-wide actions such as s3:* or dynamodb:*', () => {
    const actions = statements.flatMap((s) => [s.Action].flat().map(String));
    expect(actions.filter((a) => /^[a-z0-9-]+:\*$/.test(a))).toEqual([]);
  });

  it.each([
    ['an execution fails', { Namespace: 'AWS/States', MetricName: 'ExecutionsFailed' }],
    ['an execution times out', { Namespace: 'AWS/States', MetricName: 'ExecutionsTimedOut' }],
    ['executions are throttled', { Namespace: 'AWS/States', MetricName: 'ExecutionThrottled' }],
    ['upload events cannot be delivered', { Namespace: 'AWS/SQS', MetricName: 'ApproximateNumberOfMessagesVisible' }],
    ['the sweep gives an upload up', { Namespace: 'Sandtrap', MetricName: 'ObjectsAbandoned' }],
    ['the sweep fails', { Namespace: 'AWS/Lambda', MetricName: 'Errors' }],
    ['a vendor refuses our key', { Namespace: 'Sandtrap', MetricName: 'VendorAuthFailed' }],
    ['DynamoDB throttles writes to the table', { Namespace: 'AWS/DynamoDB', MetricName: 'WriteThrottleEvents' }],
    ['DynamoDB throttles reads of the table', { Namespace: 'AWS/DynamoDB', MetricName: 'ReadThrottleEvents' }],
  ])('raises an alarm on the topic when %s', (_when, metric) => {
    const topicId = Object.keys(template.findResources('AWS::SNS::Topic'))[0];
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      ...metric,
      Threshold: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      AlarmActions: [{ Ref: topicId }],
    });
  });

  it('draws the operations dashboard: verdicts by result, engine latency, vendor queues, detonation slots', () => {
    const dashboards = Object.values(template.findResources('AWS::CloudWatch::Dashboard'));
    expect(dashboards).toHaveLength(1);
    const body = JSON.stringify(dashboards[0]?.Properties.DashboardBody);
    for (const text of [
      'Verdicts by result',
      'Verdict-malicious',
      'Verdict-unknown',
      'ObjectsNotTagged',
      'Engine latency',
      'EngineSeconds-detonation',
      'Detonation task slots',
      'DetonationQueueSeconds',
    ])
      expect(body, text).toContain(text);
  });

  it('has every alarm notify the alarm topic, which is encrypted, TLS-only and mails the configured addresses', () => {
    const topics = template.findResources('AWS::SNS::Topic');
    expect(Object.keys(topics)).toHaveLength(1);
    const [topicId, topic] = Object.entries(topics)[0]!;
    expect(topic.Properties.KmsMasterKeyId).toBeDefined();
    const alarms = Object.values(template.findResources('AWS::CloudWatch::Alarm'));
    expect(alarms.length).toBeGreaterThanOrEqual(8);
    for (const alarm of alarms) expect(alarm.Properties.AlarmActions).toEqual([{ Ref: topicId }]);
    const policy = Object.values(template.findResources('AWS::SNS::TopicPolicy'))[0];
    expect(JSON.stringify(policy?.Properties.PolicyDocument)).toContain('aws:SecureTransport');

    const mailed = Template.fromStack(
      new SandtrapStack(new App({ context: { 'aws:cdk:bundling-stacks': [] } }), 'Mailed', {
        config: { alarms: { emails: ['soc@example.org'] } },
      }),
    );
    mailed.hasResourceProperties('AWS::SNS::Subscription', { Protocol: 'email', Endpoint: 'soc@example.org' });
  });
});
