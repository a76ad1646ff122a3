import { createHash } from 'node:crypto';
import { createReadStream, statSync } from 'node:fs';
import { basename } from 'node:path';
import { Transform } from 'node:stream';
import { Upload } from '@aws-sdk/lib-storage';
import type { DeployedClients } from './clients';
import { awsCall, DeployedStackError } from './errors';
import { callOn, type DeployedStack } from './stack';

/** One uploaded file. */
export interface Submission {
  file: string;
  bucket: string;
  key: string;
  /** S3's version id of this upload (the ingest bucket is versioned); `null` on an unversioned bucket. */
  versionId: string | null;
  etag?: string;
  size: number;
  /** Computed while streaming, so that `status`/`report` can be run on it later without waiting. */
  sha256: string;
  startedAt: Date;
}

/** Upload progress: bytes sent of the file's size. */
export type UploadProgress = (sent: number, total: number) => void;

/** Object keys for the files under a prefix, unique even when two files share a name. */
export function submissionKeys(files: string[], prefix: string): string[] {
  const seen = new Map<string, number>();
  return files.map((file) => {
    const name = basename(file);
    const count = (seen.get(name) ?? 0) + 1;
    seen.set(name, count);
    return count === 1 ? `${prefix}${name}` : `${prefix}${count}/${name}`;
  });
}

/** Where `sandtrap submit` puts files: a bucket the stack analyses, and the key prefix within it. */
export interface UploadTarget {
  bucket: string;
  prefix: string;
}

/**
 * Where files go for a stack: the named bucket, else its ingest bucket, else its first source; the
 * prefix must lie within one of that bucket's prefixes (an upload anywhere else is never analysed),
 * and with none given a source's first prefix is used.
 */
export function uploadTargetOf(stack: DeployedStack, wanted: { bucket?: string; prefix: string }): UploadTarget {
  const bucket = wanted.bucket ?? stack.ingestBucket ?? stack.sources[0]?.bucket;
  const source =
    bucket === stack.ingestBucket && bucket !== undefined
      ? { bucket, prefixes: [''] }
      : stack.sources.find((s) => s.bucket === bucket);
  if (!source)
    throw new DeployedStackError(
      `stack ${stack.name} does not analyse bucket ${bucket ?? '(none)'}: give one of ${[
        stack.ingestBucket,
        ...stack.sources.map((s) => s.bucket),
      ]
        .filter((b, i, all) => b && all.indexOf(b) === i)
        .join(', ')}`,
    );
  if (source.prefixes.some((p) => wanted.prefix.startsWith(p))) return { bucket: source.bucket, prefix: wanted.prefix };
  if (wanted.prefix === '') return { bucket: source.bucket, prefix: source.prefixes[0] as string };
  throw new DeployedStackError(
    `stack ${stack.name} analyses only ${source.prefixes.map((p) => `s3://${source.bucket}/${p}`).join(', ')}: prefix ${wanted.prefix} is outside them`,
  );
}

/** Part size of multipart uploads: big enough that typical samples go up in one PutObject. */
const PART_SIZE = 8 * 1024 * 1024;

/**
 * Streams a file into a bucket the stack analyses (multipart above {@link PART_SIZE}, never read whole into
 * memory) and hashes it on the way. The upload's `Object Created` event starts the analysis.
 */
export async function uploadFile(
  clients: DeployedClients,
  bucket: string,
  file: string,
  key: string,
  progress: UploadProgress = () => undefined,
): Promise<Submission> {
  const size = statSync(file).size;
  const hash = createHash('sha256');
  const hashing = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      hash.update(chunk);
      done(null, chunk);
    },
  });
  const source = createReadStream(file);
  source.on('error', (error) => hashing.destroy(error));
  source.pipe(hashing);
  const startedAt = new Date();
  const upload = new Upload({
    client: clients.s3,
    params: {
      Bucket: bucket,
      Key: key,
      Body: hashing,
      ContentLength: size,
      ContentType: 'application/octet-stream',
    },
    partSize: PART_SIZE,
    queueSize: 4,
    leavePartsOnError: false,
  });
  upload.on('httpUploadProgress', (event) => progress(Math.min(event.loaded ?? 0, size), size));
  progress(0, size);
  const done = await awsCall(callOn(clients, 's3:PutObject', `s3://${bucket}/${key}`), () => upload.done());
  progress(size, size);
  return {
    file,
    bucket,
    key,
    versionId: done.VersionId ?? null,
    ...(done.ETag ? { etag: done.ETag } : {}),
    size,
    sha256: hash.digest('hex'),
    startedAt,
  };
}
