import { CfnOutput, Lazy, Stack, type StackProps } from 'aws-cdk-lib';
import type * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type * as iam from 'aws-cdk-lib/aws-iam';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as kms from 'aws-cdk-lib/aws-kms';
import type { Construct } from 'constructs';
import type { AlarmTopic } from './alarm-topic';
import { SOURCES_OUTPUT, STACK_OUTPUTS } from './contracts';
import type { DetonationCluster } from './detonation';
import type { IngestBuckets } from './ingest';
import type { IngestTrigger } from './ingest-trigger';
import type { SandtrapOperations } from './operations';
import type { RedriveSweep } from './redrive-sweep';
import { Sandtrap, type SandtrapProps } from './sandtrap';
import type { ResolvedSource, SourceOptions } from './sources';
import type { VerdictBus } from './verdict-bus';
import type { VerdictStoreTable } from './verdict-store';
import type { AnalysisWorkflow } from './workflow';

/** Props of {@link SandtrapStack}: those of {@link Sandtrap}, and the stack's own. */
export interface SandtrapStackProps extends StackProps, SandtrapProps {}

export { STACK_OUTPUTS } from './contracts';

/**
 * The whole pipeline in a stack of its own (what `npx cdk deploy` deploys): the {@link Sandtrap}
 * construct, the buckets the configuration's `sources` name attached by name, and the outputs the
 * `sandtrap` commands find the deployment by.
 */
export class SandtrapStack extends Stack {
  /** The construct this stack holds. */
  readonly sandtrap: Sandtrap;
  readonly buckets: IngestBuckets;
  readonly verdicts: VerdictStoreTable;
  readonly bus: VerdictBus;
  readonly workflow: AnalysisWorkflow;
  readonly quarantineBucket?: s3.Bucket;
  readonly detonation?: DetonationCluster;
  readonly trigger: IngestTrigger;
  readonly redriveSweep: RedriveSweep;
  readonly failedExecutionsAlarm: cloudwatch.Alarm;
  readonly alarmTopic: AlarmTopic;
  readonly undeliveredEventsAlarm: cloudwatch.Alarm;
  readonly abandonedUploadsAlarm: cloudwatch.Alarm;
  readonly operations: SandtrapOperations;

  constructor(scope: Construct, id: string, props: SandtrapStackProps = {}) {
    super(scope, id, props);
    // 'Default' leaves the construct out of logical ids: a stack deployed before the construct
    // existed keeps every resource.
    this.sandtrap = new Sandtrap(this, 'Default', props);
    const t = this.sandtrap;
    this.buckets = t.buckets;
    this.verdicts = t.verdicts;
    this.bus = t.bus;
    this.workflow = t.workflow;
    if (t.quarantineBucket) this.quarantineBucket = t.quarantineBucket;
    if (t.detonation) this.detonation = t.detonation;
    this.trigger = t.trigger;
    this.redriveSweep = t.redriveSweep;
    this.failedExecutionsAlarm = t.failedExecutionsAlarm;
    this.alarmTopic = t.alarmTopic;
    this.undeliveredEventsAlarm = t.undeliveredEventsAlarm;
    this.abandonedUploadsAlarm = t.abandonedUploadsAlarm;
    this.operations = t.operations;
    // The configuration's own sources: buckets of the account, attached by name (and key ARN).
    t.config.sources.forEach((source, index) => {
      const { bucket: name, kmsKeyArn, prefixes, ...options } = source;
      const scopeOf = `Source${index + 1}`;
      this.addSource(s3.Bucket.fromBucketName(this, scopeOf, name), {
        ...options,
        ...(prefixes ? { prefixes } : {}),
        ...(kmsKeyArn ? { encryptionKey: kms.Key.fromKeyArn(this, `${scopeOf}Key`, kmsKeyArn) } : {}),
      });
    });
    if (t.ingestBucket) new CfnOutput(this, STACK_OUTPUTS.ingestBucket, { value: t.ingestBucket.bucketName });
    new CfnOutput(this, STACK_OUTPUTS.reportsBucket, { value: t.buckets.reports.bucketName });
    new CfnOutput(this, STACK_OUTPUTS.table, { value: t.verdicts.table.tableName });
    new CfnOutput(this, STACK_OUTPUTS.stateMachine, { value: t.workflow.stateMachine.stateMachineArn });
    new CfnOutput(this, STACK_OUTPUTS.frontStateMachine, { value: t.workflow.frontStateMachine.stateMachineArn });
    new CfnOutput(this, STACK_OUTPUTS.bus, { value: t.bus.bus.eventBusName });
    // Read at synth: sources attached after construction are listed too.
    new CfnOutput(this, SOURCES_OUTPUT, {
      value: Lazy.string({
        produce: () =>
          this.toJsonString(t.sources.map((s) => ({ bucket: s.bucket.bucketName, prefixes: [...s.prefixes] }))),
      }),
    });
  }

  /** See {@link Sandtrap.addSource}. */
  addSource(bucket: s3.IBucket, options: SourceOptions = {}): ResolvedSource {
    return this.sandtrap.addSource(bucket, options);
  }

  /** Lets the grantee read stored verdicts and reports (`sandtrap status`, `sandtrap report`). */
  grantReadVerdicts(grantee: iam.IGrantable): iam.Grant {
    return this.sandtrap.grantReadVerdicts(grantee);
  }

  /** Lets the grantee read the reports bucket's reports (verdict documents, HTML, indicators). */
  grantReadReports(grantee: iam.IGrantable): iam.Grant {
    return this.sandtrap.grantReadReports(grantee);
  }

  /** Lets the grantee submit files and wait for their verdicts (`sandtrap submit --wait`). */
  grantSubmit(grantee: iam.IGrantable): iam.Grant {
    return this.sandtrap.grantSubmit(grantee);
  }

  /**
   * Lets the grantee release files (`sandtrap release`). Under read-blocking, its role must also be
   * named in `actions.readBlocking.adminRoleArns`: the bucket policy denies anyone else tag changes.
   */
  grantRelease(grantee: iam.IGrantable): iam.Grant {
    return this.sandtrap.grantRelease(grantee);
  }

  /** Lets the grantee backfill the objects already in the sources (`sandtrap scan`). */
  grantScan(grantee: iam.IGrantable): iam.Grant {
    return this.sandtrap.grantScan(grantee);
  }
}
