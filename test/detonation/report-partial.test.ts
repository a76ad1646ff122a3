import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { DetonationReportSchema } from '../../lambdas/core/contracts/detonation-report';
import { detonate, indicatorIds, PresignedStandIn } from './harness';

// The agent fails after the sample ran: reading the network guard's log throws. Everything observed
// until then (the trace, the fake network's records) must still be in the uploaded report and score it.
vi.mock('../../container/agent/guard', async (importOriginal) => ({
  ...(await importOriginal<typeof import('../../container/agent/guard')>()),
  readGuardLog: async () => {
    throw new Error('injected failure');
  },
}));

describe('an agent error after the run gives a partial, scored report', () => {
  const s3 = new PresignedStandIn();
  beforeAll(() => s3.start());
  afterAll(() => s3.stop());

  it('keeps the trace and fake-network indicators seen before the failure, and says what failed', async () => {
    const report = await detonate(s3, { file: 'behaviors/network.py' });
    expect(DetonationReportSchema.safeParse(report).success).toBe(true);
    expect(report.status).toBe('error');
    expect(report.error).toMatch(/reading the network guard's log: injected failure/);
    expect(report.notes.items.join('\n')).toMatch(/partial report: the agent failed while/);
    // The fake network's records were drained on the error path, without the guard's log.
    expect(report.network.httpRequests.count).toBeGreaterThan(0);
    expect(indicatorIds(report)).toEqual(expect.arrayContaining(['network.upload']));
    expect(['suspicious', 'malicious']).toContain(report.verdict);
    expect(report.score).not.toBeNull();
    // The sample's output is read before the clean-up removes the run directory.
    expect(report.output.tail).toContain('SANDTRAP-TEST-MALICIOUS network sample');
  }, 60_000);
});
