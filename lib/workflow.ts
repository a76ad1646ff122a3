import type * as kms from 'aws-cdk-lib/aws-kms';
import { kmsActionsForAll } from './kms-grants';
import { Aws, Duration, Lazy } from 'aws-cdk-lib';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import type * as events from 'aws-cdk-lib/aws-events';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import { Construct } from 'constructs';
import { NagSuppressions } from 'cdk-nag';
import {
  ENV,
  executionTimeoutSeconds,
  type RuntimeSettings,
  type VendorConfig,
} from '../lambdas/core/config/runtime-config';
import {
  DETAIL_TYPE_FAILED,
  DETONATION_ENGINE,
  EVENT_SOURCE,
  STATIC_ENGINE,
  type VendorId,
} from '../lambdas/core/contracts/pipeline';
import { RATE_LIMITED_ERROR, RETRYABLE_VENDOR_ERRORS } from '../lambdas/core/connector/errors';
import { DUPLICATE_EVENT_ERROR } from '../lambdas/core/contracts/analysis-errors';
import { TRANSIENT_AWS_ERRORS } from '../lambdas/core/runtime/clients';
import { EVENTS_NOT_PUBLISHED_ERROR } from '../lambdas/core/runtime/events';
import { TASK_SLOT_CONTENTION_ERROR } from '../lambdas/core/store/task-slots';
import { UPLOAD_INDEX } from '../lambdas/core/store/verdict-store';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import { PipelineFunction } from './functions';
import type { StaticBundleTarget } from './static-bundle';
import { StaticEngineFunction } from './static-engine';
import { type GrantTarget, type NodeFunctionId, type StepGrant, STEPS, type WorkflowFunctionId } from './steps';
import { DETONATION_ENV, type DetonationCluster } from './detonation';
import { parseAgentConfig } from '../lambdas/core/contracts/agent-config';
import { detonationTaskTimeoutSeconds } from '../lambdas/core/engines/detonation/detonation-runs';
import { FAULT_INJECTION_ENV, type FaultInjection } from '../lambdas/core/runtime/fault-injection';
import { type ResolvedSource, sourceDisclosureRules, sourceObjectArns } from './sources';

/** Props of {@link AnalysisWorkflow}. */
export interface AnalysisWorkflowProps {
  /**
   * The buckets whose objects are analysed; more are attached with {@link AnalysisWorkflow.addSource}.
   * @default - none yet
   */
  readonly sources?: readonly ResolvedSource[];
  readonly reportsBucket: s3.IBucket;
  readonly table: dynamodb.ITable;
  readonly bus: events.IEventBus;
  readonly settings: RuntimeSettings;
  /** Engines of one analysis that run at once. @default 10 */
  readonly engineConcurrency?: number;
  /** @default false */
  readonly bundleAwsSdk?: boolean;
  /** Faults injected into the functions for the uploads a test names (see `lambdas/core/runtime/fault-injection.ts`); never in production. */
  readonly faultInjection?: FaultInjection;
  /** Where malicious objects are moved; without it quarantine is off. */
  readonly quarantineBucket?: s3.IBucket;
  /** The platform the static engine's wheels are built for. @default Lambda's (arm64, Python 3.12) */
  readonly staticBundleTarget?: StaticBundleTarget;
  /** Our Linux detonation on Fargate; without it the `detonation` engine is not part of the workflow. */
  readonly detonation?: DetonationCluster;
  /** The customer key the reports bucket and the table are encrypted with; each function gets the KMS rights its grants need. */
  readonly encryptionKey?: kms.IKey;
}

/** Lambda service faults worth retrying on every task (what CDK's `retryOnServiceExceptions` covers). */
export const LAMBDA_SERVICE_ERRORS = [
  'Lambda.ClientExecutionTimeoutException',
  'Lambda.ServiceException',
  'Lambda.AWSLambdaException',
  'Lambda.SdkClientException',
  'Lambda.TooManyRequestsException',
];

/** The outcome of a cached verdict: no engine ran. Each workflow has its own state of this name. */
function markCachedState(scope: Construct): sfn.Pass {
  return new sfn.Pass(scope, STATES.markCached, {
    stateName: STATES.markCached,
    parameters: { cached: true, results: [] },
    resultPath: '$.outcome',
  });
}

/** An engine's own failure (vendor, detonation or static): recorded as its result, never failing the analysis. */
function engineFailedState(scope: Construct): sfn.Pass {
  return new sfn.Pass(scope, STATES.engineFailed, {
    stateName: STATES.engineFailed,
    parameters: {
      'engine.$': '$.engine',
      status: 'error',
      verdict: 'unknown',
      score: null,
      'reason.$': '$.error.Cause',
    },
  });
}

/** An event a publishing state puts on the bus: its detail type and the path of its detail in the state. */
type PublishedEvent = [detailType: string, detailPath: string];

/** ECS faults of the RunTask integration worth retrying: the service's, not the task's. */
export const ECS_SERVICE_ERRORS = ['ECS.AmazonECSException', 'ECS.ServerException', 'ECS.ThrottlingException'];

/** How the RunTask .sync integration reports capacity it could not place (`failures` in RunTask's answer) and launch limits. */
export const ECS_CAPACITY_ERRORS = ['AmazonECS.Unknown', 'ECS.LimitExceededException'];

/** AWS's transient faults (throttling, S3's `SlowDown` and `InternalError`, timeouts), retried on every task that calls AWS. */
const TRANSIENT_AWS_RETRY: sfn.RetryProps = {
  errors: [...TRANSIENT_AWS_ERRORS],
  interval: Duration.seconds(2),
  maxAttempts: 4,
  backoffRate: 2,
  jitterStrategy: sfn.JitterType.FULL,
};

/**
 * What each state of the Express front may take, in seconds. An Express execution ends after five
 * minutes without a Catch, so the front's longest path stays well inside that: triage, the static
 * engine, finalize and publishing, with their few retries. The Lambda functions keep their own,
 * longer timeouts for the Standard workflow, which gets every upload a front step could not finish.
 */
export const FRONT_BUDGET_SECONDS = {
  triage: 45,
  staticAnalysis: 100,
  finalize: 30,
  recordFailure: 20,
  handOff: 10,
} as const;

/** The longest execution an Express workflow may have (AWS's limit). */
export const EXPRESS_MAX_SECONDS = 300;

/**
 * Objects larger than this go straight to the Standard workflow: Triage reads the whole object once,
 * and at the tens of MB/s a Lambda reads S3 with, a larger one might not be hashed in the front's budget.
 */
export const FRONT_MAX_OBJECT_BYTES = 512 * 1024 * 1024;

/** StartExecution's answer when an execution of that name exists: the hand-off already happened. */
export const HANDOFF_EXISTS_ERROR = 'SFN.ExecutionAlreadyExistsException';

/** The error the static engine's Python handler raises for S3's transient failures. */
export const STATIC_TRANSIENT_ERROR = 'TransientAwsError';

/** Names of the states (a step's own comes from its manifest entry): the local runtime, the tests and the benchmarks refer to them. */
export const STATES = {
  fromEvent: 'FromEvent',
  fromFront: 'FromFront',
  keepEvent: 'KeepEvent',
  frontSize: 'FitsTheFront',
  handOffEvent: 'HandOffEvent',
  handOffTriaged: 'HandOffTriaged',
  frontEngines: 'FrontEngines',
  anythingWaits: 'AnythingWaits',
  nothingWaits: 'NothingWaits',
  triage: STEPS.TriageFn.state,
  route: 'Route',
  waitForPeer: 'WaitForPeer',
  checkPeer: STEPS.CheckPeerFn.state,
  markCached: 'UseCachedVerdict',
  engines: 'Engines',
  submit: STEPS.VendorSubmitFn.state,
  waitForSubmitSlot: 'WaitForSubmissionSlot',
  submitQueued: 'SubmitQueuedSample',
  waitForVendor: 'WaitForVendor',
  poll: STEPS.VendorPollFn.state,
  reportReady: 'NextVendorStep',
  waitForReportSlot: 'WaitForReportSlot',
  collect: STEPS.VendorCollectFn.state,
  engineEnded: 'VendorEngineEnded',
  engineFailed: 'EngineFailed',
  engineKind: 'EngineKind',
  staticAnalysis: STEPS.StaticFn.state,
  reserveDetonation: STEPS.ReserveDetonationFn.state,
  waitForDetonationSlot: 'WaitForDetonationSlot',
  prepareDetonation: STEPS.PrepareDetonationFn.state,
  runDetonation: 'RunDetonation',
  /** With Spot capacity: the on-demand run of a detonation whose Spot run failed (interrupted, no capacity). */
  runDetonationOnDemand: 'RunDetonationOnDemand',
  /** With Spot capacity: fresh URLs and nonce for the on-demand run (the Spot run's may be near their expiry). */
  prepareDetonationOnDemand: 'PrepareDetonationOnDemand',
  collectDetonation: STEPS.CollectDetonationFn.state,
  finalize: STEPS.FinalizeFn.state,
  duplicate: 'DuplicateEventIgnored',
  /** The upload joined the running analysis of its content, which serves it the verdict: nothing polls. */
  joined: 'JoinedAnalysis',
  failureOwned: 'IsFailureReportedHere',
  recordFailure: STEPS.RecordFailureFn.state,
  publishFailure: 'PublishFailure',
  failed: 'AnalysisFailed',
} as const;

/**
 * The analysis state machine (Standard, JSONPath) and its functions: triage → dedupe → engines in a
 * Map → finalize → `Sample Verdict`; any failure → `Sample Analysis Failed`. Vendors are polled by
 * Wait states whose seconds the poll step chooses, never by sleeping code.
 */
export class AnalysisWorkflow extends Construct {
  /** The Standard workflow: every engine, waits included; the sweep's re-drives and reanalyses start it. */
  readonly stateMachine: sfn.StateMachine;
  /** The Express front every upload starts: it ends most analyses itself and hands the rest to {@link stateMachine}. */
  readonly frontStateMachine: sfn.StateMachine;
  readonly functions: Record<WorkflowFunctionId, { readonly function: lambda.Function }>;
  /** The environment every function of the workflow reads its configuration from (table, buckets, settings). */
  readonly environment: Record<string, string>;
  /** One secret per enabled vendor whose credential is not given another way; set its value after deploying. */
  readonly vendorSecrets: Partial<Record<VendorId, secretsmanager.Secret>> = {};
  /** The buckets whose objects the functions may read, in the order they were attached. */
  private readonly sources: ResolvedSource[] = [];
  /** Whether quarantine is on: the functions then also move a source's malicious objects out. */
  private readonly quarantine: boolean;

  constructor(scope: Construct, id: string, props: AnalysisWorkflowProps) {
    super(scope, id);
    this.quarantine = props.quarantineBucket !== undefined;
    const vendors: VendorConfig[] = props.settings.vendors.map((vendor) => {
      if (vendor.secret) return vendor;
      const secret = new secretsmanager.Secret(this, `${vendor.id}ApiKey`, {
        description: `Sandtrap: API key of the ${vendor.id} sandbox (set the value after deploying)`,
      });
      this.vendorSecrets[vendor.id] = secret;
      return { ...vendor, secret: { arn: secret.secretArn } };
    });
    const environment: Record<string, string> = {
      [ENV.table]: props.table.tableName,
      [ENV.reportsBucket]: props.reportsBucket.bucketName,
      // The detonation slots follow the task's size: the Fargate vCPU quota holds that many tasks.
      // Lazy: sources attached after construction add their disclosure rules to the settings.
      [ENV.settings]: Lazy.string({
        produce: () =>
          JSON.stringify({
            ...props.settings,
            vendors,
            ...(props.detonation
              ? { detonation: { ...props.settings.detonation, taskVcpu: props.detonation.taskCpu / 1024 } }
              : {}),
            // The longest matching prefix decides and, of two equally long, the first: a source's own
            // rule comes before a configuration rule for the same bucket and prefix.
            sources: [...this.sources.flatMap(sourceDisclosureRules), ...props.settings.sources],
          }),
      }),
      ...(props.quarantineBucket ? { [ENV.quarantineBucket]: props.quarantineBucket.bucketName } : {}),
      [ENV.eventBus]: props.bus.eventBusName,
      ...(props.faultInjection ? { [FAULT_INJECTION_ENV]: JSON.stringify(props.faultInjection) } : {}),
    };
    this.environment = environment;
    const make = (fnId: Exclude<WorkflowFunctionId, 'StaticFn'> & NodeFunctionId) =>
      new PipelineFunction(this, fnId, {
        environment,
        timeout: Duration.seconds(STEPS[fnId].timeoutSeconds),
        memorySize: STEPS[fnId].memoryMb,
        bundleAwsSdk: props.bundleAwsSdk,
      });
    this.functions = {
      TriageFn: make('TriageFn'),
      CheckPeerFn: make('CheckPeerFn'),
      StaticFn: new StaticEngineFunction(this, 'StaticFn', {
        environment,
        ...(props.staticBundleTarget ? { bundleTarget: props.staticBundleTarget } : {}),
      }),
      VendorSubmitFn: make('VendorSubmitFn'),
      VendorPollFn: make('VendorPollFn'),
      VendorCollectFn: make('VendorCollectFn'),
      ReserveDetonationFn: make('ReserveDetonationFn'),
      PrepareDetonationFn: make('PrepareDetonationFn'),
      CollectDetonationFn: make('CollectDetonationFn'),
      FinalizeFn: make('FinalizeFn'),
      RecordFailureFn: make('RecordFailureFn'),
    };
    this.grant(props, vendors);
    for (const source of props.sources ?? []) this.addSource(source);
    this.stateMachine = new sfn.StateMachine(this, 'StateMachine', {
      stateMachineType: sfn.StateMachineType.STANDARD,
      definitionBody: sfn.DefinitionBody.fromChainable(this.definition(props)),
      tracingEnabled: true,
      timeout: Duration.seconds(executionTimeoutSeconds(props.settings)),
      logs: {
        // A Standard execution keeps its whole history for 90 days (GetExecutionHistory, the console):
        // logging every state again would bill each analysis's history at CloudWatch ingestion prices.
        // Failures are logged, to alarm and search on.
        destination: new logs.LogGroup(this, 'ExecutionLogs', { retention: logs.RetentionDays.ONE_MONTH }),
        level: sfn.LogLevel.ERROR,
        includeExecutionData: false,
      },
    });
    NagSuppressions.addResourceSuppressions(this.stateMachine, [
      {
        id: 'AwsSolutions-SF1',
        reason:
          'The Standard workflow logs ERROR: its executions keep their full history for 90 days in Step Functions; the Express front, which keeps none, logs ALL.',
      },
    ]);
    this.frontStateMachine = new sfn.StateMachine(this, 'FrontStateMachine', {
      stateMachineType: sfn.StateMachineType.EXPRESS,
      definitionBody: sfn.DefinitionBody.fromChainable(this.frontDefinition(props, this.stateMachine)),
      tracingEnabled: true,
      timeout: Duration.seconds(EXPRESS_MAX_SECONDS),
      logs: {
        // Express keeps no history of its own: its log is the only record of an execution's path.
        destination: new logs.LogGroup(this, 'FrontExecutionLogs', { retention: logs.RetentionDays.ONE_MONTH }),
        level: sfn.LogLevel.ALL,
        includeExecutionData: false,
      },
    });
  }

  /** A state that puts Sandtrap's events, each `[detail type, path of its detail]`, on the bus; retried, since the events are the product. */
  private publish(
    scope: Construct,
    bus: events.IEventBus,
    stateName: string,
    published: PublishedEvent[],
    retry: Pick<sfn.RetryProps, 'maxAttempts'> = { maxAttempts: 5 },
  ): tasks.EventBridgePutEvents {
    const task = new tasks.EventBridgePutEvents(scope, stateName, {
      stateName,
      entries: published.map(([detailType, path]) => ({
        eventBus: bus,
        source: EVENT_SOURCE,
        detailType,
        detail: sfn.TaskInput.fromJsonPathAt(path),
      })),
      resultPath: sfn.JsonPath.DISCARD,
    });
    task.addRetry({ errors: [sfn.Errors.ALL], interval: Duration.seconds(2), backoffRate: 2, ...retry });
    return task;
  }

  /** Least privilege: each function gets exactly the actions its manifest entry lists. */
  private grant(props: AnalysisWorkflowProps, vendors: VendorConfig[]): void {
    const secrets = vendors.flatMap((v) => (v.secret && 'arn' in v.secret ? [v.secret.arn] : []));
    const { rulePacks } = props.settings.static;
    const rulePackBucketArn = rulePacks.bucket
      ? `arn:${Aws.PARTITION}:s3:::${rulePacks.bucket}`
      : props.reportsBucket.bucketArn;
    const resources: Record<GrantTarget, string[]> = {
      // Each source's objects are granted as it is attached (addSource).
      ingestObjects: [],
      ingestBucket: [],
      reportObjects: [props.reportsBucket.arnForObjects('reports/*')],
      table: [props.table.tableArn],
      uploadIndex: [`${props.table.tableArn}/index/${UPLOAD_INDEX.name}`],
      quarantineObjects: props.quarantineBucket ? [props.quarantineBucket.arnForObjects('*')] : [],
      vendorSecrets: secrets,
      // The state machine starts no execution of itself; only the sweep beside it does.
      stateMachine: [],
      rulePackBucket: [rulePackBucketArn],
      rulePackObjects: [`${rulePackBucketArn}/${rulePacks.prefix}*`],
      eventBus: [props.bus.eventBusArn],
    };
    // Listing is limited to the packs' prefix, so the engine cannot enumerate the rest of the bucket.
    const conditions: Partial<Record<GrantTarget, Record<string, unknown>>> = {
      rulePackBucket: { StringLike: { 's3:prefix': [`${rulePacks.prefix}*`] } },
    };
    for (const [id, fn] of Object.entries(this.functions) as [WorkflowFunctionId, { function: lambda.Function }][]) {
      const kmsActions = kmsActionsForAll(
        (STEPS[id].grants as readonly StepGrant[]).filter((g) => !g.onlyWithQuarantine || props.quarantineBucket),
      );
      if (props.encryptionKey && kmsActions.length > 0)
        fn.function.addToRolePolicy(
          new iam.PolicyStatement({ actions: kmsActions, resources: [props.encryptionKey.keyArn] }),
        );
      for (const grant of STEPS[id].grants as readonly StepGrant[]) {
        if (grant.onlyWithQuarantine && !props.quarantineBucket) continue;
        // One statement per secret, as each vendor's key is a resource of its own.
        const each = grant.on === 'vendorSecrets' ? resources.vendorSecrets.map((arn) => [arn]) : [resources[grant.on]];
        for (const list of each)
          if (list.length > 0)
            fn.function.addToRolePolicy(
              new iam.PolicyStatement({
                actions: [...grant.actions],
                resources: list,
                conditions: conditions[grant.on],
              }),
            );
      }
    }
  }

  /**
   * Lets the functions reach a source's objects: each function gets its manifest's `ingestObjects`
   * actions on the source's prefixes, and `kms:Decrypt` on the source's key where it reads objects
   * (the presigning function included: S3 decrypts a presigned download as the signer).
   */
  addSource(source: ResolvedSource): void {
    this.sources.push(source);
    const objects = sourceObjectArns(source);
    for (const [id, fn] of Object.entries(this.functions) as [WorkflowFunctionId, { function: lambda.Function }][]) {
      const grants = (STEPS[id].grants as readonly StepGrant[]).filter(
        (g) => g.on === 'ingestObjects' && (!g.onlyWithQuarantine || this.quarantine),
      );
      for (const grant of grants)
        fn.function.addToRolePolicy(new iam.PolicyStatement({ actions: [...grant.actions], resources: objects }));
      const reads = grants.some((g) => g.actions.some((a) => a === 's3:GetObject' || a === 's3:GetObjectVersion'));
      if (source.encryptionKey && reads)
        fn.function.addToRolePolicy(
          new iam.PolicyStatement({ actions: ['kms:Decrypt'], resources: [source.encryptionKey.keyArn] }),
        );
    }
  }

  private invoke(
    id: string,
    fnId: WorkflowFunctionId,
    options: {
      payload?: sfn.TaskInput;
      resultPath?: string;
      timeout: Duration;
      /** Where the state is built (the front's states live in their own scope). @default this */
      scope?: Construct;
      /** Attempts on Lambda's own service faults. @default 6 */
      serviceAttempts?: number;
    },
  ) {
    const task = new tasks.LambdaInvoke(options.scope ?? this, id, {
      stateName: id,
      lambdaFunction: this.functions[fnId].function,
      payloadResponseOnly: true,
      retryOnServiceExceptions: false,
      payload: options.payload,
      resultPath: options.resultPath,
      taskTimeout: sfn.Timeout.duration(options.timeout),
    });
    task.addRetry({
      errors: LAMBDA_SERVICE_ERRORS,
      interval: Duration.seconds(2),
      maxAttempts: options.serviceAttempts ?? 6,
      backoffRate: 2,
      jitterStrategy: sfn.JitterType.FULL,
    });
    return task;
  }

  /** The static engine's task: its result is the iteration's output, one task, no polling. */
  private staticAnalysis(
    scope: Construct,
    engineFailed: sfn.IChainable,
    onError: sfn.CatchProps,
    options: { timeout: Duration; transientAttempts: number; serviceAttempts?: number },
  ): tasks.LambdaInvoke {
    const task = this.invoke(STATES.staticAnalysis, 'StaticFn', {
      scope,
      payload: sfn.TaskInput.fromObject({ 'engine.$': '$.engine', 'sample.$': '$.sample' }),
      timeout: options.timeout,
      ...(options.serviceAttempts ? { serviceAttempts: options.serviceAttempts } : {}),
    });
    if (options.transientAttempts > 0)
      task.addRetry({
        // The Python handler names S3's transient failures so (static/sandtrap_static/lambda_function.py).
        errors: [STATIC_TRANSIENT_ERROR],
        interval: Duration.seconds(2),
        maxAttempts: options.transientAttempts,
        backoffRate: 2,
      });
    task.addCatch(engineFailed, onError);
    return task;
  }

  /** The first state of an engine: the static engine, our detonation, or a vendor's submit. */
  private engineKind(
    props: AnalysisWorkflowProps,
    vendorStart: sfn.IChainable,
    engineFailed: sfn.IChainable,
    onError: sfn.CatchProps,
  ): sfn.IChainable {
    const staticAnalysis = this.staticAnalysis(this, engineFailed, onError, {
      timeout: this.timeoutOf('StaticFn'),
      transientAttempts: 3,
    });
    const choice = new sfn.Choice(this, STATES.engineKind, { stateName: STATES.engineKind }).when(
      sfn.Condition.stringEquals('$.engine', STATIC_ENGINE),
      staticAnalysis,
    );
    if (props.detonation)
      choice.when(
        sfn.Condition.stringEquals('$.engine', DETONATION_ENGINE),
        this.detonationEngine(props, props.detonation, engineFailed, onError),
      );
    return choice.otherwise(vendorStart);
  }

  private timeoutOf(fnId: WorkflowFunctionId): Duration {
    return this.functions[fnId].function.timeout ?? Duration.minutes(1);
  }

  /**
   * Our detonation: reserve a turn of a task slot → wait for it → prepare (presigned URLs) → run the
   * Fargate task → collect its report (giving the turn back). With Spot capacity the task runs on
   * Fargate Spot first, and on-demand when that run fails.
   */
  private detonationEngine(
    props: AnalysisWorkflowProps,
    cluster: DetonationCluster,
    engineFailed: sfn.IChainable,
    onError: sfn.CatchProps,
  ): sfn.IChainable {
    const reserve = this.invoke(STATES.reserveDetonation, 'ReserveDetonationFn', {
      payload: sfn.TaskInput.fromObject({ 'owner.$': '$$.Execution.Id' }),
      resultPath: '$.turn',
      timeout: this.timeoutOf('ReserveDetonationFn'),
    });
    const waitForSlot = new sfn.Wait(this, STATES.waitForDetonationSlot, {
      stateName: STATES.waitForDetonationSlot,
      time: sfn.WaitTime.secondsPath('$.turn.waitSeconds'),
    });
    /** Prepare: the sample's presigned URLs, a run nonce and a report key, in `$.detonation`. */
    const prepareState = (stateName: string) =>
      this.invoke(stateName, 'PrepareDetonationFn', {
        payload: sfn.TaskInput.fromObject({ 'sample.$': '$.sample' }),
        resultPath: '$.detonation',
        timeout: this.timeoutOf('PrepareDetonationFn'),
      });
    const prepare = prepareState(STATES.prepareDetonation);
    const env = (name: string, path: string) => ({ name, value: sfn.JsonPath.stringAt(path) });
    // The agent's own deadline, plus Fargate's start (image pull) and stop.
    const agentTimeout = parseAgentConfig(props.settings.detonation.agent, { allowInternet: false }).timeout;
    /** The task with this run's URLs and configuration, on the capacity `launchTarget` names. */
    const runTask = (stateName: string, launchTarget: tasks.EcsFargateLaunchTarget) =>
      new tasks.EcsRunTask(this, stateName, {
        stateName,
        integrationPattern: sfn.IntegrationPattern.RUN_JOB,
        cluster: cluster.cluster,
        taskDefinition: cluster.taskDefinition,
        launchTarget,
        subnets: cluster.subnets,
        securityGroups: [cluster.securityGroup],
        assignPublicIp: false,
        containerOverrides: [
          {
            containerDefinition: cluster.container,
            environment: [
              env(DETONATION_ENV.sampleUrl, '$.detonation.sampleUrl'),
              env(DETONATION_ENV.reportUrl, '$.detonation.reportUrl'),
              env(DETONATION_ENV.pcapUrl, '$.detonation.pcapUrl'),
              env(DETONATION_ENV.agentConfig, '$.detonation.agentConfig'),
              env(DETONATION_ENV.sampleName, '$.detonation.sampleName'),
            ],
          },
        ],
        resultPath: sfn.JsonPath.DISCARD,
        taskTimeout: sfn.Timeout.duration(Duration.seconds(detonationTaskTimeoutSeconds(agentTimeout))),
      });
    const ecsRetryPacing: Omit<sfn.RetryProps, 'errors'> = {
      interval: Duration.seconds(30),
      maxAttempts: 8,
      backoffRate: 2,
      maxDelay: Duration.minutes(5),
      jitterStrategy: sfn.JitterType.FULL,
    };
    const onDemand = runTask(
      cluster.capacity === 'spot' ? STATES.runDetonationOnDemand : STATES.runDetonation,
      new tasks.EcsFargateLaunchTarget({ platformVersion: cluster.platformVersion }),
    );
    // The account busy beyond our turn (another workload's tasks, a turn overrun): RunTask answers with
    // `failures`, which the .sync integration raises as AmazonECS.Unknown, or is throttled. Waiting
    // with jitter and starting again is right; the engine must not fail because the account is busy.
    onDemand.addRetry({ errors: [...ECS_SERVICE_ERRORS, ...ECS_CAPACITY_ERRORS], ...ecsRetryPacing });
    const spot =
      cluster.capacity === 'spot'
        ? runTask(
            STATES.runDetonation,
            new tasks.EcsFargateLaunchTarget({
              platformVersion: cluster.platformVersion,
              // A weight above 0: ECS places no task on a provider weighted 0.
              capacityProviderOptions: tasks.CapacityProviderOptions.custom([
                { capacityProvider: 'FARGATE_SPOT', weight: 1 },
              ]),
            }),
          )
        : undefined;
    // Before the on-demand run, Prepare again: the Spot run's presigned URLs live for one task's
    // timeout, which a late interruption can use up, and a fresh nonce and report key mean that a
    // report the interrupted task might still put can never be taken for the on-demand run's.
    const prepareOnDemand = spot ? prepareState(STATES.prepareDetonationOnDemand) : undefined;
    if (spot && prepareOnDemand) {
      prepareOnDemand.addRetry(TRANSIENT_AWS_RETRY);
      prepareOnDemand.next(onDemand);
      spot.addRetry({ errors: [...ECS_SERVICE_ERRORS], ...ecsRetryPacing });
      // Any failed Spot run goes on-demand, not just a recognised interruption: the agent has no
      // SIGTERM handler, so an interrupted container exits non-zero like one whose sample broke the
      // agent, and both fail the state with States.TaskFailed (which, in a Catch, matches every error
      // but States.Timeout: a run that outlived its timeout is not started again). Running a sample
      // that breaks the agent once more on-demand costs one task and keeps the verdict honest: the
      // engine fails only when the on-demand run fails too. No Spot capacity (RunTask's `failures`)
      // goes on-demand at once instead of waiting for Spot. The Spot run's error goes to
      // `$.spotAttempt`, leaving the job and the turn that Collect reads intact.
      spot.addCatch(prepareOnDemand, {
        errors: [sfn.Errors.TASKS_FAILED, ...ECS_CAPACITY_ERRORS],
        resultPath: '$.spotAttempt',
      });
    }
    const run = spot ?? onDemand;
    const collect = this.invoke(STATES.collectDetonation, 'CollectDetonationFn', {
      payload: sfn.TaskInput.fromObject({ 'detonation.$': '$.detonation', 'turn.$': '$.turn' }),
      timeout: this.timeoutOf('CollectDetonationFn'),
    });
    reserve.addRetry({ ...TRANSIENT_AWS_RETRY, errors: [...TRANSIENT_AWS_ERRORS, TASK_SLOT_CONTENTION_ERROR] });
    for (const task of [prepare, collect]) task.addRetry(TRANSIENT_AWS_RETRY);
    for (const task of [reserve, prepare, spot, prepareOnDemand, onDemand, collect])
      task?.addCatch(engineFailed, onError);
    reserve.next(waitForSlot).next(prepare).next(run);
    spot?.next(collect);
    onDemand.next(collect);
    return reserve;
  }

  /**
   * The failure path of a workflow: record, publish `Sample Analysis Failed`, end the execution as
   * failed. A failed duplicate delivery is not reported: the execution that owns the upload reports it.
   */
  private failurePath(
    scope: Construct,
    props: AnalysisWorkflowProps,
    options: { recordAttempts: number; publishAttempts: number; recordTimeout: Duration },
  ): { start: sfn.IChainable; duplicate: sfn.Succeed } {
    const recordFailure = this.invoke(STATES.recordFailure, 'RecordFailureFn', {
      scope,
      payload: sfn.TaskInput.fromObject({ 'state.$': '$', 'executionId.$': '$$.Execution.Id' }),
      resultPath: '$.failure',
      timeout: options.recordTimeout,
      serviceAttempts: 3,
    });
    recordFailure.addRetry({
      errors: [sfn.Errors.TASKS_FAILED],
      interval: Duration.seconds(5),
      maxAttempts: options.recordAttempts,
      backoffRate: 2,
    });
    const publishFailure = this.publish(
      scope,
      props.bus,
      STATES.publishFailure,
      [[DETAIL_TYPE_FAILED, '$.failure.detail']],
      { maxAttempts: options.publishAttempts },
    );
    const failed = new sfn.Fail(scope, STATES.failed, {
      stateName: STATES.failed,
      errorPath: '$.failure.detail.reason',
      causePath: '$.failure.detail.error',
    });
    const duplicate = new sfn.Succeed(scope, STATES.duplicate, {
      stateName: STATES.duplicate,
      comment: 'duplicate delivery of an upload event',
    });
    const start = recordFailure.next(
      new sfn.Choice(scope, STATES.failureOwned, { stateName: STATES.failureOwned })
        .when(sfn.Condition.booleanEquals('$.failure.publish', false), duplicate)
        .otherwise(publishFailure.next(failed)),
    );
    return { start, duplicate };
  }

  /** Finalize → publish `Sample Verdict` (and `Sample Verdict Changed` when it changed) → done. */
  private verdictPath(
    scope: Construct,
    failurePath: sfn.IChainable,
    options: { timeout: Duration; transientAttempts: number; failedAttempts: number; publishAttempts: number },
  ): sfn.IChainable {
    const onError = { errors: [sfn.Errors.ALL], resultPath: '$.error' };
    const finalize = this.invoke(STATES.finalize, 'FinalizeFn', {
      scope,
      payload: sfn.TaskInput.fromObject({
        'sample.$': '$.sample',
        'results.$': '$.outcome.results',
        'reused.$': '$.reused',
        'frontResults.$': '$.frontResults',
        'cached.$': '$.outcome.cached',
        'startedAt.$': '$.startedAt',
        'owner.$': '$.owner',
      }),
      resultPath: '$.verdict',
      timeout: options.timeout,
      serviceAttempts: 3,
    });
    finalize.addRetry({ ...TRANSIENT_AWS_RETRY, maxAttempts: options.transientAttempts });
    // EventBridge refusing the verdict's events (throttling, an outage) fails the step: it is retried
    // whole, as the publishing state it replaces was, before the analysis is called failed.
    finalize.addRetry({
      errors: [EVENTS_NOT_PUBLISHED_ERROR],
      interval: Duration.seconds(2),
      backoffRate: 2,
      maxAttempts: options.publishAttempts,
    });
    if (options.failedAttempts > 0)
      finalize.addRetry({
        errors: [sfn.Errors.TASKS_FAILED],
        interval: Duration.seconds(3),
        maxAttempts: options.failedAttempts,
        backoffRate: 2,
      });
    finalize.addCatch(failurePath, onError);
    // Finalize publishes the verdict itself and ends the execution: each state after it would cost a
    // Standard transition per analysis.
    return finalize;
  }

  /**
   * The Standard workflow: every engine, waits included. It starts three ways: from the Express front
   * with the upload triaged (`waits`: straight to its engines, or to wait for a peer), from the front
   * with the event and the front's execution as owner (an object too large for the front, or a
   * front step that timed out or met a transient fault), or from a bare `Object Created` event (the
   * sweep's re-drives, a reanalysis), triaging it itself.
   */
  private definition(props: AnalysisWorkflowProps): sfn.IChainable {
    const timeoutOf = (fnId: WorkflowFunctionId) => this.timeoutOf(fnId);
    const vendorRetry = {
      errors: [...RETRYABLE_VENDOR_ERRORS],
      interval: Duration.seconds(10),
      maxAttempts: 3,
      backoffRate: 2,
      jitterStrategy: sfn.JitterType.FULL,
    };
    const awsRetry = TRANSIENT_AWS_RETRY;
    const { start: failurePath, duplicate } = this.failurePath(this, props, {
      recordAttempts: 3,
      publishAttempts: 5,
      recordTimeout: timeoutOf('RecordFailureFn'),
    });
    const onError = { errors: [sfn.Errors.ALL], resultPath: '$.error' };

    // Triage and dedupe, for the starts that bring no triaged upload.
    const fromEvent = new sfn.Pass(this, STATES.fromEvent, {
      stateName: STATES.fromEvent,
      parameters: { 'event.$': '$', 'owner.$': '$$.Execution.Id' },
    });
    const fromFront = new sfn.Pass(this, STATES.fromFront, { stateName: STATES.fromFront, inputPath: '$.handoff' });
    const triage = this.invoke(STATES.triage, 'TriageFn', {
      payload: sfn.TaskInput.fromObject({ 'event.$': '$.event', 'owner.$': '$.owner' }),
      timeout: timeoutOf('TriageFn'),
    });
    triage.addRetry(awsRetry);
    // A redelivered event of an upload already claimed ends quietly: its first execution reports it.
    triage.addCatch(duplicate, { errors: [DUPLICATE_EVENT_ERROR], resultPath: '$.error' });
    triage.addCatch(failurePath, onError);
    fromEvent.next(triage);
    fromFront.next(triage);
    const waitForPeer = new sfn.Wait(this, STATES.waitForPeer, {
      stateName: STATES.waitForPeer,
      time: sfn.WaitTime.secondsPath('$.waitSeconds'),
    });
    const checkPeer = this.invoke(STATES.checkPeer, 'CheckPeerFn', { timeout: timeoutOf('CheckPeerFn') });
    checkPeer.addRetry(awsRetry);
    checkPeer.addCatch(failurePath, onError);
    const markCached = markCachedState(this);

    // One vendor engine: submit (or queue for a submission slot) → [wait → poll]* → collect. Every
    // Wait lasts exactly until the slots of the vendor's rate its next step reserved, so a queue of
    // any length costs one Wait per request. Every branch ends in an EngineResult.
    const submit = this.invoke(STATES.submit, 'VendorSubmitFn', {
      payload: sfn.TaskInput.fromObject({ 'engine.$': '$.engine', 'sample.$': '$.sample' }),
      resultPath: '$.job',
      timeout: timeoutOf('VendorSubmitFn'),
    });
    const waitForSubmitSlot = new sfn.Wait(this, STATES.waitForSubmitSlot, {
      stateName: STATES.waitForSubmitSlot,
      time: sfn.WaitTime.secondsPath('$.job.waitSeconds'),
    });
    const submitQueued = this.invoke(STATES.submitQueued, 'VendorSubmitFn', {
      payload: sfn.TaskInput.fromObject({ 'job.$': '$.job', 'sample.$': '$.sample' }),
      resultPath: '$.job',
      timeout: timeoutOf('VendorSubmitFn'),
    });
    const waitForVendor = new sfn.Wait(this, STATES.waitForVendor, {
      stateName: STATES.waitForVendor,
      time: sfn.WaitTime.secondsPath('$.job.waitSeconds'),
    });
    const poll = this.invoke(STATES.poll, 'VendorPollFn', {
      payload: sfn.TaskInput.fromObject({ 'job.$': '$.job', 'sample.$': '$.sample' }),
      resultPath: '$.job',
      timeout: timeoutOf('VendorPollFn'),
    });
    const waitForReportSlot = new sfn.Wait(this, STATES.waitForReportSlot, {
      stateName: STATES.waitForReportSlot,
      time: sfn.WaitTime.secondsPath('$.job.waitSeconds'),
    });
    const collect = this.invoke(STATES.collect, 'VendorCollectFn', {
      payload: sfn.TaskInput.fromObject({ 'job.$': '$.job', 'sample.$': '$.sample' }),
      timeout: timeoutOf('VendorCollectFn'),
    });
    const engineEnded = new sfn.Pass(this, STATES.engineEnded, {
      stateName: STATES.engineEnded,
      outputPath: '$.job.result',
    });
    const engineFailed = engineFailedState(this);
    // Submit and poll turn rate limits into reserved Waits; collecting a ready report (whose slots
    // were reserved) retries a refusal of the vendor's own instead.
    collect.addRetry({
      errors: [RATE_LIMITED_ERROR],
      interval: Duration.seconds(60),
      maxAttempts: 8,
      backoffRate: 1.5,
      maxDelay: Duration.minutes(10),
    });
    for (const task of [submit, submitQueued, poll, collect]) {
      task.addRetry(vendorRetry);
      // The slot counters' throttling and timeouts: retried like any transient AWS fault.
      task.addRetry(awsRetry);
      task.addCatch(engineFailed, onError);
    }
    const nextStep = new sfn.Choice(this, STATES.reportReady, { stateName: STATES.reportReady })
      .when(sfn.Condition.stringEquals('$.job.phase', 'queued'), waitForSubmitSlot)
      .when(
        sfn.Condition.and(
          sfn.Condition.stringEquals('$.job.phase', 'ready'),
          sfn.Condition.numberGreaterThan('$.job.waitSeconds', 0),
        ),
        waitForReportSlot,
      )
      .when(sfn.Condition.stringEquals('$.job.phase', 'ready'), collect)
      .when(sfn.Condition.stringEquals('$.job.phase', 'ended'), engineEnded)
      .otherwise(waitForVendor);
    submit.next(nextStep);
    waitForSubmitSlot.next(submitQueued);
    submitQueued.next(nextStep);
    waitForVendor.next(poll);
    poll.next(nextStep);
    waitForReportSlot.next(collect);

    const engines = new sfn.Map(this, STATES.engines, {
      stateName: STATES.engines,
      itemsPath: '$.engines',
      itemSelector: { 'engine.$': '$$.Map.Item.Value', 'sample.$': '$.sample' },
      maxConcurrency: props.engineConcurrency ?? 10,
      resultSelector: { cached: false, 'results.$': '$' },
      resultPath: '$.outcome',
    });
    engines.itemProcessor(this.engineKind(props, submit, engineFailed, onError));
    engines.addCatch(failurePath, onError);

    const verdict = this.verdictPath(this, failurePath, {
      timeout: timeoutOf('FinalizeFn'),
      transientAttempts: 4,
      failedAttempts: 2,
      publishAttempts: 5,
    });
    // One Choice routes every start (a Choice before it would cost each analysis a transition): a
    // hand-off brings the event and the front as owner, a bare event is triaged here, and a triaged
    // upload (the front's, or Triage's own output coming back) goes by its action. The presence
    // checks come first: a bare event has no `action` to compare.
    const route = new sfn.Choice(this, STATES.route, { stateName: STATES.route })
      .when(sfn.Condition.isPresent('$.handoff'), fromFront)
      // Not(IsPresent) rather than `IsPresent: false`, which aws-local-stepfunctions reads as always false.
      .when(
        sfn.Condition.not(sfn.Condition.and(sfn.Condition.isPresent('$.sample'), sfn.Condition.isPresent('$.action'))),
        fromEvent,
      )
      .when(sfn.Condition.stringEquals('$.action', 'cached'), markCached.next(verdict))
      .when(
        sfn.Condition.stringEquals('$.action', 'joined'),
        new sfn.Succeed(this, STATES.joined, { stateName: STATES.joined }),
      )
      .when(sfn.Condition.stringEquals('$.action', 'await-peer'), waitForPeer.next(checkPeer))
      .otherwise(engines.next(verdict));
    checkPeer.next(route);
    triage.next(route);
    return route;
  }

  /**
   * The Express front: triage, dedupe, a cached verdict, the static engine and finalize, for every
   * upload that needs no engine that waits; the others go to the Standard workflow. Express bills
   * requests and duration instead of transitions, so the common path costs Lambda time. It never
   * retries for long: an execution has five minutes, and a timeout there cannot be caught, so every
   * fault a retry might get past hands the upload to the Standard workflow, which retries patiently.
   */
  private frontDefinition(props: AnalysisWorkflowProps, deep: sfn.IStateMachine): sfn.IChainable {
    const scope = new Construct(this, 'Front');
    const { start: failurePath, duplicate } = this.failurePath(scope, props, {
      recordAttempts: 2,
      publishAttempts: 3,
      recordTimeout: Duration.seconds(FRONT_BUDGET_SECONDS.recordFailure),
    });
    const onError = { errors: [sfn.Errors.ALL], resultPath: '$.error' };
    const handOff = (id: string, input: sfn.TaskInput) => {
      const task = new tasks.StepFunctionsStartExecution(scope, id, {
        stateName: id,
        stateMachine: deep,
        integrationPattern: sfn.IntegrationPattern.REQUEST_RESPONSE,
        input,
        // The front's own name: a repeated start (a retry) finds the execution already there.
        name: sfn.JsonPath.stringAt('$$.Execution.Name'),
        resultPath: sfn.JsonPath.DISCARD,
        taskTimeout: sfn.Timeout.duration(Duration.seconds(FRONT_BUDGET_SECONDS.handOff)),
      });
      task.addRetry({ ...TRANSIENT_AWS_RETRY, errors: [...TRANSIENT_AWS_ERRORS, 'SFN.SfnException'], maxAttempts: 3 });
      const handedOff = new sfn.Succeed(scope, `${id}Done`, { stateName: `${id}Done` });
      task.addCatch(handedOff, { errors: [HANDOFF_EXISTS_ERROR], resultPath: sfn.JsonPath.DISCARD });
      task.addCatch(failurePath, onError);
      return task.next(handedOff);
    };
    // The event and this execution as the owner of whatever Triage claimed: the Standard workflow triages again.
    const handOffEvent = handOff(
      STATES.handOffEvent,
      sfn.TaskInput.fromObject({ handoff: { 'event.$': '$.event', 'owner.$': '$$.Execution.Id' } }),
    );
    const keepEvent = new sfn.Pass(scope, STATES.keepEvent, {
      stateName: STATES.keepEvent,
      parameters: { 'event.$': '$' },
    });
    const triage = this.invoke(STATES.triage, 'TriageFn', {
      scope,
      payload: sfn.TaskInput.fromObject({ 'event.$': '$.event', 'owner.$': '$$.Execution.Id', front: true }),
      timeout: Duration.seconds(FRONT_BUDGET_SECONDS.triage),
      serviceAttempts: 2,
    });
    triage.addCatch(duplicate, { errors: [DUPLICATE_EVENT_ERROR], resultPath: '$.error' });
    triage.addCatch(handOffEvent, {
      errors: [sfn.Errors.TIMEOUT, ...TRANSIENT_AWS_ERRORS, ...LAMBDA_SERVICE_ERRORS],
      resultPath: '$.error',
    });
    triage.addCatch(failurePath, onError);
    // An object too large to hash within the front's budget goes to the Standard workflow untouched.
    const size = '$.event.detail.object.size';
    const tooLarge = sfn.Condition.and(
      sfn.Condition.isPresent(size),
      sfn.Condition.isNumeric(size),
      sfn.Condition.numberGreaterThan(size, FRONT_MAX_OBJECT_BYTES),
    );
    const sizeCheck = new sfn.Choice(scope, STATES.frontSize, { stateName: STATES.frontSize })
      .when(tooLarge, handOffEvent)
      .otherwise(triage);

    const markCached = markCachedState(scope);
    const engineFailed = engineFailedState(scope);
    // The engines that never wait (the static engine) run here, for every analysis, handed over or not.
    const engines = new sfn.Map(scope, STATES.frontEngines, {
      stateName: STATES.frontEngines,
      itemsPath: '$.frontEngines',
      itemSelector: { 'engine.$': '$$.Map.Item.Value', 'sample.$': '$.sample' },
      resultPath: '$.frontResults',
    });
    engines.itemProcessor(
      this.staticAnalysis(scope, engineFailed, onError, {
        timeout: Duration.seconds(FRONT_BUDGET_SECONDS.staticAnalysis),
        transientAttempts: 0,
        serviceAttempts: 2,
      }),
    );
    engines.addCatch(failurePath, onError);
    const verdict = this.verdictPath(scope, failurePath, {
      timeout: Duration.seconds(FRONT_BUDGET_SECONDS.finalize),
      transientAttempts: 1,
      failedAttempts: 0,
      publishAttempts: 3,
    });
    // The triaged upload as the Standard workflow's input: it goes straight to its engines.
    const handOffTriaged = handOff(STATES.handOffTriaged, sfn.TaskInput.fromJsonPathAt('$'));
    const nothingWaits = new sfn.Pass(scope, STATES.nothingWaits, {
      stateName: STATES.nothingWaits,
      parameters: { cached: false, results: [] },
      resultPath: '$.outcome',
    });
    triage.next(
      new sfn.Choice(scope, STATES.route, { stateName: STATES.route })
        .when(sfn.Condition.stringEquals('$.action', 'cached'), markCached.next(verdict))
        .when(
          sfn.Condition.stringEquals('$.action', 'joined'),
          new sfn.Succeed(scope, STATES.joined, { stateName: STATES.joined }),
        )
        .otherwise(
          engines.next(
            new sfn.Choice(scope, STATES.anythingWaits, { stateName: STATES.anythingWaits })
              .when(sfn.Condition.booleanEquals('$.waits', true), handOffTriaged)
              .otherwise(nothingWaits.next(verdict)),
          ),
        ),
    );
    return keepEvent.next(sizeCheck);
  }
}
