import { Aspects, CfnOutput, Duration, type IAspect, RemovalPolicy, Stack, type StackProps } from 'aws-cdk-lib';
import type * as events from 'aws-cdk-lib/aws-events';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import type { IConstruct } from 'constructs';
import type * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type { AlarmTopic } from './alarm-topic';
import { SandtrapOperations } from './operations';
import type { Construct } from 'constructs';
import { STACK_OUTPUTS } from './contracts';
import { parseSandtrapConfig, type SandtrapConfigInput } from './config';
import { IngestBuckets } from './ingest';
import { IngestTrigger } from './ingest-trigger';
import { RedriveSweep } from './redrive-sweep';
import { VerdictBus } from './verdict-bus';
import { VerdictStoreTable } from './verdict-store';
import { AnalysisWorkflow } from './workflow';
import { applyNagSuppressions } from './nag-suppressions';
import { DetonationCluster } from './detonation';
import { SecureBucket } from './ingest';
import { ReadBlockingPolicy } from './read-blocking';
import { SandtrapGrants } from './grants';
import { SandtrapValidationError } from './validation';
import type * as iam from 'aws-cdk-lib/aws-iam';
import type * as s3 from 'aws-cdk-lib/aws-s3';

/** Props of {@link SandtrapStack}. */
export interface SandtrapStackProps extends StackProps {
  /** Pipeline configuration (validated with zod at synth time). */
  readonly config?: SandtrapConfigInput;
  /** What happens to buckets and the table when the stack is deleted. @default RemovalPolicy.RETAIN */
  readonly removalPolicy?: RemovalPolicy;
  /**
   * An event bus of the app's own to publish Sandtrap's events on (configuration `busName` must then
   * be absent). Rules and consumers of that bus see `source: sandtrap` events.
   * @default - a new bus named `busName` (`sandtrap`)
   */
  readonly eventBus?: events.IEventBus;
  /**
   * How long every log group of the stack keeps its logs (functions, state machines, the detonation
   * task and its VPC flow log), to match the app's own retention policy.
   * @default logs.RetentionDays.ONE_MONTH
   */
  readonly logRetention?: logs.RetentionDays;
  /**
   * A KMS key of the app's own for the reports bucket and the verdict table (SSE-KMS, a customer
   * managed table key); every function, and every `grant*`, gets the KMS rights its access needs. A
   * key of another stack or account must let this account's IAM policies use it (its key policy).
   * @default S3-managed encryption for reports, an AWS-managed key for the table
   */
  readonly encryptionKey?: kms.IKey;
}

export { STACK_OUTPUTS } from './contracts';

/** The whole pipeline: ingest → workflow → verdict store and bus, composed from reusable constructs. */
export class SandtrapStack extends Stack {
  readonly buckets: IngestBuckets;
  readonly verdicts: VerdictStoreTable;
  readonly bus: VerdictBus;
  readonly workflow: AnalysisWorkflow;
  /** Where malicious objects go, when `actions.quarantine.enabled`. */
  readonly quarantineBucket?: s3.Bucket;
  /** The Fargate detonation, when `settings.detonation.enabled` (the default). */
  readonly detonation?: DetonationCluster;
  readonly trigger: IngestTrigger;
  /** Re-drives uploads left without a terminal record (a lost event, an execution that died). */
  readonly redriveSweep: RedriveSweep;
  /** Fires when an analysis execution fails. */
  readonly failedExecutionsAlarm: cloudwatch.Alarm;
  /** The topic every alarm notifies (`alarms.emails` are subscribed to it). */
  readonly alarmTopic: AlarmTopic;
  /** Fires when upload events sit in the trigger's dead-letter queue. */
  readonly undeliveredEventsAlarm: cloudwatch.Alarm;
  /** Fires when the sweep gives up on an upload whose re-driven executions keep ending without a record. */
  readonly abandonedUploadsAlarm: cloudwatch.Alarm;
  /** Every alarm (on {@link alarmTopic}) and the operations dashboard. */
  readonly operations: SandtrapOperations;
  private readonly grants: SandtrapGrants;

  constructor(scope: Construct, id: string, props: SandtrapStackProps = {}) {
    super(scope, id, props);
    const config = (() => {
      try {
        return parseSandtrapConfig(props.config);
      } catch (error) {
        throw new SandtrapValidationError(this, (error as Error).message);
      }
    })();
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.RETAIN;
    this.buckets = new IngestBuckets(this, 'Buckets', {
      removalPolicy,
      reportRetentionDays: config.reportRetentionDays,
      ingestNoncurrentDays: config.ingestNoncurrentDays,
      ...(config.ingestPrefix ? { ingestPrefix: config.ingestPrefix } : {}),
      ...(props.encryptionKey ? { reportsKey: props.encryptionKey } : {}),
    });
    this.verdicts = new VerdictStoreTable(this, 'Verdicts', {
      removalPolicy,
      ...(props.encryptionKey ? { encryptionKey: props.encryptionKey } : {}),
    });
    if (props.eventBus && config.busName)
      throw new SandtrapValidationError(this, 'give the configuration a busName or the stack an eventBus, not both');
    this.bus = new VerdictBus(this, 'VerdictBus', {
      ...(config.busName ? { busName: config.busName } : {}),
      ...(props.eventBus ? { bus: props.eventBus } : {}),
    });
    if (config.settings.detonation.enabled) {
      this.detonation = new DetonationCluster(this, 'Detonation', {
        ingestBucket: this.buckets.ingest,
        reportsBucket: this.buckets.reports,
        removalPolicy,
        ...config.detonationTask,
      });
    }
    if (config.actions.quarantine.enabled) {
      this.quarantineBucket = new SecureBucket(this, 'Quarantine', {
        removalPolicy,
        serverAccessLogsBucket: this.buckets.accessLogs,
        serverAccessLogsPrefix: 'quarantine/',
      }).bucket;
    }
    this.workflow = new AnalysisWorkflow(this, 'Workflow', {
      quarantineBucket: this.quarantineBucket,
      ingestBucket: this.buckets.ingest,
      reportsBucket: this.buckets.reports,
      table: this.verdicts.table,
      bus: this.bus.bus,
      settings: config.settings,
      engineConcurrency: config.engineConcurrency,
      ...(config.staticEngine.emulatorPython
        ? {
            staticBundleTarget: {
              architecture: process.arch === 'arm64' ? 'arm64' : 'x86_64',
              pythonVersion: config.staticEngine.emulatorPython,
            },
          }
        : {}),
      bundleAwsSdk: config.bundleAwsSdk,
      detonation: this.detonation,
      ...(props.encryptionKey ? { encryptionKey: props.encryptionKey } : {}),
      ...(config.faultInjection ? { faultInjection: config.faultInjection } : {}),
    });
    if (config.actions.readBlocking.enabled) {
      new ReadBlockingPolicy(this, 'ReadBlocking', {
        bucket: this.buckets.ingest,
        pipelineRoles: Object.values(this.workflow.functions)
          .map((f) => f.function.role)
          .filter((r): r is NonNullable<typeof r> => r !== undefined),
        adminRoleArns: config.actions.readBlocking.adminRoleArns,
        unknown: config.actions.readBlocking.unknown,
      });
    }
    this.trigger = new IngestTrigger(this, 'IngestTrigger', {
      bucket: this.buckets.ingest,
      // Every upload starts at the Express front, which hands to the Standard workflow what must wait.
      stateMachine: this.workflow.frontStateMachine,
      prefix: config.ingestPrefix,
    });
    const { rateMinutes, ...sweepSettings } = config.sweep;
    this.redriveSweep = new RedriveSweep(this, 'RedriveSweep', {
      ingestBucket: this.buckets.ingest,
      prefix: config.ingestPrefix,
      inventory: { bucket: this.buckets.inventory, prefix: this.buckets.inventoryPrefix },
      table: this.verdicts.table,
      ...(props.encryptionKey ? { encryptionKey: props.encryptionKey } : {}),
      workflow: this.workflow,
      settings: sweepSettings,
      rate: Duration.minutes(rateMinutes),
      bundleAwsSdk: config.bundleAwsSdk,
    });
    // Nothing lost silently: every way an analysis can go wrong raises an alarm on one topic.
    this.operations = new SandtrapOperations(this, 'Operations', {
      stateMachine: this.workflow.stateMachine,
      frontStateMachine: this.workflow.frontStateMachine,
      table: this.verdicts.table,
      triggerDeadLetterQueue: this.trigger.deadLetterQueue,
      sweepFunction: this.redriveSweep.function.function,
      sweepRate: Duration.minutes(rateMinutes),
      vendors: config.settings.vendors.map((v) => v.id),
      detonation: this.detonation !== undefined,
      emails: config.alarms.emails,
    });
    this.alarmTopic = this.operations.alarmTopic;
    this.failedExecutionsAlarm = this.operations.failedExecutionsAlarm;
    this.undeliveredEventsAlarm = this.operations.undeliveredEventsAlarm;
    this.abandonedUploadsAlarm = this.operations.abandonedUploadsAlarm;
    new CfnOutput(this, STACK_OUTPUTS.ingestBucket, { value: this.buckets.ingest.bucketName });
    new CfnOutput(this, STACK_OUTPUTS.reportsBucket, { value: this.buckets.reports.bucketName });
    new CfnOutput(this, STACK_OUTPUTS.table, { value: this.verdicts.table.tableName });
    new CfnOutput(this, STACK_OUTPUTS.stateMachine, { value: this.workflow.stateMachine.stateMachineArn });
    new CfnOutput(this, STACK_OUTPUTS.frontStateMachine, { value: this.workflow.frontStateMachine.stateMachineArn });
    new CfnOutput(this, STACK_OUTPUTS.bus, { value: this.bus.bus.eventBusName });
    this.grants = new SandtrapGrants({
      ingestBucket: this.buckets.ingest,
      reportsBucket: this.buckets.reports,
      ...(this.quarantineBucket ? { quarantineBucket: this.quarantineBucket } : {}),
      table: this.verdicts.table,
      bus: this.bus.bus,
      stateMachine: this.workflow.stateMachine,
      ...(config.ingestPrefix ? { ingestPrefix: config.ingestPrefix } : {}),
      ...(props.encryptionKey ? { encryptionKey: props.encryptionKey } : {}),
    });
    if (props.logRetention !== undefined) Aspects.of(this).add(new LogRetention(props.logRetention));
    applyNagSuppressions(this);
  }

  /** Lets the grantee read stored verdicts and reports (`sandtrap status`, `sandtrap report`). */
  grantReadVerdicts(grantee: iam.IGrantable): iam.Grant {
    return this.grants.readVerdicts(grantee);
  }

  /** Lets the grantee read the reports bucket's reports (verdict documents, HTML, indicators). */
  grantReadReports(grantee: iam.IGrantable): iam.Grant {
    return this.grants.readReports(grantee);
  }

  /** Lets the grantee submit files and wait for their verdicts (`sandtrap submit --wait`). */
  grantSubmit(grantee: iam.IGrantable): iam.Grant {
    return this.grants.submit(grantee);
  }

  /**
   * Lets the grantee release files (`sandtrap release`). Under read-blocking, its role must also be
   * named in `actions.readBlocking.adminRoleArns`: the bucket policy denies anyone else tag changes.
   */
  grantRelease(grantee: iam.IGrantable): iam.Grant {
    return this.grants.release(grantee);
  }

  /** Lets the grantee backfill the objects already in the bucket (`sandtrap scan`). */
  grantScan(grantee: iam.IGrantable): iam.Grant {
    return this.grants.scan(grantee);
  }
}

/**
 * Sets one retention on every log group of the stack, whichever construct made it: each keeps its
 * own default (a month) otherwise, and a retention given to each construct separately would miss
 * the log groups that constructs of aws-cdk-lib make on their own.
 */
class LogRetention implements IAspect {
  constructor(private readonly retention: logs.RetentionDays) {}

  visit(node: IConstruct): void {
    if (node instanceof logs.CfnLogGroup) node.retentionInDays = this.retention;
  }
}
