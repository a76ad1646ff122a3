import { describe, expect, it } from 'vitest';
import { listUploads, type ListedUpload } from '../../../../lambdas/core/sweep/upload-listing';
import { fakeListing } from './fake-listing';

async function all(pages: AsyncGenerator<ListedUpload[]>): Promise<ListedUpload[][]> {
  const seen: ListedUpload[][] = [];
  for await (const page of pages) seen.push(page);
  return seen;
}

describe('listUploads', () => {
  const versions = [
    { key: 'in/a', versionId: 'a2', etag: 'e-a2', size: 3, lastModified: 2000 },
    { key: 'in/a', versionId: 'a1', etag: 'e-a1', size: 2, lastModified: 1000 },
    { key: 'in/b', etag: 'e-b', size: 5, lastModified: 3000 },
    { key: 'out/c', versionId: 'c1', lastModified: 4000 },
  ];

  it('lists every version under the prefix, page by page, with the version id "null" read as none and ETags unquoted', async () => {
    const { s3, calls } = fakeListing(versions, { pageSize: 2 });
    const pages = await all(listUploads(s3, 'bucket', 'in/'));
    expect(pages).toEqual([
      [
        { key: 'in/a', versionId: 'a2', etag: 'e-a2', size: 3, lastModified: 2000 },
        { key: 'in/a', versionId: 'a1', etag: 'e-a1', size: 2, lastModified: 1000 },
      ],
      [{ key: 'in/b', versionId: null, etag: 'e-b', size: 5, lastModified: 3000 }],
    ]);
    expect(calls.map((c) => [c.command, c.input.KeyMarker, c.input.VersionIdMarker])).toEqual([
      ['ListObjectVersionsCommand', undefined, undefined],
      ['ListObjectVersionsCommand', 'in/a', 'a1'],
    ]);
  });

  it('lists the whole bucket without a prefix', async () => {
    const { s3 } = fakeListing(versions);
    expect((await all(listUploads(s3, 'bucket'))).flat().map((u) => u.key)).toEqual(['in/a', 'in/a', 'in/b', 'out/c']);
  });

  it('lists current objects where the store keeps no versions', async () => {
    const { s3, calls } = fakeListing(versions, { versioning: false, pageSize: 3 });
    const pages = await all(listUploads(s3, 'bucket'));
    expect(pages.map((p) => p.length)).toEqual([3, 1]);
    expect(pages.flat().every((u) => u.versionId === null)).toBe(true);
    expect(calls.map((c) => c.command)).toEqual([
      'ListObjectVersionsCommand',
      'ListObjectsV2Command',
      'ListObjectsV2Command',
    ]);
  });

  it('fails, rather than list twice, when versions stop being listable after the first page', async () => {
    const { s3 } = fakeListing(versions, { pageSize: 2, failVersionsAfterPage: 1 });
    await expect(all(listUploads(s3, 'bucket'))).rejects.toMatchObject({ name: 'NotImplemented' });
  });

  it('passes other errors on', async () => {
    const denied = { send: () => Promise.reject(Object.assign(new Error('denied'), { name: 'AccessDenied' })) };
    await expect(all(listUploads(denied as never, 'bucket'))).rejects.toMatchObject({ name: 'AccessDenied' });
  });

  it('yields one empty page for an empty bucket', async () => {
    const { s3 } = fakeListing([]);
    expect(await all(listUploads(s3, 'bucket'))).toEqual([[]]);
  });
});
