import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runScaleScenario, SCALE_LIMITS, type ScaleOutcome } from './scale-scenario';

/**
 * Uploads for the vendor. The acceptance's 2,000 (against 500 a day) take about 22 minutes of real
 * time on two shared cores (most of it the burst's reservations of the submission lane, which grow
 * with the square of the uploads a day), so `npm test` runs the same four days of queue at a fifth
 * of the size, and `npm run bench` runs the full 2,000 (bench/scale.ts) through the same scenario.
 */
const UPLOADS = Number(process.env.SANDTRAP_SCALE_UPLOADS ?? 400);
const { perMinute, taskSlots, detonations } = SCALE_LIMITS;

describe(`scale: ${UPLOADS} uploads against ${perMinute} requests a minute and ${Math.ceil(UPLOADS / 4)} submissions a day, ${detonations} detonations against ${taskSlots} task slots`, () => {
  let outcome: ScaleOutcome;
  beforeAll(async () => {
    outcome = await runScaleScenario(UPLOADS);
  }, 2_400_000);
  afterAll(async () => outcome?.harness.stop());

  it('ends every upload with one execution, one terminal record and one event', () => {
    // Counted by cause and failing state first: a failure at this scale reads as its causes, not 2,000 reports.
    expect(outcome.failures).toEqual({});
    expect(outcome.runs.filter((r) => r.status !== 'SUCCEEDED')).toEqual([]);
    expect(outcome.verdicts).toHaveLength(UPLOADS + detonations);
    expect(new Set(outcome.verdicts.map((v) => v.key)).size).toBe(UPLOADS + detonations);
    expect(outcome.failedEvents).toBe(0);
  });

  it('keeps the vendor within its rate and its daily quota, and no engine ends for want of capacity', () => {
    const cape = outcome.harness.emulator;
    expect(cape.maxRequestsPerMinute).toBeLessThanOrEqual(perMinute);
    expect(cape.throttled).toBe(0);
    const perDay = new Map<number, number>();
    for (const at of cape.submissionTimes) {
      const day = Math.floor(at / 86_400_000);
      perDay.set(day, (perDay.get(day) ?? 0) + 1);
    }
    expect(Math.max(...perDay.values())).toBeLessThanOrEqual(outcome.perDay);
    // The queue really was days long: submissions went out on four UTC days.
    expect(perDay.size).toBeGreaterThanOrEqual(4);
    const engines = outcome.verdicts.flatMap((v) => v.engines);
    expect(engines.filter((e) => e.status !== 'completed').map((e) => `${e.engine}: ${e.status}`)).toEqual([]);
    // Every upload submitted once (CAPE forgets a task only when we delete it, after a timeout).
    expect(cape.submissions).toBe(UPLOADS);
    // Detonation: never more tasks at once than the slots, and RunTask never refused for capacity.
    expect(engines.filter((e) => e.engine === 'detonation')).toHaveLength(detonations);
    const fargate = outcome.harness.pipeline.fargate;
    expect(fargate.maxRunning).toBeLessThanOrEqual(taskSlots);
    expect(fargate.refused).toBe(0);
  });

  it('bounds the transitions of every analysis and the history of the longest, whatever the queue', () => {
    // One Wait per request: a queued submission is wait → submit, then wait → poll per poll. The
    // emulator's 45 s of analysis takes a poll or two, whatever the queue in front of it: the bound
    // does not grow with the uploads (a loop against the limiter would need one round per window).
    expect(outcome.maxTransitions).toBeLessThanOrEqual(24);
    expect(outcome.maxHistoryEvents).toBeLessThanOrEqual(80);
  });
});
