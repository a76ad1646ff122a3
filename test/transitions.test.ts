import { afterEach, describe, expect, it } from 'vitest';
import { STATES } from '../lib/workflow';
import type { ExecutionReport } from '../local/runtime';
import { startCapeHarness, startVendorHarness, type CapeHarness, type VendorHarness } from './support';
import { CapeEmulator } from '../emulators/cape';
import { DETAIL_TYPE_VERDICT, SampleVerdictDetailSchema } from '../lambdas/core/contracts/pipeline';

/** The transitions of the Standard workflow's Map iteration that ran the vendor (the front ran the static engine). */
function vendorBranch(run: ExecutionReport) {
  const standard = run.transitions.filter((t) => t.workflow === 'standard');
  const index = standard.find((t) => t.name === STATES.submit)?.index;
  expect(index).toBeDefined();
  return standard.filter((t) => t.index === index);
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

  it('takes at most 13 transitions for a vendor that needs 5 simulated minutes', async () => {
    h = await startCapeHarness(fiveMinutes);
    const start = h.clock.now();
    const run = await h.pipeline.run(
      await h.pipeline.upload({ key: 'five-minutes.bin', body: 'five minutes of analysis' }),
    );
    expect(run.status).toBe('SUCCEEDED');
    const branch = vendorBranch(run);
    // EngineKind, submit, the choice after it (a queued submission would wait for its slot there),
    // then wait → poll → choice per poll, and the collection.
    expect(branch.length).toBeLessThanOrEqual(13);
    expect(branch.slice(0, 2).map((t) => t.name)).toEqual([STATES.engineKind, STATES.submit]);
    expect(branch.at(-1)?.name).toBe(STATES.collect);
    // The simulated time really passed: the report was not ready before 300 s.
    expect(h.clock.now() - start).toBeGreaterThanOrEqual(300_000);
  });

  it('needs about 90 with a fixed 10-second polling loop, for comparison', async () => {
    h = await startCapeHarness(fiveMinutes, {
      poll: { scheduleSeconds: [10], useVendorHints: false, elapsedFraction: 0, minWaitSeconds: 1 },
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
    // The submission is refused every time: each refusal waits the poll policy's backoff for the
    // attempt (15, 30, 60, then 120 s), never Retry-After's 1 s, so the 600 s deadline takes a handful
    // of attempts where 1-second waits would take 600 or more.
    const attempts = run.transitions.filter((t) => t.name === STATES.submit || t.name === STATES.submitQueued);
    expect(attempts.length).toBeGreaterThanOrEqual(4);
    expect(attempts.length).toBeLessThanOrEqual(10);
    expect(run.transitions.length).toBeLessThanOrEqual(3 * 10 + 20);
    expect(detail.engines[0]?.status).toBe('timeout');
    expect(throttled.clock.now() - start).toBeGreaterThanOrEqual(600_000);
  });
});
