import { readFileSync } from 'node:fs';
import { App, Stack } from 'aws-cdk-lib';
import type * as ecs from 'aws-cdk-lib/aws-ecs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as z from 'zod';
import { DetonationCluster } from '../lib/detonation';
import { FUNCTION_IDS, type FunctionId } from '../lib/steps';
import type { Log } from '../lambdas/core/runtime/deps';
import { LocalPipeline, type ExecutionReport, type LocalPipelineOptions } from '../local/runtime';
import { synthesizeTemplate } from '../local/synth';
import { CapeEmulator } from '../emulators/cape';
import { startVendorHarness } from '../test/support';
import type { Benchmark, Metric } from './metric';
import { MEASURED_TASK_SIZES, suiteCompleteMetric } from './task-sizes';
import { RequestCounter, s3RequestClass, type RequestCounts } from './request-counter';

const PriceSchema = z.object({
  usd: z.number().nonnegative(),
  per: z.string(),
  url: z.url(),
  readFrom: z.url().optional(),
  note: z.string().optional(),
});

/** A fraction the model assumes: a discount off a list price (Fargate Spot's varies with spare capacity), or a share of tasks. */
const DiscountSchema = z.object({
  fraction: z.number().min(0).max(1),
  url: z.url(),
  readFrom: z.url().optional(),
  note: z.string(),
});

const PricesSchema = z.object({
  readOn: z.iso.date(),
  region: z.literal('us-east-1'),
  currency: z.literal('USD'),
  terms: z.string(),
  note: z.string(),
  prices: z.object({
    stepFunctionsStandardPer1000Transitions: PriceSchema,
    stepFunctionsExpressPerMillionRequests: PriceSchema,
    stepFunctionsExpressPerGbHour: PriceSchema,
    lambdaPerMillionRequests: PriceSchema,
    lambdaArm64PerGbSecond: PriceSchema,
    lambdaX86PerGbSecond: PriceSchema,
    fargateLinuxX86PerVcpuHour: PriceSchema,
    fargateLinuxX86PerGbHour: PriceSchema,
    fargateLinuxArmPerVcpuHour: PriceSchema,
    fargateLinuxArmPerGbHour: PriceSchema,
    fargateSpotDiscount: DiscountSchema,
    fargateSpotInterruptedShare: DiscountSchema,
    fargateEphemeralStoragePerGbHour: PriceSchema,
    s3PutCopyPostListPer1000Requests: PriceSchema,
    s3GetPer1000Requests: PriceSchema,
    s3StandardPerGbMonth: PriceSchema,
    dynamodbOnDemandPerMillionWriteRequestUnits: PriceSchema,
    dynamodbOnDemandPerMillionReadRequestUnits: PriceSchema,
    eventBridgeCustomEventsPerMillion: PriceSchema,
    cloudWatchLogsIngestionPerGb: PriceSchema,
  }),
  anchors: z.object({
    guardDutyMalwareS3PerGbScanned: PriceSchema,
    guardDutyMalwareS3Per1000ObjectsEvaluated: PriceSchema,
    clamavLambdaScan: z.object({
      architecture: z.enum(['x86_64', 'arm64']),
      memoryMiB: z.number().int().positive(),
      seconds: z.number().positive(),
      url: z.url(),
      note: z.string(),
    }),
  }),
});

/** The list prices of `bench/prices.json`, validated. */
export type Prices = z.infer<typeof PricesSchema>;

/** Reads and validates `bench/prices.json`. */
export function loadPrices(): Prices {
  return PricesSchema.parse(JSON.parse(readFileSync(new URL('./prices.json', import.meta.url), 'utf8')));
}

/** Simulated minutes the vendor takes per analysis: CAPE queues 20 s, runs the 180 s we ask for, then processes. */
const VENDOR_MINUTES = 5;
/** A typical detonation: the agent's run, then the task's start (image pull, ENI) and stop. */
const DETONATION_RUN_SECONDS = 60;
const DETONATION_START_STOP_SECONDS = 30;
/** Fargate bills per second with a one-minute minimum. */
const FARGATE_MINIMUM_SECONDS = 60;
/** Ephemeral storage Fargate includes in every task. */
const FARGATE_INCLUDED_STORAGE_GIB = 20;
/** The GuardDuty anchor: 1,000 objects of 1 MB (MiB), so 1000/1024 GB scanned. */
const ANCHOR_OBJECT_MIB = 1;
/** What Express bills a workflow of our size for: 50 MB plus the definition and payload, in 64 MB chunks. */
const EXPRESS_BILLED_MIB = 64;
/** EventBridge bills each 64 KB of a published event as one event. */
const EVENT_CHUNK_BYTES = 64 * 1024;

/** What one execution used, counted in the local pipeline. */
export interface AnalysisUsage {
  /** States the Standard workflow entered, Map iterations included: what Step Functions Standard bills. */
  transitions: number;
  /** Executions of the Express front (billed per request). */
  expressExecutions: number;
  /** The front's duration as Express bills it: each execution rounded up to 100 ms. */
  expressBilledMs: number;
  /** History events each workflow's execution wrote (see {@link historyEvents}); logged where its level is ALL. */
  historyEvents: Record<Workflow, number>;
  /** In-process duration of every Lambda invocation, in ms, by function. */
  invocations: Partial<Record<FunctionId, number[]>>;
  /** S3 and DynamoDB requests the handlers made. */
  requests: RequestCounts;
  /** Custom events the workflow published, in billed 64 KB chunks. */
  eventChunks: number;
  /** Bytes of the log records the handlers wrote (their own fields only). */
  handlerLogBytes: number;
  /** Handler log records written. */
  handlerLogRecords: number;
}

/** Deployment facts the cost model reads from the CDK constructs rather than repeating them. */
export interface DeployedShape {
  /** Configured memory of each pipeline function, MiB (from the synthesized `lib/workflow.ts`). */
  lambdaMemoryMiB: Record<FunctionId, number>;
  /** The detonation task's size (from `DetonationCluster`'s defaults). */
  detonation: { cpuUnits: number; memoryMiB: number; ephemeralStorageGiB: number; architecture: string };
  /** The workflows that log every state to CloudWatch Logs (level ALL; the others log errors only). */
  loggedWorkflows: Workflow[];
}

type Workflow = 'front' | 'standard';

/** Which state machines of the synthesized template log at level ALL: the front and the Standard workflow by construct path. */
function loggedWorkflowsFromTemplate(): Workflow[] {
  const template = synthesizeTemplate({});
  const logged: Workflow[] = [];
  for (const resource of Object.values(template.Resources)) {
    if (resource.Type !== 'AWS::StepFunctions::StateMachine') continue;
    const level = (resource.Properties?.LoggingConfiguration as { Level?: string } | undefined)?.Level;
    if (level !== 'ALL') continue;
    logged.push(String(resource.Metadata?.['aws:cdk:path'] ?? '').includes('FrontStateMachine') ? 'front' : 'standard');
  }
  return logged;
}

/** Memory and architecture of the pipeline's functions, from the template the CDK app synthesizes. */
function lambdaMemoryFromTemplate(): Record<FunctionId, number> {
  const template = synthesizeTemplate({});
  const memory = {} as Record<FunctionId, number>;
  for (const id of FUNCTION_IDS) {
    const resource = Object.values(template.Resources).find(
      (r) =>
        r.Type === 'AWS::Lambda::Function' && String(r.Metadata?.['aws:cdk:path'] ?? '').includes(`/${id}/Function/`),
    );
    if (!resource) throw new Error(`cost model: the synthesized template has no function ${id}`);
    const architectures = (resource.Properties?.Architectures as string[] | undefined) ?? ['x86_64'];
    // Pipeline functions are priced at the arm64 rate; an x86_64 function would be under-priced by 20%.
    if (architectures[0] !== 'arm64')
      throw new Error(`cost model: ${id} runs on ${architectures[0]}, but the model prices arm64 duration`);
    memory[id] = Number(resource.Properties?.MemorySize ?? 128);
  }
  return memory;
}

/**
 * The detonation task's defaults, from a `DetonationCluster` built with default props. `lib/detonation.ts`
 * exports no size constants, so the construct is the one place they live.
 */
function detonationDefaults(): DeployedShape['detonation'] {
  const stack = new Stack(new App(), 'CostModel', { env: { account: '123456789012', region: 'us-east-1' } });
  const cluster = new DetonationCluster(stack, 'Detonation', {
    sampleBuckets: [new s3.Bucket(stack, 'Ingest')],
    reportsBucket: new s3.Bucket(stack, 'Reports'),
    // A literal ECR image and prefix list keep the construct from building Docker assets or adding lookups.
    imageUri: '123456789012.dkr.ecr.us-east-1.amazonaws.com/sandtrap-detonation:cost-model',
    s3PrefixListId: 'pl-63a5400a',
  });
  const task = cluster.taskDefinition;
  const platform = (task.node.defaultChild as ecs.CfnTaskDefinition).runtimePlatform as
    | ecs.CfnTaskDefinition.RuntimePlatformProperty
    | undefined;
  return {
    cpuUnits: task.cpu,
    memoryMiB: task.memoryMiB,
    ephemeralStorageGiB: task.ephemeralStorageGiB ?? FARGATE_INCLUDED_STORAGE_GIB,
    architecture: platform?.cpuArchitecture ?? 'X86_64',
  };
}

/** Reads the deployed shape from the CDK code (synthesis takes a few seconds). */
export function deployedShape(): DeployedShape {
  return {
    lambdaMemoryMiB: lambdaMemoryFromTemplate(),
    detonation: detonationDefaults(),
    loggedWorkflows: loggedWorkflowsFromTemplate(),
  };
}

/**
 * History events Step Functions writes for these transitions, which is what `LogLevel.ALL` sends to
 * CloudWatch Logs: entered and exited for every state; scheduled, started and succeeded on top for a
 * Task; started and succeeded for a Map and each of its iterations; the execution's start and end.
 */
function historyEvents(transitions: ExecutionReport['transitions']): number {
  const iterations = new Set(transitions.filter((t) => t.index !== undefined).map((t) => t.index)).size;
  const perState = transitions.reduce((sum, t) => sum + 2 + (t.type === 'Task' ? 3 : t.type === 'Map' ? 2 : 0), 0);
  return 2 + perState + 2 * iterations;
}

/** A handler log that measures what it is given instead of printing it. */
class MeasuringLog implements Log {
  records = 0;
  bytes = 0;
  private write(level: string, message: string, extra: Record<string, unknown>[]): void {
    this.records += 1;
    this.bytes += Buffer.byteLength(JSON.stringify(Object.assign({ level, message }, ...extra)));
  }
  info(message: string, ...extra: Record<string, unknown>[]): void {
    this.write('INFO', message, extra);
  }
  warn(message: string, ...extra: Record<string, unknown>[]): void {
    this.write('WARN', message, extra);
  }
  error(message: string, ...extra: Record<string, unknown>[]): void {
    this.write('ERROR', message, extra);
  }
}

/** Fresh and cached analyses, measured one execution at a time. */
export interface MeasuredUsage {
  fresh: AnalysisUsage[];
  cached: AnalysisUsage[];
  /** Files no vendor or detonation takes: the static engine's verdict alone. */
  staticOnly: AnalysisUsage[];
}

/** Counts what each execution of one local pipeline uses. */
class UsageMeter {
  readonly log = new MeasuringLog();
  private durations: Partial<Record<FunctionId, number[]>> = {};
  private counter: RequestCounter | undefined;

  /** The pipeline options that report invocations and the static engine's own S3 requests here. */
  readonly options: Pick<LocalPipelineOptions, 'log' | 'onInvoke' | 'onWorkerRequests'> = {
    log: this.log,
    onInvoke: (id, ms) => {
      this.durations[id] ??= [];
      this.durations[id].push(ms);
    },
    onWorkerRequests: (_id, usage) => this.counter?.addS3(usage),
  };

  attach(pipeline: LocalPipeline): void {
    this.counter = new RequestCounter(pipeline.clients);
  }

  detach(): void {
    this.counter?.detach();
  }

  async execute(pipeline: LocalPipeline, event: unknown): Promise<AnalysisUsage> {
    const counter = this.counter as RequestCounter;
    counter.reset();
    this.durations = {};
    const logBefore = { records: this.log.records, bytes: this.log.bytes };
    const eventsBefore = pipeline.events().length;
    const run = await pipeline.run(event);
    if (run.status !== 'SUCCEEDED') throw new Error(`cost model: the analysis failed: ${run.error} ${run.cause}`);
    const published = pipeline.events().slice(eventsBefore);
    const front = run.executions.filter((e) => e.workflow === 'front');
    return {
      transitions: run.transitions.filter((t) => t.workflow === 'standard').length,
      expressExecutions: front.length,
      expressBilledMs: sum(front.map((e) => Math.ceil(e.durationMs / 100) * 100)),
      historyEvents: {
        front: historyEvents(run.transitions.filter((t) => t.workflow === 'front')),
        standard: historyEvents(run.transitions.filter((t) => t.workflow === 'standard')),
      },
      invocations: this.durations,
      requests: counter.snapshot(),
      eventChunks: published.reduce(
        (sum, e) => sum + Math.ceil(Buffer.byteLength(JSON.stringify(e)) / EVENT_CHUNK_BYTES),
        0,
      ),
      handlerLogBytes: this.log.bytes - logBefore.bytes,
      handlerLogRecords: this.log.records - logBefore.records,
    };
  }
}

/**
 * Runs `analyses` uploads through the local pipeline with an emulated CAPE that takes
 * {@link VENDOR_MINUTES} simulated minutes, each followed by an upload of the same content under another
 * key (a cached verdict); then `analyses` files that only the static engine takes (no vendor for
 * them, detonation off), counting what every execution used. One unmeasured analysis first warms the
 * handlers' modules, connections and the static engine's workers, as a warm Lambda would have them.
 */
export async function measureUsage(analyses: number): Promise<MeasuredUsage> {
  const processingSeconds = VENDOR_MINUTES * 60 - 20 - 180;
  const meter = new UsageMeter();
  const h = await startVendorHarness(
    (clock) => new CapeEmulator({ clock, queueSeconds: 20, processingSeconds }),
    {},
    meter.options,
  );
  meter.attach(h.pipeline);
  const usage: MeasuredUsage = { fresh: [], cached: [], staticOnly: [] };
  try {
    for (let i = 0; i <= analyses; i++) {
      const body = `cost model sample ${i} ${Date.now()}`;
      const fresh = await meter.execute(h.pipeline, await h.pipeline.upload({ key: `cost/${i}.bin`, body }));
      // The same content under another key: a cached verdict (the same event again would be a duplicate).
      const cached = await meter.execute(h.pipeline, await h.pipeline.upload({ key: `cost/${i}-again.bin`, body }));
      if (i === 0) continue;
      usage.fresh.push(fresh);
      usage.cached.push(cached);
    }
  } finally {
    meter.detach();
    await h.stop();
  }
  const staticMeter = new UsageMeter();
  const pipeline = await LocalPipeline.start({
    virtualTime: true,
    cachePlan: false,
    config: { settings: { detonation: { enabled: false } } },
    ...staticMeter.options,
  });
  staticMeter.attach(pipeline);
  try {
    for (let i = 0; i <= analyses; i++) {
      const body = `quarterly figures ${i} ${Date.now()}\n`;
      const only = await staticMeter.execute(pipeline, await pipeline.upload({ key: `cost/static-${i}.txt`, body }));
      if (i > 0) usage.staticOnly.push(only);
    }
  } finally {
    staticMeter.detach();
    await pipeline.stop();
  }
  return usage;
}

const SAMPLE_ARN =
  'arn:aws:lambda:us-east-1:123456789012:function:Sandtrap-WorkflowVendorPollFnFunction1A2B3C4D-AbCdEfGhIjKl';
const SAMPLE_REQUEST_ID = 'c6af9ac6-7b61-11e6-9a41-93e812345678';
const SAMPLE_TIME = '2026-11-22T10:00:00.000Z';
/**
 * Representative CloudWatch Logs records, measured as JSON rather than guessed as byte counts: the
 * envelope Powertools Logger adds to each handler record, the platform records Lambda's JSON log
 * format writes per invocation (start, runtime done, report), the metric Powertools Metrics emits per
 * invocation (`lambdaHandler`), and one Step Functions history event without execution data.
 */
const LOG_SAMPLES = {
  powertoolsEnvelope: {
    timestamp: SAMPLE_TIME,
    service: 'sandtrap',
    cold_start: false,
    function_arn: SAMPLE_ARN,
    function_memory_size: '256',
    function_name: SAMPLE_ARN.split(':').pop(),
    function_request_id: SAMPLE_REQUEST_ID,
    sampling_rate: 0,
    xray_trace_id: '1-6740564c-3f9a2b1c4d5e6f7a8b9c0d1e',
    step: 'vendor-poll',
  },
  lambdaPlatform: [
    {
      time: SAMPLE_TIME,
      type: 'platform.start',
      record: {
        requestId: SAMPLE_REQUEST_ID,
        version: '$LATEST',
        tracing: {
          spanId: '3f9a2b1c4d5e6f7a',
          type: 'X-Amzn-Trace-Id',
          value: 'Root=1-6740564c-3f9a2b1c4d5e6f7a8b9c0d1e;Parent=3f9a2b1c4d5e6f7a;Sampled=1',
        },
      },
    },
    {
      time: SAMPLE_TIME,
      type: 'platform.runtimeDone',
      record: {
        requestId: SAMPLE_REQUEST_ID,
        status: 'success',
        tracing: {
          spanId: '3f9a2b1c4d5e6f7a',
          type: 'X-Amzn-Trace-Id',
          value: 'Root=1-6740564c-3f9a2b1c4d5e6f7a8b9c0d1e;Parent=3f9a2b1c4d5e6f7a;Sampled=1',
        },
        metrics: { durationMs: 12.345, producedBytes: 512 },
      },
    },
    {
      time: SAMPLE_TIME,
      type: 'platform.report',
      record: {
        requestId: SAMPLE_REQUEST_ID,
        metrics: { durationMs: 12.345, billedDurationMs: 13, memorySizeMB: 256, maxMemoryUsedMB: 96 },
        tracing: {
          spanId: '3f9a2b1c4d5e6f7a',
          type: 'X-Amzn-Trace-Id',
          value: 'Root=1-6740564c-3f9a2b1c4d5e6f7a8b9c0d1e;Parent=3f9a2b1c4d5e6f7a;Sampled=1',
        },
        status: 'success',
      },
    },
  ],
  powertoolsMetric: {
    _aws: {
      Timestamp: 1763805600000,
      CloudWatchMetrics: [
        {
          Namespace: 'Sandtrap',
          Dimensions: [['service']],
          Metrics: [{ Name: 'vendor-pollSucceeded', Unit: 'Count' }],
        },
      ],
    },
    service: 'sandtrap',
    'vendor-pollSucceeded': 1,
  },
  stepFunctionsEvent: {
    id: '12',
    type: 'TaskStateEntered',
    details: { name: 'PollVendor' },
    previous_event_id: '11',
    event_timestamp: '1763805600000',
    execution_arn:
      'arn:aws:states:us-east-1:123456789012:execution:WorkflowStateMachine1A2B3C4D-AbCdEfGhIjKl:0f5c6e5e-3b1a-4c2d-9e8f-7a6b5c4d3e2f',
    redrive_count: '0',
  },
};
const jsonBytes = (value: unknown) => Buffer.byteLength(JSON.stringify(value));
/** Envelope fields a Powertools record carries besides what the handler logged (less the braces counted there). */
const POWERTOOLS_ENVELOPE_BYTES = jsonBytes(LOG_SAMPLES.powertoolsEnvelope) - 1;
const LAMBDA_BYTES_PER_INVOCATION =
  LOG_SAMPLES.lambdaPlatform.reduce((sum, r) => sum + jsonBytes(r), 0) + jsonBytes(LOG_SAMPLES.powertoolsMetric);
const STEP_FUNCTIONS_BYTES_PER_EVENT = jsonBytes(LOG_SAMPLES.stepFunctionsEvent);

/** Cost of one execution, in USD, by service. */
interface ExecutionCost {
  stepFunctions: number;
  lambda: number;
  fargate: number;
  s3: number;
  dynamodb: number;
  events: number;
  logs: number;
}

const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);

/**
 * Prices one execution's usage. Local durations stand in for Lambda billed durations: each
 * invocation is rounded up to the next millisecond (Lambda's billing granularity) and billed at the
 * function's configured memory; cold-start INIT time is not included. S3 storage is one month of the
 * bytes the handlers wrote. `detonated` adds one Fargate detonation task.
 */
function priceExecution(usage: AnalysisUsage, shape: DeployedShape, prices: Prices, detonated: boolean): ExecutionCost {
  const p = prices.prices;
  const invocations = Object.entries(usage.invocations) as [FunctionId, number[]][];
  const gbSeconds = sum(
    invocations.map(([id, ms]) => (sum(ms.map((m) => Math.ceil(m))) / 1000) * (shape.lambdaMemoryMiB[id] / 1024)),
  );
  const invocationCount = sum(invocations.map(([, ms]) => ms.length));

  const s3Requests = Object.entries(usage.requests.s3);
  const s3Put = sum(s3Requests.filter(([op]) => s3RequestClass(op) === 'put').map(([, n]) => n));
  const s3Get = sum(s3Requests.filter(([op]) => s3RequestClass(op) === 'get').map(([, n]) => n));
  const dynamo = Object.values(usage.requests.dynamodb);
  const writeUnits = sum(dynamo.filter((t) => t.kind === 'write').map((t) => t.units));
  const readUnits = sum(dynamo.filter((t) => t.kind === 'read').map((t) => t.units));

  const logBytes =
    usage.handlerLogBytes +
    usage.handlerLogRecords * POWERTOOLS_ENVELOPE_BYTES +
    invocationCount * LAMBDA_BYTES_PER_INVOCATION +
    sum(shape.loggedWorkflows.map((workflow) => usage.historyEvents[workflow])) * STEP_FUNCTIONS_BYTES_PER_EVENT;

  // Express bills each execution's duration at its memory, one 64 MB chunk for a workflow this small.
  const expressGbHours = (usage.expressBilledMs / 3_600_000) * (EXPRESS_BILLED_MIB / 1024);
  return {
    stepFunctions:
      (usage.transitions / 1000) * p.stepFunctionsStandardPer1000Transitions.usd +
      (usage.expressExecutions / 1e6) * p.stepFunctionsExpressPerMillionRequests.usd +
      expressGbHours * p.stepFunctionsExpressPerGbHour.usd,
    lambda: (invocationCount / 1e6) * p.lambdaPerMillionRequests.usd + gbSeconds * p.lambdaArm64PerGbSecond.usd,
    fargate: detonated ? detonationCost(shape.detonation, prices) : 0,
    s3:
      (s3Put / 1000) * p.s3PutCopyPostListPer1000Requests.usd +
      (s3Get / 1000) * p.s3GetPer1000Requests.usd +
      (usage.requests.s3BytesWritten / 1024 ** 3) * p.s3StandardPerGbMonth.usd,
    dynamodb:
      (writeUnits / 1e6) * p.dynamodbOnDemandPerMillionWriteRequestUnits.usd +
      (readUnits / 1e6) * p.dynamodbOnDemandPerMillionReadRequestUnits.usd,
    events: (usage.eventChunks / 1e6) * p.eventBridgeCustomEventsPerMillion.usd,
    logs: (logBytes / 1024 ** 3) * p.cloudWatchLogsIngestionPerGb.usd,
  };
}

/** A detonation task as the model prices it: size, architecture, and whether it runs on Fargate Spot. */
export interface TaskOption {
  id: string;
  cpuUnits: number;
  memoryMiB: number;
  ephemeralStorageGiB: number;
  architecture: string;
  spot: boolean;
}

/**
 * The task options the benchmark prices: the default, each x86_64 size the task-size benchmark
 * measures (on demand and on Fargate Spot, which runs x86_64 only), and arm64 at two sizes (the
 * detonation image built for arm64, `DetonationClusterProps.cpuArchitecture`; this machine cannot
 * run it, so those stay unverified).
 */
export function taskOptions(defaults: DeployedShape['detonation']): TaskOption[] {
  const base = { ephemeralStorageGiB: defaults.ephemeralStorageGiB };
  const x86 = MEASURED_TASK_SIZES.map((size) => ({
    ...base,
    id: size.id,
    cpuUnits: size.cpu,
    memoryMiB: size.memoryLimitMiB,
    architecture: 'X86_64',
  }));
  return [
    { id: 'default', ...defaults, spot: false },
    ...x86
      .filter((o) => o.cpuUnits !== defaults.cpuUnits || o.memoryMiB !== defaults.memoryMiB)
      .map((o) => ({ ...o, spot: false })),
    ...x86.map((o) => ({ ...o, id: `${o.id}_spot`, spot: true })),
    { id: 'arm64_2vcpu_4gb', ...base, cpuUnits: 2048, memoryMiB: 4096, architecture: 'ARM64', spot: false },
    { id: 'arm64_1vcpu_2gb', ...base, cpuUnits: 1024, memoryMiB: 2048, architecture: 'ARM64', spot: false },
  ];
}

/**
 * Whether a task option completed the detonation suite in the task-size benchmark: the measured
 * x86_64 size with its CPU and memory did (Spot runs the same task on the same hardware class, and an
 * interrupted one runs again on demand). Undefined when it was never measured (arm64 here, or no
 * task-size run recorded).
 */
export function suiteCompleted(option: TaskOption, measured: readonly Metric[]): boolean | undefined {
  if (option.architecture !== 'X86_64') return undefined;
  const size = MEASURED_TASK_SIZES.find((s) => s.cpu === option.cpuUnits && s.memoryLimitMiB === option.memoryMiB);
  const metric = size && measured.find((m) => m.name === suiteCompleteMetric(size.id));
  return metric ? metric.value === 1 : undefined;
}

/** The cheapest option that completed the suite, or undefined when none did (or none was measured). */
export function cheapestCompleting(
  options: readonly TaskOption[],
  measured: readonly Metric[],
  prices: Prices,
): TaskOption | undefined {
  return options
    .filter((o) => suiteCompleted(o, measured) === true)
    .sort((a, b) => detonationCost(a, prices) - detonationCost(b, prices))[0];
}

/** One detonation task: {@link DETONATION_RUN_SECONDS} plus start and stop, at the task's cpu, memory and extra storage. */
export function detonationCost(task: DeployedShape['detonation'] & { spot?: boolean }, prices: Prices): number {
  const p = prices.prices;
  const rates =
    task.architecture === 'X86_64'
      ? { vcpu: p.fargateLinuxX86PerVcpuHour.usd, gb: p.fargateLinuxX86PerGbHour.usd }
      : task.architecture === 'ARM64'
        ? { vcpu: p.fargateLinuxArmPerVcpuHour.usd, gb: p.fargateLinuxArmPerGbHour.usd }
        : undefined;
  if (!rates) throw new Error(`cost model: no Fargate price for architecture ${task.architecture}`);
  const hours =
    Math.max(FARGATE_MINIMUM_SECONDS, Math.ceil(DETONATION_RUN_SECONDS + DETONATION_START_STOP_SECONDS)) / 3600;
  const extraStorageGiB = Math.max(0, task.ephemeralStorageGiB - FARGATE_INCLUDED_STORAGE_GIB);
  const onDemand =
    hours *
    ((task.cpuUnits / 1024) * rates.vcpu +
      (task.memoryMiB / 1024) * rates.gb +
      extraStorageGiB * p.fargateEphemeralStoragePerGbHour.usd);
  // An interrupted Spot task is run again on demand (the workflow's fallback); the model charges the
  // interrupted share a whole Spot task and a whole on-demand one.
  return task.spot
    ? onDemand * (1 - p.fargateSpotDiscount.fraction) + onDemand * p.fargateSpotInterruptedShare.fraction
    : onDemand;
}

/** GuardDuty Malware Protection for S3 on 1,000 objects of {@link ANCHOR_OBJECT_MIB} MiB. */
function guardDutyPer1000(prices: Prices): number {
  const a = prices.anchors;
  return (
    ((1000 * ANCHOR_OBJECT_MIB) / 1024) * a.guardDutyMalwareS3PerGbScanned.usd +
    a.guardDutyMalwareS3Per1000ObjectsEvaluated.usd
  );
}

/** 1,000 reference ClamAV scans in Lambda (one request and the scan's GB-seconds each). */
function clamavLambdaPer1000(prices: Prices): number {
  const scan = prices.anchors.clamavLambdaScan;
  const perGbSecond =
    scan.architecture === 'arm64' ? prices.prices.lambdaArm64PerGbSecond.usd : prices.prices.lambdaX86PerGbSecond.usd;
  return (
    1000 * (prices.prices.lambdaPerMillionRequests.usd / 1e6 + scan.seconds * (scan.memoryMiB / 1024) * perGbSecond)
  );
}

const mean = (xs: number[]) => sum(xs) / Math.max(1, xs.length);
/** Four significant digits: the model's precision, and readable in the table. */
const round = (usd: number) => Number(usd.toPrecision(4));
const total = (c: ExecutionCost) => c.stepFunctions + c.lambda + c.fargate + c.s3 + c.dynamodb + c.events + c.logs;

/** USD per 1,000 executions, averaged over the measured ones. */
function per1000(usages: AnalysisUsage[], shape: DeployedShape, prices: Prices, detonated: boolean): ExecutionCost {
  const costs = usages.map((u) => priceExecution(u, shape, prices, detonated));
  const avg = (key: keyof ExecutionCost) => 1000 * mean(costs.map((c) => c[key]));
  return {
    stepFunctions: avg('stepFunctions'),
    lambda: avg('lambda'),
    fargate: avg('fargate'),
    s3: avg('s3'),
    dynamodb: avg('dynamodb'),
    events: avg('events'),
    logs: avg('logs'),
  };
}

/** The cost metrics for measured usage: the total and its parts, the cached path, and the anchors. */
export function costMetrics(
  usage: MeasuredUsage,
  shape: DeployedShape,
  prices: Prices,
  measured: readonly Metric[] = [],
): Metric[] {
  const fresh = per1000(usage.fresh, shape, prices, true);
  const cached = per1000(usage.cached, shape, prices, false);
  const staticOnly = per1000(usage.staticOnly, shape, prices, false);
  const unit = 'USD / 1,000 verdicts';
  const { cpuUnits, memoryMiB } = shape.detonation;
  const options = taskOptions(shape.detonation);
  const cheapest = cheapestCompleting(options, measured, prices);
  const detonationTask = cheapest ?? { ...shape.detonation, spot: false };
  return [
    {
      name: 'cost_usd_per_1000_cached',
      target: '<= 0.02',
      value: round(total(cached)),
      unit: `${unit} (the same bytes again: the Express front alone)`,
    },
    {
      name: 'cost_usd_per_1000_static_only',
      target: '<= 0.05',
      value: round(total(staticOnly)),
      unit: `${unit} (no vendor, no detonation: the Express front alone)`,
    },
    {
      name: 'cost_usd_per_1000_vendor_5min',
      target: '<= 0.30',
      value: round(total(fresh) - fresh.fargate),
      unit: `${unit} (a ${VENDOR_MINUTES}-min vendor and the static engine; ${mean(usage.fresh.map((u) => u.transitions))} Standard transitions)`,
    },
    {
      name: 'cost_usd_per_1000_vendor_detonation',
      target: '<= 1.00',
      value: round(total(fresh) - fresh.fargate + 1000 * detonationCost(detonationTask, prices)),
      unit: cheapest
        ? `${unit} (as above, plus one detonation on ${cheapest.id}: the cheapest task that completed the detonation suite)`
        : `${unit} (as above, plus one detonation on the default task: no task size has completed the suite; run \`npm run bench -- --task-sizes\`)`,
    },
    {
      name: 'cost_usd_per_1000_vendor_detonation_default_task',
      value: round(total(fresh)),
      unit: `${unit} (as above, plus one detonation on the default task)`,
    },
    ...options.map((option) => {
      const completed = suiteCompleted(option, measured);
      const verified =
        completed === undefined
          ? option.architecture === 'X86_64'
            ? 'suite not run'
            : 'not verified: this machine runs x86_64 only'
          : completed
            ? 'completed the suite'
            : 'did not complete the suite';
      return {
        name: `cost_usd_per_1000_detonation_task_${option.id}`,
        value: round(1000 * detonationCost(option, prices)),
        unit: `USD / 1,000 detonation tasks (${option.architecture}, ${option.cpuUnits / 1024} vCPU, ${option.memoryMiB / 1024} GB${option.spot ? `, Spot at ${prices.prices.fargateSpotDiscount.fraction * 100}% off, ${prices.prices.fargateSpotInterruptedShare.fraction * 100}% interrupted and run again on demand` : ''}, ${DETONATION_RUN_SECONDS + DETONATION_START_STOP_SECONDS} s; ${verified})`,
      };
    }),
    {
      name: 'cost_usd_sfn_per_1000',
      value: round(fresh.stepFunctions),
      unit: `${unit} (${mean(usage.fresh.map((u) => u.transitions))} transitions each)`,
    },
    { name: 'cost_usd_lambda_per_1000', value: round(fresh.lambda), unit },
    {
      name: 'cost_usd_fargate_per_1000',
      value: round(fresh.fargate),
      unit: `${unit} (${cpuUnits / 1024} vCPU, ${memoryMiB / 1024} GB, ${DETONATION_RUN_SECONDS + DETONATION_START_STOP_SECONDS} s)`,
    },
    { name: 'cost_usd_s3_per_1000', value: round(fresh.s3), unit },
    { name: 'cost_usd_dynamodb_per_1000', value: round(fresh.dynamodb), unit },
    { name: 'cost_usd_events_per_1000', value: round(fresh.events), unit },
    { name: 'cost_usd_logs_per_1000', value: round(fresh.logs), unit },
    {
      name: 'guardduty_usd_per_1000_objects',
      value: round(guardDutyPer1000(prices)),
      unit: `USD / 1,000 objects of ${ANCHOR_OBJECT_MIB} MB`,
    },
    {
      name: 'clamav_lambda_usd_per_1000',
      value: round(clamavLambdaPer1000(prices)),
      unit: `USD / 1,000 scans (${prices.anchors.clamavLambdaScan.seconds} s, ${prices.anchors.clamavLambdaScan.memoryMiB / 1024} GB, ${prices.anchors.clamavLambdaScan.architecture})`,
    },
  ];
}

/**
 * Cost per 1,000 verdicts at the list prices of `bench/prices.json`, from what the local pipeline
 * measurably uses: state transitions, Lambda invocations and their in-process durations at the
 * configured memory sizes, S3 and DynamoDB requests counted by SDK middleware (DynamoDB units as the
 * service reports them), published events, and CloudWatch Logs bytes from counted records. The
 * Fargate detonation is modelled (the local runtime can't run ECS): {@link DETONATION_RUN_SECONDS} s
 * plus {@link DETONATION_START_STOP_SECONDS} s at the task's default size. Anchors: GuardDuty Malware
 * Protection for S3 and a reference ClamAV scan in Lambda.
 */
export const costBenchmark: Benchmark = {
  id: 'cost',
  title: 'Cost at AWS list prices (us-east-1, measured locally)',
  async run({ quick, earlier }) {
    const prices = loadPrices();
    const shape = deployedShape();
    const usage = await measureUsage(quick ? 2 : 20);
    return costMetrics(usage, shape, prices, earlier);
  },
};
