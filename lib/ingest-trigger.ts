import { Duration } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import cdkNag from 'cdk-nag';

/** Props of {@link IngestTrigger}. */
export interface IngestTriggerProps {
  readonly bucket: s3.IBucket;
  readonly stateMachine: sfn.IStateMachine;
  /** Only keys under this prefix start an analysis. @default every key */
  readonly prefix?: string;
}

/**
 * The EventBridge rule that starts one execution per `Object Created` event of the ingest bucket.
 * Events EventBridge cannot deliver (after 24 h of retries) land in a dead-letter queue, not nowhere.
 */
export class IngestTrigger extends Construct {
  readonly rule: events.Rule;
  readonly deadLetterQueue: sqs.Queue;

  constructor(scope: Construct, id: string, props: IngestTriggerProps) {
    super(scope, id);
    this.deadLetterQueue = new sqs.Queue(this, 'DeadLetters', {
      retentionPeriod: Duration.days(14),
      enforceSSL: true,
      encryption: sqs.QueueEncryption.SQS_MANAGED,
    });
    cdkNag.NagSuppressions.addResourceSuppressions(this.deadLetterQueue, [
      {
        id: 'AwsSolutions-SQS3',
        reason: 'This queue is itself the dead-letter queue of the EventBridge target; cdk-nag cannot see that use.',
      },
    ]);
    this.rule = new events.Rule(this, 'ObjectCreated', {
      description: 'Start a Sandtrap analysis for every object created in the ingest bucket',
      eventPattern: {
        source: ['aws.s3'],
        detailType: ['Object Created'],
        detail: {
          bucket: { name: [props.bucket.bucketName] },
          ...(props.prefix ? { object: { key: [{ prefix: props.prefix }] } } : {}),
        },
      },
      targets: [
        new targets.SfnStateMachine(props.stateMachine, {
          deadLetterQueue: this.deadLetterQueue,
          retryAttempts: 185,
          maxEventAge: Duration.hours(24),
        }),
      ],
    });
  }
}
