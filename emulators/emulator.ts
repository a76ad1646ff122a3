import type { Clock } from '../lambdas/core/contracts/clock';
import type { VendorConfig } from '../lambdas/core/config/runtime-config';
import type { VendorId } from '../lambdas/core/contracts/pipeline';
import type { EmulatorServer } from './server';

/**
 * Faults every vendor emulator can be switched into, each answered in that vendor's own wire format:
 * - `bad-key`: credentials refused (401/403, or the vendor's error inside a 200)
 * - `rate-limited`: 429 with Retry-After (or the vendor's equivalent)
 * - `quota`: daily quota used up (VMRay's error inside an HTTP 200, WildFire 419, Joe's error code 1)
 * - `server-error`: HTTP 5xx with an HTML body
 * - `slow`: answers after 5 s (longer than the connector's request timeout in tests)
 * - `truncated`: the body is cut off mid-way and the connection dropped
 * - `malformed`: a 200 whose body is not the documented shape
 * - `unsupported`: the file type is refused
 * - `oversize`: the sample is over the vendor's size limit
 * - `failed-analysis`: the vendor accepts the sample, then ends the analysis without a report
 */
export const EMULATOR_FAULTS = [
  'bad-key',
  'rate-limited',
  'quota',
  'server-error',
  'slow',
  'truncated',
  'malformed',
  'unsupported',
  'oversize',
  'failed-analysis',
] as const;
export type EmulatorFault = 'none' | (typeof EMULATOR_FAULTS)[number];

/**
 * Faults a vendor cannot produce: its emulator refuses to be switched into them rather than invent an
 * answer the real service never gives. CAPE has no quota; its only back-pressure is DRF's throttle
 * (HTTP 429, the `rate-limited` fault). WildFire has no rate-limit status: its only refusal for volume
 * is 419, the daily quota (the `quota` fault), and it never answers 429.
 */
export const ABSENT_FAULTS: Partial<Record<VendorId, readonly EmulatorFault[]>> = {
  cape: ['quota'],
  wildfire: ['rate-limited'],
};

/** True when `vendor` can produce `fault` (see {@link ABSENT_FAULTS}). */
export function vendorHasFault(vendor: VendorId, fault: EmulatorFault): boolean {
  return !ABSENT_FAULTS[vendor]?.includes(fault);
}

/** How long an emulated analysis takes, in simulated seconds read from the shared clock. */
export interface EmulatorTiming {
  /** Seconds in the vendor's queue before the run starts. @default 10 */
  queueSeconds?: number;
  /** Seconds the sample runs when the submission names no duration. @default 120 */
  runSeconds?: number;
  /** Seconds between the end of the run and the report. @default 30 */
  processingSeconds?: number;
}

/** Options every emulator takes. */
export interface EmulatorOptions extends EmulatorTiming {
  /** The clock the pipeline runs on (a virtual one in tests): task lifecycles follow it. */
  clock: Clock;
}

/**
 * A vendor sandbox on loopback, speaking the vendor's real wire format: paths, auth headers or form
 * fields, multipart field names, JSON or XML bodies, error modes. Every emulator scores samples by
 * inert test markers in their content: `SANDTRAP-TEST-MALICIOUS` (malicious), `SANDTRAP-TEST-SUSPICIOUS`
 * (suspicious), else benign, expressed on the vendor's native scale.
 */
export interface VendorEmulator {
  readonly vendor: VendorId;
  readonly server: EmulatorServer;
  /** Starts listening on 127.0.0.1 on a free port; returns the API base URL. */
  start(): Promise<string>;
  stop(): Promise<void>;
  /** Switches a fault on for the next `count` requests (every request by default); `none` heals. */
  setFault(fault: EmulatorFault, count?: number): void;
  /** Samples accepted so far. */
  readonly submissions: number;
  /** The vendor entry of the pipeline configuration that points at this emulator. */
  vendorConfig(): Omit<
    VendorConfig,
    | 'options'
    | 'analysisTimeoutSeconds'
    | 'requestTimeoutMs'
    | 'verifyTls'
    | 'whenDailyQuotaSpent'
    | 'maxQueueSeconds'
    | 'timeZone'
  > &
    Partial<VendorConfig>;
  /** Environment variables holding the credentials `vendorConfig()` names. */
  credentialsEnv(): Record<string, string>;
}

/** Test markers the samples carry; real sandboxes score behaviour, the emulators score these. */
export type MarkerVerdict = 'malicious' | 'suspicious' | 'benign';

/** Which verdict a sample's content asks the emulators for. */
export function markerVerdict(content: Buffer): MarkerVerdict {
  const text = content.toString('latin1');
  if (text.includes('SANDTRAP-TEST-MALICIOUS')) return 'malicious';
  if (text.includes('SANDTRAP-TEST-SUSPICIOUS')) return 'suspicious';
  return 'benign';
}

/** Decrements a fault budget: the fault applies while budget remains, then the emulator heals. */
export class FaultSwitch {
  private fault: EmulatorFault = 'none';
  private budget = Number.POSITIVE_INFINITY;

  set(fault: EmulatorFault, count = Number.POSITIVE_INFINITY): void {
    this.fault = fault;
    this.budget = count;
  }

  /** The fault for this request, consuming one unit of budget. */
  take(): EmulatorFault {
    if (this.fault === 'none' || this.budget <= 0) return 'none';
    this.budget -= 1;
    return this.fault;
  }
}
