import { UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { Clock } from '../contracts/clock';
import type { VendorId } from '../contracts/pipeline';
import { RateLimitedError } from '../connector/errors';

/** A limit: at most `limit` units per window of `windowSeconds`. */
export interface RateLimit {
  limit: number;
  windowSeconds: number;
  /** What is counted, for the item key and messages: `request`, `submission`. */
  name: string;
}

/** Request slots of each window kept for downloading ready reports: a fifth, at least one, none under 2 per window. */
export function reservedForReports(limit: number): number {
  return limit >= 2 ? Math.max(1, Math.floor(limit / 5)) : 0;
}

/**
 * A fixed-window limiter shared by every execution and every Lambda: one DynamoDB item per vendor
 * and window, incremented atomically only while it is under the limit. A denied take throws
 * `RateLimitedError` whose retry-after is the time to the next window, so the state machine waits
 * instead of failing.
 */
export class SharedRateLimiter {
  constructor(
    private readonly ddb: DynamoDBDocumentClient,
    private readonly tableName: string,
    private readonly clock: Clock,
  ) {}

  /**
   * Takes one unit of `limit` for `vendor`, or throws `RateLimitedError`; returns the window it was
   * taken in. `reserved` units of each window are left to takes that pass 0 (priority work).
   */
  async take(vendor: VendorId, limit: RateLimit, reserved = 0): Promise<number> {
    const cap = Math.max(1, limit.limit - reserved);
    const now = this.clock.now();
    const windowMs = limit.windowSeconds * 1000;
    const window = Math.floor(now / windowMs);
    const windowEnd = (window + 1) * windowMs;
    try {
      await this.ddb.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { pk: `RATE#${vendor}#${limit.name}#${window}`, sk: 'RATE' },
          UpdateExpression: 'ADD #used :one SET expiresAt = if_not_exists(expiresAt, :expires)',
          ConditionExpression: 'attribute_not_exists(#used) OR #used < :limit',
          ExpressionAttributeNames: { '#used': 'used' },
          ExpressionAttributeValues: { ':one': 1, ':limit': cap, ':expires': Math.ceil(windowEnd / 1000) + 3600 },
        }),
      );
      return window;
    } catch (error) {
      if ((error as { name?: string }).name !== 'ConditionalCheckFailedException') throw error;
      const retryAfterSeconds = Math.max(1, Math.ceil((windowEnd - now) / 1000));
      throw new RateLimitedError(
        vendor,
        `our shared limit of ${limit.limit} ${limit.name}s per ${limit.windowSeconds} s is reached${cap < limit.limit ? ` (${limit.limit - cap} kept for report downloads)` : ''}`,
        retryAfterSeconds,
      );
    }
  }
}
