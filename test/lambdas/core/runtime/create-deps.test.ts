import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requestLanes } from '../../../../lambdas/core/store/request-lanes';
import { createDeps, vendorRequestGate } from '../../../../lambdas/core/runtime/create-deps';
import { createClients, destroyClients } from '../../../../lambdas/core/runtime/clients';
import { parseSettings, type RuntimeConfig } from '../../../../lambdas/core/config/runtime-config';
import type { SandboxConnector } from '../../../../lambdas/core/connector/connector';
import { recordingLog } from '../support';
import { RateLimitedError } from '../../../../lambdas/core/connector/errors';
import { withAdmission } from '../../../../lambdas/core/connector/request-gates';
import { CapeEmulator } from '../../../../emulators/cape';
import { startVendorHarness, type VendorHarness } from '../../../support';

describe('the request gate of a vendor with a shared rate', () => {
  let h: VendorHarness<CapeEmulator>;
  beforeAll(async () => {
    h = await startVendorHarness((clock) => new CapeEmulator({ clock }), {}, {}, { requestsPerMinute: 5 });
  });
  afterAll(async () => h?.stop());

  it('splits the rate in a submission lane (a quarter, at least one) and a follow-up lane', () => {
    expect(requestLanes(1)).toEqual({
      submit: { name: 'request', limit: 1, windowSeconds: 60 },
      'follow-up': { name: 'request', limit: 1, windowSeconds: 60 },
    });
    expect([5, 8, 30].map((n) => [requestLanes(n).submit.limit, requestLanes(n)['follow-up'].limit])).toEqual([
      [1, 4],
      [2, 6],
      [7, 23],
    ]);
  });

  it("lets admitted requests through uncounted, and gives any other a unit of the window's follow-up lane or a refusal", async () => {
    const deps = h.pipeline.deps('VendorPollFn');
    const vendor = deps.config.vendors.find((v) => v.id === 'cape');
    const gate = vendor && vendorRequestGate(vendor, deps.slots, deps.clock);
    expect(gate).toBeDefined();
    const pass = async () => (await gate!())?.();
    // A second into a window: the clock starts at the wall clock's time, and a unit is never given in
    // a window's last seconds (it could be spent in the next), so the test must not start there.
    const windowStart = Math.ceil(h.clock.now() / 60_000) * 60_000;
    await h.clock.sleepUntil(windowStart + 1000);
    // Admitted requests (their slots reserved ahead) never touch the counters: ten pass.
    await withAdmission(10, async () => {
      for (let i = 0; i < 10; i++) await pass();
    });
    // Unadmitted ones take the follow-up lane's 4 of this window (the virtual clock stands still).
    for (let i = 0; i < 4; i++) await pass();
    const refused = await pass().catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(RateLimitedError);
    expect((refused as Error).message).toBe('cape: our shared limit of 5 requests per minute is reached');
    const windowMs = 60_000;
    expect((refused as RateLimitedError).retryAfterSeconds).toBe(
      Math.max(1, Math.ceil((windowMs - (deps.clock.now() % windowMs)) / 1000)),
    );
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
