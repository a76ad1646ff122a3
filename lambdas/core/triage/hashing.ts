import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';

/** Hashes, size and leading bytes of a stream, computed in one pass without buffering the whole body. */
export interface StreamDigest {
  sha256: string;
  sha1: string;
  md5: string;
  size: number;
  /** The first `headBytes` bytes, for file-type detection. */
  head: Buffer;
}

/** Reads a stream to its end, hashing as it goes; memory stays at one chunk plus `headBytes`. */
export async function digestStream(
  body: Readable | AsyncIterable<Uint8Array>,
  headBytes = 8192,
): Promise<StreamDigest> {
  const sha256 = createHash('sha256');
  const sha1 = createHash('sha1');
  const md5 = createHash('md5');
  const headChunks: Buffer[] = [];
  let headLength = 0;
  let size = 0;
  for await (const chunk of body) {
    const buffer = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk);
    sha256.update(buffer);
    sha1.update(buffer);
    md5.update(buffer);
    size += buffer.length;
    if (headLength < headBytes) {
      const slice = buffer.subarray(0, headBytes - headLength);
      headChunks.push(slice);
      headLength += slice.length;
    }
  }
  return {
    sha256: sha256.digest('hex'),
    sha1: sha1.digest('hex'),
    md5: md5.digest('hex'),
    size,
    head: Buffer.concat(headChunks, headLength),
  };
}
