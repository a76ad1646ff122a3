import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { reservedForReports } from '../../../../lambdas/core/store/rate-limiter';
import { vendorRequestGate } from '../../../../lambdas/core/runtime/create-deps';
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
