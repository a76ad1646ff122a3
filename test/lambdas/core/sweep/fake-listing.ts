import { type ListObjectsV2Command, ListObjectVersionsCommand, type S3Client } from '@aws-sdk/client-s3';

/** One object version as a fake bucket holds it. */
export interface FakeVersion {
  key: string;
  versionId?: string;
  etag?: string;
  size?: number;
  lastModified: number;
}

/**
 * An S3 client that answers only the two listing calls, from a list the test controls: the sweep
 * decides by LastModified, which a real store sets to the wall clock and a test needs to choose.
 * `pageSize` pages the answers as S3 does (markers, IsTruncated); `versioning: false` refuses
 * ListObjectVersions as s3rver does.
 */
export function fakeListing(
  versions: FakeVersion[],
  options: { pageSize?: number; versioning?: boolean; failVersionsAfterPage?: number } = {},
) {
  const pageSize = options.pageSize ?? 1000;
  const calls: { command: string; input: Record<string, unknown> }[] = [];
  const client = {
    async send(command: ListObjectVersionsCommand | ListObjectsV2Command) {
      calls.push({ command: command.constructor.name, input: { ...command.input } });
      if (command instanceof ListObjectVersionsCommand) {
        if (options.versioning === false)
          throw Object.assign(new Error('versions not implemented'), { name: 'MethodNotAllowed' });
        const { KeyMarker, VersionIdMarker, Prefix } = command.input;
        const listed = versions.filter((v) => !Prefix || v.key.startsWith(Prefix));
        const start = KeyMarker
          ? listed.findIndex((v) => v.key === KeyMarker && (v.versionId ?? 'null') === VersionIdMarker) + 1
          : 0;
        if (options.failVersionsAfterPage !== undefined && start >= options.failVersionsAfterPage * pageSize)
          throw Object.assign(new Error('not implemented after all'), { name: 'NotImplemented' });
        const page = listed.slice(start, start + pageSize);
        const last = page.at(-1);
        const truncated = start + pageSize < listed.length;
        return {
          Versions: page.map((v) => ({
            Key: v.key,
            VersionId: v.versionId ?? 'null',
            ETag: `"${v.etag ?? `etag-${v.key}`}"`,
            Size: v.size ?? 1,
            LastModified: new Date(v.lastModified),
          })),
          IsTruncated: truncated,
          ...(truncated && last ? { NextKeyMarker: last.key, NextVersionIdMarker: last.versionId ?? 'null' } : {}),
        };
      }
      const { ContinuationToken, Prefix } = command.input;
      const listed = versions.filter((v) => !Prefix || v.key.startsWith(Prefix));
      const start = ContinuationToken ? Number(ContinuationToken) : 0;
      const truncated = start + pageSize < listed.length;
      return {
        Contents: listed.slice(start, start + pageSize).map((v) => ({
          Key: v.key,
          ETag: `"${v.etag ?? `etag-${v.key}`}"`,
          Size: v.size ?? 1,
          LastModified: new Date(v.lastModified),
        })),
        IsTruncated: truncated,
        ...(truncated ? { NextContinuationToken: String(start + pageSize) } : {}),
      };
    },
  };
  return { s3: client as unknown as S3Client, calls };
}
