import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DETAIL_TYPE_FAILED, DETAIL_TYPE_VERDICT, SampleVerdictDetailSchema } from '../lambdas/core/contracts/pipeline';
import { CapeEmulator } from '../emulators/cape';
import { startVendorHarness, type VendorHarness } from './support';

describe('a burst of 200 uploads against a vendor allowing 30 requests per minute', () => {
  const uploads = 200;
  let h: VendorHarness<CapeEmulator>;
  beforeAll(async () => {
    h = await startVendorHarness(
      (clock) =>
        new CapeEmulator({
          clock,
          token: 't',
          requestsPerMinute: 30,
          queueSeconds: 5,
          processingSeconds: 10,
          runSeconds: 30,
        }),
      // The deployed defaults: engines get an hour; the virtual clock gives the burst the time it would
      // take. The vendor's rate limit is under test, so the static engine is off.
      { static: { enabled: false } },
      {},
      // 200 executions in one process load the event loop: a realistic request timeout, not the tests' 2 s.
      { requestsPerMinute: 30, requestTimeoutMs: 30_000 },
    );
  });
  afterAll(async () => h?.stop());

  it('never sends more than the limit in any minute, and every upload ends with a verdict', async () => {
    const events = await Promise.all(
      Array.from({ length: uploads }, (_, i) =>
        h.pipeline.upload({
          key: `burst/${i}.js`,
          body: `// upload ${i}${i % 10 === 0 ? ' SANDTRAP-TEST-MALICIOUS' : ''}\n`,
        }),
      ),
    );
    const start = h.clock.now();
    const runs = await Promise.all(events.map((event) => h.pipeline.run(event)));
    expect(runs.filter((r) => r.status !== 'SUCCEEDED')).toEqual([]);
    // Virtual time is the schedule the burst would have deployed: at 30 requests a minute its requests
    // need that many minutes, and waits of concurrent executions overlap instead of adding up (the
    // clock that moved by every wait ran for days here), so every engine ends within its hour.
    const elapsed = h.clock.now() - start;
    expect(elapsed).toBeGreaterThanOrEqual((Math.ceil(h.emulator.server.requests.length / 30) - 1) * 60_000);
    expect(elapsed).toBeLessThan(3_600_000);

    const emulator = h.emulator;
    expect(emulator.submissions).toBe(uploads);
    expect(emulator.maxRequestsPerMinute).toBeLessThanOrEqual(30);
    expect(emulator.throttled).toBe(0);

    // The limiter did make work wait: far more windows were used than 200 uploads would need unthrottled.
    expect(emulator.requestsPerWindow.size).toBeGreaterThanOrEqual(Math.ceil(emulator.server.requests.length / 30));

    const verdicts = h.pipeline.events(DETAIL_TYPE_VERDICT).map((e) => SampleVerdictDetailSchema.parse(e.detail));
    expect(verdicts).toHaveLength(uploads);
    expect(h.pipeline.events(DETAIL_TYPE_FAILED)).toHaveLength(0);
    expect(new Set(verdicts.map((v) => v.key)).size).toBe(uploads);
    // Ready reports may use the slots each window keeps back from submissions and polls, so no
    // finished analysis starves behind the burst: every engine completes.
    const completed = verdicts.filter((v) => v.engines[0]?.status === 'completed');
    expect(
      verdicts.filter((v) => v.engines[0]?.status !== 'completed').map((v) => `${v.key}: ${v.engines[0]?.status}`),
    ).toEqual([]);
    // Submit, at least one status and the report went through for every completed upload.
    expect(emulator.server.requests.length).toBeGreaterThanOrEqual(uploads + 2 * completed.length);
    expect(completed.filter((v) => v.verdict === 'malicious')).toHaveLength(uploads / 10);
  }, 480_000);
});
