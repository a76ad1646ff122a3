import { ListObjectsV2Command, ListObjectVersionsCommand, type S3Client } from '@aws-sdk/client-s3';

/** One upload as a bucket listing shows it. */
export interface ListedUpload {
  key: string;
  /** The object version; `null` for an object written while the bucket kept no versions. */
  versionId: string | null;
  /** Without quotes, as S3 events carry it. */
  etag: string;
  size: number;
  /** Epoch milliseconds. */
  lastModified: number;
}

function listed(entry: {
  Key?: string;
  VersionId?: string;
  ETag?: string;
  Size?: number;
  LastModified?: Date;
}): ListedUpload | undefined {
  if (!entry.Key || !entry.LastModified) return undefined;
  return {
    key: entry.Key,
    // S3 lists an object written before versioning was enabled with the literal version id "null".
    versionId: entry.VersionId && entry.VersionId !== 'null' ? entry.VersionId : null,
    etag: (entry.ETag ?? '').replace(/"/g, ''),
    size: entry.Size ?? 0,
    lastModified: entry.LastModified.getTime(),
  };
}

/** What a store without versioning answers ListObjectVersions. */
const VERSIONS_UNSUPPORTED = new Set(['NotImplemented', 'MethodNotAllowed']);

async function* listVersions(s3: S3Client, bucket: string, prefix: string | undefined): AsyncGenerator<ListedUpload[]> {
  let keyMarker: string | undefined;
  let versionIdMarker: string | undefined;
  do {
    const page = await s3.send(
      new ListObjectVersionsCommand({
        Bucket: bucket,
        Prefix: prefix,
        KeyMarker: keyMarker,
        VersionIdMarker: versionIdMarker,
      }),
    );
    yield (page.Versions ?? []).map(listed).filter((u): u is ListedUpload => u !== undefined);
    keyMarker = page.IsTruncated ? page.NextKeyMarker : undefined;
    versionIdMarker = page.IsTruncated ? page.NextVersionIdMarker : undefined;
  } while (keyMarker);
}

async function* listCurrent(s3: S3Client, bucket: string, prefix: string | undefined): AsyncGenerator<ListedUpload[]> {
  let token: string | undefined;
  do {
    const page = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }));
    yield (page.Contents ?? []).map(listed).filter((u): u is ListedUpload => u !== undefined);
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
}

/**
 * Every upload under a prefix, a page (up to 1,000) at a time: every version, overwritten ones
 * included, since each version is an upload of its own; delete markers are not uploads. Stores that
 * implement no versioning at all refuse ListObjectVersions (s3rver answers `MethodNotAllowed`, other
 * S3-compatible servers `NotImplemented`): their current objects are all the uploads they keep.
 */
export async function* listUploads(s3: S3Client, bucket: string, prefix?: string): AsyncGenerator<ListedUpload[]> {
  let pages = 0;
  try {
    for await (const page of listVersions(s3, bucket, prefix)) {
      pages++;
      yield page;
    }
  } catch (error) {
    if (pages > 0 || !VERSIONS_UNSUPPORTED.has(String((error as { name?: unknown }).name))) throw error;
    yield* listCurrent(s3, bucket, prefix);
  }
}
