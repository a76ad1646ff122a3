import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Readable } from 'node:stream';
import { gunzipSync } from 'node:zlib';
import { GetObjectCommand, PutObjectCommand, PutObjectTaggingCommand } from '@aws-sdk/client-s3';
import {
  getObjectTags,
  headObject,
  tagWithVerdict,
  moveToQuarantine,
  openObject,
  streamGzipToS3,
} from '../../../../lambdas/core/store/objects';
import { type LocalAws, startLocalAws, UNIT } from '../support';

describe('sample objects in S3 (s3rver)', () => {
  let aws: LocalAws;
  let n = 0;
  async function put(body: string, tags: Record<string, string> = {}) {
    const ref = { bucket: UNIT.ingest, key: `objects/${++n}/a file.bin`, versionId: null };
    await aws.clients.s3.send(new PutObjectCommand({ Bucket: ref.bucket, Key: ref.key, Body: body }));
    if (Object.keys(tags).length)
      await aws.clients.s3.send(
        new PutObjectTaggingCommand({
          Bucket: ref.bucket,
          Key: ref.key,
          Tagging: { TagSet: Object.entries(tags).map(([Key, Value]) => ({ Key, Value })) },
        }),
      );
    return ref;
  }

  beforeAll(async () => {
    aws = await startLocalAws();
  });
  afterAll(async () => aws?.stop());

  it('reads a missing object as undefined, not as an error', async () => {
    const missing = { bucket: UNIT.ingest, key: 'objects/never-written' };
    expect(await headObject(aws.clients.s3, missing)).toBeUndefined();
    expect(await openObject(aws.clients.s3, missing)).toBeUndefined();
    const ref = await put('12345');
    expect(await headObject(aws.clients.s3, ref)).toMatchObject({ size: 5, versionId: null });
  });

  const VERDICT_TAGS = [
    ['sandtrap:verdict', 'malicious'],
    ['sandtrap:score', '90'],
  ] as const;
  const ownerTags = (n: number) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`owner-tag-${i}`, `v${i}`]));

  it("sets our tags over our stale ones and keeps every one of the object's own", async () => {
    const ref = await put('tagged', { ...ownerTags(7), 'sandtrap:verdict': 'stale', 'sandtrap:old': 'x' });
    expect(await tagWithVerdict(aws.clients.s3, ref, 'sandtrap:', VERDICT_TAGS)).toEqual({ status: 'tagged' });
    expect(await getObjectTags(aws.clients.s3, ref)).toEqual({
      ...ownerTags(7),
      'sandtrap:verdict': 'malicious',
      'sandtrap:score': '90',
    });
  });

  it("never drops an owner's tag for ours: with one slot free only the verdict, with none, nothing", async () => {
    const nine = await put('nine', ownerTags(9));
    expect(await tagWithVerdict(aws.clients.s3, nine, 'sandtrap:', VERDICT_TAGS)).toEqual({
      status: 'partial',
      reason: 'tag-limit',
    });
    expect(await getObjectTags(aws.clients.s3, nine)).toEqual({ ...ownerTags(9), 'sandtrap:verdict': 'malicious' });

    const ten = await put('ten', ownerTags(10));
    expect(await tagWithVerdict(aws.clients.s3, ten, 'sandtrap:', VERDICT_TAGS)).toEqual({
      status: 'untagged',
      reason: 'tag-limit',
    });
    expect(await getObjectTags(aws.clients.s3, ten)).toEqual(ownerTags(10));

    // Eight of the owner's and our two stale: the new verdict replaces them in their slots.
    const refilled = await put('refilled', { ...ownerTags(8), 'sandtrap:verdict': 'benign', 'sandtrap:score': '0' });
    expect(await tagWithVerdict(aws.clients.s3, refilled, 'sandtrap:', VERDICT_TAGS)).toEqual({ status: 'tagged' });
    expect(await getObjectTags(aws.clients.s3, refilled)).toMatchObject({ 'sandtrap:verdict': 'malicious' });
  });

  it('reports an object deleted before its verdict as untagged, not as an error', async () => {
    const gone = { bucket: UNIT.ingest, key: 'objects/deleted-mid-analysis' };
    expect(await tagWithVerdict(aws.clients.s3, gone, 'sandtrap:', VERDICT_TAGS)).toEqual({
      status: 'untagged',
      reason: 'object-gone',
    });
  });

  it('moves an object to quarantine under the same key with its tags, and deletes the original', async () => {
    const ref = await put('malware', { team: 'blue' });
    const moved = await moveToQuarantine(aws.clients.s3, ref, UNIT.quarantine);
    expect(moved).toEqual({ bucket: UNIT.quarantine, key: ref.key, versionId: null });
    expect(await headObject(aws.clients.s3, ref)).toBeUndefined();
    expect(await getObjectTags(aws.clients.s3, moved)).toEqual({ team: 'blue' });
    const copy = await aws.clients.s3.send(new GetObjectCommand({ Bucket: moved.bucket, Key: moved.key }));
    expect(await copy.Body?.transformToString()).toBe('malware');
  });

  it('streams a body gzip’d into S3 and counts the bytes read', async () => {
    const chunks = Array.from({ length: 40 }, (_, i) => Buffer.alloc(100_000, 65 + (i % 26)));
    const target = { bucket: UNIT.reports, key: `objects/${++n}.txt.gz`, contentType: 'text/plain' };
    const { bytesIn } = await streamGzipToS3(aws.clients.s3, target, Readable.from(chunks));
    expect(bytesIn).toBe(4_000_000);
    const stored = await aws.clients.s3.send(new GetObjectCommand({ Bucket: target.bucket, Key: target.key }));
    expect(stored.ContentEncoding).toBe('gzip');
    expect(gunzipSync(Buffer.from(await stored.Body!.transformToByteArray())).equals(Buffer.concat(chunks))).toBe(true);
  });
});
