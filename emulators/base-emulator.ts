import { createHash } from 'node:crypto';
import type { VendorConfig } from '../lambdas/core/config/runtime-config';
import type { VendorId } from '../lambdas/core/contracts/pipeline';
import { naiveWallClock } from '../lambdas/core/contracts/time-zones';
import { type EmulatorFault, type EmulatorOptions, FaultSwitch, type VendorEmulator, vendorHasFault } from './emulator';
import { EmulatorServer, type EmulatorRequest, type EmulatorResponse } from './server';

/** The faults answered before a request reaches the vendor's routes, each in the vendor's own format. */
export type GatewayFault = 'bad-key' | 'rate-limited' | 'quota' | 'server-error' | 'malformed';

const GATEWAY_FAULTS: ReadonlySet<EmulatorFault> = new Set<GatewayFault>([
  'rate-limited',
  'quota',
  'server-error',
  'malformed',
]);

/** Where an emulator's API lives and how the pipeline is configured to reach it. */
export interface EmulatorEndpoint {
  /** The API's path below the server's origin, e.g. `/apiv2/`. */
  apiPath: string;
  /** The secret the emulator requires, as the connector is given it; none: anonymous access. */
  credentials: string | undefined;
  /** Vendor options the pipeline needs to talk to this emulator (Joe's terms acceptance, say). */
  options?: VendorConfig['options'];
}

/**
 * What every vendor emulator does the same way: a loopback server, the fault switch, the pipeline
 * configuration and credentials that point at it, and a request template (fault → key check → the
 * vendor's fault answers → its routes → slow or truncated delivery). An emulator supplies its wire
 * hooks: `keyRefused`, `faultAnswer` and `route`, or its own `handle` where the vendor's order differs.
 */
export abstract class BaseEmulator<O extends EmulatorOptions = EmulatorOptions> implements VendorEmulator {
  abstract readonly vendor: VendorId;
  readonly server: EmulatorServer;
  protected readonly faults = new FaultSwitch();
  /** Chooses a fault per request when set (random fault injection); the fault switch applies otherwise. */
  faultFor?: (path: string) => EmulatorFault;
  /** `http://127.0.0.1:<port>` once started. */
  origin = '';
  private acceptedSamples = 0;

  constructor(
    protected readonly options: O,
    private readonly endpoint: EmulatorEndpoint,
  ) {
    this.server = new EmulatorServer((req) => this.handle(req));
  }

  /** The API base URL the connector is configured with. */
  get baseUrl(): string {
    return `${this.origin}${this.endpoint.apiPath}`;
  }

  async start(): Promise<string> {
    this.origin = await this.server.start();
    return this.baseUrl;
  }

  stop(): Promise<void> {
    return this.server.stop();
  }

  setFault(fault: EmulatorFault, count?: number): void {
    if (!vendorHasFault(this.vendor, fault))
      throw new Error(`${this.vendor} has no ${fault} fault: the real service never answers so`);
    this.faults.set(fault, count);
  }

  /**
   * Samples accepted so far. Emulators whose API can delete an item (CAPE, Triage, Joe) count the
   * items still there instead, as their tests of deletion expect.
   */
  get submissions(): number {
    return this.acceptedSamples;
  }

  /** Counts a sample the vendor accepted, for {@link submissions}. */
  protected accepted(): void {
    this.acceptedSamples++;
  }

  vendorConfig() {
    return {
      id: this.vendor,
      baseUrl: this.baseUrl,
      secret: this.endpoint.credentials === undefined ? { anonymous: true as const } : { env: this.secretEnv() },
      ...(this.endpoint.options ? { options: this.endpoint.options } : {}),
    };
  }

  credentialsEnv(): Record<string, string> {
    return this.endpoint.credentials === undefined ? {} : { [this.secretEnv()]: this.endpoint.credentials };
  }

  /** Requests to a path containing `fragment` (and of `method`, when given). */
  count(fragment: string, method?: string): number {
    return this.server.requests.filter((r) => r.path.includes(fragment) && (!method || r.method === method)).length;
  }

  /** The fault this request meets. */
  protected takeFault(req: EmulatorRequest): EmulatorFault {
    return this.faultFor?.(req.url.pathname) ?? this.faults.take();
  }

  protected async handle(req: EmulatorRequest): Promise<EmulatorResponse> {
    const fault = this.takeFault(req);
    if (fault === 'bad-key' || this.keyRefused(req)) return this.faultAnswer('bad-key') as EmulatorResponse;
    const early = GATEWAY_FAULTS.has(fault) ? this.faultAnswer(fault as GatewayFault) : undefined;
    if (early) return early;
    return this.delivered(await this.route(req, fault), fault);
  }

  /** True when the request does not carry the credentials the emulator requires. */
  protected keyRefused(_req: EmulatorRequest): boolean {
    return false;
  }

  /** The vendor's answer to a fault met before routing; undefined: the route answers it (quota on submit, say). */
  protected faultAnswer(_fault: GatewayFault): EmulatorResponse | undefined {
    return undefined;
  }

  /** The vendor's answer to a request that passed the key check and the gateway faults; unknown paths are 404. */
  protected async route(_req: EmulatorRequest, _fault: EmulatorFault): Promise<EmulatorResponse> {
    return htmlPage(404, 'Not Found');
  }

  /** Reads an uploaded file part as the vendor stores it: its name, bytes and hashes, stamped with the clock's time. */
  protected async receive(file: File): Promise<ReceivedFile> {
    const content = Buffer.from(await file.arrayBuffer());
    const digest = (algorithm: string) => createHash(algorithm).update(content).digest('hex');
    return {
      fileName: file.name,
      content,
      size: content.length,
      sha256: digest('sha256'),
      md5: digest('md5'),
      sha1: digest('sha1'),
      submittedAt: this.options.clock.now(),
    };
  }

  /**
   * An analysis submitted at `submittedAt` on the clock: it waits `queueSeconds` for a machine, runs
   * `runSeconds`, then its report takes `processingSeconds` to write; `phase` is where it stands now.
   */
  protected timeline(submittedAt: number, runSeconds = this.options.runSeconds ?? 120): Timeline {
    const startedAt = submittedAt + (this.options.queueSeconds ?? 10) * 1000;
    const runEnd = startedAt + runSeconds * 1000;
    const reportedAt = runEnd + (this.options.processingSeconds ?? 30) * 1000;
    const now = this.options.clock.now();
    const phase = now < startedAt ? 'queued' : now < runEnd ? 'running' : now < reportedAt ? 'processing' : 'reported';
    return { phase, startedAt, runEnd, reportedAt };
  }

  /** Delivers a route's answer, slowly or cut short when the fault says so. */
  protected delivered(answer: EmulatorResponse, fault: EmulatorFault): EmulatorResponse {
    if (fault === 'slow') return { ...answer, delayMs: 5_000 };
    if (fault === 'truncated') return { ...answer, truncateAt: 10 };
    return answer;
  }

  private secretEnv(): string {
    return `SANDTRAP_${this.vendor.toUpperCase()}_API_KEY`;
  }
}

/** Where an emulated analysis stands now, and when it starts its run, ends it, and has its report written (epoch ms). */
export interface Timeline {
  phase: AnalysisPhase;
  startedAt: number;
  runEnd: number;
  reportedAt: number;
}

/** Where an emulated analysis stands: waiting for a machine, running, writing its report, or reported. */
export type AnalysisPhase = 'queued' | 'running' | 'processing' | 'reported';

/** A sample as an emulator receives it: the uploaded file, its bytes and hashes, and when it came. */
export interface ReceivedFile {
  fileName: string;
  content: Buffer;
  size: number;
  sha256: string;
  md5: string;
  sha1: string;
  submittedAt: number;
}

/**
 * Cuckoo, CAPE and Hybrid Analysis write times as naive `YYYY-MM-DD HH:MM:SS`: UTC for Hybrid
 * Analysis, the host's wall clock for Cuckoo 2 and older CAPE, CAPE's configured `timezone` since.
 */
export function naiveTime(ms: number, timeZone = 'UTC'): string {
  return naiveWallClock(ms, timeZone);
}

/** A 200 that says it is JSON but is cut off: the `malformed` fault of JSON APIs. */
export function brokenJson(text: string): EmulatorResponse {
  return { status: 200, headers: { 'content-type': 'application/json' }, body: text };
}

/** An HTML error page, as a web server or proxy in front of the vendor answers. */
export function htmlPage(status: number, title: string, headers: Record<string, string> = {}): EmulatorResponse {
  return {
    status,
    headers: { 'content-type': 'text/html', ...headers },
    body: `<html><body><h1>${title}</h1></body></html>`,
  };
}
