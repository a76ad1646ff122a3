import { GetCommand } from '@aws-sdk/lib-dynamodb';
import type { Clock } from '../lambdas/core/contracts/clock';
import type { VendorConfig } from '../lambdas/core/config/runtime-config';
import type { SandtrapConfigInput } from '../lib/config';
import { LocalPipeline, type LocalPipelineOptions } from '../local/runtime';
import type { VirtualClock } from '../local/virtual-clock';
import { CapeEmulator, type CapeEmulatorOptions } from '../emulators/cape';
import type { VendorEmulator } from '../emulators/emulator';

/** The token the CAPE emulator demands and the pipeline reads from the environment. */
export const CAPE_TOKEN = 'cape-test-token';

/** A local pipeline wired to a vendor emulator that shares its virtual clock. */
export interface VendorHarness<E extends VendorEmulator = VendorEmulator> {
  pipeline: LocalPipeline;
  emulator: E;
  clock: VirtualClock;
  stop(): Promise<void>;
}

/** A clock that reads the pipeline's virtual clock once it exists (emulators start before the pipeline). */
export class DeferredClock implements Clock {
  target?: Clock;
  now(): number {
    return this.target?.now() ?? Date.now();
  }
}

/**
 * Starts a vendor emulator on loopback and a local pipeline configured to use it (request timeout
 * 2 s, 180 s analyses), both on one virtual clock: Wait states cost no real time while the emulator
 * sees them pass.
 */
export async function startVendorHarness<E extends VendorEmulator>(
  makeEmulator: (clock: Clock) => E,
  settings: SandtrapConfigInput['settings'] = {},
  options: Partial<LocalPipelineOptions> = {},
  vendorSettings: Partial<VendorConfig> = {},
  config: Omit<SandtrapConfigInput, 'settings'> = {},
): Promise<VendorHarness<E>> {
  const clock = new DeferredClock();
  const emulator = makeEmulator(clock);
  await emulator.start();
  const vendor = {
    requestTimeoutMs: 2_000,
    analysisTimeoutSeconds: 180,
    ...emulator.vendorConfig(),
    ...vendorSettings,
  };
  const pipeline = await LocalPipeline.start({
    config: { ...config, settings: { ...settings, vendors: [vendor] } },
    virtualTime: true,
    cachePlan: false,
    env: emulator.credentialsEnv(),
    ...options,
  });
  clock.target = pipeline.clock;
  return {
    pipeline,
    emulator,
    clock: pipeline.clock as VirtualClock,
    async stop() {
      await pipeline.stop();
      await emulator.stop();
    },
  };
}

/** A CAPE harness: the emulator requires {@link CAPE_TOKEN}. */
export type CapeHarness = VendorHarness<CapeEmulator> & { cape: CapeEmulator };

/** Starts a CAPE emulator and a pipeline that uses it. */
export async function startCapeHarness(
  emulator: Omit<CapeEmulatorOptions, 'clock'> = {},
  settings: SandtrapConfigInput['settings'] = {},
  options: Partial<LocalPipelineOptions> = {},
): Promise<CapeHarness> {
  const harness = await startVendorHarness(
    (clock) => new CapeEmulator({ token: CAPE_TOKEN, ...emulator, clock }),
    settings,
    options,
  );
  return { ...harness, cape: harness.emulator };
}

/** Reads one item of the verdict table. */
export async function getItem(
  pipeline: LocalPipeline,
  pk: string,
  sk: string,
): Promise<Record<string, unknown> | undefined> {
  const deps = pipeline.deps('FinalizeFn');
  const { Item } = await deps.clients.ddb.send(new GetCommand({ TableName: deps.config.tableName, Key: { pk, sk } }));
  return Item;
}
