import { GetCommand } from '@aws-sdk/lib-dynamodb';
import type { SandtrapConfigInput } from '../lib/config';
import { LocalPipeline, type LocalPipelineOptions } from '../local/runtime';
import type { VirtualClock } from '../local/virtual-clock';
import { CapeEmulator, type CapeEmulatorOptions } from './emulators/cape';

/** The token the CAPE emulator demands and the pipeline reads from the environment. */
export const CAPE_TOKEN = 'cape-test-token';

/** A local pipeline wired to a CAPE emulator that shares its virtual clock. */
export interface CapeHarness {
  pipeline: LocalPipeline;
  cape: CapeEmulator;
  clock: VirtualClock;
  stop(): Promise<void>;
}

/** Settings for a CAPE vendor at `baseUrl`, credentials from SANDTRAP_CAPE_API_KEY. */
export function capeConfig(baseUrl: string, extra: SandtrapConfigInput['settings'] = {}): SandtrapConfigInput {
  return {
    settings: {
      ...extra,
      vendors: [{ id: 'cape', baseUrl, secret: { env: 'SANDTRAP_CAPE_API_KEY' }, requestTimeoutMs: 2_000, analysisTimeoutSeconds: 180 }],
    },
  };
}

/**
 * Starts a CAPE emulator on loopback and a local pipeline configured to use it, both on one virtual
 * clock, so that Wait states cost no real time while the emulator sees them pass.
 */
export async function startCapeHarness(
  emulator: Omit<CapeEmulatorOptions, 'clock'> = {},
  settings: SandtrapConfigInput['settings'] = {},
  options: Partial<LocalPipelineOptions> = {},
): Promise<CapeHarness> {
  const clockBox: { clock?: VirtualClock } = {};
  const cape = new CapeEmulator({ token: CAPE_TOKEN, ...emulator, clock: { now: () => clockBox.clock?.now() ?? Date.now() } });
  const baseUrl = await cape.start();
  const pipeline = await LocalPipeline.start({
    config: capeConfig(baseUrl, settings),
    virtualTime: true,
    cachePlan: false,
    env: { SANDTRAP_CAPE_API_KEY: CAPE_TOKEN },
    ...options,
  });
  clockBox.clock = pipeline.clock as VirtualClock;
  return {
    pipeline,
    cape,
    clock: clockBox.clock,
    async stop() {
      await pipeline.stop();
      await cape.stop();
    },
  };
}

/** Reads one item of the verdict table. */
export async function getItem(pipeline: LocalPipeline, pk: string, sk: string): Promise<Record<string, unknown> | undefined> {
  const deps = pipeline.deps('FinalizeFn');
  const { Item } = await deps.clients.ddb.send(new GetCommand({ TableName: deps.config.tableName, Key: { pk, sk } }));
  return Item;
}
