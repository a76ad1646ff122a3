import { UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { Clock } from './clock';
import type { VendorId } from './schemas';
import { RateLimitedError } from '../vendors/errors';

/** A limit: at most `limit` units per window of `windowSeconds`. */
export interface RateLimit {
  limit: number;
  windowSeconds: number;
  /** What is counted, for the item key and messages: `request`, `submission`. */
  name: string;
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

  /** Takes one unit of `limit` for `vendor`, or throws `RateLimitedError`; returns the window it was taken in. */
  async take(vendor: VendorId, limit: RateLimit): Promise<number> {
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
          ExpressionAttributeValues: { ':one': 1, ':limit': limit.limit, ':expires': Math.ceil(windowEnd / 1000) + 3600 },
        }),
      );
      return window;
    } catch (error) {
      if ((error as { name?: string }).name !== 'ConditionalCheckFailedException') throw error;
      const retryAfterSeconds = Math.max(1, Math.ceil((windowEnd - now) / 1000));
      throw new RateLimitedError(vendor, `our shared limit of ${limit.limit} ${limit.name}s per ${limit.windowSeconds} s is reached`, retryAfterSeconds);
    }
  }
}
