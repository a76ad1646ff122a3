import { createHash } from 'node:crypto';
import { ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import * as z from 'zod';
import { ObjectCreatedEventSchema, type ObjectCreatedEvent } from '../lambdas/core/contracts/pipeline';
import type { ExecutionStarter } from '../lambdas/core/sweep/execution-starter';

/**
 * Backfill: analyses for objects that were in a bucket before Sandtrap was attached to it (no
 * upload event ever named them). Listed a page at a time, started at a bounded rate, resumable.
 */

/** Keys a ListObjectsV2 page returns at most. */
const PAGE_SIZE = 1000;

/** Where a backfill stands: what a later run resumes from. Kept in a file by the CLI. */
export const BackfillCursorSchema = z.object({
  bucket: z.string().min(1),
  prefix: z.string(),
  /** The last key whose analysis was started (or found started): listing resumes after it. */
  after: z.string().optional(),
  listed: z.number().int().nonnegative(),
  started: z.number().int().nonnegative(),
  /** Objects whose execution name was already used: started by an earlier run. */
  existing: z.number().int().nonnegative(),
  /** Directory markers (keys ending in `/`), which are not files. */
  skipped: z.number().int().nonnegative(),
  done: z.boolean(),
});
export type BackfillCursor = z.infer<typeof BackfillCursorSchema>;

export interface BackfillDeps {
  s3: S3Client;
  executions: ExecutionStarter;
  now(): number;
  sleep(ms: number): Promise<void>;
  /** Called after each object and each page, with where the backfill stands (write it down to resume). */
  progress?(cursor: BackfillCursor): void | Promise<void>;
  /** Stops the run after the object in hand (Ctrl-C): the cursor says where to resume. */
  signal?: AbortSignal;
}

export interface BackfillOptions {
  bucket: string;
  prefix: string;
  /** Analyses started per second at most. */
  ratePerSecond: number;
  /** Objects to start at most in this run (the cursor resumes after them). */
  maxObjects?: number;
  /** Where an earlier run of the same bucket and prefix stopped. */
  resume?: BackfillCursor;
}

/** Raised when a cursor belongs to another bucket or prefix. */
export class BackfillCursorMismatchError extends Error {
  constructor(cursor: BackfillCursor, options: BackfillOptions) {
    super(
      `the saved backfill is of s3://${cursor.bucket}/${cursor.prefix}, not s3://${options.bucket}/${options.prefix}: use another --state file`,
    );
    this.name = 'BackfillCursorMismatchError';
  }
}

/**
 * The execution name of an object's backfill: the same object (bucket, key, ETag) always gets the
 * same name, so Step Functions starts it once however often the backfill runs (names stay taken for
 * 90 days after an execution ends); a changed object gets a new name. Names are at most 80 characters.
 */
export function backfillExecutionName(bucket: string, key: string, etag: string): string {
  return `backfill-${createHash('sha256').update(`${bucket}\n${key}\n${etag}`).digest('hex').slice(0, 40)}`;
}

/**
 * The `Object Created` event EventBridge would have sent for the object. A listing names no version,
 * so the pipeline records the upload under its ETag, as for an unversioned bucket.
 */
export function backfillEvent(
  bucket: string,
  object: { key: string; size: number; etag: string; lastModified: Date },
): ObjectCreatedEvent {
  return ObjectCreatedEventSchema.parse({
    'detail-type': 'Object Created',
    source: 'aws.s3',
    time: object.lastModified.toISOString().replace(/\.\d{3}Z$/, 'Z'),
    detail: {
      bucket: { name: bucket },
      object: { key: object.key, size: object.size, etag: object.etag },
      reason: 'Backfill',
    },
  });
}

/**
 * Starts one analysis per object under the prefix that has none yet, in key order, at most
 * `ratePerSecond` a second (a backfill of a full bucket must not starve the uploads arriving
 * meanwhile, nor exceed Step Functions' StartExecution quota), and returns where it stopped.
 */
export async function backfill(deps: BackfillDeps, options: BackfillOptions): Promise<BackfillCursor> {
  if (options.resume && (options.resume.bucket !== options.bucket || options.resume.prefix !== options.prefix))
    throw new BackfillCursorMismatchError(options.resume, options);
  const cursor: BackfillCursor = options.resume
    ? { ...options.resume, done: false }
    : { bucket: options.bucket, prefix: options.prefix, listed: 0, started: 0, existing: 0, skipped: 0, done: false };
  const interval = 1000 / options.ratePerSecond;
  let nextStartAt = deps.now();
  let startedThisRun = 0;
  let token: string | undefined;
  do {
    const page = await deps.s3.send(
      new ListObjectsV2Command({
        Bucket: options.bucket,
        Prefix: options.prefix,
        MaxKeys: PAGE_SIZE,
        ...(token ? { ContinuationToken: token } : cursor.after ? { StartAfter: cursor.after } : {}),
      }),
    );
    for (const object of page.Contents ?? []) {
      if (deps.signal?.aborted || (options.maxObjects !== undefined && startedThisRun >= options.maxObjects))
        return cursor;
      if (!object.Key) continue;
      cursor.listed++;
      if (object.Key.endsWith('/')) {
        cursor.skipped++;
      } else {
        const wait = nextStartAt - deps.now();
        if (wait > 0) await deps.sleep(wait);
        nextStartAt = Math.max(nextStartAt, deps.now()) + interval;
        const etag = (object.ETag ?? '').replace(/"/g, '');
        const event = backfillEvent(options.bucket, {
          key: object.Key,
          size: object.Size ?? 0,
          etag,
          lastModified: object.LastModified ?? new Date(deps.now()),
        });
        const outcome = await deps.executions.startExecution(
          backfillExecutionName(options.bucket, object.Key, etag),
          event,
        );
        if (outcome === 'started') {
          cursor.started++;
          startedThisRun++;
        } else cursor.existing++;
      }
      cursor.after = object.Key;
      await deps.progress?.(cursor);
    }
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
  cursor.done = true;
  await deps.progress?.(cursor);
  return cursor;
}
