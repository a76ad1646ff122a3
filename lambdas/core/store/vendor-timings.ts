import { type DynamoDBDocumentClient, GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { VendorId } from '../contracts/pipeline';

/** Weight of one analysis in the learnt duration: about the last ten count. */
const WEIGHT = 0.2;
/**
 * A report found ready at the first look says only that it took no longer than the wait: the next
 * first look is aimed this much earlier, so that a vendor growing faster is followed down too.
 */
const PROBE_EARLIER = 0.9;

/**
 * How long each vendor's analyses take from submission to a ready report, learnt from the ones that
 * ended (an exponentially weighted mean in one item per vendor). A vendor that gives no estimate of
 * its own, or one that estimates the run but not the processing after it, would otherwise be looked
 * at several times per analysis, and each look costs the Standard workflow three state transitions;
 * aimed at the learnt duration, the first look usually finds the report.
 *
 * The update is a read and a write without a condition: two analyses ending at once may lose one
 * observation, which a mean over ten can afford.
 */
export class VendorTimings {
  constructor(
    private readonly ddb: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  private key(vendor: VendorId) {
    return { pk: `VENDOR#${vendor}`, sk: 'TIMING' };
  }

  /** The learnt seconds from submission to a ready report, if any analysis of this vendor ended yet. */
  async readySeconds(vendor: VendorId): Promise<number | undefined> {
    const { Item } = await this.ddb.send(new GetCommand({ TableName: this.tableName, Key: this.key(vendor) }));
    const seconds = Number(Item?.readySeconds);
    return Number.isFinite(seconds) && seconds > 0 ? seconds : undefined;
  }

  /**
   * Learns from one analysis whose report was found ready `seconds` after submission, at the
   * `looks`-th status request. Returns the new learnt duration.
   */
  async observe(vendor: VendorId, seconds: number, looks: number, now: number): Promise<number> {
    const learnt = await this.readySeconds(vendor);
    const observed = looks <= 1 && learnt !== undefined ? Math.min(seconds, learnt) * PROBE_EARLIER : seconds;
    const next = learnt === undefined ? observed : learnt + WEIGHT * (observed - learnt);
    await this.ddb.send(
      new UpdateCommand({
        TableName: this.tableName,
        Key: this.key(vendor),
        UpdateExpression: 'SET readySeconds = :seconds, observedAt = :now',
        ExpressionAttributeValues: { ':seconds': Math.round(next * 10) / 10, ':now': now },
      }),
    );
    return next;
  }
}
