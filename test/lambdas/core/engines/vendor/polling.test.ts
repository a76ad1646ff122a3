import { describe, expect, it } from 'vitest';
import { parseSettings } from '../../../../../lambdas/core/config/runtime-config';
import { nextPollWait } from '../../../../../lambdas/core/engines/vendor/polling';

describe('nextPollWait', () => {
  const policy = parseSettings({}).poll;
  it('follows the backoff schedule without a vendor hint, then repeats its last step', () => {
    expect([0, 1, 2, 3, 4, 9].map((attempt) => nextPollWait(policy, attempt, 10_000))).toEqual([
      15, 30, 60, 120, 120, 120,
    ]);
  });
  it('follows the vendor hint within the policy bounds', () => {
    expect(nextPollWait(policy, 0, 10_000, { etaSeconds: 240 })).toBe(240);
    expect(nextPollWait(policy, 0, 10_000, { etaSeconds: 0 })).toBe(15);
    expect(nextPollWait(policy, 0, 10_000, { etaSeconds: 2 })).toBe(5);
    expect(nextPollWait(policy, 0, 10_000, { etaSeconds: 99_999 })).toBe(900);
  });
  it('ignores hints when told to, and never waits past the deadline', () => {
    expect(nextPollWait({ ...policy, useVendorHints: false }, 1, 10_000, { etaSeconds: 240 })).toBe(30);
    expect(nextPollWait(policy, 3, 42.5)).toBe(43);
  });

  it('waits at least a second even when the deadline is due, and honours a custom policy', () => {
    expect(nextPollWait(policy, 0, 0)).toBe(1);
    expect(nextPollWait(policy, 0, -30)).toBe(1);
    const custom = {
      scheduleSeconds: [7],
      useVendorHints: true,
      elapsedFraction: 0,
      minWaitSeconds: 20,
      maxWaitSeconds: 25,
    };
    expect(nextPollWait(custom, 5, 10_000)).toBe(20);
    expect(nextPollWait(custom, 0, 10_000, { etaSeconds: 21.2 })).toBe(22);
    expect(nextPollWait(custom, 0, 10_000, { etaSeconds: 60 })).toBe(25);
  });

  it('after the first look, waits at least a quarter of the time taken so far, unless the vendor estimates', () => {
    // Still processing 240 s in: the next look at 300 s, not at 270 s (the schedule's 30 s).
    expect(nextPollWait(policy, 1, 10_000, { elapsedSeconds: 240 })).toBe(60);
    // Early on the schedule is longer, and rules.
    expect(nextPollWait(policy, 1, 10_000, { elapsedSeconds: 40 })).toBe(30);
    // Not before the first look (the learnt duration and the vendor's estimate aim that one).
    expect(nextPollWait(policy, 0, 10_000, { elapsedSeconds: 240 })).toBe(15);
    expect(nextPollWait(policy, 2, 10_000, { elapsedSeconds: 1_000, etaSeconds: 20 })).toBe(20);
    expect(nextPollWait(policy, 5, 10_000, { elapsedSeconds: 10_000 })).toBe(900);
    expect(nextPollWait({ ...policy, elapsedFraction: 0 }, 1, 10_000, { elapsedSeconds: 240 })).toBe(30);
  });

  it("keeps the schedule's short steps while the analysis is younger than the vendor's usual, and paces by age after", () => {
    // The first look came a little early (aimed 10% under the learnt 320 s): ready any moment.
    expect(nextPollWait(policy, 1, 10_000, { elapsedSeconds: 290, learntSeconds: 320 })).toBe(30);
    // A little older than usual: still the schedule.
    expect(nextPollWait(policy, 2, 10_000, { elapsedSeconds: 400, learntSeconds: 320 })).toBe(60);
    // Half again as old as usual: the vendor is slow today, look by its age.
    expect(nextPollWait(policy, 2, 10_000, { elapsedSeconds: 480, learntSeconds: 320 })).toBe(120);
    expect(nextPollWait(policy, 3, 10_000, { elapsedSeconds: 800, learntSeconds: 320 })).toBe(200);
  });

  it("aims the first look no earlier than the vendor's learnt duration, and only the first", () => {
    expect(nextPollWait(policy, 0, 10_000, { learntSeconds: 290 })).toBe(290);
    expect(nextPollWait(policy, 0, 10_000, { etaSeconds: 400, learntSeconds: 290 })).toBe(400);
    expect(nextPollWait(policy, 0, 10_000, { learntSeconds: 2 })).toBe(15);
    expect(nextPollWait(policy, 0, 100, { learntSeconds: 290 })).toBe(100);
    expect(nextPollWait(policy, 1, 10_000, { learntSeconds: 290 })).toBe(30);
  });
});
