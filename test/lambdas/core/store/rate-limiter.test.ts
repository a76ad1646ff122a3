import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RateLimitedError } from '../../../../lambdas/core/connector/errors';
import { SharedRateLimiter } from '../../../../lambdas/core/store/rate-limiter';
import { type LocalAws, ManualClock, startLocalAws, UNIT } from '../support';

describe('SharedRateLimiter on DynamoDB (dynalite)', () => {
  let aws: LocalAws;
  let clock: ManualClock;
  let limiter: SharedRateLimiter;
  let n = 0;
  /** A limit no other test counts against. */
  const limit = (count: number, windowSeconds = 60) => ({ name: `unit${++n}`, limit: count, windowSeconds });
  const refusal = (promise: Promise<unknown>) =>
    promise.then(
      () => undefined,
      (error: unknown) => error as RateLimitedError,
    );

  beforeAll(async () => {
    aws = await startLocalAws();
    // Ten seconds into a minute.
    clock = new ManualClock(Date.UTC(2030, 0, 1, 0, 0, 10));
    limiter = new SharedRateLimiter(aws.clients.ddb, UNIT.table, clock);
  });
  afterAll(async () => aws?.stop());

  it('admits the limit per window, then refuses with the seconds left in the window', async () => {
    const perMinute = limit(3);
    const windows = [];
    for (let i = 0; i < 3; i++) windows.push(await limiter.take('cape', perMinute));
    expect(windows).toEqual(Array(3).fill(Math.floor(clock.now() / 60_000)));
    const refused = await refusal(limiter.take('cape', perMinute));
    expect(refused).toBeInstanceOf(RateLimitedError);
    expect(refused?.retryAfterSeconds).toBe(50);
    expect(refused?.message).toBe(`cape: our shared limit of 3 ${perMinute.name}s per 60 s is reached`);
  });

  it('admits again in the next window, and rounds the retry-after up to at least a second', async () => {
    const perMinute = limit(1);
    const start = clock.ms;
    try {
      await limiter.take('cape', perMinute);
      clock.ms = start + 49_999;
      expect((await refusal(limiter.take('cape', perMinute)))?.retryAfterSeconds).toBe(1);
      clock.ms = start + 50_000;
      await expect(limiter.take('cape', perMinute)).resolves.toBe(Math.floor(clock.ms / 60_000));
    } finally {
      clock.ms = start;
    }
  });

  it('counts each vendor and each kind of limit apart', async () => {
    const one = limit(1);
    await limiter.take('cape', one);
    await expect(limiter.take('joe', one)).resolves.toBeTypeOf('number');
    await expect(limiter.take('cape', { ...one, name: `${one.name}-other` })).resolves.toBeTypeOf('number');
    expect(await refusal(limiter.take('cape', one))).toBeInstanceOf(RateLimitedError);
  });

  it('keeps reserved units of each window for takes that reserve none (report downloads)', async () => {
    const perMinute = limit(5);
    for (let i = 0; i < 3; i++) await limiter.take('cape', perMinute, 2);
    const refused = await refusal(limiter.take('cape', perMinute, 2));
    expect(refused?.message).toMatch(/\(2 kept for report downloads\)$/);
    await limiter.take('cape', perMinute, 0);
    await limiter.take('cape', perMinute, 0);
    expect(await refusal(limiter.take('cape', perMinute, 0))).toBeInstanceOf(RateLimitedError);
  });

  it('always admits one ordinary take per window, even when everything else is reserved', async () => {
    const perMinute = limit(2);
    await limiter.take('cape', perMinute, 5);
    expect(await refusal(limiter.take('cape', perMinute, 5))).toBeInstanceOf(RateLimitedError);
  });

  it('admits exactly the limit among many concurrent takes (one atomic counter for every Lambda)', async () => {
    const perMinute = limit(7);
    const outcomes = await Promise.allSettled(Array.from({ length: 25 }, () => limiter.take('cape', perMinute)));
    expect(outcomes.filter((o) => o.status === 'fulfilled')).toHaveLength(7);
    const rejected = outcomes.filter((o): o is PromiseRejectedResult => o.status === 'rejected');
    expect(rejected.every((o) => o.reason instanceof RateLimitedError)).toBe(true);
  });

  it('counts a day by UTC days', async () => {
    const perDay = limit(1, 86_400);
    await limiter.take('cape', perDay);
    const refused = await refusal(limiter.take('cape', perDay));
    expect(refused?.retryAfterSeconds).toBe(24 * 3600 - 10);
  });
});
