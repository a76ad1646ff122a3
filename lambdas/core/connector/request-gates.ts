import { AsyncLocalStorage } from 'node:async_hooks';

/**
 * Requests a step was admitted for ahead of time: it reserved their slots of the vendor's shared rate
 * and its execution waited until then, so they go out without asking the limiter again.
 */
interface Admission {
  remaining: number;
}

const admissions = new AsyncLocalStorage<Admission>();

/** Runs `work` with its first `requests` vendor requests admitted already (their slots are reserved). */
export function withAdmission<T>(requests: number, work: () => Promise<T>): Promise<T> {
  return admissions.run({ remaining: Math.max(0, requests) }, work);
}

/** The admitted requests the running step has left (0 outside a step with an admission). */
export function admittedRequests(): number {
  return admissions.getStore()?.remaining ?? 0;
}

/** Spends one admitted request of the running step; false when it has none left (the request needs a slot of its own). */
export function spendAdmittedRequest(): boolean {
  const admission = admissions.getStore();
  if (!admission || admission.remaining <= 0) return false;
  admission.remaining -= 1;
  return true;
}

/**
 * Called before every request to a vendor endpoint; throws (e.g. `RateLimitedError`) to stop it, or
 * returns a function to call once the vendor has the request (its response headers arrived).
 */
export type RequestGate = () => Promise<(() => void) | undefined>;
