import './polyfills';
import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { createReadStream, statSync } from 'node:fs';
import { basename } from 'node:path';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { StateMachine } from 'aws-local-stepfunctions';
import { systemClock, type Clock } from '../lambdas/core/contracts/clock';
import { createClients, destroyClients, type AwsClients } from '../lambdas/core/runtime/clients';
import { ENV, loadRuntimeConfig } from '../lambdas/core/config/runtime-config';
import type { HandlerDeps, Log } from '../lambdas/core/runtime/deps';
import type { ExecutionStarter, StartOutcome } from '../lambdas/core/sweep/execution-starter';
import { createDeps } from '../lambdas/core/runtime/create-deps';
import type { SweepSummary } from '../lambdas/core/sweep/sweep';
import {
  DETAIL_TYPE_FAILED,
  DETAIL_TYPE_VERDICT,
  EVENT_SOURCE,
  DETAIL_TYPE_VERDICT_CHANGED,
  SampleAnalysisFailedDetailSchema,
  SampleVerdictChangedDetailSchema,
  SampleVerdictDetailSchema,
  type ObjectCreatedEvent,
} from '../lambdas/core/contracts/pipeline';
import { closeHttpPools } from '../lambdas/vendors/http';
import { createConnector } from '../lambdas/vendors/registry';
import type { SandtrapConfigInput } from '../lib/config';
import type { FunctionId } from '../lib/steps';
import { allStates, type AslState } from './definition';
import { EventSink, type DeliveredEvent } from './event-sink';
import { HANDLER_FACTORIES, type LocalHandler } from './handlers';
import { LOCAL_CREDENTIALS, startServices, type LocalServices } from './services';
import { localPlan } from './synth';
import { LOCAL_ENV, type LocalPlan } from './template';
import { VirtualClock } from './virtual-clock';
import { virtualTask, virtualTimeDefinition, virtualWait } from './virtual-states';
import type { StaticWorkerUsage } from './static-worker';
import { type Detonator, selectDetonator, type DetonatorChoice, type DetonatorSelection } from './detonation/select';

/** Options of {@link LocalPipeline.start}. */
export interface LocalPipelineOptions {
  /** Pipeline configuration, exactly as `cdk deploy` would get it. */
  config?: SandtrapConfigInput;
  /**
   * Run on a {@link VirtualClock}: Wait states and Retry intervals take no real time, each ending when
   * the clock, which jumps from one pending wake to the next whenever nothing is in flight, reaches
   * its end (tests, benchmarks, emulated vendors). Off, waits last as long as on AWS (real vendors).
   * @default false
   */
  virtualTime?: boolean;
  /**
   * On virtual time, the real time a Task attempt may run before it fails with States.Timeout, as a
   * multiple of its TimeoutSeconds (which it counts on the virtual clock): the guard against a
   * handler that hangs, never reached by one that is only slow behind the load of this one process.
   * @default 10 (see local/virtual-states.ts)
   */
  realTimeTaskTimeoutFactor?: number;
  /** Keep S3 and DynamoDB state in this directory across runs; a temporary one by default. */
  stateDir?: string;
  /** Append every published event to this JSON-lines file. */
  eventsFile?: string;
  /** Where handler logs go. @default silent */
  log?: Log;
  /** Environment for vendor credentials. @default process.env */
  env?: NodeJS.ProcessEnv;
  /** Reuse the synthesized plan from the on-disk cache. @default true */
  cachePlan?: boolean;
  /**
   * How the detonation engine's task runs locally: a choice among the real detonators, or one given
   * (a scale test's stand-in for the task, whose subject is the queue and not the agent).
   * @default 'auto' (Docker, else the host)
   */
  detonator?: DetonatorChoice | Detonator;
  /**
   * Fargate's capacity as RunTask meets it: tasks beyond this many running at once are refused the
   * way ECS refuses them (`failures` in RunTask's answer, which the .sync integration raises as
   * `AmazonECS.Unknown`). @default unlimited
   */
  fargateTaskCapacity?: number;
  /**
   * Fargate Spot's capacity as RunTask meets it, for tasks started on the FARGATE_SPOT capacity
   * provider (`detonationTask.capacity: 'spot'`), a quota apart from on-demand's as on AWS: Spot
   * tasks beyond this many running at once are refused with Spot's "Capacity is unavailable"
   * `failures` (`AmazonECS.Unknown`); 0 models a region with no Spot capacity at all. @default unlimited
   */
  spotTaskCapacity?: number;
  /**
   * Spot tasks AWS takes back: the first this many Spot tasks, or those whose index (0 for the first
   * Spot task started) the predicate picks, stop as interrupted (`StopCode: SpotInterruption`),
   * which fails the state with States.TaskFailed as the non-zero exit of the agent does on AWS.
   * @default none
   */
  spotInterruptions?: number | ((spotTask: number) => boolean);
  /** Called before each handler invocation; throwing fails that invocation as a crashing Lambda would (fault injection). */
  beforeInvoke?: (functionId: FunctionId, input: unknown) => void | Promise<void>;
  /** Told how long each handler invocation took (benchmarks, cost model). */
  onInvoke?: (functionId: FunctionId, ms: number) => void;
  /** Told the S3 requests a function made outside this process's SDK clients (the static engine's Python workers). */
  onWorkerRequests?: (functionId: FunctionId, usage: StaticWorkerUsage) => void;
}

/** The Fargate capacity a detonation task runs on: the FARGATE launch type, or the FARGATE_SPOT capacity provider. */
type FargateCapacity = 'on-demand' | 'spot';

/** One state entered during an execution. */
export interface Transition {
  name: string;
  type: string;
  /** The workflow the state belongs to: the Express front or the Standard workflow. */
  workflow: Workflow;
  /** Map iteration index, for states inside a Map. */
  index?: number;
  /** The engine an engines' Map iteration runs (`static`, `detonation`, a vendor's id), from the state's input. */
  engine?: string;
}

/** The two state machines: the Express front every upload starts, and the Standard workflow it hands waits to. */
export type Workflow = 'front' | 'standard';

/** How one analysis ended: its front execution and, when the front handed it over, the Standard one. */
export interface ExecutionReport {
  executionArn: string;
  status: 'SUCCEEDED' | 'FAILED';
  output?: unknown;
  error?: string;
  cause?: string;
  /** Every state entered, the front's first. */
  transitions: Transition[];
  durationMs: number;
  /** The executions of this analysis, in order: the front, then the Standard workflow it started, if any. */
  executions: {
    workflow: Workflow;
    executionArn: string;
    status: 'SUCCEEDED' | 'FAILED';
    transitions: Transition[];
    /** Real time from its start to its end (Express bills it). */
    durationMs: number;
  }[];
}

/** Options of {@link LocalPipeline.run}. */
export interface RunOptions {
  /** Bounds the whole analysis in real time: at the deadline every execution of it is aborted (`TimedOut`). */
  timeoutMs?: number;
  /** Aborts every execution of the analysis at once (`Interrupted`), e.g. on Ctrl-C. */
  signal?: AbortSignal;
  /** Told each state entered, as it is entered, by either workflow (progress displays). */
  onTransition?: (transition: Transition) => void;
  /** Told where the analysis stands in a queue (detonation slots, a vendor's submissions), each time that changes. */
  onQueue?: (queue: QueuePosition) => void;
  name?: string;
  workflow?: Workflow;
}

/**
 * Where an analysis waiting for its turn stands: 1 starts next. `of` counts the analyses of this
 * pipeline waiting in that queue (those whose turn came are not counted). The queues are the
 * detonation's task slots and each vendor's submission slots (its request rate and daily quota).
 */
export type QueuePosition = { position: number; of: number } & (
  | { engine: 'detonation' }
  | { engine: 'vendor'; vendor: string }
);

/** The state that reserves a detonation slot's turn, and the one that follows the turn's wait. */
const RESERVE_DETONATION_STATE = 'ReserveDetonationSlot';
const AFTER_DETONATION_WAIT = 'PrepareDetonation';
/** The states that submit to a vendor or, when its slots are taken, queue for a later one. */
const VENDOR_SUBMIT_STATES = new Set(['SubmitToVendor', 'SubmitQueuedSample']);
/** What an engine's id looks like (the workflow's engine names and vendor ids): anything else is not shown. */
const ENGINE_ID = /^[a-z][a-z0-9-]{0,31}$/;

/** The queue an execution waits in, by name: `detonation` or `vendor:<id>`. */
type QueueName = 'detonation' | `vendor:${string}`;

/** Why an analysis was stopped before its end: the error and cause its report carries. */
class AnalysisStopped extends Error {
  constructor(
    readonly error: 'TimedOut' | 'Interrupted' | 'Aborted',
    message: string,
  ) {
    super(message);
  }
}

/** One execution of one state machine, as {@link LocalPipeline} runs it. */
type SingleExecution = Omit<ExecutionReport, 'executions'> & { workflow: Workflow };

/**
 * The history events an execution of these transitions writes on AWS (the 25,000-event limit):
 * ExecutionStarted and its end, entered and exited for every state, and a task's scheduled, started
 * and succeeded (Lambda and service integrations alike). A Map adds its start and end and two
 * events per iteration. Retried attempts add more; they are counted by the transitions they cause.
 */
export function historyEventsOf(transitions: readonly Transition[]): number {
  let events = 2;
  const iterations = new Set<string>();
  for (const t of transitions) {
    events += t.type === 'Task' ? 5 : t.type === 'Map' ? 4 : t.type === 'Fail' ? 1 : 2;
    if (t.index !== undefined) iterations.add(String(t.index));
  }
  return events + 2 * iterations.size;
}

/** A handler whose failures reach the engine the way Lambda's do: name = errorType, message = the JSON Cause. */
function asLambda(handler: LocalHandler): (input: unknown) => Promise<unknown> {
  return async (input) => {
    try {
      const output = await handler(JSON.parse(JSON.stringify(input ?? null)));
      return JSON.parse(JSON.stringify(output ?? null));
    } catch (error) {
      const e = error as Error;
      const failure = new Error(
        JSON.stringify({ errorType: e.name, errorMessage: e.message, trace: (e.stack ?? '').split('\n') }),
      );
      failure.name = e.name;
      throw failure;
    }
  };
}

/** The part of the engine's event log the runtime reads. */
interface StateEvent {
  type: string;
  index?: number;
  state: { name: string; type: string; input?: unknown };
}

let sequence = 0;

/** S3's sequencer: hexadecimal, increasing for the events of one key; unique per upload here. */
function nextSequencer(): string {
  sequence += 1;
  return `${Date.now().toString(16)}${sequence.toString(16).padStart(6, '0')}`.toUpperCase();
}

const quiet: Log = { info: () => undefined, warn: () => undefined, error: () => undefined };

/**
 * The whole pipeline on one machine: the state machine CDK synthesizes, run by aws-local-stepfunctions
 * with the Lambda handlers in-process, S3 on s3rver and DynamoDB on dynalite (127.0.0.1, free ports),
 * events to an {@link EventSink}. The same handler code and SDK client factory as in AWS.
 */
export class LocalPipeline implements ExecutionStarter {
  readonly sink: EventSink;
  private readonly machines: Record<Workflow, { machine: StateMachine; states: Map<string, AslState>; name: string }>;
  private readonly handlers = new Map<string, (input: unknown) => Promise<unknown>>();
  private readonly depsByFunction = new Map<FunctionId, HandlerDeps>();
  /** Executions started by name (as StartExecution does), until they end and after. */
  private readonly named = new Map<string, Promise<ExecutionReport>>();
  private detonatorSelection?: DetonatorSelection;
  /** Detonation tasks running now on each capacity (each has its own quota, as on AWS). */
  private readonly runningTasks: Record<FargateCapacity, number> = { 'on-demand': 0, spot: 0 };
  /**
   * Detonations under way, and the signal {@link stop} aborts them with: a pipeline stopped while a
   * sample still runs (an execution aborted after its deadline leaves its task's promise running)
   * must kill the container or box and remove its copies before the process goes.
   */
  private readonly detonations = new Set<Promise<unknown>>();
  private readonly stopping = new AbortController();
  /**
   * The turns of this pipeline's executions that start later than they were reserved (a detonation
   * slot, a vendor's submission slot), by queue and execution name, until the execution's turn comes:
   * what {@link QueuePosition} is read from. `at` is the turn's start as the slot tables gave it
   * (turns start in that order; `order` breaks ties by arrival).
   */
  private readonly queues = new Map<
    string,
    { queue: QueueName; at: number; order: number; onQueue?: (queue: QueuePosition) => void; told?: string }
  >();
  private queueOrder = 0;
  /** The capacity emulation's record: tasks started and refused (on either capacity), the most that ran at once. */
  readonly fargate = {
    maxRunning: 0,
    started: 0,
    refused: 0,
    /** Tasks started with the FARGATE launch type. */
    onDemandStarted: 0,
    /** Tasks started on the FARGATE_SPOT capacity provider, interrupted or not. */
    spotStarted: 0,
    /** Spot tasks stopped as interrupted ({@link LocalPipelineOptions.spotInterruptions}). */
    spotInterrupted: 0,
    /** Spot tasks refused for want of Spot capacity ({@link LocalPipelineOptions.spotTaskCapacity}). */
    spotRefused: 0,
  };
  /** What handlers hold beyond the clients (the static engine's Python workers), released at stop. */
  private readonly releases: (() => Promise<void>)[] = [];

  private constructor(
    readonly plan: LocalPlan,
    readonly services: LocalServices,
    readonly clients: AwsClients,
    readonly clock: Clock,
    private readonly options: LocalPipelineOptions,
  ) {
    this.sink = new EventSink(options.eventsFile);
    const machineOf = (definition: Record<string, unknown>, name: string) => {
      const asl = definition as { States: Record<string, AslState> };
      return {
        machine: new StateMachine((clock instanceof VirtualClock ? virtualTimeDefinition(asl) : asl) as never, {
          validationOptions: { checkArn: false },
        }),
        states: allStates(asl),
        name,
      };
    };
    this.machines = {
      front: machineOf(plan.front.definition, plan.front.stateMachineName),
      standard: machineOf(plan.definition, plan.stateMachineName),
    };
    for (const [id, fn] of Object.entries(plan.functions) as [FunctionId, LocalPlan['functions'][FunctionId]][]) {
      const config = loadRuntimeConfig(fn.environment);
      const deps = createDeps(config, {
        clients,
        clock,
        log: options.log ?? quiet,
        env: options.env ?? process.env,
        connectors: createConnector,
        // A handler's events go where the publishing states' go: the local bus the pipeline records.
        events: {
          publish: async (events) => {
            this.putEvents({
              Entries: events.map((event) => ({
                Source: EVENT_SOURCE,
                DetailType: event.detailType,
                Detail: event.detail,
                EventBusName: fn.environment[ENV.eventBus],
              })),
            });
          },
        },
      });
      this.depsByFunction.set(id, deps);
      const factory = HANDLER_FACTORIES[id](deps, {
        environment: fn.environment,
        executions: this,
        s3Endpoint: services.s3Endpoint,
        onWorkerRequests: (usage) => options.onWorkerRequests?.(id, usage),
        onStop: (release) => this.releases.push(release),
      });
      const beforeInvoke = options.beforeInvoke;
      const core: LocalHandler = beforeInvoke
        ? async (input) => {
            await beforeInvoke(id, input);
            return factory(input);
          }
        : factory;
      const onInvoke = options.onInvoke;
      const timed: LocalHandler = onInvoke
        ? async (input) => {
            const started = performance.now();
            try {
              return await core(input);
            } finally {
              onInvoke(id, performance.now() - started);
            }
          }
        : core;
      this.handlers.set(fn.name, asLambda(timed));
    }
  }

  /** Synthesizes (or reads the cached plan), starts the services and readies the state machine. */
  static async start(options: LocalPipelineOptions = {}): Promise<LocalPipeline> {
    const plan = localPlan(options.config ?? {}, { cache: options.cachePlan ?? true });
    const services = await startServices(plan, { stateDir: options.stateDir });
    const clients = createClients({
      s3Endpoint: services.s3Endpoint,
      dynamodbEndpoint: services.dynamodbEndpoint,
      region: LOCAL_ENV.region,
      credentials: LOCAL_CREDENTIALS,
    });
    const clock = options.virtualTime ? new VirtualClock() : systemClock;
    return new LocalPipeline(plan, services, clients, clock, options);
  }

  /** The dependencies a function's handler runs with (tests inspect the store through them). */
  deps(id: FunctionId): HandlerDeps {
    const deps = this.depsByFunction.get(id);
    if (!deps) throw new Error(`no function ${id}`);
    return deps;
  }

  /** Uploads a file (streamed) to the ingest bucket and returns the `Object Created` event S3 would send. */
  async upload(
    source: { path: string; key?: string } | { key: string; body: string | Buffer },
  ): Promise<ObjectCreatedEvent> {
    const bucket = this.plan.buckets.ingest;
    const key = 'path' in source ? (source.key ?? basename(source.path)) : source.key;
    const size = 'path' in source ? statSync(source.path).size : Buffer.byteLength(source.body);
    const Body = 'path' in source ? createReadStream(source.path) : source.body;
    const put = await this.clients.s3.send(
      new PutObjectCommand({ Bucket: bucket, Key: key, Body, ContentLength: size }),
    );
    return this.objectCreatedEvent(key, size, put.ETag?.replace(/"/g, ''), put.VersionId);
  }

  /** The EventBridge `Object Created` event for an object of the ingest bucket. */
  objectCreatedEvent(
    key: string,
    size: number,
    etag = '00000000000000000000000000000000',
    versionId?: string,
  ): ObjectCreatedEvent {
    return {
      'detail-type': 'Object Created',
      source: 'aws.s3',
      id: randomUUID(),
      time: new Date(this.clock.now()).toISOString().replace(/\.\d{3}Z$/, 'Z'),
      region: LOCAL_ENV.region,
      detail: {
        bucket: { name: this.plan.buckets.ingest },
        object: { key, size, etag, ...(versionId ? { 'version-id': versionId } : {}), sequencer: nextSequencer() },
        reason: 'PutObject',
      },
    };
  }

  /**
   * Runs one analysis with this input (normally an `Object Created` event): an execution of the
   * Express front, as the upload's event starts on AWS, then the Standard execution the front started,
   * if it handed the upload over. `workflow: 'standard'` starts the Standard workflow itself, as the
   * sweep and a reanalysis do. `timeoutMs` bounds the whole analysis in real time.
   */
  async run(input: unknown, options: RunOptions = {}): Promise<ExecutionReport> {
    const started = Date.now();
    // One signal stops every execution of this analysis, the Standard one the front handed over
    // included: a deadline or an interruption that left that one running would keep its Wait states
    // and retries (against services already stopped) holding the process for up to a minute.
    const stop = new AbortController();
    const timer = options.timeoutMs
      ? setTimeout(
          () => stop.abort(new AnalysisStopped('TimedOut', `no verdict within ${options.timeoutMs} ms`)),
          options.timeoutMs,
        )
      : undefined;
    const interrupt = () => stop.abort(new AnalysisStopped('Interrupted', 'the analysis was interrupted'));
    if (options.signal?.aborted) interrupt();
    options.signal?.addEventListener('abort', interrupt, { once: true });
    const handedOff: Promise<SingleExecution>[] = [];
    const executions: SingleExecution[] = [];
    try {
      executions.push(
        await this.execute(options.workflow ?? 'front', input, {
          name: options.name ?? randomUUID(),
          signal: stop.signal,
          onTransition: options.onTransition,
          onQueue: options.onQueue,
          onStart: (execution) => handedOff.push(execution),
        }),
      );
      // The front starts at most one Standard execution (named after itself); it runs on after the front ended.
      for (const next of handedOff) executions.push(await next);
    } finally {
      clearTimeout(timer);
      options.signal?.removeEventListener('abort', interrupt);
    }
    const last = executions[executions.length - 1] as SingleExecution;
    return {
      executionArn: last.executionArn,
      status: executions.every((e) => e.status === 'SUCCEEDED') ? 'SUCCEEDED' : 'FAILED',
      ...(last.output !== undefined ? { output: last.output } : {}),
      ...(executions.find((e) => e.status === 'FAILED')
        ? {
            error: executions.find((e) => e.status === 'FAILED')?.error,
            cause: executions.find((e) => e.status === 'FAILED')?.cause,
          }
        : {}),
      transitions: executions.flatMap((e) => e.transitions),
      durationMs: Date.now() - started,
      executions: executions.map((e) => ({
        workflow: e.workflow,
        executionArn: e.executionArn,
        status: e.status,
        transitions: e.transitions,
        durationMs: e.durationMs,
      })),
    };
  }

  /** One execution of one of the two state machines; `onStart` is told of each execution it starts. */
  private async execute(
    workflow: Workflow,
    input: unknown,
    options: {
      name: string;
      /** Aborts the execution; its reason ({@link AnalysisStopped}) is the error it ends with. */
      signal?: AbortSignal;
      onTransition?: (transition: Transition) => void;
      onQueue?: (queue: QueuePosition) => void;
      onStart?: (execution: Promise<SingleExecution>) => void;
    },
  ): Promise<SingleExecution> {
    const { machine, states, name: machineName } = this.machines[workflow];
    const { name } = options;
    const executionArn = `arn:aws:states:${LOCAL_ENV.region}:${LOCAL_ENV.account}:execution:${machineName}:${name}`;
    const started = Date.now();
    const virtual = this.clock instanceof VirtualClock ? this.clock : undefined;
    // Ends this execution's sleeps on the virtual clock (and any further attempt) once it ended.
    const ended = new AbortController();
    const taskResourceLocalHandlers: Record<string, (input: unknown) => Promise<unknown>> = {};
    for (const [stateName, state] of states) {
      if (state.Type === 'Task') {
        const handler = this.taskHandler(stateName, state, options);
        taskResourceLocalHandlers[stateName] = virtual
          ? virtualTask(state, handler, virtual, ended.signal, {
              realTimeFactor: this.options.realTimeTaskTimeoutFactor,
            })
          : handler;
      }
      if (state.Type === 'Wait' && virtual)
        taskResourceLocalHandlers[stateName] = virtualWait(state, virtual, ended.signal);
    }
    const execution = machine.run(input as never, {
      overrides: { taskResourceLocalHandlers: taskResourceLocalHandlers as never },
      context: {
        Execution: {
          Id: executionArn,
          Name: name,
          Input: input,
          StartTime: new Date(this.clock.now()).toISOString(),
          RoleArn: 'local',
        },
        StateMachine: {
          Id: `arn:aws:states:${LOCAL_ENV.region}:${LOCAL_ENV.account}:stateMachine:${machineName}`,
          Name: machineName,
        },
      } as never,
    });
    const abort = () => execution.abort();
    if (options.signal?.aborted) abort();
    options.signal?.addEventListener('abort', abort, { once: true });
    const transitions: Transition[] = [];
    const consumed = (async () => {
      for await (const event of execution.eventLogs as AsyncGenerator<StateEvent>) {
        if (event.type !== 'StateEntered') continue;
        const engine = (event.state.input as { engine?: unknown } | null)?.engine;
        const transition: Transition = {
          name: event.state.name,
          // The type in the synthesized definition (on virtual time the engine runs Wait states as Tasks).
          type: states.get(event.state.name)?.Type ?? event.state.type,
          workflow,
          ...(event.index !== undefined ? { index: event.index } : {}),
          ...(event.index !== undefined && typeof engine === 'string' && ENGINE_ID.test(engine) ? { engine } : {}),
        };
        transitions.push(transition);
        options.onTransition?.(transition);
        if (transition.name === AFTER_DETONATION_WAIT) this.leaveQueue('detonation', name);
      }
    })();
    const report = { workflow, executionArn, transitions };
    try {
      const output = await execution.result;
      await consumed;
      return { ...report, status: 'SUCCEEDED', output, durationMs: Date.now() - started };
    } catch (error) {
      await consumed.catch(() => undefined);
      if ((error as Error).name === 'ExecutionAbortedError') {
        const reason = options.signal?.reason;
        const stopped = reason instanceof AnalysisStopped ? reason : new AnalysisStopped('Aborted', 'aborted');
        return {
          ...report,
          status: 'FAILED',
          error: stopped.error,
          cause: stopped.message,
          durationMs: Date.now() - started,
        };
      }
      const cause = (error as Error & { cause?: Error }).cause ?? (error as Error);
      return { ...report, status: 'FAILED', error: cause.name, cause: cause.message, durationMs: Date.now() - started };
    } finally {
      options.signal?.removeEventListener('abort', abort);
      ended.abort();
      this.leaveQueues(name);
    }
  }

  /**
   * Starts an execution under a name without waiting for it, as Step Functions' StartExecution does:
   * a name used before starts nothing. {@link settled} waits for the executions started so.
   */
  async startExecution(name: string, input: unknown): Promise<StartOutcome> {
    if (this.named.has(name)) return 'exists';
    const report = this.run(input, { name, workflow: 'standard' });
    // Nobody may wait for it: a crash of the engine itself must not become an unhandled rejection.
    report.catch(() => undefined);
    this.named.set(name, report);
    return 'started';
  }

  /** How the executions started by {@link startExecution} ended, by name, once every one has. */
  async settled(): Promise<Map<string, ExecutionReport>> {
    const names = [...this.named.keys()];
    const reports = await Promise.all(names.map((name) => this.named.get(name) as Promise<ExecutionReport>));
    return new Map(names.map((name, i) => [name, reports[i] as ExecutionReport]));
  }

  /** Runs the re-drive sweep once, as its schedule does when deployed; the executions it starts run in the background. */
  async sweep(): Promise<SweepSummary> {
    const handler = this.handlers.get(this.plan.functions.SweepFn.name);
    if (!handler) throw new Error('no SweepFn in the local plan');
    // Its reads are in-flight I/O like any handler's: the virtual clock must not jump under them.
    const sweep = () => handler({}) as Promise<SweepSummary>;
    return this.clock instanceof VirtualClock ? this.clock.inFlight(sweep) : sweep();
  }

  private taskHandler(
    stateName: string,
    state: AslState,
    run: Pick<Parameters<LocalPipeline['execute']>[2], 'name' | 'signal' | 'onTransition' | 'onQueue' | 'onStart'>,
  ): (input: unknown) => Promise<unknown> {
    const handler = this.resourceHandler(stateName, state, run);
    const payloadOf = (value: unknown) =>
      ((value as { Payload?: unknown } | null)?.Payload ?? value) as Record<string, unknown> | null;
    if (stateName === RESERVE_DETONATION_STATE)
      // The turn the task-slot table gave: a later start than now is a place in the queue.
      return async (input) => {
        const output = await handler(input);
        const turn = payloadOf(output);
        if (typeof turn?.at === 'number' && typeof turn.waitSeconds === 'number' && turn.waitSeconds > 0)
          this.enterQueue('detonation', run, turn.at);
        return output;
      };
    if (VENDOR_SUBMIT_STATES.has(stateName))
      // A submission the vendor's slots put off is a queued job with the seconds until its slot: a
      // place in that vendor's queue until the job is submitted (or queued again, refused by the vendor).
      return async (input) => {
        const job = (payloadOf(input)?.job ?? null) as { engine?: unknown } | null;
        if (typeof job?.engine === 'string') this.leaveQueue(`vendor:${job.engine}`, run.name);
        const output = await handler(input);
        const next = payloadOf(output);
        if (
          typeof next?.engine === 'string' &&
          ENGINE_ID.test(next.engine) &&
          next.phase === 'queued' &&
          typeof next.waitSeconds === 'number' &&
          next.waitSeconds > 0
        )
          this.enterQueue(`vendor:${next.engine}`, run, this.clock.now() + next.waitSeconds * 1000);
        return output;
      };
    return handler;
  }

  /** An execution whose turn starts at `at`, later than now, waits in `queue`: everyone in it is told their place. */
  private enterQueue(queue: QueueName, run: { name?: string; onQueue?: (queue: QueuePosition) => void }, at: number) {
    this.queueOrder += 1;
    this.queues.set(`${queue}\n${run.name}`, { queue, at, order: this.queueOrder, onQueue: run.onQueue });
    this.tellQueue(queue);
  }

  /** An execution's turn started (it left its wait): the queue behind it moves up. */
  private leaveQueue(queue: QueueName, execution: string | undefined): void {
    if (this.queues.delete(`${queue}\n${execution}`)) this.tellQueue(queue);
  }

  /** An execution ended: it leaves every queue it was in. */
  private leaveQueues(execution: string): void {
    for (const [key, entry] of this.queues)
      if (key === `${entry.queue}\n${execution}`) this.leaveQueue(entry.queue, execution);
  }

  /** Tells each execution waiting in `queue` its place (turns start in the order of their `at`), when it changed. */
  private tellQueue(queue: QueueName): void {
    const waiting = [...this.queues.values()]
      .filter((entry) => entry.queue === queue)
      .sort((a, b) => a.at - b.at || a.order - b.order);
    const which: Pick<QueuePosition, 'engine'> & { vendor?: string } =
      queue === 'detonation' ? { engine: 'detonation' } : { engine: 'vendor', vendor: queue.slice('vendor:'.length) };
    waiting.forEach((entry, i) => {
      const told = `${i + 1}/${waiting.length}`;
      if (entry.told === told) return;
      entry.told = told;
      entry.onQueue?.({ ...which, position: i + 1, of: waiting.length } as QueuePosition);
    });
  }

  private resourceHandler(
    stateName: string,
    state: AslState,
    run: Pick<Parameters<LocalPipeline['execute']>[2], 'signal' | 'onTransition' | 'onQueue' | 'onStart'>,
  ): (input: unknown) => Promise<unknown> {
    const resource = state.Resource ?? '';
    if (resource === 'arn:aws:states:::states:startExecution')
      return async (input) => this.startStandard(stateName, input, run);
    if (resource.startsWith('arn:aws:lambda:')) {
      const fn = resource.split(':function:')[1]?.split(':')[0] ?? '';
      const handler = this.handlers.get(fn);
      if (!handler) throw new Error(`state ${stateName}: no local handler for function ${fn}`);
      return handler;
    }
    if (resource === 'arn:aws:states:::lambda:invoke') {
      return async (input) => {
        const { FunctionName, Payload } = input as { FunctionName: string; Payload: unknown };
        const fn = String(FunctionName).split(':function:').pop()?.split(':')[0] ?? FunctionName;
        const handler = this.handlers.get(fn);
        if (!handler) throw new Error(`state ${stateName}: no local handler for function ${fn}`);
        const payload = await handler(Payload);
        return {
          ExecutedVersion: '$LATEST',
          Payload: payload,
          StatusCode: 200,
          SdkHttpMetadata: { HttpStatusCode: 200 },
          SdkResponseMetadata: { RequestId: randomUUID() },
        };
      };
    }
    if (resource === 'arn:aws:states:::events:putEvents') return async (input) => this.putEvents(input);
    if (resource === 'arn:aws:states:::ecs:runTask.sync') return async (input) => this.runTask(input, run.signal);
    return async () => {
      throw Object.assign(new Error(`the local runtime cannot run resource ${resource} (state ${stateName})`), {
        name: 'States.Runtime',
      });
    };
  }

  /**
   * `states:startExecution` of the Standard workflow (the front's hand-off): starts it under the
   * given name without waiting for it, and refuses a name used before as Step Functions does.
   */
  private startStandard(
    stateName: string,
    input: unknown,
    run: Pick<Parameters<LocalPipeline['execute']>[2], 'signal' | 'onTransition' | 'onQueue' | 'onStart'> = {},
  ): unknown {
    const { StateMachineArn, Input, Name } = input as { StateMachineArn?: string; Input?: unknown; Name?: string };
    const machineName = String(StateMachineArn ?? '')
      .split(':')
      .pop();
    if (machineName !== this.machines.standard.name)
      throw Object.assign(new Error(`state ${stateName}: no local state machine ${StateMachineArn}`), {
        name: 'States.Runtime',
      });
    const name = Name ?? randomUUID();
    if (this.named.has(name))
      throw Object.assign(new Error(`Execution Already Exists: '${name}'`), {
        name: 'SFN.ExecutionAlreadyExistsException',
      });
    // The hand-off stays part of the analysis that made it: the same stop signal and observer.
    const execution = this.execute('standard', typeof Input === 'string' ? JSON.parse(Input) : Input, {
      name,
      signal: run.signal,
      onTransition: run.onTransition,
      onQueue: run.onQueue,
    });
    // Nobody may wait for it: a crash of the engine itself must not become an unhandled rejection.
    execution.catch(() => undefined);
    this.named.set(
      name,
      execution.then((e) => ({ ...e, executions: [{ ...e }] })),
    );
    run.onStart?.(execution);
    const executionArn = `arn:aws:states:${LOCAL_ENV.region}:${LOCAL_ENV.account}:execution:${machineName}:${name}`;
    return { ExecutionArn: executionArn, StartDate: new Date(this.clock.now()).toISOString() };
  }

  /**
   * `ecs:runTask.sync`: runs the detonation agent with the task's container overrides on a local
   * detonator and answers like DescribeTasks once the task stopped. A non-zero exit fails the state.
   * A task on the FARGATE_SPOT capacity provider meets Spot's own capacity and may be interrupted.
   * The analysis's stop signal (its deadline, an interruption) stops the detonation too.
   */
  private async runTask(input: unknown, signal?: AbortSignal): Promise<unknown> {
    const { Overrides, CapacityProviderStrategy } = input as {
      Overrides?: { ContainerOverrides?: { Name: string; Environment?: { Name: string; Value: string }[] }[] };
      CapacityProviderStrategy?: { CapacityProvider: string }[];
    };
    const container = Overrides?.ContainerOverrides?.[0];
    const env = Object.fromEntries((container?.Environment ?? []).map((e) => [e.Name, e.Value]));
    const choice = this.options.detonator;
    this.detonatorSelection ??= typeof choice === 'object' ? { detonator: choice } : selectDetonator(choice);
    const { detonator, reason } = this.detonatorSelection;
    if (!detonator) throw Object.assign(new Error(reason), { name: 'DetonatorUnavailable' });
    const capacity: FargateCapacity = CapacityProviderStrategy?.some((s) => s.CapacityProvider === 'FARGATE_SPOT')
      ? 'spot'
      : 'on-demand';
    const spot = capacity === 'spot';
    const limit = spot ? this.options.spotTaskCapacity : this.options.fargateTaskCapacity;
    if (limit !== undefined && this.runningTasks[capacity] >= limit) {
      this.fargate.refused += 1;
      if (spot) this.fargate.spotRefused += 1;
      const failure = spot
        ? { reason: 'Capacity is unavailable at this time. Please try again later or in a different availability zone' }
        : { reason: 'RESOURCE:CPU', detail: 'Fargate vCPU limit reached' };
      throw Object.assign(new Error(JSON.stringify({ failures: [failure] })), { name: 'AmazonECS.Unknown' });
    }
    const taskArn = `arn:aws:ecs:${LOCAL_ENV.region}:${LOCAL_ENV.account}:task/local/${randomUUID()}`;
    const containerName = container?.Name ?? 'detonation';
    this.fargate.started += 1;
    if (spot) this.fargate.spotStarted += 1;
    else this.fargate.onDemandStarted += 1;
    if (spot && this.interrupts(this.fargate.spotStarted - 1)) {
      this.fargate.spotInterrupted += 1;
      // The detonator does not run: on AWS the agent, which has no SIGTERM handler, dies at the
      // warning without uploading a report, so no report of this run may exist for Collect to find.
      // What the .sync integration fails the state with: the stopped task, as DescribeTasks tells it.
      throw Object.assign(
        new Error(
          JSON.stringify({
            TaskArn: taskArn,
            CapacityProviderName: 'FARGATE_SPOT',
            LastStatus: 'STOPPED',
            DesiredStatus: 'STOPPED',
            StopCode: 'SpotInterruption',
            StoppedReason: 'Your Spot Task was interrupted.',
            // SIGTERM's exit status: the agent dies of the signal.
            Containers: [{ Name: containerName, ExitCode: 143, LastStatus: 'STOPPED' }],
          }),
        ),
        { name: 'States.TaskFailed' },
      );
    }
    this.runningTasks[capacity] += 1;
    const running = this.runningTasks['on-demand'] + this.runningTasks.spot;
    this.fargate.maxRunning = Math.max(this.fargate.maxRunning, running);
    let exitCode: number;
    const stops = signal ? AbortSignal.any([signal, this.stopping.signal]) : this.stopping.signal;
    const detonation = detonator.run(env, { signal: stops });
    this.detonations.add(detonation);
    try {
      exitCode = await detonation;
    } finally {
      this.detonations.delete(detonation);
      this.runningTasks[capacity] -= 1;
    }
    if (exitCode !== 0)
      throw Object.assign(new Error(`detonation container exited with ${exitCode} (${detonator.kind} detonator)`), {
        name: 'States.TaskFailed',
      });
    return {
      TaskArn: taskArn,
      ...(spot ? { CapacityProviderName: 'FARGATE_SPOT' } : { LaunchType: 'FARGATE' }),
      LastStatus: 'STOPPED',
      StopCode: 'EssentialContainerExited',
      Containers: [{ Name: containerName, ExitCode: 0, LastStatus: 'STOPPED' }],
    };
  }

  /** Whether the Spot task of this index (0: the first started) is interrupted. */
  private interrupts(spotTask: number): boolean {
    const interruptions = this.options.spotInterruptions;
    if (typeof interruptions === 'function') return interruptions(spotTask);
    return spotTask < (interruptions ?? 0);
  }

  private putEvents(input: unknown): unknown {
    const { Entries } = input as {
      Entries: { Source: string; DetailType: string; Detail: unknown; EventBusName?: string }[];
    };
    const schemas: Record<string, { parse(value: unknown): unknown }> = {
      [DETAIL_TYPE_VERDICT]: SampleVerdictDetailSchema,
      [DETAIL_TYPE_FAILED]: SampleAnalysisFailedDetailSchema,
      [DETAIL_TYPE_VERDICT_CHANGED]: SampleVerdictChangedDetailSchema,
    };
    const ids = Entries.map((entry) => {
      const detail = typeof entry.Detail === 'string' ? JSON.parse(entry.Detail) : entry.Detail;
      // A detail that breaks its own contract is a bug: fail the publish state, as a strict consumer would.
      schemas[entry.DetailType]?.parse(detail);
      const bus =
        String(entry.EventBusName ?? 'default')
          .split('/')
          .pop() ?? 'default';
      return this.sink.put({
        source: entry.Source,
        detailType: entry.DetailType,
        detail: detail as Record<string, unknown>,
        eventBusName: bus,
        time: this.clock.now(),
      }).id;
    });
    return { Entries: ids.map((EventId) => ({ EventId })), FailedEntryCount: 0 };
  }

  /** Events published so far, optionally of one detail-type. */
  events(detailType?: string): DeliveredEvent[] {
    return detailType ? this.sink.events.filter((e) => e['detail-type'] === detailType) : [...this.sink.events];
  }

  /** Stops the services and closes every client and connection pool. */
  async stop(): Promise<void> {
    // Detonations first: they upload to the services stopped below, and must not outlive the process.
    this.stopping.abort(new Error('the local pipeline stopped'));
    await Promise.allSettled([...this.detonations]);
    await Promise.all(this.releases.splice(0).map((release) => release()));
    destroyClients(this.clients);
    await closeHttpPools();
    await this.services.stop();
  }
}
