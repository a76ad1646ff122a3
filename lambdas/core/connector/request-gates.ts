import { AsyncLocalStorage } from 'node:async_hooks';

/**
 * What a request is for, as far as the shared rate limit cares: fetching a report that is ready
 * (`report`) may use the slots each window keeps back, so that a finished analysis is not starved by
 * the submissions and status polls of a burst; everything else is `normal`.
 */
export type RequestPriority = 'normal' | 'report';

const priority = new AsyncLocalStorage<RequestPriority>();

/** Runs `work` with every vendor request it makes counted as `kind`. */
export function withRequestPriority<T>(kind: RequestPriority, work: () => Promise<T>): Promise<T> {
  return priority.run(kind, work);
}

/** The priority of the request being made now. */
export function currentRequestPriority(): RequestPriority {
  return priority.getStore() ?? 'normal';
}

/**
 * Called before every request to a vendor endpoint; throws (e.g. `RateLimitedError`) to stop it, or
 * returns a function to call once the vendor has the request (its response headers arrived).
 */
export type RequestGate = () => Promise<(() => void) | undefined>;
