import { Duration, Token } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import cdkNag from 'cdk-nag';
import type { ResolvedSource } from './sources';

/** Props of {@link IngestTrigger}. */
export interface IngestTriggerProps {
  readonly stateMachine: sfn.IStateMachine;
  /** The buckets whose new objects start an analysis; more with {@link IngestTrigger.addSource}. @default - none yet */
  readonly sources?: readonly ResolvedSource[];
}

/**
 * The EventBridge rules that start one execution per `Object Created` event of a source bucket (one
 * rule per bucket, matching its prefixes). Events EventBridge cannot deliver (after 24 h of retries)
 * land in one dead-letter queue, not nowhere.
 */
export class IngestTrigger extends Construct {
  readonly deadLetterQueue: sqs.Queue;
  /** One rule per source, in the order they were attached. */
  readonly rules: events.Rule[] = [];
  private readonly stateMachine: sfn.IStateMachine;

  constructor(scope: Construct, id: string, props: IngestTriggerProps) {
    super(scope, id);
    this.stateMachine = props.stateMachine;
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
    for (const source of props.sources ?? []) this.addSource(source);
  }

  /** The first source's rule. */
  get rule(): events.Rule {
    const first = this.rules[0];
    if (!first) throw new Error(`${this.node.path}: no source attached yet`);
    return first;
  }

  /** Starts an analysis for every object created under one of the source's prefixes. */
  addSource(source: ResolvedSource): events.Rule {
    const name = source.bucket.bucketName;
    // The first rule keeps the id it always had; others are named by their bucket where it is literal.
    const id =
      this.rules.length === 0
        ? 'ObjectCreated'
        : Token.isUnresolved(name)
          ? `ObjectCreated${this.rules.length + 1}`
          : `ObjectCreated-${name}`;
    const wholeBucket = source.prefixes.length === 1 && source.prefixes[0] === '';
    const rule = new events.Rule(this, id, {
      description: `Start a Sandtrap analysis for every object created in ${Token.isUnresolved(name) ? 'a source bucket' : name}`,
      eventPattern: {
        source: ['aws.s3'],
        detailType: ['Object Created'],
        detail: {
          bucket: { name: [name] },
          ...(wholeBucket ? {} : { object: { key: source.prefixes.map((prefix) => ({ prefix })) } }),
        },
      },
      targets: [
        new targets.SfnStateMachine(this.stateMachine, {
          deadLetterQueue: this.deadLetterQueue,
          retryAttempts: 185,
          maxEventAge: Duration.hours(24),
        }),
      ],
    });
    this.rules.push(rule);
    return rule;
  }
}
