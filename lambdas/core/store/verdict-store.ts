import { setTimeout as sleep } from 'node:timers/promises';
import { createHash } from 'node:crypto';
import {
  BatchGetCommand,
  DeleteCommand,
  GetCommand,
  PutCommand,
  QueryCommand,
  UpdateCommand,
  type DynamoDBDocumentClient,
} from '@aws-sdk/lib-dynamodb';
import { type EngineResult, type Release, type Sample, SampleSchema, type Verdict } from '../contracts/pipeline';
import type { TaggingOutcome } from './objects';

/** Table key names and the TTL attribute: contracts with the CDK table definition. */
export const TABLE_KEYS = { partition: 'pk', sort: 'sk', ttl: 'expiresAt' } as const;

/**
 * The global secondary index of unfinished uploads by the time they were written, which the re-drive
 * sweep queries instead of listing the ingest bucket: a contract with the CDK table definition.
 *
 * Its keys are attributes of the upload's claim itself, so the claim and its index entry are one
 * conditional PutItem (DynamoDB transactions are not needed, and dynalite, which has none, runs the
 * same code): a claimed upload cannot be missing from the index. The terminal record replaces the
 * claim without these attributes, so an upload leaves the index when it ends; what stays indexed is
 * what the sweep looks for (claims still in flight, or left by executions that died), and no TTL is
 * needed. Partitions are one UTC hour, split into `shards` by upload, so that a burst of uploads
 * spreads its index writes over several partitions (each takes about 1,000 writes a second).
 */
export const UPLOAD_INDEX = {
  name: 'uploads-by-time',
  partition: 'uploadsPk',
  sort: 'uploadsSk',
  /** Attributes the index keeps beside its keys: what names the upload and when it was written. */
  projected: ['bucket', 'key', 'uploadId', 'writtenAt'],
  shards: 4,
} as const;

/**
 * The global secondary index of the uploads that got a verdict, by their content hash: what
 * `sandtrap release` re-tags when an analyst releases a content hash. A contract with the CDK table.
 * Only terminal verdict records carry its keys, so claims and failures never enter it.
 */
export const CONTENT_INDEX = {
  name: 'uploads-by-content',
  partition: 'contentPk',
  sort: 'contentSk',
  /** Attributes the index keeps beside its keys: the object and where quarantine moved it. */
  projected: ['bucket', 'key', 'versionId', 'quarantinedTo'],
} as const;

const contentPk = (sha256: string) => `content#${sha256}`;
const samplePk = (sha256: string) => `SAMPLE#${sha256}`;
const lockPk = (sha256: string) => `LOCK#${sha256}`;
const JOIN_PREFIX = 'JOIN#';
const joinSk = (upload: Pick<Sample, 'bucket' | 'key' | 'uploadId'>) =>
  `${JOIN_PREFIX}${upload.bucket}/${upload.key}#${upload.uploadId}`;

/** An upload of content already under analysis, joined to that analysis to receive its verdict. */
export interface JoinedUpload {
  sample: Sample;
  /** The execution that claimed the upload: its record is written under this owner. */
  owner: string;
  /** Epoch milliseconds. */
  joinedAt: number;
}

/** The stored verdict for one content hash: what the cache serves and `sandtrap status` shows. */
export interface VerdictRecord {
  sha256: string;
  verdict: Verdict;
  score: number | null;
  engineResults: EngineResult[];
  fileType: string;
  mimeType: string;
  size: number;
  sha1: string;
  md5: string;
  /** Epoch milliseconds. */
  analyzedAt: number;
  durationMs: number;
  reportKey: string;
  /** The upload this verdict was analysed from: `sandtrap reanalyze` starts a new analysis of it. */
  object: { bucket: string; key: string; versionId: string | null };
  /** The execution whose analysis wrote this verdict: a retried Finalize of it knows its own write. */
  analyzedBy?: string;
  /** The verdict this one replaced, so that a retried Finalize still tells what changed. */
  replaced?: { verdict: Verdict; score: number | null; analyzedAt: number };
  /** An analyst's release of these bytes: the verdict is `benign` whatever the engines said. */
  released?: Release;
}

/** An object of some content, as {@link CONTENT_INDEX} shows it. */
export interface ContentObject {
  bucket: string;
  key: string;
  versionId: string | null;
  quarantinedTo?: { bucket: string; key: string; versionId: string | null };
}

/** Identifies one upload: the object version, or S3's sequencer where the bucket is not versioned. */
export interface ObjectVersion {
  bucket: string;
  key: string;
  /** `versionId`, else the event's `sequencer`, else its ETag: what tells two uploads of one key apart. */
  uploadId: string;
}

/** Key of an upload's record. */
export function objectRecordKey(object: ObjectVersion): { pk: string; sk: string } {
  return { pk: `OBJECT#${object.bucket}/${object.key}#${object.uploadId}`, sk: 'STATUS' };
}

/** An upload as its uploader knows it when the event names no version: bucket, key and the ETag S3 answered. */
export interface UploadByEtag {
  bucket: string;
  key: string;
  etag: string;
}

/** How long an upload alias outlives the longest execution: a day, for a waiting CLI or a late `status`. */
export const UPLOAD_ALIAS_TTL_EXTRA_SECONDS = 86_400;

/** An upload alias's lifetime: the longest execution (`executionTimeoutSeconds`), and a day beyond it. */
export const uploadAliasTtlSeconds = (executionTimeoutSeconds: number) =>
  UPLOAD_ALIAS_TTL_EXTRA_SECONDS + executionTimeoutSeconds;

/**
 * Key of the item that maps an upload of an unversioned bucket to its upload id. The id is then S3's
 * `sequencer`, which only the event carries: whoever uploaded the object (`sandtrap submit`) knows its
 * key and ETag, and finds the upload's record through this item. Quotes are dropped from the ETag,
 * since S3 answers it quoted and some events carry it bare.
 */
export function uploadAliasKey(upload: UploadByEtag): { pk: string; sk: string } {
  return { pk: `ALIAS#${upload.bucket}/${upload.key}#${upload.etag.replace(/"/g, '')}`, sk: 'UPLOAD' };
}

/** The UTC hour of an epoch-millisecond time, as index partitions name it: `2030-06-01T12`. */
function utcHour(at: number): string {
  return new Date(at).toISOString().slice(0, 13);
}

/** The index keys of an upload written at `writtenAt` (epoch milliseconds). */
export function uploadIndexKeys(object: ObjectVersion, writtenAt: number): { uploadsPk: string; uploadsSk: string } {
  const shard =
    createHash('sha256').update(`${object.bucket}\n${object.key}\n${object.uploadId}`).digest().readUInt32BE(0) %
    UPLOAD_INDEX.shards;
  return {
    uploadsPk: `uploads#${utcHour(writtenAt)}#${shard}`,
    uploadsSk: `${new Date(writtenAt).toISOString()}#${object.uploadId}`,
  };
}

/** Every index partition that may hold uploads written from `since` up to `before` (epoch milliseconds). */
export function uploadIndexPartitions(since: number, before: number): string[] {
  const partitions: string[] = [];
  const hour = 3_600_000;
  for (let at = Math.floor(since / hour) * hour; at < before; at += hour)
    for (let shard = 0; shard < UPLOAD_INDEX.shards; shard++) partitions.push(`uploads#${utcHour(at)}#${shard}`);
  return partitions;
}

/** An unfinished upload as the time index shows it. */
export interface IndexedUpload extends ObjectVersion {
  /** When the upload was written (epoch milliseconds). */
  writtenAt: number;
}

/** Whether an upload's record says how it ended (a verdict or a failure) rather than that it is being analysed. */
export function isTerminalRecord(record: Record<string, unknown> | undefined): boolean {
  return record?.status === 'verdict' || record?.status === 'failed';
}

/** BatchGetItem's limit of keys per request. */
const BATCH_GET_KEYS = 100;
/** Rounds of retrying the keys DynamoDB left unprocessed (throttling), with exponential backoff. */
const BATCH_GET_ROUNDS = 8;

/** What claiming an upload for analysis found. */
export type ClaimOutcome = 'claimed' | 'in-progress' | 'done';

/** The terminal record of one uploaded object version. */
export interface ObjectRecord {
  bucket: string;
  key: string;
  versionId: string | null;
  /** See {@link ObjectVersion.uploadId}. */
  uploadId: string;
  status: 'verdict' | 'failed';
  sha256?: string;
  verdict?: Verdict;
  score?: number | null;
  cached?: boolean;
  reason?: string;
  /** Where the object was moved when quarantined. */
  quarantinedTo?: { bucket: string; key: string; versionId: string | null };
  /** How the verdict tags landed on the object (see `tagWithVerdict`). */
  tagging?: TaggingOutcome;
  /** The execution that reports this upload. */
  owner?: string;
  at: number;
}

function isConditionFailure(error: unknown): boolean {
  return (error as { name?: string })?.name === 'ConditionalCheckFailedException';
}

/**
 * DynamoDB access for verdicts, engine results, object records and the in-flight lock. One table,
 * single-item conditional writes only (no transactions), so the same code runs on dynalite; one
 * global secondary index, {@link UPLOAD_INDEX}.
 */
export class VerdictStore {
  constructor(
    private readonly ddb: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  /** The current verdict for a content hash, if any. */
  async getVerdict(sha256: string): Promise<VerdictRecord | undefined> {
    const { Item } = await this.ddb.send(
      new GetCommand({ TableName: this.tableName, Key: { pk: samplePk(sha256), sk: 'VERDICT' }, ConsistentRead: true }),
    );
    if (!Item) return undefined;
    const { pk: _pk, sk: _sk, expiresAt: _ttl, ...record } = Item;
    return record as VerdictRecord;
  }

  /** Stores the verdict; the TTL attribute lets DynamoDB drop it once the cache window has passed. */
  async putVerdict(record: VerdictRecord, cacheTtlSeconds: number): Promise<void> {
    const expiresAt = Math.ceil(record.analyzedAt / 1000) + Math.max(cacheTtlSeconds, 1);
    await this.ddb.send(
      new PutCommand({
        TableName: this.tableName,
        Item: { pk: samplePk(record.sha256), sk: 'VERDICT', ...record, expiresAt },
      }),
    );
  }

  /** Keeps one engine's result beside the verdict. */
  async putEngineResult(sha256: string, result: EngineResult, at: number): Promise<void> {
    const sk = `ENGINE#${result.engine}#${result.itemId ?? 'none'}`;
    await this.ddb.send(
      new PutCommand({ TableName: this.tableName, Item: { pk: samplePk(sha256), sk, ...result, at } }),
    );
  }

  /**
   * Records how one object version ended (verdict or failure): its one terminal record. A verdict
   * record enters {@link CONTENT_INDEX} under its content hash.
   */
  async putObjectRecord(record: ObjectRecord): Promise<void> {
    const key = objectRecordKey(record);
    const byContent =
      record.status === 'verdict' && record.sha256
        ? { [CONTENT_INDEX.partition]: contentPk(record.sha256), [CONTENT_INDEX.sort]: key.pk }
        : {};
    await this.ddb.send(new PutCommand({ TableName: this.tableName, Item: { ...key, ...record, ...byContent } }));
  }

  /**
   * One page (up to 100) of the objects whose uploads got a verdict for these bytes, from `after`
   * (the previous page's `next`); `next` is absent after the last page. A popular file may have been
   * uploaded many thousands of times, so callers go through the pages rather than hold them all.
   */
  async contentObjectsPage(
    sha256: string,
    after?: Record<string, unknown>,
  ): Promise<{ objects: ContentObject[]; next?: Record<string, unknown> }> {
    const page = await this.ddb.send(
      new QueryCommand({
        TableName: this.tableName,
        IndexName: CONTENT_INDEX.name,
        KeyConditionExpression: '#pk = :pk',
        ExpressionAttributeNames: { '#pk': CONTENT_INDEX.partition },
        ExpressionAttributeValues: { ':pk': contentPk(sha256) },
        Limit: 100,
        ...(after ? { ExclusiveStartKey: after } : {}),
      }),
    );
    const objects = (page.Items ?? []).map(
      (item): ContentObject => ({
        bucket: String(item.bucket),
        key: String(item.key),
        versionId: typeof item.versionId === 'string' ? item.versionId : null,
        ...(item.quarantinedTo ? { quarantinedTo: item.quarantinedTo as ContentObject['quarantinedTo'] } : {}),
      }),
    );
    return page.LastEvaluatedKey ? { objects, next: page.LastEvaluatedKey } : { objects };
  }

  /** The analyst's release of these bytes (the allow-list entry), if any. */
  async getRelease(sha256: string): Promise<Release | undefined> {
    const { Item } = await this.ddb.send(
      new GetCommand({ TableName: this.tableName, Key: { pk: samplePk(sha256), sk: 'RELEASE' }, ConsistentRead: true }),
    );
    if (!Item) return undefined;
    return { by: String(Item.by), at: String(Item.at), reason: String(Item.reason) };
  }

  /**
   * Enters a release in the allow-list (no TTL: it holds until removed) and turns the stored verdict,
   * if any, to `benign` with the release beside it, so that uploads served from the cache get it too.
   * Returns the verdict it replaced.
   */
  async putRelease(sha256: string, release: Release): Promise<VerdictRecord | undefined> {
    await this.ddb.send(
      new PutCommand({ TableName: this.tableName, Item: { pk: samplePk(sha256), sk: 'RELEASE', sha256, ...release } }),
    );
    try {
      const { Attributes } = await this.ddb.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { pk: samplePk(sha256), sk: 'VERDICT' },
          UpdateExpression: 'SET #verdict = :benign, #released = :release',
          ConditionExpression: 'attribute_exists(pk)',
          ExpressionAttributeNames: { '#verdict': 'verdict', '#released': 'released' },
          ExpressionAttributeValues: { ':benign': 'benign', ':release': release },
          ReturnValues: 'ALL_OLD',
        }),
      );
      const { pk: _pk, sk: _sk, expiresAt: _ttl, ...previous } = Attributes ?? {};
      return previous as VerdictRecord;
    } catch (error) {
      if (isConditionFailure(error)) return undefined;
      throw error;
    }
  }

  /**
   * Records a failure unless another execution owns the upload's record (it claimed it, or already
   * ended it): a failed duplicate delivery must not overwrite or double the analysing execution's
   * outcome. Returns whether it wrote, i.e. whether this execution reports the upload.
   */
  async putFailureRecord(record: ObjectRecord, owner: string | undefined): Promise<boolean> {
    try {
      await this.ddb.send(
        new PutCommand({
          TableName: this.tableName,
          Item: { ...objectRecordKey(record), ...record, ...(owner ? { owner } : {}) },
          ConditionExpression: 'attribute_not_exists(pk) OR #owner = :owner',
          ExpressionAttributeNames: { '#owner': 'owner' },
          ExpressionAttributeValues: { ':owner': owner ?? '' },
        }),
      );
      return true;
    } catch (error) {
      if (isConditionFailure(error)) return false;
      throw error;
    }
  }

  /**
   * Claims an upload for analysis, so that a duplicated S3 or EventBridge delivery of the same event
   * starts no second analysis. A claim whose holder died can be taken over after `staleAfterMs`.
   * The original event is kept with the claim, so that a sweep can re-drive the upload. With
   * `writtenAt` (when the upload was written, epoch milliseconds) the claim is also an entry of the
   * time index ({@link UPLOAD_INDEX}) the sweep queries; a reanalysis, which no sweep re-drives, gives none.
   */
  async claimObject(
    object: ObjectVersion,
    owner: string,
    now: number,
    staleAfterMs: number,
    event: unknown,
    writtenAt?: number,
  ): Promise<ClaimOutcome> {
    try {
      await this.ddb.send(
        new PutCommand({
          TableName: this.tableName,
          Item: {
            ...objectRecordKey(object),
            bucket: object.bucket,
            key: object.key,
            uploadId: object.uploadId,
            status: 'analyzing',
            owner,
            claimedAt: now,
            event: JSON.stringify(event),
            ...(writtenAt === undefined ? {} : { writtenAt, ...uploadIndexKeys(object, writtenAt) }),
          },
          ConditionExpression:
            'attribute_not_exists(pk) OR (#status = :analyzing AND (#owner = :owner OR claimedAt < :stale))',
          ExpressionAttributeNames: { '#status': 'status', '#owner': 'owner' },
          ExpressionAttributeValues: { ':analyzing': 'analyzing', ':owner': owner, ':stale': now - staleAfterMs },
        }),
      );
      return 'claimed';
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
      const { Item } = await this.ddb.send(
        new GetCommand({ TableName: this.tableName, Key: objectRecordKey(object), ConsistentRead: true }),
      );
      return Item?.status === 'analyzing' ? 'in-progress' : 'done';
    }
  }

  /**
   * Maps an upload of an unversioned bucket (bucket, key, ETag) to its upload id, for `ttlSeconds`.
   * Two uploads of the same bytes to one key share an ETag: the later one wins, and its verdict is
   * the same content's.
   */
  async putUploadAlias(upload: UploadByEtag, uploadId: string, now: number, ttlSeconds: number): Promise<void> {
    await this.ddb.send(
      new PutCommand({
        TableName: this.tableName,
        Item: {
          ...uploadAliasKey(upload),
          uploadId,
          at: now,
          [TABLE_KEYS.ttl]: Math.ceil(now / 1000) + ttlSeconds,
        },
      }),
    );
  }

  /** The upload id an unversioned upload was recorded under, and when that was (epoch milliseconds). */
  async getUploadAlias(upload: UploadByEtag): Promise<{ uploadId: string; at: number } | undefined> {
    const { Item } = await this.ddb.send(
      new GetCommand({ TableName: this.tableName, Key: uploadAliasKey(upload), ConsistentRead: true }),
    );
    if (typeof Item?.uploadId !== 'string' || typeof Item.at !== 'number') return undefined;
    return { uploadId: Item.uploadId, at: Item.at };
  }

  /**
   * Marks an upload's claim stale, so that the sweep re-drives it at its next run (and Triage takes
   * it over): for an upload whose analysis will not come (it was joined to one that failed). Only
   * the claim this owner still holds; returns whether there was one.
   */
  async releaseClaim(object: ObjectVersion, owner: string): Promise<boolean> {
    try {
      await this.ddb.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: objectRecordKey(object),
          UpdateExpression: 'SET claimedAt = :never',
          ConditionExpression: '#status = :analyzing AND #owner = :owner',
          ExpressionAttributeNames: { '#status': 'status', '#owner': 'owner' },
          ExpressionAttributeValues: { ':never': 0, ':analyzing': 'analyzing', ':owner': owner },
        }),
      );
      return true;
    } catch (error) {
      if (isConditionFailure(error)) return false;
      throw error;
    }
  }

  /** An upload's record, if any. */
  async getObjectRecord(object: ObjectVersion): Promise<Record<string, unknown> | undefined> {
    const { Item } = await this.ddb.send(
      new GetCommand({ TableName: this.tableName, Key: objectRecordKey(object), ConsistentRead: true }),
    );
    return Item;
  }

  /**
   * The records of many uploads, read consistently with BatchGetItem (100 keys a request; keys DynamoDB
   * leaves unprocessed are asked again with backoff), by the record's `pk`. Uploads without a record
   * are absent from the map.
   */
  async getObjectRecords(objects: ObjectVersion[]): Promise<Map<string, Record<string, unknown>>> {
    const records = new Map<string, Record<string, unknown>>();
    const keys = [...new Map(objects.map((o) => [objectRecordKey(o).pk, objectRecordKey(o)])).values()];
    for (let start = 0; start < keys.length; start += BATCH_GET_KEYS) {
      let pending: Record<string, unknown>[] = keys.slice(start, start + BATCH_GET_KEYS);
      for (let round = 0; pending.length > 0; round++) {
        if (round === BATCH_GET_ROUNDS)
          throw new Error(
            `DynamoDB left ${pending.length} upload records unread after ${round} rounds of BatchGetItem`,
          );
        if (round > 0) await sleep(Math.min(50 * 2 ** round, 2000));
        const { Responses, UnprocessedKeys } = await this.ddb.send(
          new BatchGetCommand({ RequestItems: { [this.tableName]: { Keys: pending, ConsistentRead: true } } }),
        );
        for (const item of Responses?.[this.tableName] ?? []) records.set(String(item.pk), item);
        pending = UnprocessedKeys?.[this.tableName]?.Keys ?? [];
      }
    }
    return records;
  }

  /**
   * The unfinished uploads of one time-index partition written from `since` up to (not including)
   * `before`, a page at a time. The index is eventually consistent: read each upload's record before
   * acting on it.
   */
  async *queryUploadIndex(partition: string, since: number, before: number): AsyncGenerator<IndexedUpload[]> {
    let start: Record<string, unknown> | undefined;
    do {
      const page = await this.ddb.send(
        new QueryCommand({
          TableName: this.tableName,
          IndexName: UPLOAD_INDEX.name,
          // Sort keys are `<ISO time>#<upload id>`: one written exactly at `before` sorts after its bare time.
          KeyConditionExpression: '#pk = :pk AND #sk BETWEEN :since AND :before',
          ExpressionAttributeNames: { '#pk': UPLOAD_INDEX.partition, '#sk': UPLOAD_INDEX.sort },
          ExpressionAttributeValues: {
            ':pk': partition,
            ':since': new Date(since).toISOString(),
            ':before': new Date(before).toISOString(),
          },
          ExclusiveStartKey: start,
        }),
      );
      const uploads: IndexedUpload[] = [];
      for (const item of page.Items ?? []) {
        const { bucket, key, uploadId, writtenAt } = item;
        if (typeof bucket === 'string' && typeof key === 'string' && typeof uploadId === 'string')
          uploads.push({ bucket, key, uploadId, writtenAt: Number(writtenAt) });
      }
      yield uploads;
      start = page.LastEvaluatedKey;
    } while (start);
  }

  /**
   * Takes the in-flight lock for a content hash, so that concurrent uploads of the same bytes start
   * one analysis. A lock whose holder died expires after `ttlSeconds` and can be taken over.
   */
  async acquireLock(sha256: string, owner: string, now: number, ttlSeconds: number): Promise<boolean> {
    try {
      await this.ddb.send(
        new PutCommand({
          TableName: this.tableName,
          Item: {
            pk: lockPk(sha256),
            sk: 'LOCK',
            owner,
            lockedAt: now,
            lockExpiresAt: now + ttlSeconds * 1000,
            expiresAt: Math.ceil(now / 1000) + ttlSeconds,
          },
          ConditionExpression: 'attribute_not_exists(pk) OR lockExpiresAt < :now OR #owner = :owner',
          ExpressionAttributeNames: { '#owner': 'owner' },
          ExpressionAttributeValues: { ':now': now, ':owner': owner },
        }),
      );
      return true;
    } catch (error) {
      if (isConditionFailure(error)) return false;
      throw error;
    }
  }

  /** The owner of a content's in-flight lock, unless it is free or expired at `now`. */
  async lockHolder(sha256: string, now: number): Promise<string | undefined> {
    const { Item } = await this.ddb.send(
      new GetCommand({ TableName: this.tableName, Key: { pk: lockPk(sha256), sk: 'LOCK' }, ConsistentRead: true }),
    );
    if (!Item || typeof Item.owner !== 'string' || !(Number(Item.lockExpiresAt) >= now)) return undefined;
    return Item.owner;
  }

  /**
   * Joins an upload to the analysis of its content that holds the lock: the analysis serves it the
   * verdict when it ends ({@link joinedUploads}, {@link takeJoined}). The item lives in the lock's
   * partition, so that one Query finds every upload waiting on it, and expires with the lock.
   */
  async joinAnalysis(joined: JoinedUpload, ttlSeconds: number): Promise<void> {
    await this.ddb.send(
      new PutCommand({
        TableName: this.tableName,
        Item: {
          pk: lockPk(joined.sample.sha256),
          sk: joinSk(joined.sample),
          sample: joined.sample,
          owner: joined.owner,
          joinedAt: joined.joinedAt,
          [TABLE_KEYS.ttl]: Math.ceil(joined.joinedAt / 1000) + ttlSeconds,
        },
      }),
    );
  }

  /**
   * Takes a joined upload off its content's list: true for exactly one caller (the analysis that
   * serves it its verdict, or the joined execution itself when the lock was released before it
   * could tell), so that no upload is served twice or not at all.
   */
  async takeJoined(sample: Pick<Sample, 'sha256' | 'bucket' | 'key' | 'uploadId'>): Promise<boolean> {
    try {
      await this.ddb.send(
        new DeleteCommand({
          TableName: this.tableName,
          Key: { pk: lockPk(sample.sha256), sk: joinSk(sample) },
          ConditionExpression: 'attribute_exists(pk)',
        }),
      );
      return true;
    } catch (error) {
      if (isConditionFailure(error)) return false;
      throw error;
    }
  }

  /** Uploads joined to the analysis of a content, read consistently, at most `limit`. */
  async joinedUploads(sha256: string, limit: number): Promise<JoinedUpload[]> {
    const joined: JoinedUpload[] = [];
    let start: Record<string, unknown> | undefined;
    do {
      const page = await this.ddb.send(
        new QueryCommand({
          TableName: this.tableName,
          KeyConditionExpression: 'pk = :pk AND begins_with(sk, :join)',
          ExpressionAttributeValues: { ':pk': lockPk(sha256), ':join': JOIN_PREFIX },
          ConsistentRead: true,
          Limit: limit - joined.length,
          ExclusiveStartKey: start,
        }),
      );
      for (const item of page.Items ?? []) {
        const sample = SampleSchema.safeParse(item.sample);
        if (sample.success && typeof item.owner === 'string')
          joined.push({ sample: sample.data, owner: item.owner, joinedAt: Number(item.joinedAt) });
      }
      start = page.LastEvaluatedKey;
    } while (start && joined.length < limit);
    return joined;
  }

  /** Releases the lock if this owner still holds it; returns whether it did. */
  async releaseLock(sha256: string, owner: string): Promise<boolean> {
    try {
      await this.ddb.send(
        new DeleteCommand({
          TableName: this.tableName,
          Key: { pk: lockPk(sha256), sk: 'LOCK' },
          ConditionExpression: '#owner = :owner',
          ExpressionAttributeNames: { '#owner': 'owner' },
          ExpressionAttributeValues: { ':owner': owner },
        }),
      );
      return true;
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
      return false;
    }
  }
}

/** Builds the stored verdict record from a sample and its aggregate. */
export function verdictRecordOf(
  sample: Sample,
  aggregate: { verdict: Verdict; score: number | null },
  engineResults: EngineResult[],
  analyzedAt: number,
  durationMs: number,
  reportKey: string,
): VerdictRecord {
  return {
    sha256: sample.sha256,
    verdict: aggregate.verdict,
    score: aggregate.score,
    engineResults,
    fileType: sample.fileType,
    mimeType: sample.mimeType,
    size: sample.size,
    sha1: sample.sha1,
    md5: sample.md5,
    analyzedAt,
    durationMs,
    reportKey,
    object: { bucket: sample.bucket, key: sample.key, versionId: sample.versionId },
  };
}
