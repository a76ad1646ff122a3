import { BatchGetCommand, type DynamoDBDocumentClient, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { Clock } from '../contracts/clock';

/** A limit: at most `limit` units per fixed window of `windowSeconds`, windows aligned to the epoch. */
export interface SlotLimit {
  limit: number;
  windowSeconds: number;
  /** What is counted, for the item keys and messages: `submission`, `request:submit`, `request:follow-up`. */
  name: string;
  /**
   * Spread a window's units over it (the n-th of k at n/k of the window), so that a full window does
   * not wake all at once; off, every unit may be spent from the window's start (daily quotas, where
   * spreading would hold a lone morning upload until the afternoon). @default true
   */
  spread?: boolean;
}

/** A reserved slot: the window its units are counted in and the moment they may be spent. */
export interface Reservation {
  /** Epoch milliseconds at which the reserved requests may be made (never before the reservation). */
  at: number;
  /** The window (epoch / window length) the units were counted in. */
  window: number;
  /** The window's end, epoch milliseconds: the units must be spent before it. */
  windowEnd: number;
}

export interface ReserveOptions {
  /** Units taken at once (the requests one step makes). @default 1 */
  units?: number;
  /** The earliest moment the slot may be at (a poll's wanted wait). @default now */
  notBefore?: number;
  /**
   * The latest window start acceptable: a window starting after it is not searched, and `undefined`
   * is returned. `now` asks for a unit of the current window only, to be spent at once.
   */
  notAfter?: number;
}

export interface SlotReservationsOptions {
  /**
   * Counters each limit is split over, so that no single DynamoDB item takes every write of a burst
   * (one item sustains about a thousand writes a second). Each shard owns a share of every window's
   * units; a reservation goes to the shard whose queue is shortest. @default 4
   */
  shards?: number;
  /**
   * Time kept free at the end of every window: a slot is never given so late that the request could
   * land in the next window (Lambda's start and the request itself take this long at most). @default 5000
   */
  endMarginMs?: number;
}

/** More windows than any reservation should ever search: a bug or a limit of zero, not a queue. */
const MAX_WINDOWS_SEARCHED = 100_000;

/**
 * Slots of a shared rate, reserved ahead: a request takes the next free unit of its limit and the
 * execution waits exactly until then, so a queue of any length costs one Wait per request and never a
 * loop against the limiter.
 *
 * Each window of each shard is one DynamoDB counter, incremented atomically only while it has room;
 * the increment's result is the request's position in its window, and positions are spread evenly
 * over the window so that a full window does not wake all at once. A per-shard frontier records the
 * first window that may still have room, so a reservation behind a long queue costs a couple of
 * writes, not one per full window. Counts hold per fixed window (what vendors' limits count), whatever
 * the shard: each shard's share of a window adds up to the limit.
 */
export class SlotReservations {
  private readonly shards: number;
  private readonly endMarginMs: number;

  constructor(
    private readonly ddb: DynamoDBDocumentClient,
    private readonly tableName: string,
    private readonly clock: Clock,
    options: SlotReservationsOptions = {},
  ) {
    this.shards = Math.max(1, Math.floor(options.shards ?? 4));
    this.endMarginMs = Math.max(0, options.endMarginMs ?? 5000);
  }

  /** Each shard's units per window: the limit split as evenly as it divides, never more shards than units. */
  sharesOf(limit: SlotLimit): number[] {
    const count = Math.max(1, Math.min(this.shards, limit.limit));
    return Array.from({ length: count }, (_, i) => Math.floor(limit.limit / count) + (i < limit.limit % count ? 1 : 0));
  }

  /** The most units one reservation of `limit` may take (a shard's share of a window). */
  maxUnits(limit: SlotLimit): number {
    return Math.max(...this.sharesOf(limit));
  }

  /**
   * Reserves `units` of `limit` for `scope` (a vendor) at the earliest moment from `notBefore`, or
   * returns `undefined` when that moment would be after `notAfter`.
   */
  async reserve(scope: string, limit: SlotLimit, options: ReserveOptions = {}): Promise<Reservation | undefined> {
    const units = options.units ?? 1;
    const shares = this.sharesOf(limit);
    if (!Number.isInteger(units) || units < 1 || units > Math.max(...shares))
      throw new RangeError(
        `${scope}: ${units} ${limit.name}s at once do not fit a window of ${limit.limit} per ${limit.windowSeconds} s`,
      );
    const now = this.clock.now();
    const windowMs = limit.windowSeconds * 1000;
    const from = Math.max(now, options.notBefore ?? now);
    // A slot too close to its window's end could be spent in the next one: start at the next window.
    let first = Math.floor(from / windowMs);
    if (from > (first + 1) * windowMs - this.endMarginMs) first += 1;

    const frontiers = await this.frontiers(scope, limit, shares.length);
    // Shards able to hold the units, shortest queue first; ties are broken at random so that
    // concurrent reservations spread over the shards' counters.
    const shards = shares
      .map((share, shard) => ({ shard, share, frontier: frontiers[shard] ?? 0, tie: Math.random() }))
      .filter((s) => s.share >= units)
      .sort((a, b) => a.frontier - b.frontier || a.tie - b.tie);
    const lowest = shards[0]?.frontier ?? 0;

    for (let window = Math.max(first, lowest), searched = 0; ; window++, searched++) {
      const windowStart = window * windowMs;
      if (options.notAfter !== undefined && windowStart > options.notAfter) return undefined;
      if (searched > MAX_WINDOWS_SEARCHED)
        throw new Error(`${scope}: no free ${limit.name} slot in ${MAX_WINDOWS_SEARCHED} windows`);
      // Every shard whose queue reaches this window is tried before the next window.
      for (const shard of shards) {
        if (shard.frontier > window) continue;
        const position = await this.take(scope, limit, shard.shard, shard.share, window, units);
        if (position === undefined) {
          // Full: later reservations of this shard start after it (only a single unit's refusal proves it full).
          if (units === 1) {
            shard.frontier = window + 1;
            await this.advanceFrontier(scope, limit, shard.shard, window + 1);
          }
          continue;
        }
        // Positions are spread over the usable part of the window: the n-th of a share of k at n/k of it.
        const usable = Math.max(0, windowMs - this.endMarginMs);
        const spread = limit.spread === false ? 0 : Math.floor((position * usable) / shard.share);
        return { at: Math.max(from, windowStart + spread), window, windowEnd: windowStart + windowMs };
      }
    }
  }

  private key(scope: string, limit: SlotLimit, shard: number): string {
    return `SLOTS#${scope}#${limit.name}#${limit.windowSeconds}#${shard}`;
  }

  /** Every shard's frontier in one read. */
  private async frontiers(scope: string, limit: SlotLimit, count: number): Promise<Record<number, number>> {
    const keys = Array.from({ length: count }, (_, shard) => ({ pk: this.key(scope, limit, shard), sk: 'FRONTIER' }));
    const answer = await this.ddb.send(
      new BatchGetCommand({ RequestItems: { [this.tableName]: { Keys: keys, ConsistentRead: true } } }),
    );
    const found: Record<number, number> = {};
    for (const item of answer.Responses?.[this.tableName] ?? []) {
      const shard = keys.findIndex((k) => k.pk === item.pk);
      if (shard >= 0 && typeof item.window === 'number') found[shard] = item.window;
    }
    // Unprocessed keys (throttling) read as 0: the search then starts earlier, which is only slower.
    return found;
  }

  /** Adds `units` to a shard's window while it has room; returns the position of the first unit, or `undefined` when full. */
  private async take(
    scope: string,
    limit: SlotLimit,
    shard: number,
    share: number,
    window: number,
    units: number,
  ): Promise<number | undefined> {
    const windowEnd = (window + 1) * limit.windowSeconds;
    try {
      const answer = await this.ddb.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { pk: `${this.key(scope, limit, shard)}#${window}`, sk: 'SLOTS' },
          UpdateExpression: 'ADD #used :units SET expiresAt = if_not_exists(expiresAt, :expires)',
          ConditionExpression: 'attribute_not_exists(#used) OR #used <= :room',
          ExpressionAttributeNames: { '#used': 'used' },
          ExpressionAttributeValues: { ':units': units, ':room': share - units, ':expires': windowEnd + 3600 },
          ReturnValues: 'UPDATED_NEW',
        }),
      );
      return Number(answer.Attributes?.used) - units;
    } catch (error) {
      if ((error as { name?: string }).name === 'ConditionalCheckFailedException') return undefined;
      throw error;
    }
  }

  /** Moves a shard's frontier forward to `window` (never back); a lost race is someone else's advance. */
  private async advanceFrontier(scope: string, limit: SlotLimit, shard: number, window: number): Promise<void> {
    try {
      await this.ddb.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { pk: this.key(scope, limit, shard), sk: 'FRONTIER' },
          UpdateExpression: 'SET #window = :window, expiresAt = :expires',
          ConditionExpression: 'attribute_not_exists(#window) OR #window < :window',
          ExpressionAttributeNames: { '#window': 'window' },
          ExpressionAttributeValues: {
            ':window': window,
            // An idle limit's frontier lapses a day after its window: the next reservation starts from now.
            ':expires': (window + 1) * limit.windowSeconds + 86_400,
          },
        }),
      );
    } catch (error) {
      if ((error as { name?: string }).name !== 'ConditionalCheckFailedException') throw error;
    }
  }
}
