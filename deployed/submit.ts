import { createHash } from 'node:crypto';
import { createReadStream, statSync } from 'node:fs';
import { basename } from 'node:path';
import { Transform } from 'node:stream';
import { Upload } from '@aws-sdk/lib-storage';
import type { DeployedClients } from './clients';
import { awsCall } from './errors';
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

/** Part size of multipart uploads: big enough that typical samples go up in one PutObject. */
const PART_SIZE = 8 * 1024 * 1024;

/**
 * Streams a file into the ingest bucket (multipart above {@link PART_SIZE}, never read whole into
 * memory) and hashes it on the way. The upload's `Object Created` event starts the analysis.
 */
export async function uploadFile(
  clients: DeployedClients,
  stack: DeployedStack,
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
      Bucket: stack.ingestBucket,
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
  const done = await awsCall(callOn(clients, 's3:PutObject', `s3://${stack.ingestBucket}/${key}`), () => upload.done());
  progress(size, size);
  return {
    file,
    bucket: stack.ingestBucket,
    key,
    versionId: done.VersionId ?? null,
    ...(done.ETag ? { etag: done.ETag } : {}),
    size,
    sha256: hash.digest('hex'),
    startedAt,
  };
}
