import { describe, expect, it } from 'vitest';
import type { VendorJob } from '../../../../lambdas/core/contracts/pipeline';
import {
  engineLatencyMetrics,
  vendorJobMetrics,
  verdictMetrics,
} from '../../../../lambdas/core/runtime/operational-metrics';

const job = (overrides: Partial<VendorJob>): VendorJob => ({
  engine: 'cape',
  itemId: '',
  submittedAt: 0,
  deadline: 0,
  attempt: 0,
  waitSeconds: 0,
  admitted: 0,
  phase: 'pending',
  state: 'submitted',
  ...overrides,
});

describe('the metrics the operations dashboard and alarms read', () => {
  it("counts a queued submission's wait as its vendor's queue, in seconds", () => {
    expect(vendorJobMetrics(job({ phase: 'queued', waitSeconds: 840 }))).toEqual({
      'VendorQueueSeconds-cape': { seconds: 840 },
    });
    expect(vendorJobMetrics(job({ phase: 'pending', waitSeconds: 60 }))).toEqual({});
  });

  it('counts a vendor refusing our key, for the alarm', () => {
    const refused = job({
      phase: 'ended',
      result: { engine: 'cape', status: 'auth_failed', verdict: 'unknown', score: null },
    });
    expect(vendorJobMetrics(refused)).toEqual({ VendorAuthFailed: 1 });
  });

  it("measures an engine's latency from its start to its collection, and nothing without a start", () => {
    expect(engineLatencyMetrics('joe', 1_000, 91_400)).toEqual({ 'EngineSeconds-joe': { seconds: 90 } });
    expect(engineLatencyMetrics('detonation', undefined, 5)).toEqual({});
    expect(engineLatencyMetrics('joe', 10_000, 5_000)).toEqual({});
  });

  it('counts verdicts by result', () => {
    const detail = { verdict: 'suspicious' } as Parameters<typeof verdictMetrics>[0]['detail'];
    expect(verdictMetrics({ detail })).toEqual({ 'Verdict-suspicious': 1 });
    // An object whose owner's tags left no room for ours is counted besides its verdict.
    const untagged = { ...detail, tagging: { status: 'untagged', reason: 'tag-limit' } } as typeof detail;
    expect(verdictMetrics({ detail: untagged })).toEqual({ 'Verdict-suspicious': 1, ObjectsNotTagged: 1 });
    const tagged = { ...detail, tagging: { status: 'tagged' } } as typeof detail;
    expect(verdictMetrics({ detail: tagged })).toEqual({ 'Verdict-suspicious': 1 });
  });
});
