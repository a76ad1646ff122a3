import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BatchGetCommand, GetCommand, type DynamoDBDocumentClient, type QueryCommand } from '@aws-sdk/lib-dynamodb';
import type { EngineResult } from '../../../../lambdas/core/contracts/pipeline';
import {
  isTerminalRecord,
  objectRecordKey,
  type IndexedUpload,
  type ObjectVersion,
  uploadAliasKey,
  uploadIndexKeys,
  uploadIndexPartitions,
  VerdictStore,
  verdictRecordOf,
} from '../../../../lambdas/core/store/verdict-store';
import { type LocalAws, sampleOf, startLocalAws, UNIT } from '../support';

const cape: EngineResult = { engine: 'cape', status: 'completed', verdict: 'malicious', score: 80, itemId: '17' };

describe('VerdictStore on DynamoDB (dynalite)', () => {
  let aws: LocalAws;
  let store: VerdictStore;
  let n = 0;
  const raw = async (pk: string, sk: string) =>
    (await aws.clients.ddb.send(new GetCommand({ TableName: UNIT.table, Key: { pk, sk } }))).Item;
  /** An upload no other test uses. */
  const upload = (): ObjectVersion => ({ bucket: UNIT.ingest, key: `in/file-${++n}.bin`, uploadId: `v${n}` });

  beforeAll(async () => {
    aws = await startLocalAws();
    store = new VerdictStore(aws.clients.ddb, UNIT.table);
  });
  afterAll(async () => aws?.stop());

  describe('keys', () => {
    it('keys an upload by bucket, key and upload id, so that two uploads of one key never share a record', () => {
      const a = { bucket: 'b', key: 'dir/x.bin', uploadId: 'v1' };
      expect(objectRecordKey(a)).toEqual({ pk: 'OBJECT#b/dir/x.bin#v1', sk: 'STATUS' });
      expect(objectRecordKey({ ...a, uploadId: 'v2' }).pk).not.toBe(objectRecordKey(a).pk);
      expect(objectRecordKey({ ...a, bucket: 'c' }).pk).not.toBe(objectRecordKey(a).pk);
      expect(objectRecordKey({ ...a })).toEqual(objectRecordKey(a));
    });

    it('calls only verdict and failure records terminal', () => {
      expect(isTerminalRecord({ status: 'verdict' })).toBe(true);
      expect(isTerminalRecord({ status: 'failed' })).toBe(true);
      expect(isTerminalRecord({ status: 'analyzing' })).toBe(false);
      expect(isTerminalRecord({})).toBe(false);
      expect(isTerminalRecord(undefined)).toBe(false);
    });
  });

  describe('verdict cache', () => {
    it("keeps a verdict under the content's hash, with its TTL attribute the cache window after the analysis", async () => {
      const sample = sampleOf('cached content', { versionId: 'ver-1' });
      const analyzedAt = Date.UTC(2030, 0, 1, 0, 0, 0, 400);
      const record = verdictRecordOf(sample, { verdict: 'malicious', score: 80 }, [cape], analyzedAt, 1500, 'r.json');
      await store.putVerdict(record, 3600);
      expect(await store.getVerdict(sample.sha256)).toEqual(record);
      const item = await raw(`SAMPLE#${sample.sha256}`, 'VERDICT');
      expect(item?.expiresAt).toBe(Math.ceil(analyzedAt / 1000) + 3600);
      expect(record.object).toEqual({ bucket: sample.bucket, key: sample.key, versionId: 'ver-1' });
    });

    it('gives a verdict stored with a cache TTL of 0 a TTL attribute a second on, not in the past', async () => {
      const sample = sampleOf('uncached content');
      await store.putVerdict(verdictRecordOf(sample, { verdict: 'unknown', score: null }, [], 10_000, 1, 'k'), 0);
      expect((await raw(`SAMPLE#${sample.sha256}`, 'VERDICT'))?.expiresAt).toBe(11);
    });

    it('finds no verdict for content never analysed', async () => {
      expect(await store.getVerdict('0'.repeat(64))).toBeUndefined();
    });

    it("replaces the verdict of the same content, and keeps each engine's result apart", async () => {
      const sample = sampleOf('re-analysed');
      await store.putVerdict(verdictRecordOf(sample, { verdict: 'benign', score: 5 }, [], 1000, 1, 'k'), 60);
      await store.putVerdict(verdictRecordOf(sample, { verdict: 'suspicious', score: 50 }, [], 2000, 1, 'k'), 60);
      expect(await store.getVerdict(sample.sha256)).toMatchObject({
        verdict: 'suspicious',
        score: 50,
        analyzedAt: 2000,
      });

      const joe: EngineResult = { engine: 'joe', status: 'timeout', verdict: 'unknown', score: null };
      await store.putEngineResult(sample.sha256, cape, 2000);
      await store.putEngineResult(sample.sha256, joe, 2000);
      expect(await raw(`SAMPLE#${sample.sha256}`, 'ENGINE#cape#17')).toMatchObject({ ...cape, at: 2000 });
      expect(await raw(`SAMPLE#${sample.sha256}`, 'ENGINE#joe#none')).toMatchObject({ status: 'timeout' });
    });
  });

  describe('claims on uploads (one analysis per upload)', () => {
    it('lets one execution claim an upload; another finds it in progress; its owner may claim again', async () => {
      const u = upload();
      expect(await store.claimObject(u, 'exec-a', 1000, 60_000, { e: 1 })).toBe('claimed');
      expect(await store.claimObject(u, 'exec-b', 2000, 60_000, { e: 2 })).toBe('in-progress');
      expect(await store.claimObject(u, 'exec-a', 3000, 60_000, { e: 1 })).toBe('claimed');
      expect(await store.getObjectRecord(u)).toMatchObject({
        status: 'analyzing',
        owner: 'exec-a',
        claimedAt: 3000,
        event: JSON.stringify({ e: 1 }),
      });
    });

    it('lets another execution take over a claim older than the staleness, and not one exactly that old', async () => {
      const u = upload();
      await store.claimObject(u, 'exec-dead', 1000, 60_000, {});
      expect(await store.claimObject(u, 'exec-b', 61_000, 60_000, {})).toBe('in-progress');
      expect(await store.claimObject(u, 'exec-b', 61_001, 60_000, {})).toBe('claimed');
      expect((await store.getObjectRecord(u))?.owner).toBe('exec-b');
    });

    it('answers done once the upload ended, however old, and claims each upload of one key apart', async () => {
      const u = upload();
      await store.claimObject(u, 'exec-a', 1000, 60_000, {});
      await store.putObjectRecord({ ...u, versionId: null, status: 'verdict', verdict: 'benign', at: 2000 });
      expect(await store.claimObject(u, 'exec-a', 3000, 60_000, {})).toBe('done');
      expect(await store.claimObject(u, 'exec-b', 10_000_000, 60_000, {})).toBe('done');
      expect(await store.claimObject({ ...u, uploadId: 'another-version' }, 'exec-b', 3000, 60_000, {})).toBe(
        'claimed',
      );
    });

    it('lets exactly one of many concurrent deliveries claim an upload', async () => {
      const u = upload();
      const outcomes = await Promise.all(
        Array.from({ length: 10 }, (_, i) => store.claimObject(u, `exec-${i}`, 1000, 60_000, {})),
      );
      expect(outcomes.filter((o) => o === 'claimed')).toHaveLength(1);
      expect(outcomes.filter((o) => o === 'in-progress')).toHaveLength(9);
    });
  });

  describe('upload aliases (unversioned uploads by key and ETag)', () => {
    it('maps key and ETag, quoted or not, to the upload id; the later upload of the same bytes wins; expires', async () => {
      const u = upload();
      expect(uploadAliasKey({ ...u, etag: '"abc"' })).toEqual(uploadAliasKey({ ...u, etag: 'abc' }));
      expect(await store.getUploadAlias({ ...u, etag: 'abc' })).toBeUndefined();
      await store.putUploadAlias({ ...u, etag: '"abc"' }, 'seq-1', 1_000, 600);
      expect(await store.getUploadAlias({ ...u, etag: 'abc' })).toEqual({ uploadId: 'seq-1', at: 1_000 });
      await store.putUploadAlias({ ...u, etag: 'abc' }, 'seq-2', 2_000, 600);
      expect(await store.getUploadAlias({ ...u, etag: '"abc"' })).toEqual({ uploadId: 'seq-2', at: 2_000 });
      expect(await store.getUploadAlias({ ...u, etag: 'other' })).toBeUndefined();
      expect(await store.getUploadAlias({ ...u, key: `${u.key}.2`, etag: 'abc' })).toBeUndefined();
      expect((await raw(uploadAliasKey({ ...u, etag: 'abc' }).pk, 'UPLOAD'))?.expiresAt).toBe(2 + 600);
    });
  });

  describe('failure records', () => {
    const failure = (u: ObjectVersion) => ({ ...u, versionId: null, status: 'failed' as const, reason: 'X', at: 5 });

    it('writes the failure of an upload nobody claimed, or one this execution claimed', async () => {
      const free = upload();
      expect(await store.putFailureRecord(failure(free), undefined)).toBe(true);
      expect(await store.getObjectRecord(free)).toMatchObject({ status: 'failed', reason: 'X' });
      const mine = upload();
      await store.claimObject(mine, 'exec-a', 1, 60_000, {});
      expect(await store.putFailureRecord(failure(mine), 'exec-a')).toBe(true);
      expect(await store.getObjectRecord(mine)).toMatchObject({ status: 'failed', owner: 'exec-a' });
    });

    it('never overwrites the record of an upload another execution owns (a failed duplicate delivery)', async () => {
      const u = upload();
      await store.claimObject(u, 'exec-a', 1, 60_000, {});
      expect(await store.putFailureRecord(failure(u), 'exec-b')).toBe(false);
      expect(await store.putFailureRecord(failure(u), undefined)).toBe(false);
      expect(await store.getObjectRecord(u)).toMatchObject({ status: 'analyzing', owner: 'exec-a' });
    });
  });

  describe('getObjectRecords', () => {
    it('reads more records than one BatchGetItem allows, skipping uploads without one and repeated ones', async () => {
      const uploads = Array.from({ length: 230 }, upload);
      const written = uploads.filter((_, i) => i % 3 !== 0);
      await Promise.all(written.map((u) => store.putObjectRecord({ ...u, versionId: null, status: 'verdict', at: 1 })));
      const records = await store.getObjectRecords([...uploads, ...uploads.slice(0, 50)]);
      expect([...records.keys()].sort()).toEqual(written.map((u) => objectRecordKey(u).pk).sort());
      expect(records.get(objectRecordKey(written[0]!).pk)).toMatchObject({ key: written[0]!.key, status: 'verdict' });
    });

    it('asks again for the keys DynamoDB left unprocessed', async () => {
      const uploads = [upload(), upload(), upload()];
      for (const u of uploads) await store.putObjectRecord({ ...u, versionId: null, status: 'failed', at: 1 });
      // A table that throttles: the first answer processes one key and leaves the rest.
      const requests: number[] = [];
      const throttling = {
        async send(command: BatchGetCommand) {
          const keys = command.input.RequestItems?.[UNIT.table]?.Keys ?? [];
          requests.push(keys.length);
          const answer = await aws.clients.ddb.send(
            new BatchGetCommand({
              RequestItems: { [UNIT.table]: { Keys: requests.length === 1 ? keys.slice(0, 1) : keys } },
            }),
          );
          return requests.length === 1
            ? { ...answer, UnprocessedKeys: { [UNIT.table]: { Keys: keys.slice(1) } } }
            : answer;
        },
      } as unknown as DynamoDBDocumentClient;
      const records = await new VerdictStore(throttling, UNIT.table).getObjectRecords(uploads);
      expect(requests).toEqual([3, 2]);
      expect(records.size).toBe(3);
    });

    it('sends no request for no uploads', async () => {
      const nothing = { send: () => Promise.reject(new Error('no request expected')) };
      const records = await new VerdictStore(nothing as unknown as DynamoDBDocumentClient, UNIT.table).getObjectRecords(
        [],
      );
      expect(records.size).toBe(0);
    });
  });

  describe('the time index of unfinished uploads', () => {
    const HOUR = 3_600_000;
    const at = Date.UTC(2031, 0, 2, 10, 30);
    const all = async (since: number, before: number) => {
      const found: IndexedUpload[] = [];
      for (const partition of uploadIndexPartitions(since, before))
        for await (const page of store.queryUploadIndex(partition, since, before)) found.push(...page);
      return found;
    };

    it('names the hour partitions of a window, every shard of each', () => {
      const partitions = uploadIndexPartitions(Date.UTC(2031, 0, 1, 22, 59), Date.UTC(2031, 0, 2, 0, 1));
      expect(new Set(partitions.map((p) => p.replace(/#\d+$/, '')))).toEqual(
        new Set(['uploads#2031-01-01T22', 'uploads#2031-01-01T23', 'uploads#2031-01-02T00']),
      );
      expect(partitions).toHaveLength(3 * 4);
      const keys = uploadIndexKeys({ bucket: 'b', key: 'k', uploadId: 'v1' }, Date.UTC(2031, 0, 1, 23, 5, 7, 9));
      expect(keys.uploadsSk).toBe('2031-01-01T23:05:07.009Z#v1');
      expect(partitions).toContain(keys.uploadsPk);
    });

    it('indexes a claim in the same write, by the time the upload was written, and drops it when it ends', async () => {
      const [early, inside, last, late, reanalysis] = [upload(), upload(), upload(), upload(), upload()];
      await store.claimObject(early, 'exec', at, 60_000, {}, at - HOUR - 1);
      await store.claimObject(inside, 'exec', at, 60_000, {}, at - HOUR);
      await store.claimObject(last, 'exec', at, 60_000, {}, at - 1);
      await store.claimObject(late, 'exec', at, 60_000, {}, at);
      await store.claimObject(reanalysis, 'exec', at, 60_000, {});
      expect(await all(at - HOUR, at)).toEqual(
        expect.arrayContaining([
          { ...inside, writtenAt: at - HOUR },
          { ...last, writtenAt: at - 1 },
        ]),
      );
      expect((await all(at - HOUR, at)).map((u) => u.key).sort()).toEqual([inside.key, last.key].sort());
      // The terminal record replaces the claim, and its index entry with it.
      await store.putObjectRecord({ ...inside, versionId: null, status: 'verdict', at });
      expect((await all(at - HOUR, at)).map((u) => u.key)).toEqual([last.key]);
    });

    it('pages through a partition', async () => {
      const starts: unknown[] = [];
      const item = (key: string) => ({ bucket: 'b', key, uploadId: 'v', writtenAt: 5 });
      const paging = {
        async send(command: QueryCommand) {
          starts.push(command.input.ExclusiveStartKey);
          return starts.length === 1
            ? { Items: [item('a'), { bucket: 'b' }], LastEvaluatedKey: { pk: 'next' } }
            : { Items: [item('b')] };
        },
      } as unknown as DynamoDBDocumentClient;
      const pages: IndexedUpload[][] = [];
      for await (const page of new VerdictStore(paging, UNIT.table).queryUploadIndex('uploads#x#0', 0, 10))
        pages.push(page);
      // An item that does not name an upload (not written by claimObject) is left out.
      expect(pages.map((p) => p.map((u) => u.key))).toEqual([['a'], ['b']]);
      expect(starts).toEqual([undefined, { pk: 'next' }]);
    });
  });

  describe('the in-flight lock on content', () => {
    const sha = (i: number) => i.toString(16).padStart(64, 'a');

    it('is held by one owner until it expires; the owner may take it again', async () => {
      expect(await store.acquireLock(sha(1), 'exec-a', 1000, 60)).toBe(true);
      expect(await store.acquireLock(sha(1), 'exec-b', 1000 + 60_000, 60)).toBe(false);
      expect(await store.acquireLock(sha(1), 'exec-a', 2000, 60)).toBe(true);
      // exec-a renewed it at 2000: it now lasts until 62,000.
      expect(await store.acquireLock(sha(1), 'exec-b', 61_500, 60)).toBe(false);
      expect(await store.acquireLock(sha(1), 'exec-b', 62_001, 60)).toBe(true);
    });

    it('is released by its owner only', async () => {
      await store.acquireLock(sha(2), 'exec-a', 1000, 60);
      expect(await store.releaseLock(sha(2), 'exec-b')).toBe(false);
      expect(await store.acquireLock(sha(2), 'exec-c', 1001, 60)).toBe(false);
      expect(await store.releaseLock(sha(2), 'exec-a')).toBe(true);
      expect(await store.acquireLock(sha(2), 'exec-c', 1001, 60)).toBe(true);
      // Releasing a lock nobody holds is no error.
      await expect(store.releaseLock(sha(3), 'exec-a')).resolves.toBe(false);
    });

    it('names its holder until it expires', async () => {
      expect(await store.lockHolder(sha(4), 1000)).toBeUndefined();
      await store.acquireLock(sha(4), 'exec-a', 1000, 60);
      expect(await store.lockHolder(sha(4), 61_000)).toBe('exec-a');
      expect(await store.lockHolder(sha(4), 61_001)).toBeUndefined();
    });

    it('lists the uploads joined to it, each taken off exactly once, apart from the lock itself', async () => {
      const content = sampleOf(`joined content ${Date.now()}`);
      await store.acquireLock(content.sha256, 'exec-a', 1000, 60);
      const uploads = ['x', 'y', 'z'].map((name) => ({ ...content, key: `joined/${name}`, uploadId: `v-${name}` }));
      for (const [i, sample] of uploads.entries())
        await store.joinAnalysis({ sample, owner: `exec-${i}`, joinedAt: 2000 + i }, 60);
      const listed = await store.joinedUploads(content.sha256, 10);
      expect(listed.map((j) => [j.sample.key, j.owner, j.joinedAt])).toEqual([
        ['joined/x', 'exec-0', 2000],
        ['joined/y', 'exec-1', 2001],
        ['joined/z', 'exec-2', 2002],
      ]);
      expect(listed[0]?.sample).toEqual(uploads[0]);
      expect(await store.joinedUploads(content.sha256, 2)).toHaveLength(2);
      const takes = await Promise.all([1, 2, 3].map(() => store.takeJoined(uploads[1] as typeof content)));
      expect(takes.filter(Boolean)).toHaveLength(1);
      expect((await store.joinedUploads(content.sha256, 10)).map((j) => j.sample.key)).toEqual([
        'joined/x',
        'joined/z',
      ]);
      // Joined uploads neither hold nor free the lock; releasing the lock leaves them listed.
      expect(await store.lockHolder(content.sha256, 1000)).toBe('exec-a');
      await store.releaseLock(content.sha256, 'exec-a');
      expect(await store.joinedUploads(content.sha256, 10)).toHaveLength(2);
      expect((await raw(`LOCK#${content.sha256}`, `JOIN#${UNIT.ingest}/joined/x#v-x`))?.expiresAt).toBe(2 + 60);
    });

    it('releases a claim to the sweep only for the owner still holding it', async () => {
      const u = upload();
      await store.claimObject(u, 'exec-a', 100_000, 60_000, {});
      expect(await store.claimObject(u, 'exec-c', 100_001, 60_000, {})).toBe('in-progress');
      expect(await store.releaseClaim(u, 'exec-b')).toBe(false);
      expect(await store.releaseClaim(u, 'exec-a')).toBe(true);
      expect(await store.getObjectRecord(u)).toMatchObject({ status: 'analyzing', owner: 'exec-a', claimedAt: 0 });
      // Stale now: another execution (the sweep's re-drive) takes it over at once.
      expect(await store.claimObject(u, 'exec-c', 100_002, 60_000, {})).toBe('claimed');
      await store.putObjectRecord({ ...u, versionId: null, status: 'verdict', verdict: 'benign', at: 100_003 });
      expect(await store.releaseClaim(u, 'exec-c')).toBe(false);
    });

    it('is a separate item from the verdict, so that locking never hides a cached verdict', async () => {
      const sample = sampleOf('locked and cached');
      await store.putVerdict(verdictRecordOf(sample, { verdict: 'benign', score: 1 }, [], 1, 1, 'k'), 60);
      await store.acquireLock(sample.sha256, 'exec-a', 1, 60);
      expect((await store.getVerdict(sample.sha256))?.verdict).toBe('benign');
      expect(await raw(`LOCK#${sample.sha256}`, 'LOCK')).toMatchObject({ owner: 'exec-a', lockExpiresAt: 60_001 });
    });
  });
});
