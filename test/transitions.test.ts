import { afterEach, describe, expect, it } from 'vitest';
import { STATES } from '../lib/workflow';
import type { ExecutionReport } from '../local/runtime';
import { startCapeHarness, type CapeHarness } from './support';

/** States entered inside the vendor engine's Map iteration. */
/** The transitions of the Map iteration that ran the vendor (the static engine's iteration runs beside it). */
function vendorBranch(run: ExecutionReport) {
  const index = run.transitions.find((t) => t.name === STATES.submit)?.index;
  expect(index).toBeDefined();
  return run.transitions.filter((t) => t.index === index);
}

describe('state transitions of a vendor engine', () => {
  let h: CapeHarness | undefined;
  afterEach(async () => h?.stop());

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
});
