import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { GetObjectCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import * as z from 'zod';
import type { Log } from '../runtime/deps';
import { parse } from 'csv-parse';
import { pipeline } from 'node:stream';

/*
 * S3 Inventory as AWS delivers it (https://docs.aws.amazon.com/AmazonS3/latest/userguide/storage-inventory-location.html):
 * every day, under `<destination prefix>/<source bucket>/<config id>/`, a folder named after the time
 * the scan started (`2016-11-06T21-32Z/`) receives `manifest.json` and `manifest.checksum` (the MD5 of
 * the manifest); the manifest names the source bucket, the format, the columns (`fileSchema`) and
 * the gzipped CSV data files (`files[]`: key, size, MD5checksum). The lists' fields
 * (https://docs.aws.amazon.com/AmazonS3/latest/userguide/storage-inventory.html): every CSV field
 * quoted, no header row, the key URL-encoded, LastModifiedDate in ISO 8601, the version id empty for
 * an object written while versioning was off, a delete marker with `IsDeleteMarker` true.
 */

/** Where an inventory configuration delivers: its bucket and `<destination prefix>/<source bucket>/<config id>/`. */
export interface InventoryLocation {
  bucket: string;
  prefix: string;
}

/** The manifest's fields the sweep relies on; anything else in it is ignored. */
export const InventoryManifestSchema = z.object({
  sourceBucket: z.string().min(3).max(63),
  destinationBucket: z.string().min(1),
  version: z.string().min(1),
  creationTimestamp: z.string().regex(/^\d+$/, 'epoch milliseconds'),
  fileFormat: z.literal('CSV'),
  fileSchema: z
    .string()
    .min(1)
    .transform((schema) => schema.split(',').map((column) => column.trim()))
    .refine((columns) => ['Bucket', 'Key', 'Size', 'LastModifiedDate', 'ETag'].every((c) => columns.includes(c)), {
      message: 'must name the columns Bucket, Key, Size, LastModifiedDate and ETag',
    }),
  files: z.array(
    z.object({
      key: z.string().min(1),
      size: z.number().int().nonnegative(),
      MD5checksum: z.string().regex(/^[0-9a-f]{32}$/i, 'an MD5 hex digest'),
    }),
  ),
});
export type InventoryManifest = z.infer<typeof InventoryManifestSchema>;

/** A manifest that cannot be used: not JSON, not of the documented shape, or of another bucket. */
export class InventoryManifestError extends Error {
  override readonly name = 'InventoryManifestError';
  constructor(
    readonly manifestKey: string,
    reason: string,
  ) {
    super(`inventory manifest ${manifestKey} refused: ${reason}`);
  }
}

/** One object version as an inventory lists it. */
export interface InventoriedObject {
  key: string;
  /** `null` for an object written while the bucket kept no versions. */
  versionId: string | null;
  /** Without quotes, as S3 events carry it. */
  etag: string;
  size: number;
  /** Epoch milliseconds. */
  lastModified: number;
}

/** The newest complete inventory: its manifest and where it is. */
export interface Inventory {
  manifestKey: string;
  manifest: InventoryManifest;
}

const FOLDER = /^(\d{4}-\d{2}-\d{2}T\d{2}-\d{2}Z)\/$/;
/** Newest folders looked into for a manifest: a delivery still being written has none yet. */
const FOLDERS_TRIED = 3;

function errorName(error: unknown): string {
  return String((error as { name?: unknown })?.name);
}

async function readText(s3: S3Client, bucket: string, key: string): Promise<string | undefined> {
  try {
    const object = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    return (await object.Body?.transformToString('utf8')) ?? '';
  } catch (error) {
    if (errorName(error) === 'NoSuchKey' || errorName(error) === 'NotFound') return undefined;
    throw error;
  }
}

/** The delivery folders under the location, newest first (a listing of the inventory bucket, never of the ingest bucket). */
async function deliveryFolders(s3: S3Client, location: InventoryLocation): Promise<string[]> {
  const folders: string[] = [];
  let token: string | undefined;
  do {
    const page = await s3.send(
      new ListObjectsV2Command({
        Bucket: location.bucket,
        Prefix: location.prefix,
        Delimiter: '/',
        ContinuationToken: token,
      }),
    );
    for (const common of page.CommonPrefixes ?? []) {
      const folder = common.Prefix?.slice(location.prefix.length);
      if (folder && FOLDER.test(folder)) folders.push(folder);
    }
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
  // The folder names are UTC times of one width: their order is the order of time.
  return folders.sort().reverse();
}

/**
 * The newest inventory of `sourceBucket` at the location, or `undefined` when none has been delivered
 * yet (a new stack: S3 delivers the first one within 48 hours) or the bucket does not exist (the local
 * runtime). A manifest that does not fit the documented format is refused with an
 * {@link InventoryManifestError}: the sweep then goes on without an inventory.
 */
export async function newestInventory(
  s3: S3Client,
  location: InventoryLocation,
  sourceBucket: string,
): Promise<Inventory | undefined> {
  let folders: string[];
  try {
    folders = await deliveryFolders(s3, location);
  } catch (error) {
    if (errorName(error) === 'NoSuchBucket') return undefined;
    throw error;
  }
  for (const folder of folders.slice(0, FOLDERS_TRIED)) {
    const manifestKey = `${location.prefix}${folder}manifest.json`;
    const text = await readText(s3, location.bucket, manifestKey);
    if (text === undefined) continue;
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      throw new InventoryManifestError(manifestKey, 'not JSON');
    }
    const parsed = InventoryManifestSchema.safeParse(json);
    if (!parsed.success)
      throw new InventoryManifestError(manifestKey, z.prettifyError(parsed.error).replace(/\n/g, '; '));
    if (parsed.data.sourceBucket !== sourceBucket)
      throw new InventoryManifestError(manifestKey, `it lists ${parsed.data.sourceBucket}, not ${sourceBucket}`);
    return { manifestKey, manifest: parsed.data };
  }
  return undefined;
}

/** Inventory keys are URL-encoded, spaces as `+` (a literal `+` is `%2B`). */
function decodeKey(encoded: string): string {
  return decodeURIComponent(encoded.replace(/\+/g, ' '));
}

/** One CSV row as an object version, or `undefined` for delete markers and rows that do not fit the schema. */
function objectOf(row: string[], column: (name: string) => number): InventoriedObject | undefined {
  const at = (name: string) => {
    const index = column(name);
    return index < 0 ? undefined : row[index];
  };
  if (at('IsDeleteMarker') === 'true') return undefined;
  const key = at('Key');
  const lastModified = Date.parse(at('LastModifiedDate') ?? '');
  const size = Number(at('Size'));
  if (!key || Number.isNaN(lastModified) || !Number.isInteger(size) || size < 0) return undefined;
  const versionId = at('VersionId');
  return {
    key: decodeKey(key),
    versionId: versionId && versionId !== 'null' ? versionId : null,
    etag: (at('ETag') ?? '').replace(/"/g, ''),
    size,
    lastModified,
  };
}

/**
 * The objects of an inventory that `keep` accepts, one data file at a time. A data file that cannot be
 * read (gone, not gzip, not CSV, a row of the wrong width, an MD5 other than the manifest's) is logged
 * and skipped, and its objects are not returned: one bad file never stops the sweep, and nothing from
 * a file that does not check out is acted on.
 */
export async function* inventoriedObjects(
  s3: S3Client,
  inventory: Inventory,
  inventoryBucket: string,
  keep: (object: InventoriedObject) => boolean,
  log: Log,
): AsyncGenerator<{ objects: InventoriedObject[]; rows: number }> {
  const columns = inventory.manifest.fileSchema;
  const column = (name: string) => columns.indexOf(name);
  for (const file of inventory.manifest.files) {
    try {
      const object = await s3.send(new GetObjectCommand({ Bucket: inventoryBucket, Key: file.key }));
      const body = object.Body as Readable | undefined;
      if (!body) throw new Error('no body');
      const md5 = createHash('md5');
      body.on('data', (chunk: Buffer) => md5.update(chunk));
      // csv-parse reads RFC 4180 as S3 Inventory writes it (every field quoted, no header); the
      // column count is checked here, against the manifest's schema, to name the row that breaks it.
      // pipeline() destroys every stage with the first error (a body that is not gzip, a broken
      // quote), so the loop below throws it; the callback only keeps it from being unhandled.
      const records = pipeline(body, createGunzip(), parse({ relax_column_count: true }), () => undefined);
      const kept: InventoriedObject[] = [];
      let rows = 0;
      for await (const record of records as AsyncIterable<string[]>) {
        rows++;
        if (record.length !== columns.length)
          throw new Error(`row ${rows} has ${record.length} fields, the manifest's schema ${columns.length}`);
        const listed = objectOf(record, column);
        if (listed && keep(listed)) kept.push(listed);
      }
      const digest = md5.digest('hex');
      if (digest !== file.MD5checksum.toLowerCase())
        throw new Error(`MD5 ${digest} is not the manifest's ${file.MD5checksum}`);
      yield { objects: kept, rows };
    } catch (error) {
      log.error('inventory data file skipped: it cannot be read as the manifest describes it', {
        manifest: inventory.manifestKey,
        file: file.key,
        error: error instanceof Error ? `${error.name}: ${error.message}` : String(error),
      });
    }
  }
}
