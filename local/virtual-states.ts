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

function adaptState(name: string, state: AslState): AslState {
  if (state.Type === 'Wait') {
    const { Seconds: _s, SecondsPath: _sp, Timestamp: _t, TimestampPath: _tp, ...rest } = state;
    return { ...rest, Type: 'Task', Resource: VIRTUAL_WAIT_RESOURCE, TimeoutSeconds: LONGEST_TIMEOUT_SECONDS };
  }
  if (state.Type === 'Task') {
    for (const field of UNTIMEABLE)
      if (state[field] !== undefined) throw new Error(`state ${name}: ${field} cannot run on virtual time`);
    const { Retry: _retry, ...rest } = state;
    return { ...rest, TimeoutSeconds: LONGEST_TIMEOUT_SECONDS };
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

/**
 * The local handler of a Task state on virtual time: each attempt runs in flight on the clock,
 * within the state's TimeoutSeconds of real time; between attempts it sleeps on the clock for the
 * interval the state's Retry asks. No attempt starts once `signal` aborted (the execution ended).
 */
export function virtualTask(
  state: AslState,
  attempt: (input: unknown) => Promise<unknown>,
  clock: VirtualClock,
  signal: AbortSignal,
): (input: unknown) => Promise<unknown> {
  const retriers = (state.Retry ?? []) as Retrier[];
  const timeoutMs =
    (typeof state.TimeoutSeconds === 'number' ? state.TimeoutSeconds : DEFAULT_TASK_TIMEOUT_SECONDS) * 1000;
  return async (input) => {
    const attempts: number[] = [];
    for (;;) {
      try {
        return await withTimeout(
          clock.inFlight(() => attempt(input)),
          timeoutMs,
        );
      } catch (error) {
        const delay = signal.aborted ? undefined : retryDelay(retriers, error, attempts);
        if (delay === undefined) throw error;
        await clock.sleep(delay, signal);
      }
    }
  };
}

/** `work`, or States.Timeout once `ms` of real time passed (the work itself stays in flight until it settles). */
async function withTimeout<T>(work: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(statesError('States.Timeout', 'Task timed out.')), ms);
  });
  try {
    return await Promise.race([work, timedOut]);
  } finally {
    clearTimeout(timer);
  }
}
