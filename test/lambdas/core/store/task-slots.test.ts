import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TaskSlots } from '../../../../lambdas/core/store/task-slots';
import { type LocalAws, ManualClock, startLocalAws, UNIT } from '../support';

describe('TaskSlots on DynamoDB (dynalite)', () => {
  let aws: LocalAws;
  let clock: ManualClock;
  let slots: TaskSlots;
  let n = 0;
  const scope = () => `unit${++n}`;
  const HOLD = 300_000;

  beforeAll(async () => {
    aws = await startLocalAws();
    clock = new ManualClock(Date.UTC(2030, 0, 1, 0, 0, 10));
    slots = new TaskSlots(aws.clients.ddb, UNIT.table, clock);
  });
  afterAll(async () => aws?.stop());

  /** The most turns that overlap at any moment. */
  function maxOverlap(turns: { at: number; until: number }[]): number {
    const edges = turns.flatMap((t) => [
      [t.at, 1],
      [t.until, -1],
    ]);
    // An end and a start at the same moment do not overlap: ends first.
    edges.sort((a, b) => (a[0] as number) - (b[0] as number) || (a[1] as number) - (b[1] as number));
    let running = 0;
    let most = 0;
    for (const [, delta] of edges) {
      running += delta as number;
      most = Math.max(most, running);
    }
    return most;
  }

  it('queues 50 concurrent reservations on 3 slots: never more than 3 turns at once, each after the one before it', async () => {
    const s = scope();
    const start = clock.now();
    const turns = await Promise.all(Array.from({ length: 50 }, (_, i) => slots.reserve(s, 3, HOLD, `exec-${i}`)));
    expect(maxOverlap(turns)).toBe(3);
    // Dealt round the slots: 17, 17 and 16 turns, back to back.
    const bySlot = [0, 1, 2].map((slot) => turns.filter((t) => t.slot === slot).sort((a, b) => a.at - b.at));
    expect(bySlot.map((list) => list.length)).toEqual([17, 17, 16]);
    for (const list of bySlot) expect(list.map((t) => t.at - start)).toEqual(list.map((_, k) => k * HOLD));
    // The queue's end: the 17th turn of a slot starts 16 holds from now.
    expect(Math.max(...turns.map((t) => t.at)) - start).toBe(16 * HOLD);
  });

  it('starts at once on a free slot, and after the holder when the slot is taken', async () => {
    const s = scope();
    const first = await slots.reserve(s, 1, HOLD, 'a');
    const second = await slots.reserve(s, 1, HOLD, 'b');
    expect(first.at).toBe(clock.now());
    expect(second.at).toBe(first.until);
  });

  it('gives the rest of a turn back when nobody queued behind it, and only then', async () => {
    const s = scope();
    const start = clock.now();
    const turn = await slots.reserve(s, 1, HOLD, 'a');
    try {
      clock.ms += 60_000;
      // Someone else cannot give it back.
      expect(await slots.release(s, turn, 'b')).toBe(false);
      expect(await slots.release(s, turn, 'a')).toBe(true);
      const next = await slots.reserve(s, 1, HOLD, 'c');
      expect(next.at).toBe(start + 60_000);
      // With a turn queued behind, giving back would break its promise: it is kept.
      const behind = await slots.reserve(s, 1, HOLD, 'd');
      clock.ms += 60_000;
      expect(await slots.release(s, next, 'c')).toBe(false);
      expect(behind.at).toBe(next.until);
    } finally {
      clock.ms = start;
    }
  });

  it('refuses a count that is not a positive whole number', async () => {
    await expect(slots.reserve(scope(), 0, HOLD, 'a')).rejects.toThrow(RangeError);
  });
});
