import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, afterEach, beforeAll, expect } from 'vitest';
import { type VendorConfig, VendorConfigSchema } from '../../lambdas/core/config/runtime-config';
import type { VendorId } from '../../lambdas/core/contracts/pipeline';
import type { ItemStatus, NativeReport, SampleSource, SandboxConnector } from '../../lambdas/core/connector/connector';
import type { ConnectorContext } from '../../lambdas/core/connector/context';
import type { EmulatorFault } from '../../emulators/emulator';
import { closeHttpPools } from '../../lambdas/vendors/http';
import { ManualClock } from '../manual-clock';
import { EmulatorServer, type EmulatorResponse } from '../../emulators/server';

// Shared by the connector tests: a hand-moved clock, a sample source, report reading, fixtures.

/** The test clock of the vendor tests, starting on a fixed Monday morning unless told otherwise. */
export class TestClock extends ManualClock {
  constructor(ms = Date.UTC(2026, 0, 5, 9, 0, 0)) {
    super(ms);
  }
}

/** A small script sample streamed from memory. */
export function sample(content: string, fileName = 'invoice.js'): SampleSource {
  const bytes = Buffer.from(content);
  return {
    fileName,
    size: bytes.length,
    sha256: createHash('sha256').update(bytes).digest('hex'),
    fileType: 'script-js',
    mimeType: 'text/javascript',
    open: async () => Readable.from([bytes]),
  };
}

/** A native report's whole body as text. */
export async function readAll(report: NativeReport): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of report.body) chunks.push(Buffer.from(chunk as Buffer));
  return Buffer.concat(chunks).toString('utf8');
}

/** A native report's whole body parsed as JSON. */
export async function readJson(report: NativeReport): Promise<unknown> {
  return JSON.parse(await readAll(report));
}

/** A sandboxapi fixture (test/fixtures/sandboxapi, origin and licence in its README). */
export function fixture(name: string): unknown {
  return JSON.parse(readFileSync(path.join(import.meta.dirname, '..', 'fixtures', 'sandboxapi', name), 'utf8'));
}

/** A body a vendor really sends, copied from its server or client code or from a captured report (test/fixtures/vendors, origin in its README). */
export function vendorFixture(name: string): unknown {
  return JSON.parse(readFileSync(path.join(import.meta.dirname, '..', 'fixtures', 'vendors', name), 'utf8'));
}

/** A text body a vendor really sends (XML, say), from test/fixtures/vendors (origin in its README). */
export function vendorFixtureText(name: string): string {
  return readFileSync(path.join(import.meta.dirname, '..', 'fixtures', 'vendors', name), 'utf8');
}

/**
 * A vendor configuration as connector tests want it: requests give up after half a second, analyses
 * run 120 s; `extra` overrides any field (its `options` replace the defaults).
 */
export function testVendorConfig(
  id: VendorId,
  baseUrl: string,
  extra: Record<string, unknown> = {},
  defaultOptions: Record<string, string | number | boolean> = {},
): VendorConfig {
  return VendorConfigSchema.parse({
    id,
    baseUrl,
    requestTimeoutMs: 500,
    analysisTimeoutSeconds: 120,
    options: defaultOptions,
    ...extra,
  });
}

/**
 * Runs the tests of one `describe` block against `emulator`: it starts before them (then `ready`
 * builds the connectors on its base URL), heals its faults after each test, and stops after them.
 */
export function useEmulator(
  emulator: { start(): Promise<string>; stop(): Promise<void>; setFault(fault: EmulatorFault): void },
  ready: (baseUrl: string) => void,
): void {
  beforeAll(async () => ready(await emulator.start()));
  // The connectors' keep-alive pools to it go too (new requests would open new ones).
  afterAll(async () => {
    await emulator.stop();
    await closeHttpPools();
  });
  afterEach(() => emulator.setFault('none'));
}

/**
 * A server for the tests of one `describe` block that answers each path with its sandboxapi fixture
 * (`[status, name]` where the vendor answers other than 200) and anything else with `notFound`; it
 * starts before the tests (then `ready` builds the connector on its origin) and stops after them.
 */
export function useFixtureServer(
  routes: Record<string, string | readonly [number, string]>,
  notFound: EmulatorResponse,
  ready: (origin: string) => void,
): EmulatorServer {
  const server = new EmulatorServer((req) => {
    const route = routes[req.url.pathname];
    if (route === undefined) return notFound;
    const [status, name] = typeof route === 'string' ? [200, route] : route;
    return { status, body: fixture(name) as object };
  });
  beforeAll(async () => ready(await server.start()));
  afterAll(async () => {
    await server.stop();
    await closeHttpPools();
  });
  return server;
}

/**
 * A connector on its own test clock, with `credentials` or none: for fixture servers, and for scoring
 * (pointing nowhere, since `score()` must read the report it is given, never the network).
 */
export function standaloneConnector<C>(
  connector: new (context: ConnectorContext) => C,
  config: VendorConfig,
  credentials?: string,
): C {
  return new connector({ config, credentials, clock: new TestClock() });
}

/** Polls `itemId` once per step, after moving the clock on by the step's seconds, expecting exactly its status. */
export async function expectPolls(
  connector: SandboxConnector,
  clock: TestClock,
  itemId: string,
  steps: readonly (readonly [seconds: number, status: ItemStatus])[],
): Promise<void> {
  for (const [seconds, status] of steps) {
    clock.advance(seconds);
    await expect(connector.status(itemId), `after ${seconds} s more`).resolves.toEqual(status);
  }
}
