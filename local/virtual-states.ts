import { retryMillis, waitMillis, type AslState, type Retrier } from './definition';
import type { VirtualClock } from './virtual-clock';

/**
 * aws-local-stepfunctions sleeps on the wall clock in Wait states and between Retry attempts. On
 * virtual time the local runtime does both itself, sleeping on a {@link VirtualClock}:
 * - each Wait state becomes a Task whose local handler sleeps until the wait ends;
 * - each Task loses its Retry, and its local handler makes the attempts, sleeping between them.
 * Everything else (paths, Choice, Map, Catch) stays the engine's. The engine's per-task timeout would
 * then count the virtual sleeps in real time, so the handler times each attempt itself and the
 * engine gets the longest timeout Node's timers take.
 *
 * How an attempt is timed. Its TimeoutSeconds is counted on the virtual clock, like every other
 * duration of the definition. The attempt runs in flight, so the clock stands still while it works:
 * work takes no virtual time, and only an attempt blocked on something outside
 * ({@link VirtualClock.blockedOn}, a test holding it at a gate) lets time move and can run out of it,
 * at exactly its TimeoutSeconds of virtual time. Real time cannot be the measure: every execution's
 * handlers, S3 and DynamoDB share one Node process here, so an attempt's real duration grows with the
 * executions running beside it (2,000 executions woken at one virtual moment queue behind each other
 * on dynalite's counters), where on AWS each Lambda has its own machine. A step that a deployed
 * pipeline runs in milliseconds must not fail because the test machine is busy.
 *
 * A handler that truly hangs would then hold the clock still forever, so a real-time guard stays:
 * an attempt still running after its TimeoutSeconds × {@link VirtualTaskOptions.realTimeFactor} of
 * real time fails with States.Timeout as on AWS. The factor is generous by default (a hang is caught
 * in minutes, not in the state's seconds); the local runtime takes it from its options.
 */

/** The longest timer Node keeps (2^31 - 1 ms); a longer one fires at once. */
const LONGEST_TIMEOUT_SECONDS = 2_147_483;
/** The engine's (and Step Functions') timeout of a Task without TimeoutSeconds. */
const DEFAULT_TASK_TIMEOUT_SECONDS = 60;
/** The resource of the Tasks that stand in for Wait states; nothing but the local runtime runs it. */
export const VIRTUAL_WAIT_RESOURCE = 'arn:aws:states:::sandtrap:virtualWait';

type States = Record<string, AslState>;
interface Machine {
  States: States;
  [key: string]: unknown;
}

/** Fields a state of the definition may have that this adaptation cannot time: refused rather than run wrong. */
const UNTIMEABLE = ['TimeoutSecondsPath', 'HeartbeatSeconds', 'HeartbeatSecondsPath'] as const;

/** A catcher of a Catch field. */
interface Catcher {
  ErrorEquals: string[];
  Next: string;
  [key: string]: unknown;
}

const catchesTimeout = (catcher: Catcher) =>
  catcher.ErrorEquals.some((e) => e === 'States.Timeout' || e === 'States.ALL');

/**
 * A Task's catchers, with a timeout's own catcher before each that names States.TaskFailed. On AWS
 * States.TaskFailed names every error but a timeout, which goes on to the first later catcher of
 * States.Timeout or States.ALL. On virtual time the handler times the attempt, and the engine takes
 * a timeout it did not raise itself for any other error: the catcher placed first routes it as AWS
 * would. A timeout that no later catcher takes cannot be left uncaught this way, so it is refused.
 */
function timeoutsPassTaskFailed(name: string, catchers: Catcher[]): Catcher[] {
  return catchers.flatMap((catcher, i) => {
    if (!catcher.ErrorEquals.includes('States.TaskFailed') || catchesTimeout(catcher)) return [catcher];
    const route = catchers.slice(i + 1).find(catchesTimeout);
    if (!route)
      throw new Error(
        `state ${name}: a Catch of States.TaskFailed with no later catcher of a timeout cannot run on virtual time`,
      );
    return [{ ...route, ErrorEquals: ['States.Timeout'] }, catcher];
  });
}

function adaptState(name: string, state: AslState): AslState {
  if (state.Type === 'Wait') {
    const { Seconds: _s, SecondsPath: _sp, Timestamp: _t, TimestampPath: _tp, ...rest } = state;
    return { ...rest, Type: 'Task', Resource: VIRTUAL_WAIT_RESOURCE, TimeoutSeconds: LONGEST_TIMEOUT_SECONDS };
  }
  if (state.Type === 'Task') {
    for (const field of UNTIMEABLE)
      if (state[field] !== undefined) throw new Error(`state ${name}: ${field} cannot run on virtual time`);
    const { Retry: _retry, Catch, ...rest } = state;
    return {
      ...rest,
      ...(Array.isArray(Catch) ? { Catch: timeoutsPassTaskFailed(name, Catch as Catcher[]) } : {}),
      TimeoutSeconds: LONGEST_TIMEOUT_SECONDS,
    };
  }
  if (state.Retry) throw new Error(`state ${name}: Retry on a ${state.Type} state cannot run on virtual time`);
  const adapted: AslState = { ...state };
  if (state.ItemProcessor) adapted.ItemProcessor = adaptMachine(state.ItemProcessor as Machine);
  if (state.Iterator) adapted.Iterator = adaptMachine(state.Iterator as Machine);
  if (state.Branches) adapted.Branches = state.Branches.map((branch) => adaptMachine(branch as Machine));
  return adapted;
}

function adaptMachine<M extends Machine>(machine: M): M {
  return {
    ...machine,
    States: Object.fromEntries(Object.entries(machine.States).map(([name, state]) => [name, adaptState(name, state)])),
  };
}

/** The definition the engine runs on virtual time (see the module comment); the input is not changed. */
export function virtualTimeDefinition<M extends Machine>(definition: M): M {
  return adaptMachine(definition);
}

/** A failure the engine reports as a state's error, by name. */
function statesError(name: string, message: string): Error {
  return Object.assign(new Error(message), { name });
}

/**
 * The local handler of a Wait state on virtual time: sleeps for as long as the state waits for this
 * input (the input after InputPath, as the engine evaluates SecondsPath), then passes it on.
 */
export function virtualWait(
  state: AslState,
  clock: VirtualClock,
  signal: AbortSignal,
): (input: unknown) => Promise<unknown> {
  return async (input) => {
    const ms = waitMillis(state, input, clock.now());
    // A path that yields no non-negative number fails the execution, as the engine's check does.
    if (!Number.isFinite(ms) || ms < 0)
      throw statesError('States.Runtime', `the Wait state has no valid wait length for this input (${ms} ms)`);
    await clock.sleep(ms, signal);
    return input;
  };
}

/** The error a Task attempt ends with when it outlives its TimeoutSeconds. */
function isTimeout(error: unknown): boolean {
  return (error as { name?: unknown })?.name === 'States.Timeout';
}

/**
 * Which retrier of `retriers` retries `error` after `attempts[i]` earlier retries by retrier i, as
 * aws-local-stepfunctions decides (the first retrier naming the error decides; States.ALL names every
 * error, States.TaskFailed every error but a timeout), and how long it waits first, without jitter.
 * Counts the retry in `attempts`. Undefined: no retry, the error goes to Catch.
 */
export function retryDelay(retriers: Retrier[], error: unknown, attempts: number[]): number | undefined {
  const name = (error as { name?: unknown })?.name;
  if ((error as { isRetryable?: unknown })?.isRetryable === false) return undefined;
  for (const [i, retrier] of retriers.entries()) {
    const names = retrier.ErrorEquals.some(
      (e) => e === name || e === 'States.ALL' || (e === 'States.TaskFailed' && !isTimeout(error)),
    );
    if (!names) continue;
    const made = attempts[i] ?? 0;
    if (made >= (retrier.MaxAttempts ?? 3)) return undefined;
    attempts[i] = made + 1;
    return retryMillis(retrier, made + 1);
  }
  return undefined;
}

/** How {@link virtualTask} times its attempts (see the module comment). */
export interface VirtualTaskOptions {
  /**
   * The real time an attempt may run, as a multiple of its TimeoutSeconds, before it fails with
   * States.Timeout although the virtual clock has not reached its timeout: the guard against a
   * handler that hangs. Infinity turns the guard off.
   * @default DEFAULT_REAL_TIME_TASK_TIMEOUT_FACTOR (10)
   */
  realTimeFactor?: number;
}

/**
 * The default real-time guard of a Task attempt on virtual time, in multiples of its TimeoutSeconds.
 * Ten: 5 minutes for a 30 s step, 50 for a 300 s one. In the 2,000-upload scale scenario on two
 * shared cores the slowest attempts took 16 s of a 30 s step (ReserveDetonationSlot) and 1,217 s of
 * a 300 s one (SubmitToVendor, behind the burst's reservations of the submission lane: 4 times its
 * timeout); a hang still ends.
 */
export const DEFAULT_REAL_TIME_TASK_TIMEOUT_FACTOR = 10;

/**
 * The local handler of a Task state on virtual time: each attempt runs in flight on the clock, and
 * fails with States.Timeout after the state's TimeoutSeconds of virtual time (which pass only while
 * the attempt is blocked outside) or, a guard against hangs, of that many times the real-time factor
 * of real time; between attempts it sleeps on the clock for the interval the state's Retry asks. No
 * attempt starts once `signal` aborted (the execution ended).
 */
export function virtualTask(
  state: AslState,
  attempt: (input: unknown) => Promise<unknown>,
  clock: VirtualClock,
  signal: AbortSignal,
  options: VirtualTaskOptions = {},
): (input: unknown) => Promise<unknown> {
  const retriers = (state.Retry ?? []) as Retrier[];
  const timeoutMs =
    (typeof state.TimeoutSeconds === 'number' ? state.TimeoutSeconds : DEFAULT_TASK_TIMEOUT_SECONDS) * 1000;
  const factor = options.realTimeFactor ?? DEFAULT_REAL_TIME_TASK_TIMEOUT_FACTOR;
  if (!(factor > 0)) throw new RangeError(`the real-time factor of a Task's timeout must be positive, got ${factor}`);
  const realMs = timeoutMs * factor;
  return async (input) => {
    const attempts: number[] = [];
    for (;;) {
      try {
        return await timed(clock, () => attempt(input), timeoutMs, realMs);
      } catch (error) {
        const delay = signal.aborted ? undefined : retryDelay(retriers, error, attempts);
        if (delay === undefined) throw error;
        await clock.sleep(delay, signal);
      }
    }
  };
}

/**
 * Runs `work` in flight on the clock; States.Timeout once `virtualMs` of virtual time or `realMs` of
 * real time passed (the work itself stays in flight until it settles: the clock waits for it, as
 * Lambda lets a timed-out invocation's I/O land).
 */
async function timed<T>(clock: VirtualClock, work: () => Promise<T>, virtualMs: number, realMs: number): Promise<T> {
  const settled = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const timeout = () => statesError('States.Timeout', 'Task timed out.');
  const running = clock.inFlight(work);
  // The virtual deadline is a sleeper like any: cancelled as soon as the attempt settles, it never
  // pulls the clock forward.
  const virtualDeadline = clock.sleep(virtualMs, settled.signal).then(
    () => Promise.reject(timeout()),
    () => new Promise<never>(() => undefined),
  );
  const realDeadline =
    realMs < LONGEST_TIMEOUT_SECONDS * 1000
      ? new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(timeout()), realMs);
        })
      : new Promise<never>(() => undefined);
  try {
    return await Promise.race([running, virtualDeadline, realDeadline]);
  } finally {
    settled.abort();
    clearTimeout(timer);
  }
}
