import { Aspects, Duration, type IAspect, RemovalPolicy, Stack } from 'aws-cdk-lib';
import type * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import type * as events from 'aws-cdk-lib/aws-events';
import type * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import cdkNag from 'cdk-nag';
import { Construct, type IConstruct } from 'constructs';
import type { AlarmTopic } from './alarm-topic';
import { parseSandtrapConfig, type SandtrapConfig, type SandtrapConfigInput } from './config';
import { DetonationCluster } from './detonation';
import { SandtrapGrants } from './grants';
import { IngestBuckets, SecureBucket } from './ingest';
import { IngestTrigger } from './ingest-trigger';
import { applyNagSuppressions } from './nag-suppressions';
import { SandtrapOperations } from './operations';
import { ReadBlockingPolicy, readBlockingStatements } from './read-blocking';
import { RedriveSweep } from './redrive-sweep';
import { type ResolvedSource, resolveSource, type SandtrapSource, type SourceOptions } from './sources';
import { SandtrapValidationError } from './validation';
import { VerdictBus } from './verdict-bus';
import { VerdictStoreTable } from './verdict-store';
import { AnalysisWorkflow } from './workflow';

/** Props of {@link Sandtrap}. */
export interface SandtrapProps {
  /** Pipeline configuration (validated with zod at synth time). @default - every default of the configuration */
  readonly config?: SandtrapConfigInput;
  /** What happens to buckets and the table when the stack is deleted. @default RemovalPolicy.RETAIN */
  readonly removalPolicy?: RemovalPolicy;
  /**
   * Buckets to analyse the new objects of, beside (or instead of) the ingest bucket Sandtrap makes:
   * buckets of this app or imported ones (`s3.Bucket.fromBucketName`), each with its prefixes, KMS
   * key and disclosure rule. More can be attached with {@link Sandtrap.addSource}.
   * @default - none: only the ingest bucket
   */
  readonly sources?: readonly SandtrapSource[];
  /**
   * Whether Sandtrap makes an ingest bucket of its own (versioned, inventoried for the re-drive
   * sweep; what `sandtrap submit` uploads to). An app that only attaches its own buckets can go without.
   * @default true
   */
  readonly ingestBucket?: boolean;
  /**
   * A VPC of the app's own for the detonation task, dedicated to it, with isolated subnets only (see
   * `DetonationClusterProps.vpc` for what Sandtrap puts in it and what is refused).
   * @default - a VPC of Sandtrap's own, isolated subnets in two zones
   */
  readonly detonationVpc?: ec2.IVpc;
  /**
   * The subnets of {@link detonationVpc} the task runs in, each one of its isolated subnets.
   * @default - every isolated subnet of that VPC
   */
  readonly detonationSubnets?: ec2.SubnetSelection;
  /**
   * An event bus of the app's own to publish Sandtrap's events on (configuration `busName` must then
   * be absent). Rules and consumers of that bus see `source: sandtrap` events.
   * @default - a new bus named `busName` (`sandtrap`)
   */
  readonly eventBus?: events.IEventBus;
  /**
   * How long every log group of Sandtrap keeps its logs (functions, state machines, the detonation
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

/**
 * The whole pipeline as one construct, to embed in an app of one's own: storage, the analysis
 * workflow, the verdict store and bus, the detonation, the re-drive sweep and the alarms, attached to
 * any number of source buckets. {@link SandtrapStack} is this construct in a stack of its own.
 */
export class Sandtrap extends Construct {
  /** The buckets Sandtrap makes: ingest (unless `ingestBucket: false`), reports, inventory, access logs. */
  readonly buckets: IngestBuckets;
  /** The ingest bucket Sandtrap made, when it made one. */
  readonly ingestBucket?: s3.Bucket;
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
  /** The validated configuration. */
  readonly config: SandtrapConfig;
  private readonly grants: SandtrapGrants;
  private readonly attached: ResolvedSource[] = [];

  constructor(scope: Construct, id: string, props: SandtrapProps = {}) {
    super(scope, id);
    const config = (() => {
      try {
        return parseSandtrapConfig(props.config);
      } catch (error) {
        throw new SandtrapValidationError(this, (error as Error).message);
      }
    })();
    this.config = config;
    const makeIngest = props.ingestBucket ?? true;
    if (!makeIngest && config.ingestPrefix)
      throw new SandtrapValidationError(this, 'ingestPrefix applies to the ingest bucket; give sources their prefixes');
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.RETAIN;
    this.buckets = new IngestBuckets(this, 'Buckets', {
      removalPolicy,
      ingestBucket: makeIngest,
      reportRetentionDays: config.reportRetentionDays,
      ingestNoncurrentDays: config.ingestNoncurrentDays,
      ...(config.ingestPrefix ? { ingestPrefix: config.ingestPrefix } : {}),
      ...(props.encryptionKey ? { reportsKey: props.encryptionKey } : {}),
    });
    this.ingestBucket = this.buckets.ingestBucket;
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
    const { vpc: network, ...task } = config.detonationTask;
    if (network && props.detonationVpc)
      throw new SandtrapValidationError(
        this,
        'give the configuration a detonationTask.vpc or the construct a detonationVpc, not both',
      );
    if (network && !config.settings.detonation.enabled)
      throw new SandtrapValidationError(
        this,
        'detonationTask.vpc is for the detonation, which settings.detonation turns off',
      );
    const detonationVpc =
      props.detonationVpc ?? (network ? ec2.Vpc.fromVpcAttributes(this, 'DetonationVpc', network) : undefined);
    if (config.settings.detonation.enabled) {
      this.detonation = (() => {
        try {
          return new DetonationCluster(this, 'Detonation', {
            reportsBucket: this.buckets.reports,
            removalPolicy,
            ...task,
            ...(detonationVpc ? { vpc: detonationVpc } : {}),
            ...(props.detonationSubnets ? { vpcSubnets: props.detonationSubnets } : {}),
          });
        } catch (error) {
          throw new SandtrapValidationError(this, (error as Error).message.replace(/^DetonationCluster: /, ''));
        }
      })();
    } else if (props.detonationVpc || props.detonationSubnets) {
      throw new SandtrapValidationError(
        this,
        'detonationVpc is for the detonation, which settings.detonation turns off',
      );
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
    // Every upload starts at the Express front, which hands to the Standard workflow what must wait.
    this.trigger = new IngestTrigger(this, 'IngestTrigger', { stateMachine: this.workflow.frontStateMachine });
    const { rateMinutes, ...sweepSettings } = config.sweep;
    this.redriveSweep = new RedriveSweep(this, 'RedriveSweep', {
      ...(this.ingestBucket && this.buckets.inventory
        ? {
            ingestBucket: this.ingestBucket,
            inventory: { bucket: this.buckets.inventory, prefix: this.buckets.inventoryPrefix },
          }
        : {}),
      prefix: config.ingestPrefix,
      sources: this.attached,
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
    this.grants = new SandtrapGrants({
      ...(this.ingestBucket ? { ingestBucket: this.ingestBucket } : {}),
      sources: this.attached,
      reportsBucket: this.buckets.reports,
      ...(this.quarantineBucket ? { quarantineBucket: this.quarantineBucket } : {}),
      table: this.verdicts.table,
      bus: this.bus.bus,
      stateMachine: this.workflow.stateMachine,
      ...(config.ingestPrefix ? { ingestPrefix: config.ingestPrefix } : {}),
      ...(props.encryptionKey ? { encryptionKey: props.encryptionKey } : {}),
    });
    if (this.ingestBucket)
      this.addSource(this.ingestBucket, config.ingestPrefix ? { prefixes: [config.ingestPrefix] } : {});
    for (const source of props.sources ?? []) this.addSource(source.bucket, source);
    if (props.logRetention !== undefined) Aspects.of(this).add(new LogRetention(props.logRetention));
    applyNagSuppressions(this);
  }

  /** The sources attached so far, the ingest bucket first when Sandtrap made one. */
  get sources(): readonly ResolvedSource[] {
    return this.attached;
  }

  /**
   * Analyses the new objects of one more bucket: an EventBridge rule for its prefixes (EventBridge
   * notifications switched on, unless its owner does it), the functions' read and tag rights on those
   * prefixes (and `kms:Decrypt` on its key), the detonation's download from it, its disclosure rule
   * and, under read-blocking, the deny statements on its policy (a bucket of this app) or the
   * owner's promise to add them (an imported one).
   */
  addSource(bucket: s3.IBucket, options: SourceOptions = {}): ResolvedSource {
    const source = resolveSource(this, { ...options, bucket }, this.attached);
    const readBlocking = this.config.actions.readBlocking;
    if (readBlocking.enabled && !source.owned && !source.readBlockingAppliedByOwner)
      throw new SandtrapValidationError(
        this,
        `source ${bucket.bucketName}: read-blocking needs deny statements in the bucket's policy, which this app does not own (CDK would replace the whole policy). Have its owner add Sandtrap.readBlockingStatements(bucket) and attach it with readBlockingAppliedByOwner: true`,
      );
    this.attached.push(source);
    this.grants.sourceAttached(source);
    if (source.eventBridge === 'enable' && bucket !== this.ingestBucket) bucket.enableEventBridgeNotification();
    this.workflow.addSource(source);
    this.trigger.addSource(source);
    this.detonation?.addSampleBucket(bucket);
    if (readBlocking.enabled && source.owned)
      new ReadBlockingPolicy(
        this,
        this.attached.length === 1 ? 'ReadBlocking' : `ReadBlocking${this.attached.length}`,
        {
          ...this.readBlockingProps(bucket),
        },
      );
    suppressSourceFindings(this, source);
    return source;
  }

  /**
   * The read-blocking deny statements for a bucket whose policy the app does not own, for its owner
   * to add (the JSON of each is `statement.toStatementJson()`, once the stack is resolved).
   */
  readBlockingStatements(bucket: s3.IBucket): iam.PolicyStatement[] {
    return readBlockingStatements(Stack.of(this), this.readBlockingProps(bucket));
  }

  private readBlockingProps(bucket: s3.IBucket) {
    const readBlocking = this.config.actions.readBlocking;
    return {
      bucket,
      pipelineRoles: Object.values(this.workflow.functions)
        .map((f) => f.function.role)
        .filter((r): r is NonNullable<typeof r> => r !== undefined),
      adminRoleArns: readBlocking.adminRoleArns,
      unknown: readBlocking.unknown,
    };
  }

  /** Lets the grantee read stored verdicts and reports (`sandtrap status`, `sandtrap report`). */
  grantReadVerdicts(grantee: iam.IGrantable): iam.Grant {
    return this.grants.readVerdicts(grantee);
  }

  /** Lets the grantee read the reports bucket's reports (verdict documents, HTML, indicators). */
  grantReadReports(grantee: iam.IGrantable): iam.Grant {
    return this.grants.readReports(grantee);
  }

  /** Lets the grantee submit files to the ingest bucket and wait for their verdicts (`sandtrap submit --wait`). */
  grantSubmit(grantee: iam.IGrantable): iam.Grant {
    if (!this.ingestBucket)
      throw new SandtrapValidationError(this, 'grantSubmit needs the ingest bucket, and this Sandtrap has none');
    return this.grants.submit(grantee);
  }

  /**
   * Lets the grantee release files (`sandtrap release`) in every source, those attached later too. Under
   * read-blocking, its role must also be named in `actions.readBlocking.adminRoleArns`: the bucket
   * policy denies anyone else tag changes.
   */
  grantRelease(grantee: iam.IGrantable): iam.Grant {
    return this.grants.release(grantee);
  }

  /** Lets the grantee backfill the objects already in every source, those attached later too (`sandtrap scan`). */
  grantScan(grantee: iam.IGrantable): iam.Grant {
    return this.grants.scan(grantee);
  }
}

/**
 * The cdk-nag findings a source brings, accepted for exactly its ARNs: the functions act on any key
 * under its prefixes (`<bucket>/<prefix>*`), keys not known in advance; and CDK's own
 * bucket-notifications handler, which switches an imported bucket's EventBridge notifications on.
 */
function suppressSourceFindings(scope: Sandtrap, source: ResolvedSource): void {
  const stack = Stack.of(scope);
  const bucketArn = stack.resolve(source.bucket.bucketArn);
  // A bucket of this app appears as <LogicalId.Arn>; an imported one by its literal ARN.
  const arn =
    typeof bucketArn === 'object' && bucketArn['Fn::GetAtt']
      ? `<${bucketArn['Fn::GetAtt'][0]}.Arn>`
      : `arn:<AWS::Partition>:s3:::${source.bucket.bucketName}`;
  cdkNag.NagSuppressions.addResourceSuppressions(
    scope,
    [
      {
        id: 'AwsSolutions-IAM5',
        reason: `Object-level S3 actions must name objects: the functions read, tag and (under quarantine) move any uploaded object under the source's prefixes (${source.prefixes.map((p) => `${p}*`).join(', ')}); keys are not known in advance.`,
        appliesTo: source.prefixes.map((prefix) => `Resource::${arn}/${prefix}*`),
      },
    ],
    true,
  );
  const handler = stack.node.tryFindChild('BucketNotificationsHandler050a0587b7544547bf325f094a3db834');
  if (handler)
    cdkNag.NagSuppressions.addResourceSuppressions(
      handler,
      [
        {
          id: 'AwsSolutions-IAM4',
          reason:
            "CDK's bucket-notifications handler (a custom resource switching the buckets' EventBridge notifications on) logs with AWSLambdaBasicExecutionRole.",
          appliesTo: ['Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole'],
        },
        {
          id: 'AwsSolutions-IAM5',
          reason:
            "CDK's bucket-notifications handler is granted s3:PutBucketNotification on '*' by aws-cdk-lib (one handler serves every bucket of the stack); it only writes notification configurations.",
          appliesTo: ['Resource::*'],
        },
      ],
      true,
    );
}

/**
 * Sets one retention on every log group of Sandtrap, whichever construct made it: each keeps its
 * own default (a month) otherwise, and a retention given to each construct separately would miss
 * the log groups that constructs of aws-cdk-lib make on their own.
 */
class LogRetention implements IAspect {
  constructor(private readonly retention: logs.RetentionDays) {}

  visit(node: IConstruct): void {
    if (node instanceof logs.CfnLogGroup) node.retentionInDays = this.retention;
  }
}
