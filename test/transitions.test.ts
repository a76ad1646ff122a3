import { afterEach, describe, expect, it } from 'vitest';
import { STATES } from '../lib/workflow';
import type { ExecutionReport } from '../local/runtime';
import { startCapeHarness, startVendorHarness, type CapeHarness, type VendorHarness } from './support';
import { CapeEmulator } from '../emulators/cape';
import { DETAIL_TYPE_VERDICT, SampleVerdictDetailSchema } from '../lambdas/core/contracts/pipeline';

/** The transitions of the Map iteration that ran the vendor (the static engine's iteration runs beside it). */
function vendorBranch(run: ExecutionReport) {
  const index = run.transitions.find((t) => t.name === STATES.submit)?.index;
  expect(index).toBeDefined();
  return run.transitions.filter((t) => t.index === index);
}

describe('state transitions of a vendor engine', () => {
  let h: CapeHarness | undefined;
  let throttled: VendorHarness<CapeEmulator> | undefined;
  afterEach(async () => {
    await h?.stop();
    await throttled?.stop();
    h = undefined;
    throttled = undefined;
  });

  // CAPE queues 20 s, runs the 180 s we ask for, and processes 100 s: the report exists 300 s after submission.
  const fiveMinutes = { queueSeconds: 20, processingSeconds: 100 };

  it('takes at most 12 transitions for a vendor that needs 5 simulated minutes', async () => {
    h = await startCapeHarness(fiveMinutes);
    const start = h.clock.now();
    const run = await h.pipeline.run(
      await h.pipeline.upload({ key: 'five-minutes.bin', body: 'five minutes of analysis' }),
    );
    expect(run.status).toBe('SUCCEEDED');
    const branch = vendorBranch(run);
    expect(branch.length).toBeLessThanOrEqual(12);
    expect(branch.slice(0, 2).map((t) => t.name)).toEqual([STATES.engineKind, STATES.submit]);
    expect(branch.at(-1)?.name).toBe(STATES.collect);
    // The simulated time really passed: the report was not ready before 300 s.
    expect(h.clock.now() - start).toBeGreaterThanOrEqual(300_000);
  });

  it('needs about 90 with a fixed 10-second polling loop, for comparison', async () => {
    h = await startCapeHarness(fiveMinutes, {
      poll: { scheduleSeconds: [10], useVendorHints: false, minWaitSeconds: 1 },
    });
    const run = await h.pipeline.run(await h.pipeline.upload({ key: 'naive.bin', body: 'naive polling' }));
    expect(run.status).toBe('SUCCEEDED');
    const branch = vendorBranch(run);
    expect(branch.length).toBeGreaterThanOrEqual(85);
    expect(branch.filter((t) => t.name === STATES.poll).length).toBeGreaterThanOrEqual(29);
  });

  it('keeps the history bounded when the vendor answers Retry-After: 1 to everything: the engine ends by its deadline', async () => {
    throttled = await startVendorHarness((clock) => new CapeEmulator({ clock, retryAfterSeconds: 1 }), {
      engineDeadlineSeconds: 600,
      static: { enabled: false },
    });
    throttled.emulator.setFault('rate-limited');
    const start = throttled.clock.now();
    const run = await throttled.pipeline.run(
      await throttled.pipeline.upload({ key: 'throttled.bin', body: 'always throttled' }),
    );
    expect(run.status).toBe('SUCCEEDED');
    const detail = SampleVerdictDetailSchema.parse(throttled.pipeline.events(DETAIL_TYPE_VERDICT).at(-1)?.detail);
    expect(detail.engines).toEqual([
      expect.objectContaining({ engine: 'cape', status: 'timeout', verdict: 'unknown' }),
    ]);
    // Waits of at least the policy's minimum (5 s) over the 600 s deadline: about 120 polls, three
    // states each, where waits of Retry-After's 1 s would take 600 or more.
    const polls = run.transitions.filter((t) => t.name === STATES.poll).length;
    expect(polls).toBeLessThanOrEqual(600 / 5 + 1);
    expect(run.transitions.length).toBeLessThanOrEqual(3 * (600 / 5) + 20);
    expect(throttled.clock.now() - start).toBeGreaterThanOrEqual(600_000);
  });
});
