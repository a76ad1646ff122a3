import type { VendorId } from '../core/schemas';

/**
 * Called before every request to a vendor endpoint; throws (e.g. `RateLimitedError`) to stop it, or
 * returns a function to call once the vendor has the request (its response headers arrived).
 */
export type RequestGate = () => Promise<(() => void) | void>;

// Gates are set per vendor endpoint by the runtime that knows the limits (see createDeps), so that
// connectors need not know about them. One gate per endpoint per process.
const gates = new Map<string, RequestGate>();

const gateKey = (vendor: VendorId, baseUrl: string) => `${vendor}|${baseUrl.replace(/\/+$/, '')}`;

/** Puts every request to this vendor endpoint through `gate` (undefined removes it). */
export function setRequestGate(vendor: VendorId, baseUrl: string, gate: RequestGate | undefined): void {
  if (gate) gates.set(gateKey(vendor, baseUrl), gate);
  else gates.delete(gateKey(vendor, baseUrl));
}

/** The gate of an endpoint, if any. */
export function requestGate(vendor: VendorId, baseUrl: string): RequestGate | undefined {
  return gates.get(gateKey(vendor, baseUrl));
}
