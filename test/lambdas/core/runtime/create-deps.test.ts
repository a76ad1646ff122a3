import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { reservedForReports } from '../../../../lambdas/core/store/rate-limiter';
import { createDeps, vendorRequestGate } from '../../../../lambdas/core/runtime/create-deps';
import { createClients, destroyClients } from '../../../../lambdas/core/runtime/clients';
import { parseSettings, type RuntimeConfig } from '../../../../lambdas/core/config/runtime-config';
import type { SandboxConnector } from '../../../../lambdas/core/connector/connector';
import { recordingLog } from '../support';
import { RateLimitedError } from '../../../../lambdas/core/connector/errors';
import { withRequestPriority } from '../../../../lambdas/core/connector/request-gates';
import { CapeEmulator } from '../../../../emulators/cape';
import { startVendorHarness, type VendorHarness } from '../../../support';

describe('the shared rate limit keeps slots of each window for ready reports', () => {
  let h: VendorHarness<CapeEmulator>;
  beforeAll(async () => {
    h = await startVendorHarness((clock) => new CapeEmulator({ clock }), {}, {}, { requestsPerMinute: 5 });
  });
  afterAll(async () => h?.stop());

  it('keeps a fifth (at least one, none below 2 per window)', () => {
    expect([1, 2, 5, 9, 10, 30, 100].map(reservedForReports)).toEqual([0, 1, 1, 1, 2, 6, 20]);
  });

  it('refuses submissions and polls the kept slot, and lets a report download take it', async () => {
    const deps = h.pipeline.deps('VendorSubmitFn');
    const vendor = deps.config.vendors.find((v) => v.id === 'cape');
    const gate = vendor && vendorRequestGate(vendor, deps.limiter, deps.clock);
    expect(gate).toBeDefined();
    const pass = async () => (await gate!())?.();
    // Four of five for everything else (the virtual clock stands still: one window).
    for (let i = 0; i < 4; i++) await pass();
    const refused = await pass().catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(RateLimitedError);
    expect((refused as Error).message).toContain('1 kept for report downloads');
    // The fifth is a report's.
    await withRequestPriority('report', pass);
    // And then the window is full for reports too.
    await expect(withRequestPriority('report', pass)).rejects.toBeInstanceOf(RateLimitedError);
  });
});

describe('vendor connectors and their credentials', () => {
  it('builds a connector again when its credential changed (a rotated key), and reuses it otherwise', async () => {
    const env: NodeJS.ProcessEnv = { SANDTRAP_CAPE_API_KEY: 'first-key' };
    const made: (string | undefined)[] = [];
    const config: RuntimeConfig = {
      ...parseSettings({
        vendors: [{ id: 'cape', baseUrl: 'https://cape.example.org/apiv2/', secret: { env: 'SANDTRAP_CAPE_API_KEY' } }],
      }),
      tableName: 'table',
      reportsBucket: 'reports',
    };
    // No request is made: the clients only have to exist.
    const clients = createClients({ region: 'us-east-1', endpoint: 'http://127.0.0.1:9' });
    try {
      const deps = createDeps(config, {
        clients,
        log: recordingLog(),
        env,
        connectors: (context) => {
          made.push(context.credentials);
          return { id: 'cape' } as unknown as SandboxConnector;
        },
      });
      const first = await deps.connector('cape');
      expect(await deps.connector('cape')).toBe(first);
      expect(made).toEqual(['first-key']);
      env.SANDTRAP_CAPE_API_KEY = 'rotated-key';
      const rotated = await deps.connector('cape');
      expect(rotated).not.toBe(first);
      expect(made).toEqual(['first-key', 'rotated-key']);
      expect(await deps.connector('cape')).toBe(rotated);
    } finally {
      destroyClients(clients);
    }
  });
});
