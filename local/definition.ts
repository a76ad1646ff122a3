/** A state of an ASL definition, as far as the local runtime inspects it. */
export interface AslState {
  Type: string;
  Resource?: string;
  Seconds?: number;
  SecondsPath?: string;
  Timestamp?: string;
  TimestampPath?: string;
  Retry?: unknown[];
  ItemProcessor?: { States: Record<string, AslState> };
  Iterator?: { States: Record<string, AslState> };
  Branches?: { States: Record<string, AslState> }[];
  [key: string]: unknown;
}

/** Every state of a definition by name, nested Map and Parallel states included (names are machine-wide unique). */
export function allStates(definition: { States?: Record<string, AslState> }): Map<string, AslState> {
  const found = new Map<string, AslState>();
  const visit = (states: Record<string, AslState> | undefined) => {
    for (const [name, state] of Object.entries(states ?? {})) {
      found.set(name, state);
      visit(state.ItemProcessor?.States);
      visit(state.Iterator?.States);
      for (const branch of state.Branches ?? []) visit(branch.States);
    }
  };
  visit(definition.States);
  return found;
}

/** Reads a reference path such as `$.job.waitSeconds` or `$.items[0]` from a value. */
export function readPath(value: unknown, path: string): unknown {
  if (path === '$') return value;
  const parts = path.replace(/^\$\.?/, '').match(/[^.[\]]+/g) ?? [];
  let current: unknown = value;
  for (const part of parts) {
    if (current === null || typeof current !== 'object') return undefined;
    current = (current as Record<string, unknown>)[part];
  }
  return current;
}

/** How long a Wait state waits on AWS for this input, in milliseconds. */
export function waitMillis(state: AslState, input: unknown, now: number): number {
  if (typeof state.Seconds === 'number') return state.Seconds * 1000;
  if (state.SecondsPath) return Number(readPath(input, state.SecondsPath) ?? 0) * 1000;
  const timestamp = state.Timestamp ?? (state.TimestampPath ? String(readPath(input, state.TimestampPath)) : undefined);
  return timestamp ? Math.max(0, Date.parse(timestamp) - now) : 0;
}

/** A retrier of a Retry field. */
export interface Retrier {
  ErrorEquals: string[];
  IntervalSeconds?: number;
  BackoffRate?: number;
  MaxDelaySeconds?: number;
  MaxAttempts?: number;
}

/** How long AWS waits before retry number `attempt` (1-based) of a retrier, without jitter, in milliseconds. */
export function retryMillis(retrier: Retrier, attempt: number): number {
  const interval = (retrier.IntervalSeconds ?? 1) * (retrier.BackoffRate ?? 2) ** Math.max(0, attempt - 1);
  return Math.min(interval, retrier.MaxDelaySeconds ?? Number.POSITIVE_INFINITY) * 1000;
}
