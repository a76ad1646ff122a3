import { type DynamoDBDocumentClient, GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { VendorId } from '../contracts/pipeline';

/**
 * The share of analyses whose report the first look should find ready: the first look is aimed at
 * this quantile of the vendor's durations, so that about one analysis in ten needs a second look.
 */
const FIRST_LOOK_HITS = 0.9;
/** How far one analysis moves the aim, as a fraction of it. */
const STEP = 0.1;
/** Weight of a late report's own duration: a vendor that slowed down by much is caught up in a few analyses. */
const CATCH_UP = 0.2;

/**
 * How long each vendor's analyses take from submission to a ready report, learnt from the ones that
 * ended (one item per vendor). A vendor that gives no estimate of its own, or one that estimates the
 * run but not the processing after it, would otherwise be looked at several times per analysis, and
 * each look costs the Standard workflow three state transitions; aimed at the learnt duration, the
 * first look usually finds the report.
 *
 * What is learnt is a quantile, not a mean: a report ready at the first look says only that it took
 * no longer, so the aim comes down a little (a vendor growing faster is followed down); one that
 * needed more looks pushes it up nine times as far. The aim settles where one analysis in ten needs
 * a second look ({@link FIRST_LOOK_HITS}): a mean would be missed every other analysis.
 *
 * The update is a read and a write without a condition: two analyses ending at once may lose one
 * observation, which a slowly moving aim can afford.
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
    const next =
      learnt === undefined
        ? seconds
        : looks <= 1
          ? learnt * (1 - STEP * (1 - FIRST_LOOK_HITS))
          : Math.max(learnt * (1 + STEP * FIRST_LOOK_HITS), learnt + CATCH_UP * (seconds - learnt));
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
