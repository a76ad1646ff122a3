import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Clock } from '../../../lambdas/core/contracts/clock';
import type { VendorConfig } from '../../../lambdas/core/config/runtime-config';
import { CapeEmulator, markerMalscore } from '../../../emulators/cape';
import { EMULATOR_FAULTS, type EmulatorFault, type VendorEmulator } from '../../../emulators/emulator';
import { EMULATORS } from '../../../emulators/index';
import { SFN_WAIT_SCALE } from './ministack';

/**
 * A clock that runs `factor` times faster than the wall clock from the moment it is made. MiniStack
 * shortens every Wait state by {@link SFN_WAIT_SCALE}; an emulator on this clock (factor 1 / scale)
 * sees a poll wait of 10 s pass in the half second it really takes, so a vendor's 2-minute analysis
 * is ready after the polls the workflow would make on AWS.
 */
export class AcceleratedClock implements Clock {
  private readonly origin = Date.now();

  constructor(readonly factor = 1 / SFN_WAIT_SCALE) {}

  now(): number {
    return this.origin + (Date.now() - this.origin) * this.factor;
  }
}

/** The vendor emulators of an e2e run and the stack configuration that points at them. */
export interface E2eVendors {
  cape: CapeEmulator;
  vmray: VendorEmulator;
  /** `settings.vendors` of the stack. */
  vendorConfigs: VendorConfig[];
  /** API keys to put into the secrets the stack creates, by vendor id. */
  secretValues: Record<string, string>;
  stop(): Promise<void>;
}

/** Analysis time the workflow asks the emulators for: short, so that a verdict takes seconds of wall time. */
const ANALYSIS_SECONDS = 30;

/**
 * Starts two vendor emulators on loopback, on one accelerated clock: CAPE without authentication
 * (`secret: { anonymous: true }`, CAPE's shipped default) and VMRay, which demands an API key. A
 * deployed function cannot read the `{ env }` secrets the local runtime uses, so VMRay's entry has no
 * `secret`: the stack creates a Secrets Manager secret for it, and the harness puts the key there.
 */
export async function startVendors(clock: Clock): Promise<E2eVendors> {
  const cape = new CapeEmulator({ clock, queueSeconds: 20, processingSeconds: 60 });
  const vmray = EMULATORS.vmray(clock);
  await Promise.all([cape.start(), vmray.start()]);
  const common = {
    analysisTimeoutSeconds: ANALYSIS_SECONDS,
    requestTimeoutMs: 10_000,
    verifyTls: true,
    options: {},
    whenDailyQuotaSpent: 'wait' as const,
    maxQueueSeconds: 86_400,
    timeZone: 'UTC',
  };
  const { secret: _local, ...vmrayConfig } = vmray.vendorConfig();
  return {
    cape,
    vmray,
    vendorConfigs: [
      { ...common, ...cape.vendorConfig() },
      { ...common, ...vmrayConfig },
    ],
    secretValues: { vmray: vmray.credentialsEnv().SANDTRAP_VMRAY_API_KEY as string },
    async stop() {
      await Promise.all([cape.stop(), vmray.stop()]);
    },
  };
}

/** What the control server says about each emulator. */
export interface EmulatorCounts {
  submissions: number;
  requests: number;
}

/** A loopback HTTP server that lets the test files (other processes) read and steer the emulators. */
export interface ControlServer {
  url: string;
  stop(): Promise<void>;
}

/**
 * Starts the control server. The emulators live in vitest's main process (the stack was deployed
 * pointing at them); tests run in workers, so they ask over HTTP:
 * - `GET /emulators` → `{ cape: { submissions, requests }, vmray: {...} }`
 * - `PUT /cape/malscore` with `{ "malscore": 9.2 }` makes CAPE score every new task so (the vendor
 *   "changes its mind"); `{ "malscore": null }` goes back to scoring by test markers.
 * - `PUT /<cape|vmray>/fault` with `{ "fault": "server-error", "count": 2 }` switches an emulator fault
 *   on for its next `count` requests (every request without a count); `"none"` heals.
 */
export async function startControlServer(vendors: E2eVendors): Promise<ControlServer> {
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const answer = (status: number, body: unknown) => {
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end(JSON.stringify(body));
      };
      if (req.method === 'GET' && req.url === '/emulators') {
        const counts = (e: VendorEmulator): EmulatorCounts => ({
          submissions: e.submissions,
          requests: e.server.requests.length,
        });
        answer(200, { cape: counts(vendors.cape), vmray: counts(vendors.vmray) });
        return;
      }
      if (req.method === 'PUT' && req.url === '/cape/malscore') {
        let malscore: unknown;
        try {
          ({ malscore } = JSON.parse(Buffer.concat(chunks).toString() || '{}') as { malscore?: unknown });
        } catch {
          // A bad request must not take down vitest's main process, where this server runs.
          answer(400, { error: 'the body is not JSON' });
          return;
        }
        vendors.cape.malscoreFor = typeof malscore === 'number' ? () => malscore : markerMalscore;
        answer(200, { malscore: typeof malscore === 'number' ? malscore : null });
        return;
      }
      const fault = /^\/(cape|vmray)\/fault$/.exec(req.url ?? '');
      if (req.method === 'PUT' && fault) {
        let body: { fault?: unknown; count?: unknown };
        try {
          body = JSON.parse(Buffer.concat(chunks).toString() || '{}') as typeof body;
        } catch {
          answer(400, { error: 'the body is not JSON' });
          return;
        }
        const known = (value: unknown): value is EmulatorFault =>
          value === 'none' || (EMULATOR_FAULTS as readonly unknown[]).includes(value);
        if (
          !known(body.fault) ||
          (body.count !== undefined && !(Number.isInteger(body.count) && (body.count as number) > 0))
        ) {
          answer(400, {
            error: `fault must be none or one of ${EMULATOR_FAULTS.join(', ')}, count a positive integer`,
          });
          return;
        }
        vendors[fault[1] as 'cape' | 'vmray'].setFault(body.fault, body.count as number | undefined);
        answer(200, { fault: body.fault, count: body.count ?? null });
        return;
      }
      answer(404, { error: `no route ${req.method} ${req.url}` });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
