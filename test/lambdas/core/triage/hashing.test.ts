import { describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { detectFileType } from '../../../../lambdas/core/triage/file-type';
import { digestStream } from '../../../../lambdas/core/triage/hashing';

describe('digestStream', () => {
  it('computes sha256, sha1, md5 and size in one pass over many chunks, keeping only the head', async () => {
    const data = Buffer.alloc(3 * 1024 * 1024 + 7, 'x');
    data.write('\x7fELF', 0, 'latin1');
    const chunks = [];
    for (let i = 0; i < data.length; i += 65_536) chunks.push(data.subarray(i, i + 65_536));
    const digest = await digestStream(Readable.from(chunks));
    for (const algorithm of ['sha256', 'sha1', 'md5'] as const) {
      expect(digest[algorithm]).toBe(createHash(algorithm).update(data).digest('hex'));
    }
    expect(digest.size).toBe(data.length);
    expect(digest.head.length).toBe(8192);
    expect((await detectFileType(digest.head)).type).toBe('elf');
  });
});
