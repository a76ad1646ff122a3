import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as events from 'aws-cdk-lib/aws-events';
import * as logs from 'aws-cdk-lib/aws-logs';
import { describe, expect, it } from 'vitest';
import { SandtrapStack } from '../../lib/sandtrap-stack';
import { SandtrapValidationError } from '../../lib/validation';

const BUS_ARN = 'arn:aws:events:us-east-1:123456789012:event-bus/security-events';
const app = () => new App({ context: { 'aws:cdk:bundling-stacks': [] } });

/** Embedding in an app that already has its own pieces (issue #16, "bring your own"). */
describe("the app's own event bus and log retention", () => {
  it("publishes on the app's bus instead of making one, and names it in the outputs", () => {
    const a = app();
    const bus = events.EventBus.fromEventBusArn(new Stack(a, 'Shared'), 'Bus', BUS_ARN);
    const stack = new SandtrapStack(a, 'Sandtrap', {
      config: { settings: { static: { enabled: false }, detonation: { enabled: false } } },
      eventBus: bus,
    });
    const template = Template.fromStack(stack);
    expect(Object.keys(template.findResources('AWS::Events::EventBus'))).toEqual([]);
    expect(template.toJSON().Outputs.VerdictBusName.Value).toBe('security-events');
    // The publishing states may put events on that bus, and nowhere else.
    const puts = Object.values(template.findResources('AWS::IAM::Policy'))
      .flatMap((p) => p.Properties.PolicyDocument.Statement)
      .filter((s: { Action: string | string[] }) => [s.Action].flat().includes('events:PutEvents'));
    expect(puts.length).toBeGreaterThan(0);
    for (const statement of puts) expect(statement.Resource).toBe(BUS_ARN);
  });

  it('refuses a bus name in the configuration beside a bus of its own, naming the stack', () => {
    const a = app();
    const bus = events.EventBus.fromEventBusArn(new Stack(a, 'Shared'), 'Bus', BUS_ARN);
    expect(() => new SandtrapStack(a, 'Sandtrap', { config: { busName: 'other' }, eventBus: bus })).toThrow(
      new SandtrapValidationError(
        new Stack(app(), 'Sandtrap'),
        'give the configuration a busName or the stack an eventBus, not both',
      ),
    );
  });

  it('sets one retention on every log group of the stack', () => {
    const stack = new SandtrapStack(app(), 'Sandtrap', { logRetention: logs.RetentionDays.ONE_YEAR });
    const groups = Object.values(Template.fromStack(stack).findResources('AWS::Logs::LogGroup'));
    expect(groups.length).toBeGreaterThan(8);
    for (const group of groups) expect(group.Properties.RetentionInDays).toBe(365);
    const defaults = Object.values(
      Template.fromStack(new SandtrapStack(app(), 'Default')).findResources('AWS::Logs::LogGroup'),
    );
    for (const group of defaults) expect(group.Properties.RetentionInDays).toBe(30);
  });
});
