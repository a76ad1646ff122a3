#!/usr/bin/env node
import { App, CfnOutput, Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { SINK_OUTPUTS, SINK_STACK } from './harness/sink';

/**
 * A consumer of Sandtrap's events, as a user would deploy one: a rule on the `sandtrap` bus (source
 * `sandtrap`, every detail-type) sending to an SQS queue that the e2e tests read. A separate stack,
 * so that the test proves the bus works for someone else's rules, not only for the stack's own.
 * A second rule, on the default bus, copies S3's `Object Created` events into the same queue: the
 * redelivery test sends an upload's very event again, as EventBridge's at-least-once delivery would.
 */
const app = new App();
const stack = new Stack(app, SINK_STACK, {
  description: 'Sandtrap e2e: every event of the sandtrap bus, and S3 uploads, into a queue',
});
const busName = (app.node.tryGetContext('busName') as string | undefined) ?? 'sandtrap';
const queue = new sqs.Queue(stack, 'Events', {
  retentionPeriod: Duration.hours(1),
  enforceSSL: true,
  removalPolicy: RemovalPolicy.DESTROY,
});
new events.Rule(stack, 'AllSandtrapEvents', {
  eventBus: events.EventBus.fromEventBusName(stack, 'Bus', busName),
  eventPattern: { source: ['sandtrap'] },
  targets: [new targets.SqsQueue(queue)],
});
new events.Rule(stack, 'ObjectCreatedEvents', {
  eventPattern: { source: ['aws.s3'], detailType: ['Object Created'] },
  targets: [new targets.SqsQueue(queue)],
});
new CfnOutput(stack, SINK_OUTPUTS.queueUrl, { value: queue.queueUrl });
new CfnOutput(stack, SINK_OUTPUTS.queueArn, { value: queue.queueArn });
