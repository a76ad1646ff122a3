import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { submissionKeys, uploadFile } from '../../deployed/submit';
import { fakeClients, fakeS3, type S3Request, STACK } from './fakes';

describe('uploading a file to the ingest bucket', () => {
  it('keys files under the prefix, numbering files that share a name', () => {
    expect(submissionKeys(['a/x.bin', 'b/x.bin', 'y.txt'], 'in/')).toEqual(['in/x.bin', 'in/2/x.bin', 'in/y.txt']);
  });

  it('streams the file up, hashing it on the way, and reports progress from 0 to its size', async () => {
    const objects = new Map<string, Buffer>();
    const requests: S3Request[] = [];
    const clients = { ...fakeClients({}), s3: fakeS3(objects, requests) };
    const progress: [number, number][] = [];
    const submission = await uploadFile(clients, STACK, 'package.json', 'in/package.json', (sent, total) =>
      progress.push([sent, total]),
    );
    const bytes = readFileSync('package.json');
    expect(submission).toMatchObject({
      file: 'package.json',
      bucket: 'ingest',
      key: 'in/package.json',
      versionId: 'v1',
      etag: '"etag-1"',
      size: bytes.length,
      sha256: createHash('sha256').update(bytes).digest('hex'),
    });
    expect(requests).toEqual([{ method: 'PUT', bucket: 'ingest', key: 'in/package.json', bytes: bytes.length }]);
    expect(objects.get('ingest/in/package.json')).toEqual(bytes);
    expect(progress[0]).toEqual([0, bytes.length]);
    expect(progress.at(-1)).toEqual([bytes.length, bytes.length]);
  });
});
