import type * as kms from 'aws-cdk-lib/aws-kms';
import { kmsActionsForAll } from './kms-grants';
import { Duration, Lazy } from 'aws-cdk-lib';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { UPLOAD_INDEX } from '../lambdas/core/store/verdict-store';
import { parseSweepSettings, SWEEP_ENV, type SweepSettingsInput } from '../lambdas/core/sweep/sweep-config';
import { PipelineFunction } from './functions';
import { STEPS } from './steps';
import type { AnalysisWorkflow } from './workflow';
import type { ResolvedSource } from './sources';

/** Props of {@link RedriveSweep}. */
export interface RedriveSweepProps {
  /**
   * The ingest bucket. Versioned, as {@link IngestBuckets} makes it, so that an inventory and an event
   * name an upload by the same version id; without versioning the sweep can only name uploads by ETag.
   * The sweep never lists it.
   */
  readonly ingestBucket?: s3.IBucket;
  /** Only keys under this prefix are analysed, so only they are swept. @default every key */
  readonly prefix?: string;
  /**
   * Every source (bucket and prefixes) whose unfinished uploads are re-driven. The list is read at
   * synth, so sources attached after construction count.
   * @default - the ingest bucket under `prefix`
   */
  readonly sources?: readonly Pick<ResolvedSource, 'bucket' | 'prefixes'>[];
  /**
   * Where the ingest bucket's S3 Inventory is delivered: its bucket, and the prefix of its delivery
   * folders (`<destination prefix>/<ingest bucket>/<config id>/`). The sweep finds uploads whose event
   * was lost in it. @default none: only uploads whose execution died are re-driven
   */
  readonly inventory?: { bucket: s3.IBucket; prefix: string };
  /** The verdict table, where each upload's claim and terminal record are, and its time index. */
  readonly table: dynamodb.ITable;
  /** The customer key the table is encrypted with, if any. */
  readonly encryptionKey?: kms.IKey;
  /** The analysis workflow: re-drives start its state machine; the sweep reads the settings its functions read. */
  readonly workflow: AnalysisWorkflow;
  /** Deadline, lookback and bounds of a run, validated at synth time. @default 60 minutes, 7 days, 100 re-drives a run, 3 per upload */
  readonly settings?: SweepSettingsInput;
  /** Time between two runs. @default Duration.minutes(15) */
  readonly rate?: Duration;
  /** @default false */
  readonly bundleAwsSdk?: boolean;
}

/**
 * The scheduled sweep that makes sure no upload is lost: every `rate`, a function finds uploads that
 * still have no terminal record after the deadline, those whose execution died in the table's time
 * index and those whose event was lost in the ingest bucket's newest S3 Inventory, and re-drives each
 * with one named execution of the state machine (see `lambdas/core/sweep/sweep.ts`). It may query and
 * read the table, read the inventory's deliveries and start the state machine, nothing else: it
 * cannot list the ingest bucket.
 */
export class RedriveSweep extends Construct {
  readonly function: PipelineFunction;
  readonly rule: events.Rule;

  constructor(scope: Construct, id: string, props: RedriveSweepProps) {
    super(scope, id);
    const settings = parseSweepSettings(props.settings, 'RedriveSweep settings');
    const rate = props.rate ?? Duration.minutes(15);
    this.function = new PipelineFunction(this, 'SweepFn', {
      environment: {
        ...props.workflow.environment,
        ...(props.ingestBucket ? { [SWEEP_ENV.ingestBucket]: props.ingestBucket.bucketName } : {}),
        ...(props.sources
          ? {
              [SWEEP_ENV.sources]: Lazy.string({
                produce: () =>
                  JSON.stringify(
                    (props.sources ?? []).map((s) => ({ bucket: s.bucket.bucketName, prefixes: [...s.prefixes] })),
                  ),
              }),
            }
          : {}),
        ...(props.prefix ? { [SWEEP_ENV.ingestPrefix]: props.prefix } : {}),
        [SWEEP_ENV.stateMachineArn]: props.workflow.stateMachine.stateMachineArn,
        ...(props.inventory
          ? {
              [SWEEP_ENV.inventoryBucket]: props.inventory.bucket.bucketName,
              [SWEEP_ENV.inventoryPrefix]: props.inventory.prefix,
            }
          : {}),
        [SWEEP_ENV.settings]: JSON.stringify(settings),
      },
      timeout: Duration.seconds(STEPS.SweepFn.timeoutSeconds),
      memorySize: STEPS.SweepFn.memoryMb,
      bundleAwsSdk: props.bundleAwsSdk,
    });
    const fn = this.function.function;
    if (props.inventory && !props.ingestBucket)
      throw new Error(`${this.node.path}: an inventory is read for the ingest bucket, and none is given`);
    if (props.inventory) {
      // The delivery folders (a listing with this very prefix and a delimiter), then manifests and data files.
      fn.addToRolePolicy(
        new iam.PolicyStatement({
          actions: ['s3:ListBucket'],
          resources: [props.inventory.bucket.bucketArn],
          conditions: { StringEquals: { 's3:prefix': props.inventory.prefix } },
        }),
      );
      fn.addToRolePolicy(
        new iam.PolicyStatement({
          actions: ['s3:GetObject'],
          resources: [props.inventory.bucket.arnForObjects(`${props.inventory.prefix}*`)],
        }),
      );
    }
    const resources = {
      table: [props.table.tableArn],
      uploadIndex: [`${props.table.tableArn}/index/${UPLOAD_INDEX.name}`],
      stateMachine: [props.workflow.stateMachine.stateMachineArn],
    };
    for (const grant of STEPS.SweepFn.grants)
      fn.addToRolePolicy(new iam.PolicyStatement({ actions: [...grant.actions], resources: resources[grant.on] }));
    const kmsActions = kmsActionsForAll(STEPS.SweepFn.grants);
    if (props.encryptionKey && kmsActions.length > 0)
      fn.addToRolePolicy(new iam.PolicyStatement({ actions: kmsActions, resources: [props.encryptionKey.keyArn] }));
    this.rule = new events.Rule(this, 'Schedule', {
      description: 'Re-drive Sandtrap uploads that have no terminal record after the deadline',
      schedule: events.Schedule.rate(rate),
      // A run older than the next one is not worth delivering: the next run does the same work.
      targets: [new targets.LambdaFunction(fn, { retryAttempts: 2, maxEventAge: rate })],
    });
  }
}
