import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type SlotLimit, SlotReservations } from '../../../../lambdas/core/store/slot-reservations';
import { type LocalAws, ManualClock, startLocalAws, UNIT } from '../support';

describe('SlotReservations on DynamoDB (dynalite)', () => {
  let aws: LocalAws;
  let clock: ManualClock;
  let n = 0;
  /** A limit no other test counts against. */
  const limit = (count: number, windowSeconds = 60, spread = true): SlotLimit => ({
    name: `unit${++n}`,
    limit: count,
    windowSeconds,
    spread,
  });
  const minute = (ms: number) => Math.floor(ms / 60_000);
  const slotsWith = (shards: number, endMarginMs = 5000) =>
    new SlotReservations(aws.clients.ddb, UNIT.table, clock, { shards, endMarginMs });

  beforeAll(async () => {
    aws = await startLocalAws();
    // Ten seconds into a minute.
    clock = new ManualClock(Date.UTC(2030, 0, 1, 0, 0, 10));
  });
  afterAll(async () => aws?.stop());

  it('gives each request of a burst the next free slot: the limit per window, spread over it, later windows after', async () => {
    const slots = slotsWith(1);
    const perMinute = limit(6);
    const start = clock.now();
    const taken = [];
    for (let i = 0; i < 15; i++) taken.push(await slots.reserve('cape', perMinute));
    const perWindow = new Map<number, number>();
    for (const slot of taken) perWindow.set(slot?.window ?? -1, (perWindow.get(slot?.window ?? -1) ?? 0) + 1);
    expect([...perWindow.entries()]).toEqual([
      [minute(start), 6],
      [minute(start) + 1, 6],
      [minute(start) + 2, 3],
    ]);
    // Within a window the n-th of 6 is at n/6 of its first 55 s (never in the last 5), never before now.
    const next = (minute(start) + 1) * 60_000;
    expect(taken.slice(6, 12).map((s) => (s?.at ?? 0) - next)).toEqual([0, 9166, 18333, 27500, 36666, 45833]);
    expect(taken.slice(0, 6).every((s) => (s?.at ?? 0) >= start && (s?.at ?? 0) < next)).toBe(true);
    // Monotonic: a later reservation is never earlier than one before it.
    const times = taken.map((s) => s?.at ?? 0);
    expect([...times].sort((a, b) => a - b)).toEqual(times);
  });

  it('never counts more than the limit in a window among many concurrent reservations, whatever the shards', async () => {
    for (const shards of [1, 4]) {
      const slots = slotsWith(shards);
      const perMinute = limit(7);
      const taken = await Promise.all(Array.from({ length: 40 }, () => slots.reserve('cape', perMinute)));
      const perWindow = new Map<number, number>();
      for (const slot of taken) perWindow.set(slot?.window ?? -1, (perWindow.get(slot?.window ?? -1) ?? 0) + 1);
      expect(Math.max(...perWindow.values())).toBe(7);
      // Windows are filled without holes: 40 reservations need six windows, the last partly.
      expect(perWindow.size).toBe(Math.ceil(40 / 7));
      // Each slot lies in its own window, before the margin at its end.
      for (const slot of taken) {
        expect(minute(slot?.at ?? 0)).toBe(slot?.window);
        expect((slot?.at ?? 0) % 60_000).toBeLessThan(55_000);
      }
    }
  });

  it('splits a limit over shards whose shares add up to it, never more shards than units', () => {
    expect(slotsWith(4).sharesOf(limit(30))).toEqual([8, 8, 7, 7]);
    expect(slotsWith(4).sharesOf(limit(2))).toEqual([1, 1]);
    expect(slotsWith(4).maxUnits(limit(7))).toBe(2);
  });

  it('starts from notBefore, and never in the last seconds of a window', async () => {
    const slots = slotsWith(1);
    const perMinute = limit(10);
    const later = clock.now() + 90_000; // 40 s into the next minute
    expect((await slots.reserve('cape', perMinute, { notBefore: later }))?.at).toBe(later);
    const tooLate = (minute(clock.now()) + 1) * 60_000 - 2000;
    const slot = await slots.reserve('cape', perMinute, { notBefore: tooLate });
    expect(slot?.window).toBe(minute(tooLate) + 1);
    // The second unit of that window (the first went to `later`): at a tenth of its usable 55 s.
    expect(slot?.at).toBe((minute(tooLate) + 1) * 60_000 + 5500);
  });

  it('returns nothing when no window starting by notAfter has room, and takes nothing then', async () => {
    const slots = slotsWith(1);
    const perMinute = limit(2);
    const now = clock.now();
    await slots.reserve('cape', perMinute, { notAfter: now });
    await slots.reserve('cape', perMinute, { notAfter: now });
    await expect(slots.reserve('cape', perMinute, { notAfter: now })).resolves.toBeUndefined();
    // The refusal took nothing: the next window still has both its units.
    const next = await slots.reserve('cape', perMinute);
    const after = await slots.reserve('cape', perMinute);
    expect([next?.window, after?.window]).toEqual([minute(now) + 1, minute(now) + 1]);
  });

  it('takes several units at once in one window, and refuses more than a shard holds', async () => {
    const slots = slotsWith(2);
    const perMinute = limit(4);
    const first = await slots.reserve('cape', perMinute, { units: 2 });
    const second = await slots.reserve('cape', perMinute, { units: 2 });
    const third = await slots.reserve('cape', perMinute, { units: 2 });
    expect([first?.window, second?.window]).toEqual([minute(clock.now()), minute(clock.now())]);
    expect(third?.window).toBe(minute(clock.now()) + 1);
    await expect(slots.reserve('cape', perMinute, { units: 3 })).rejects.toThrow(
      `cape: 3 ${perMinute.name}s at once do not fit a window of 4 per 60 s`,
    );
  });

  it('counts each scope and each limit apart', async () => {
    const slots = slotsWith(1);
    const one = limit(1);
    const now = clock.now();
    await slots.reserve('cape', one, { notAfter: now });
    await expect(slots.reserve('joe', one, { notAfter: now })).resolves.toBeDefined();
    await expect(
      slots.reserve('cape', { ...one, name: `${one.name}-other` }, { notAfter: now }),
    ).resolves.toBeDefined();
    await expect(slots.reserve('cape', one, { notAfter: now })).resolves.toBeUndefined();
  });

  it('counts a day by UTC days, and does not spread a day unless asked', async () => {
    const slots = slotsWith(1);
    const perDay = limit(2, 86_400, false);
    const now = clock.now();
    const today = await slots.reserve('cape', perDay);
    await slots.reserve('cape', perDay);
    const tomorrow = await slots.reserve('cape', perDay);
    expect(today?.at).toBe(now);
    expect(tomorrow?.at).toBe(Date.UTC(2030, 0, 2));
  });

  it('costs a bounded number of writes behind a long queue (the frontier skips full windows)', async () => {
    const slots = slotsWith(1);
    const perMinute = limit(2);
    for (let i = 0; i < 200; i++) await slots.reserve('cape', perMinute);
    let writes = 0;
    const counting = aws.clients.ddb.middlewareStack;
    counting.add(
      (next) => async (args) => {
        writes++;
        return next(args);
      },
      { step: 'initialize', name: 'countSlotWrites' },
    );
    try {
      const slot = await slots.reserve('cape', perMinute);
      expect(slot?.window).toBe(minute(clock.now()) + 100);
      // One frontier read, the take in the last window, perhaps one full window and its frontier advance.
      expect(writes).toBeLessThanOrEqual(4);
    } finally {
      counting.remove('countSlotWrites');
    }
  });
});
