import { createGzip } from 'node:zlib';
import { PassThrough, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import {
  GetObjectCommand,
  GetObjectTaggingCommand,
  HeadObjectCommand,
  PutObjectCommand,
  PutObjectTaggingCommand,
  CopyObjectCommand,
  DeleteObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';

/** Identifies one version of one object. */
export interface ObjectRef {
  bucket: string;
  key: string;
  versionId?: string | null;
}

/** What HeadObject says about an object. */
export interface ObjectHead {
  size: number;
  versionId: string | null;
  contentType?: string;
  /** When the version was written (epoch milliseconds), where the store says. */
  lastModified?: number;
}

const version = (ref: ObjectRef) => (ref.versionId ? { VersionId: ref.versionId } : {});

function isNotFound(error: unknown): boolean {
  const e = error as { name?: string; $metadata?: { httpStatusCode?: number } };
  return (
    e?.name === 'NotFound' ||
    e?.name === 'NoSuchKey' ||
    e?.name === 'NoSuchVersion' ||
    e?.$metadata?.httpStatusCode === 404
  );
}

/** HeadObject, or `undefined` when the object (or that version) does not exist. */
export async function headObject(s3: S3Client, ref: ObjectRef): Promise<ObjectHead | undefined> {
  try {
    const head = await s3.send(new HeadObjectCommand({ Bucket: ref.bucket, Key: ref.key, ...version(ref) }));
    return {
      size: head.ContentLength ?? 0,
      versionId: head.VersionId ?? ref.versionId ?? null,
      contentType: head.ContentType,
      ...(head.LastModified ? { lastModified: head.LastModified.getTime() } : {}),
    };
  } catch (error) {
    if (isNotFound(error)) return undefined;
    throw error;
  }
}

/** Opens an object as a stream; `undefined` when it no longer exists. */
export async function openObject(s3: S3Client, ref: ObjectRef): Promise<Readable | undefined> {
  try {
    const object = await s3.send(new GetObjectCommand({ Bucket: ref.bucket, Key: ref.key, ...version(ref) }));
    return object.Body as Readable;
  } catch (error) {
    if (isNotFound(error)) return undefined;
    throw error;
  }
}

/** S3's limit of tags on one object version. */
export const MAX_OBJECT_TAGS = 10;

/**
 * How the verdict tags landed on an object: all of them, only the first (the verdict) because the
 * object's own tags left one free slot, or none (its owner's tags fill all ten, the object is gone, or a policy or key denies us the tagging calls).
 */
export type TaggingStatus = 'tagged' | 'partial' | 'untagged';
export type TaggingReason = 'tag-limit' | 'object-gone' | 'denied';
export interface TaggingOutcome {
  status: TaggingStatus;
  reason?: TaggingReason;
}

/**
 * Writes the pipeline's tags (`prefix`-named, most important first) on an object version and keeps
 * every other tag it has: PutObjectTagging replaces the whole set, and S3 allows ten tags per
 * object. The owner's tags are never dropped to make room; our lower-priority tags are, and the
 * outcome says so, so that the record, the event and a metric can report an object left untagged.
 * An untagged object stays unreadable under read-blocking, which opens only on our verdict tag.
 * Our own stale tags (an earlier verdict) are replaced or removed, never kept beside the new ones.
 */
export async function tagWithVerdict(
  s3: S3Client,
  ref: ObjectRef,
  prefix: string,
  tags: readonly (readonly [string, string])[],
): Promise<TaggingOutcome> {
  let current: Awaited<ReturnType<typeof getObjectTagSet>>;
  try {
    current = await getObjectTagSet(s3, ref);
  } catch (error) {
    return untaggedBy(error);
  }
  const owners = current.filter((tag) => !tag.Key.startsWith(prefix));
  const ours = tags.slice(0, Math.max(0, MAX_OBJECT_TAGS - owners.length));
  const stale = current.length - owners.length;
  if (ours.length === 0 && stale === 0) return { status: 'untagged', reason: 'tag-limit' };
  const TagSet = [...ours.map(([Key, Value]) => ({ Key, Value })), ...owners];
  try {
    await s3.send(
      new PutObjectTaggingCommand({ Bucket: ref.bucket, Key: ref.key, ...version(ref), Tagging: { TagSet } }),
    );
  } catch (error) {
    return untaggedBy(error);
  }
  if (ours.length === tags.length) return { status: 'tagged' };
  return { status: ours.length === 0 ? 'untagged' : 'partial', reason: 'tag-limit' };
}

/**
 * A missing object or a denial is an outcome to report (the verdict stands for the content); any
 * other error (throttling, a 5xx) goes up so that the step's retry tags the object after all.
 */
function untaggedBy(error: unknown): TaggingOutcome {
  if (isNotFound(error)) return { status: 'untagged', reason: 'object-gone' };
  if ((error as { name?: string })?.name === 'AccessDenied') return { status: 'untagged', reason: 'denied' };
  throw error;
}

async function getObjectTagSet(s3: S3Client, ref: ObjectRef): Promise<{ Key: string; Value: string }[]> {
  const current = await s3.send(new GetObjectTaggingCommand({ Bucket: ref.bucket, Key: ref.key, ...version(ref) }));
  return (current.TagSet ?? []).flatMap((tag) =>
    tag.Key === undefined ? [] : [{ Key: tag.Key, Value: tag.Value ?? '' }],
  );
}

/** Reads an object's tags as a plain record. */
export async function getObjectTags(s3: S3Client, ref: ObjectRef): Promise<Record<string, string>> {
  const current = await s3.send(new GetObjectTaggingCommand({ Bucket: ref.bucket, Key: ref.key, ...version(ref) }));
  return Object.fromEntries((current.TagSet ?? []).map((tag) => [tag.Key ?? '', tag.Value ?? '']));
}

/**
 * Streams a body gzip'd into S3 without holding it in memory (multipart when large) and returns the
 * number of bytes read from the source. Reports travel this way, never through state payloads.
 */
export async function streamGzipToS3(
  s3: S3Client,
  target: { bucket: string; key: string; contentType: string },
  source: Readable | AsyncIterable<Uint8Array>,
): Promise<{ bytesIn: number }> {
  let bytesIn = 0;
  const counted = new PassThrough();
  counted.on('data', (chunk: Buffer) => {
    bytesIn += chunk.length;
  });
  const gzip = createGzip();
  const upload = new Upload({
    client: s3,
    params: {
      Bucket: target.bucket,
      Key: target.key,
      Body: gzip,
      ContentType: target.contentType,
      ContentEncoding: 'gzip',
    },
  });
  await Promise.all([pipeline(source, counted, gzip), upload.done()]);
  return { bytesIn };
}

/**
 * Reads a JSON document (an engine's report) from S3: its parsed value, or `undefined` when there is
 * no such object. An object over `maxBytes` or not JSON is an error: the caller validates the shape.
 */
export async function getJson(s3: S3Client, bucket: string, key: string, maxBytes: number): Promise<unknown> {
  let text: string | undefined;
  try {
    const object = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    if ((object.ContentLength ?? 0) > maxBytes) throw new RangeError(`s3://${bucket}/${key} is over ${maxBytes} bytes`);
    text = await object.Body?.transformToString('utf8');
  } catch (error) {
    if (
      (error as { name?: string }).name === 'NoSuchKey' ||
      (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode === 404
    )
      return undefined;
    throw error;
  }
  return JSON.parse(text ?? '');
}

/** Writes a small JSON document (verdict.json) to S3. */
export async function putJson(s3: S3Client, bucket: string, key: string, document: unknown): Promise<void> {
  await s3.send(
    new PutObjectCommand({
      Bucket: bucket,
      Key: key,
      Body: JSON.stringify(document, null, 2),
      ContentType: 'application/json',
    }),
  );
}

/**
 * Moves one object version to the quarantine bucket under the same key: the copy keeps its metadata
 * and tags, then the original version is deleted (other versions of the key stay). Returns where it went.
 */
export async function moveToQuarantine(
  s3: S3Client,
  ref: ObjectRef,
  quarantineBucket: string,
): Promise<{ bucket: string; key: string; versionId: string | null }> {
  const source = `${ref.bucket}/${ref.key.split('/').map(encodeURIComponent).join('/')}${ref.versionId ? `?versionId=${encodeURIComponent(ref.versionId)}` : ''}`;
  const tags = await getObjectTags(s3, ref);
  const copied = await s3.send(
    new CopyObjectCommand({
      Bucket: quarantineBucket,
      Key: ref.key,
      CopySource: source,
      MetadataDirective: 'COPY',
      TaggingDirective: 'COPY',
    }),
  );
  // Tags are set again explicitly: not every S3 implementation honours TaggingDirective.
  const destination = { bucket: quarantineBucket, key: ref.key, versionId: copied.VersionId ?? null };
  await s3.send(
    new PutObjectTaggingCommand({
      Bucket: quarantineBucket,
      Key: ref.key,
      ...version(destination),
      Tagging: { TagSet: Object.entries(tags).map(([Key, Value]) => ({ Key, Value })) },
    }),
  );
  await s3.send(new DeleteObjectCommand({ Bucket: ref.bucket, Key: ref.key, ...version(ref) }));
  return { bucket: quarantineBucket, key: ref.key, versionId: copied.VersionId ?? null };
}
