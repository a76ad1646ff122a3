import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  DETAIL_TYPE_VERDICT,
  SampleVerdictDetailSchema,
  VENDOR_IDS,
  type EngineStatus,
} from '../lambdas/core/contracts/pipeline';
import { STATES } from '../lib/workflow';
import { type EmulatorFault, vendorHasFault } from '../emulators/emulator';
import { EMULATORS } from '../emulators';
import { startVendorHarness, type VendorHarness } from './support';

/** What each fault must end the engine with, for every vendor: the documented engine statuses. */
const PERMANENT_FAULTS: [EmulatorFault, EngineStatus][] = [
  ['bad-key', 'auth_failed'],
  ['quota', 'quota_exceeded'],
  ['unsupported', 'unsupported'],
  ['oversize', 'too_large'],
  ['failed-analysis', 'failed'],
  ['server-error', 'error'],
];

/** Faults that pass: the state machine retries (or waits) and the engine still completes. */
const PASSING_FAULTS: EmulatorFault[] = ['rate-limited', 'malformed', 'truncated', 'slow'];

const vendors = VENDOR_IDS.filter((id) => EMULATORS[id]);

describe.each(vendors)('%s through the local state machine', (vendor) => {
  let h: VendorHarness;
  let n = 0;
  beforeAll(async () => {
    // The vendor engine alone: the static engine (tested on its own) would judge every sample too.
    h = await startVendorHarness(EMULATORS[vendor]!, { static: { enabled: false } });
  });
  afterAll(async () => h?.stop());

  async function analyse(body: string, fault: EmulatorFault = 'none', count?: number) {
    h.emulator.setFault(fault, count);
    const key = `${vendor}/${fault}-${n++}.js`;
    const run = await h.pipeline.run(await h.pipeline.upload({ key, body: `${body}\n// ${key} ${Date.now()}\n` }));
    h.emulator.setFault('none');
    const event = h.pipeline.events(DETAIL_TYPE_VERDICT).find((e) => e.detail.key === key);
    return {
      run,
      detail: SampleVerdictDetailSchema.parse(event?.detail),
      polls: run.transitions.filter((t) => t.name === STATES.poll).length,
    };
  }

  it('drives submit → status (several polls) → report → score to a malicious verdict', async () => {
    const { run, detail, polls } = await analyse('// SANDTRAP-TEST-MALICIOUS inert marker');
    expect(run.status).toBe('SUCCEEDED');
    expect(polls).toBeGreaterThanOrEqual(2);
    expect(detail.engines).toEqual([
      expect.objectContaining({ engine: vendor, status: 'completed', verdict: 'malicious' }),
    ]);
    expect(detail.score).toBeGreaterThanOrEqual(70);
  });

  it('scores a suspicious and a benign sample into their bands', async () => {
    const suspicious = await analyse('// SANDTRAP-TEST-SUSPICIOUS inert marker');
    expect(suspicious.detail.verdict).toBe('suspicious');
    const benign = await analyse('console.log("hello");');
    expect(benign.detail.verdict).toBe('benign');
    expect(benign.detail.score).toBeLessThan(40);
  });

  // A fault the real vendor cannot produce (CAPE's quota) is not one of its emulator's.
  it.each(PERMANENT_FAULTS.filter(([fault]) => vendorHasFault(vendor, fault)))(
    'ends the engine on %s with status %s, and the analysis still publishes a verdict',
    async (fault, status) => {
      const { run, detail } = await analyse('// SANDTRAP-TEST-MALICIOUS inert marker', fault);
      expect(run.status).toBe('SUCCEEDED');
      expect(detail.engines).toEqual([
        expect.objectContaining({ engine: vendor, status, verdict: 'unknown', score: null }),
      ]);
      expect(detail.verdict).toBe('unknown');
    },
  );

  it('retries a server error on the same state, up to its retry budget', async () => {
    const before = h.emulator.server.requests.length;
    const { run } = await analyse('// SANDTRAP-TEST-MALICIOUS inert marker', 'server-error');
    // One attempt plus three retries (MaxAttempts 3), each reaching the vendor.
    expect(h.emulator.server.requests.length - before).toBeGreaterThanOrEqual(4);
    const submits = run.transitions.filter((t) => t.name === STATES.submit).length;
    expect(submits).toBe(1);
    expect(run.transitions.map((t) => t.name)).toContain(STATES.engineFailed);
  });

  it.each(PASSING_FAULTS.filter((fault) => vendorHasFault(vendor, fault)))(
    'recovers from one %s answer and completes the engine',
    async (fault) => {
      const { run, detail } = await analyse('// SANDTRAP-TEST-MALICIOUS inert marker', fault, 1);
      expect(run.status).toBe('SUCCEEDED');
      expect(detail.engines).toEqual([
        expect.objectContaining({ engine: vendor, status: 'completed', verdict: 'malicious' }),
      ]);
    },
  );

  // WildFire has no rate-limit answer (its only volume refusal is the 419 quota).
  it.skipIf(!vendorHasFault(vendor, 'rate-limited'))(
    'waits out a rate limit instead of failing: the next attempt comes after Retry-After',
    async () => {
      const before = h.clock.now();
      const { detail } = await analyse('// SANDTRAP-TEST-MALICIOUS inert marker', 'rate-limited', 1);
      expect(detail.engines[0]?.status).toBe('completed');
      expect(h.clock.now() - before).toBeGreaterThanOrEqual(1000);
    },
  );

  it('ends the engine with status timeout when the vendor misses the deadline', async () => {
    const slowHarness = await startVendorHarness(EMULATORS[vendor]!, {
      engineDeadlineSeconds: 60,
      static: { enabled: false },
    });
    try {
      const run = await slowHarness.pipeline.run(
        await slowHarness.pipeline.upload({ key: 'deadline.js', body: '// SANDTRAP-TEST-MALICIOUS late' }),
      );
      expect(run.status).toBe('SUCCEEDED');
      const detail = SampleVerdictDetailSchema.parse(slowHarness.pipeline.events(DETAIL_TYPE_VERDICT)[0]?.detail);
      expect(detail.engines).toEqual([
        expect.objectContaining({ engine: vendor, status: 'timeout', verdict: 'unknown' }),
      ]);
    } finally {
      await slowHarness.stop();
    }
  });
});
