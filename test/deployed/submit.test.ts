import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { DeployedStack } from '../../deployed/stack';
import { submissionKeys, uploadFile, uploadTargetOf } from '../../deployed/submit';
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
    const submission = await uploadFile(
      clients,
      STACK.ingestBucket as string,
      'package.json',
      'in/package.json',
      (sent, total) => progress.push([sent, total]),
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

describe('where submit uploads', () => {
  const sourcesOnly: DeployedStack = {
    ...STACK,
    ingestBucket: undefined,
    sources: [
      { bucket: 'team-uploads', prefixes: ['incoming/', 'mail/'] },
      { bucket: 'build-artefacts', prefixes: [''] },
    ],
  } as DeployedStack;

  it('uses the ingest bucket by default, under any prefix', () => {
    expect(uploadTargetOf(STACK, { prefix: '' })).toEqual({ bucket: 'ingest', prefix: '' });
    expect(uploadTargetOf(STACK, { prefix: 'web/' })).toEqual({ bucket: 'ingest', prefix: 'web/' });
  });

  it("without an ingest bucket, uses the first source under its first prefix, or a prefix within the source's", () => {
    expect(uploadTargetOf(sourcesOnly, { prefix: '' })).toEqual({ bucket: 'team-uploads', prefix: 'incoming/' });
    expect(uploadTargetOf(sourcesOnly, { prefix: 'mail/2026/' })).toEqual({
      bucket: 'team-uploads',
      prefix: 'mail/2026/',
    });
    expect(uploadTargetOf(sourcesOnly, { bucket: 'build-artefacts', prefix: 'x/' })).toEqual({
      bucket: 'build-artefacts',
      prefix: 'x/',
    });
  });

  it('refuses a bucket the stack does not analyse, and a prefix outside the source, naming what it does analyse', () => {
    expect(() => uploadTargetOf(sourcesOnly, { bucket: 'elsewhere', prefix: '' })).toThrow(
      'stack Sandtrap does not analyse bucket elsewhere: give one of team-uploads, build-artefacts',
    );
    expect(() => uploadTargetOf(sourcesOnly, { prefix: 'web/' })).toThrow(
      'stack Sandtrap analyses only s3://team-uploads/incoming/, s3://team-uploads/mail/: prefix web/ is outside them',
    );
  });
});
