import { createHash, randomUUID } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';

/** One object version as an inventory row lists it. */
export interface InventoryRow {
  key: string;
  versionId?: string;
  etag?: string;
  size?: number;
  lastModified: number;
  isLatest?: boolean;
  isDeleteMarker?: boolean;
}

/** The columns Sandtrap's inventory configuration asks for, in the order S3 writes them. */
export const INVENTORY_SCHEMA = [
  'Bucket',
  'Key',
  'VersionId',
  'IsLatest',
  'IsDeleteMarker',
  'Size',
  'LastModifiedDate',
  'ETag',
] as const;

/** URL-encodes a key as S3 Inventory does: form encoding, a space as `+`. */
export function inventoryKey(key: string): string {
  return encodeURIComponent(key).replace(/%20/g, '+');
}

/** A row as S3 Inventory writes it: every field quoted, a delete marker without size and ETag. */
export function csvRow(sourceBucket: string, row: InventoryRow): string {
  const fields = [
    sourceBucket,
    inventoryKey(row.key),
    row.versionId ?? '',
    String(row.isLatest ?? true),
    String(row.isDeleteMarker ?? false),
    row.isDeleteMarker ? '' : String(row.size ?? 1),
    new Date(row.lastModified).toISOString(),
    row.isDeleteMarker ? '' : (row.etag ?? `etag-${row.key}`),
  ];
  return `${fields.map((f) => `"${f.replace(/"/g, '""')}"`).join(',')}\n`;
}

/** A data file's rows; raw bytes for a broken file; rows the manifest gives another MD5 (a file altered after delivery). */
export type InventoryFile = InventoryRow[] | Uint8Array | { rows: InventoryRow[]; md5: string };

/** Where an inventory delivery went. */
export interface Delivery {
  /** `<destination prefix>/<source bucket>/<config id>/`: what the sweep is configured with. */
  prefix: string;
  manifestKey: string;
  dataKeys: string[];
}

/**
 * Delivers an inventory of `sourceBucket` into `bucket` as S3 Inventory does
 * (https://docs.aws.amazon.com/AmazonS3/latest/userguide/storage-inventory-location.html): gzipped CSV
 * data files under `data/`, then `manifest.json` and `manifest.checksum` in a folder named after the
 * scan's start, and the Hive symlink. `files` are the data files' rows, or raw bytes for a broken file;
 * `manifest` overrides fields of the manifest.
 */
export async function deliverInventory(
  s3: S3Client,
  options: {
    bucket: string;
    destinationPrefix: string;
    sourceBucket: string;
    configId?: string;
    scanStart: number;
    files: InventoryFile[];
    manifest?: Record<string, unknown>;
  },
): Promise<Delivery> {
  const prefix = `${options.destinationPrefix}/${options.sourceBucket}/${options.configId ?? 'daily'}/`;
  const files: { key: string; size: number; MD5checksum: string }[] = [];
  for (const file of options.files) {
    const rows = Array.isArray(file) ? file : file instanceof Uint8Array ? undefined : file.rows;
    const body = rows ? gzipSync(rows.map((row) => csvRow(options.sourceBucket, row)).join('')) : (file as Uint8Array);
    const key = `${prefix}data/${randomUUID()}.csv.gz`;
    await s3.send(new PutObjectCommand({ Bucket: options.bucket, Key: key, Body: body }));
    const md5 = 'md5' in file ? file.md5 : createHash('md5').update(body).digest('hex');
    files.push({ key, size: body.byteLength, MD5checksum: md5 });
  }
  const scan = new Date(options.scanStart).toISOString();
  const folder = `${scan.slice(0, 13)}-${scan.slice(14, 16)}Z`;
  const manifest = JSON.stringify({
    sourceBucket: options.sourceBucket,
    destinationBucket: `arn:aws:s3:::${options.bucket}`,
    version: '2016-11-30',
    creationTimestamp: String(options.scanStart),
    fileFormat: 'CSV',
    fileSchema: INVENTORY_SCHEMA.join(', '),
    files,
    ...options.manifest,
  });
  const manifestKey = `${prefix}${folder}/manifest.json`;
  const put = (Key: string, Body: string) => s3.send(new PutObjectCommand({ Bucket: options.bucket, Key, Body }));
  await put(manifestKey, manifest);
  await put(`${prefix}${folder}/manifest.checksum`, createHash('md5').update(manifest).digest('hex'));
  await put(
    `${prefix}hive/dt=${scan.slice(0, 10)}-${scan.slice(11, 13)}-${scan.slice(14, 16)}/symlink.txt`,
    files.map((f) => `s3://${options.bucket}/${f.key}`).join('\n'),
  );
  return { prefix, manifestKey, dataKeys: files.map((f) => f.key) };
}
