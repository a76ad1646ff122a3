import { createHash, randomUUID } from 'node:crypto';
import {
  GetBucketNotificationConfigurationCommand,
  GetObjectTaggingCommand,
  PutObjectCommand,
} from '@aws-sdk/client-s3';
import { GetCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { TAG_VERDICT } from '../../lambdas/core/contracts/pipeline';
import { CONTENT_INDEX } from '../../lambdas/core/store/verdict-store';
import { createE2eClients, destroyE2eClients, type E2eClients } from './harness/aws';
import type { E2eContext } from './harness/context';

/** Only the e2e config's global setup provides it; `vitest.config.ts` also matches this file, and there the suite skips. */
const provided = inject('e2e') as E2eContext | undefined;
const ctx = provided ?? ({} as E2eContext);

const sha256 = (body: string) => createHash('sha256').update(body).digest('hex');

/** Polls until `read` gives a value, or fails naming `what`. */
async function eventually<T>(what: string, read: () => Promise<T | undefined>, timeoutMs = 120_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`no ${what} within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 1000));
  }
}

/**
 * Issue #16: a bucket the team had before Sandtrap (made before the deploy, attached by the
 * configuration's `sources` with one prefix) gets its uploads analysed like the ingest bucket's.
 */
describe.skipIf(!provided)('a bucket outside the stack, attached as a source', () => {
  let clients: E2eClients;
  const nonce = randomUUID();

  beforeAll(() => {
    clients = createE2eClients(ctx.endpoint);
  });
  afterAll(() => destroyE2eClients(clients));

  it('has its EventBridge notifications switched on by the deploy', async () => {
    const configuration = await clients.s3.send(
      new GetBucketNotificationConfigurationCommand({ Bucket: ctx.outsideBucket.name }),
    );
    expect(configuration.EventBridgeConfiguration).toBeDefined();
  });

  it('analyses an upload under its prefix, storing and tagging the verdict there, and ignores keys outside it', async () => {
    const { name: bucket, prefix } = ctx.outsideBucket;
    const outside = `left alone: not under the source's prefix ${nonce}\n`;
    const inside = `// SANDTRAP-TEST-MALICIOUS ${nonce}\nconsole.log('inert test marker');\n`;
    // The one outside the prefix first: had it started an analysis, it would have claimed before the other ends.
    await clients.s3.send(new PutObjectCommand({ Bucket: bucket, Key: `elsewhere/${nonce}.txt`, Body: outside }));
    const key = `${prefix}${nonce}/dropper.js`;
    await clients.s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: inside }));

    const verdict = await eventually('verdict for the upload to the outside bucket', async () => {
      const { Item } = await clients.ddb.send(
        new GetCommand({ TableName: ctx.stack.table, Key: { pk: `SAMPLE#${sha256(inside)}`, sk: 'VERDICT' } }),
      );
      return Item;
    });
    expect(verdict).toMatchObject({ verdict: 'malicious', object: { bucket, key } });
    // The verdict record is stored before the object is tagged (Finalize stores, writes the reports,
    // then tags), so reading the tags the moment the record appears races the same step.
    const tag = await eventually(
      'verdict tag on the upload to the outside bucket',
      async () => {
        const { TagSet = [] } = await clients.s3.send(new GetObjectTaggingCommand({ Bucket: bucket, Key: key }));
        return TagSet.find((t) => t.Key === TAG_VERDICT)?.Value;
      },
      30_000,
    );
    expect(tag).toBe('malicious');

    const uploadsOf = async (body: string) =>
      (
        await clients.ddb.send(
          new QueryCommand({
            TableName: ctx.stack.table,
            IndexName: CONTENT_INDEX.name,
            KeyConditionExpression: '#pk = :pk',
            ExpressionAttributeNames: { '#pk': CONTENT_INDEX.partition },
            ExpressionAttributeValues: { ':pk': `content#${sha256(body)}` },
          }),
        )
      ).Items ?? [];
    expect((await uploadsOf(inside)).map((i) => [i.bucket, i.key])).toEqual([[bucket, key]]);
    expect(await uploadsOf(outside)).toEqual([]);
  }, 180_000);
});
