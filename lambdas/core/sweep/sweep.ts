import { createHash } from 'node:crypto';
import type { S3Client } from '@aws-sdk/client-s3';
import type { Clock } from '../contracts/clock';
import { executionTimeoutSeconds, type RuntimeSettings } from '../config/runtime-config';
import type { Log } from '../runtime/deps';
import type { ExecutionStarter } from './execution-starter';
import { ObjectCreatedEventSchema, uploadIdOf, type ObjectCreatedEvent } from '../contracts/pipeline';
import {
  isTerminalRecord,
  objectRecordKey,
  uploadIndexPartitions,
  type ObjectVersion,
  type VerdictStore,
} from '../store/verdict-store';
import type { SweepConfig } from './sweep-config';
import {
  type InventoriedObject,
  type Inventory,
  type InventoryLocation,
  inventoriedObjects,
  newestInventory,
} from './inventory';

/**
 * Margin on a claim's staleness for the clocks of different hosts: the sweep must never call a claim
 * stale that Triage, a moment later, would not take over.
 */
const CLOCK_SKEW_MS = 60_000;

/** What one sweep looks at and how much it may do. Durations in milliseconds. */
export interface SweepOptions {
  /** The ingest bucket, whose inventory is read; absent when there is none. */
  bucket?: string;
  /** Only keys under this prefix start analyses, so only they are swept. */
  prefix?: string;
  /**
   * Every source bucket with its prefixes (`''`: every key): the unfinished uploads re-driven are
   * theirs. @default the ingest bucket under `prefix`
   */
  sources?: readonly { bucket: string; prefixes: readonly string[] }[];
  /** Where the ingest bucket's S3 Inventory is delivered; without it, lost events are not looked for. */
  inventory?: InventoryLocation;
  /** An upload without any record this long after it was written lost its event. */
  deadlineMs: number;
  /** Uploads written longer ago than this are not looked at. */
  lookbackMs: number;
  /** A claim older than this was left by an execution that has ended (the state machine's timeout). */
  claimStaleAfterMs: number;
  /** Executions started by one run at most. */
  maxRedrives: number;
  /** Re-drives of one upload at most. */
  maxAttempts: number;
}

/** What the sweep works with: S3 to read the inventory, the verdict store to query and check, executions to start. */
export interface SweepDeps {
  s3: S3Client;
  store: VerdictStore;
  clock: Clock;
  log: Log;
  executions: ExecutionStarter;
}

/** What one sweep found and did. */
export interface SweepSummary {
  /** Unfinished uploads the time index holds for the window (claims in flight or left by dead executions). */
  indexed: number;
  /** Rows of the newest inventory read, every version under every key. */
  inventoried: number;
  /** The manifest of the inventory read; `null` when there is none yet, or it was refused (logged). */
  inventory: string | null;
  /** Uploads written between the lookback and the deadline, under the prefix, and checked. */
  candidates: number;
  /** Executions started. */
  redriven: number;
  /** Candidates with a terminal record: a verdict or a failure. */
  skippedTerminal: number;
  /** Candidates claimed by an execution that may still be running. */
  inFlight: number;
  /** Candidates whose re-drive an earlier run started and which it has not claimed yet, or ended without a record. */
  alreadyRedriven: number;
  /** Candidates left to an operator: their re-driven executions keep dying (after `maxAttempts`), or nothing says how to re-drive them. */
  abandoned: number;
  /** Whether the run stopped at `maxRedrives`, leaving uploads due for a re-drive to the next run. */
  capped: boolean;
}

/** Names of the environment's inventory location, as the sweep's configuration carries it. */
function inventoryOf(config: SweepConfig): InventoryLocation | undefined {
  return config.inventoryBucket && config.inventoryPrefix
    ? { bucket: config.inventoryBucket, prefix: config.inventoryPrefix }
    : undefined;
}

/** The sweep's options from its function's configuration and the pipeline's settings. */
export function sweepOptionsOf(
  config: SweepConfig,
  settings: Pick<RuntimeSettings, 'engineDeadlineSeconds'>,
): SweepOptions {
  const inventory = inventoryOf(config);
  return {
    ...(config.ingestBucket ? { bucket: config.ingestBucket } : {}),
    ...(config.ingestPrefix ? { prefix: config.ingestPrefix } : {}),
    ...(config.sources ? { sources: config.sources } : {}),
    ...(inventory ? { inventory } : {}),
    deadlineMs: config.deadlineMinutes * 60_000,
    lookbackMs: config.lookbackDays * 24 * 3_600_000,
    // The staleness Triage applies when it claims, so that a re-driven execution takes the claim over.
    claimStaleAfterMs: executionTimeoutSeconds(settings) * 1000,
    maxRedrives: config.maxRedrivesPerRun,
    maxAttempts: config.maxAttempts,
  };
}

/** Names an upload in execution names: 32 hex digits of the sha256 of bucket, key and upload id. */
function uploadHash(upload: ObjectVersion): string {
  return createHash('sha256').update(`${upload.bucket}\n${upload.key}\n${upload.uploadId}`).digest('hex').slice(0, 32);
}

/** The execution that re-drives an upload for the `attempt`-th time (Step Functions names: 80 characters at most). */
export function redriveExecutionName(upload: ObjectVersion, attempt: number): string {
  return `redrive-${uploadHash(upload)}-${attempt}`;
}

/** Which re-drive of the upload an execution (its id or name) was; 0 for one the sweep did not start. */
function redriveAttemptOf(owner: unknown, upload: ObjectVersion): number {
  const name = typeof owner === 'string' ? owner.split(':').pop() : undefined;
  const match = name?.match(/^redrive-([0-9a-f]{32})-(\d+)$/);
  return match && match[1] === uploadHash(upload) ? Number(match[2]) : 0;
}

/** An inventoried version's identity as Triage derives it from its event: the version id, else the ETag. */
function uploadOf(bucket: string, object: InventoriedObject): ObjectVersion {
  return {
    bucket,
    key: object.key,
    uploadId: uploadIdOf({ 'version-id': object.versionId ?? undefined, etag: object.etag }),
  };
}

/**
 * The `Object Created` event EventBridge delivers for an inventoried version, as far as an inventory
 * can tell: no sequencer, so its upload id is the version id (or, without versioning, the ETag), as the sweep's.
 */
function objectCreatedEventOf(bucket: string, object: InventoriedObject): ObjectCreatedEvent {
  return ObjectCreatedEventSchema.parse({
    'detail-type': 'Object Created',
    source: 'aws.s3',
    time: new Date(object.lastModified).toISOString().replace(/\.\d{3}Z$/, 'Z'),
    detail: {
      bucket: { name: bucket },
      object: {
        key: object.key,
        size: object.size,
        etag: object.etag,
        ...(object.versionId ? { 'version-id': object.versionId } : {}),
      },
    },
  });
}

/** The event kept with a claim, when it is a valid event of this very upload. */
function claimedEventOf(record: Record<string, unknown>, upload: ObjectVersion): unknown {
  if (typeof record.event !== 'string') return undefined;
  try {
    const event: unknown = JSON.parse(record.event);
    const parsed = ObjectCreatedEventSchema.safeParse(event);
    if (!parsed.success || parsed.data.sandtrap?.reanalyze || uploadIdOf(parsed.data.detail.object) !== upload.uploadId)
      return undefined;
    return event;
  } catch {
    return undefined;
  }
}

/** One upload to check: from the time index (its claim keeps its event) or the inventory (which gives one). */
interface Candidate {
  upload: ObjectVersion;
  /** The event to re-drive with when the upload has no usable kept event. */
  inventoryEvent?: ObjectCreatedEvent;
}

/** Thrown inside a run once it has started `maxRedrives` executions. */
const CAPPED = Symbol('capped');

/**
 * Finds uploads that have no terminal record after the deadline and re-drives them: one execution of
 * the analysis state machine each, with the `Object Created` event the trigger rule delivered or
 * would have delivered. An upload is due when it was written between the lookback and the deadline and
 * - is claimed (`analyzing`) for longer than the state machine's timeout: the execution that claimed
 *   it is over without a record (a machine-level timeout, which no Catch sees, or an abort). Such
 *   uploads are found by Querying the time index of unfinished uploads, one partition per hour of the
 *   window and shard ({@link uploadIndexPartitions}): their claim is their index entry;
 * - or has no record at all: its S3 or EventBridge event was lost (or is still being retried by
 *   EventBridge; if it arrives after all, Triage finds the re-drive's claim and ends it as a duplicate).
 *   Nothing in the pipeline knows of such an upload: only the bucket's S3 Inventory, read from its
 *   newest manifest, shows it, a day late at most (an inventory is delivered daily).
 *
 * The ingest bucket is never listed: at millions of versions a listing costs more than the analyses.
 *
 * Takeover: a claim counts as stale here only when it is older than the staleness Triage applies
 * (the state machine's timeout, plus a margin for clock skew), so the re-driven execution's Triage
 * always takes the claim over, and a claim younger than that, whose execution may still be running,
 * is left alone. The re-drive carries the event kept with the claim (else one built from the
 * inventory; an indexed claim whose kept event is unusable is left to an operator, counted abandoned).
 *
 * Idempotence: each re-drive is named after the upload and its attempt (`redrive-<hash>-<n>`, where
 * n follows the claim's owner), so two runs that see the same upload start one execution; a name
 * used before starts nothing. A re-driven execution that dies too leaves its own stale claim, which
 * the next attempt takes over, up to `maxAttempts`.
 *
 * Inventoried uploads are named by version id (every version is listed), which events and inventories
 * share on a versioned bucket such as Sandtrap's ingest bucket. Without versioning an event names its
 * upload by S3's sequencer, which no inventory shows: the sweep can only name it by ETag, and
 * re-drives such an upload once even when it was analysed.
 */
export async function sweepUploads(deps: SweepDeps, options: SweepOptions): Promise<SweepSummary> {
  const now = deps.clock.now();
  const writtenBefore = now - options.deadlineMs;
  const writtenSince = now - options.lookbackMs;
  const claimedBefore = now - options.claimStaleAfterMs - CLOCK_SKEW_MS;
  const summary: SweepSummary = {
    indexed: 0,
    inventoried: 0,
    inventory: null,
    candidates: 0,
    redriven: 0,
    skippedTerminal: 0,
    inFlight: 0,
    alreadyRedriven: 0,
    abandoned: 0,
    capped: false,
  };
  /**
   * Indexed uploads checked this run (by record key), which the inventory passes over: an upload both
   * sources show is checked once. Only the index's are kept (unfinished uploads, few), never the
   * inventory's (every upload of the window): an inventory lists each version once.
   */
  const checked = new Set<string>();
  /** Indexed uploads whose claim keeps no usable event, by record key: abandoned unless the inventory shows them. */
  const unusable = new Map<string, Record<string, unknown>>();
  const inWindow = (writtenAt: number) => writtenAt < writtenBefore && writtenAt >= writtenSince;
  const underPrefix = (key: string) => !options.prefix || key.startsWith(options.prefix);
  const sources =
    options.sources ?? (options.bucket ? [{ bucket: options.bucket, prefixes: [options.prefix ?? ''] }] : []);
  /** Whether an indexed upload is one of a source's: the table may hold records of buckets detached since. */
  const watched = (upload: { bucket: string; key: string }) =>
    sources.some((s) => s.bucket === upload.bucket && s.prefixes.some((p) => upload.key.startsWith(p)));

  async function check(candidates: Candidate[]): Promise<void> {
    const fresh = candidates.filter((c) => !checked.has(objectRecordKey(c.upload).pk));
    if (fresh.length === 0) return;
    const records = await deps.store.getObjectRecords(fresh.map((c) => c.upload));
    for (const candidate of fresh) {
      const { upload } = candidate;
      const pk = objectRecordKey(upload).pk;
      if (!candidate.inventoryEvent) checked.add(pk);
      const record = records.get(pk);
      // Indexed a moment ago but gone now: nothing to re-drive from.
      if (!record && !candidate.inventoryEvent) continue;
      if (isTerminalRecord(record)) {
        summary.candidates++;
        summary.skippedTerminal++;
        continue;
      }
      if (record && !(Number(record.claimedAt) < claimedBefore)) {
        summary.candidates++;
        summary.inFlight++;
        continue;
      }
      const attempt = (record ? redriveAttemptOf(record.owner, upload) : 0) + 1;
      const log = {
        bucket: upload.bucket,
        key: upload.key,
        uploadId: upload.uploadId,
        cause: record ? 'stale claim' : 'no record',
      };
      if (attempt > options.maxAttempts) {
        summary.candidates++;
        summary.abandoned++;
        deps.log.error('upload abandoned: its re-driven executions keep ending without a record', {
          ...log,
          attempts: attempt - 1,
          owner: record?.owner,
        });
        continue;
      }
      const input = (record && claimedEventOf(record, upload)) ?? candidate.inventoryEvent;
      if (!input) {
        // The inventory may show it and give its event: decided once the inventory is read.
        checked.delete(pk);
        unusable.set(pk, { ...log, owner: record?.owner });
        continue;
      }
      unusable.delete(pk);
      if (summary.redriven >= options.maxRedrives) {
        summary.capped = true;
        throw CAPPED;
      }
      summary.candidates++;
      const name = redriveExecutionName(upload, attempt);
      const outcome = await deps.executions.startExecution(name, input);
      if (outcome === 'started') {
        summary.redriven++;
        deps.log.info('upload re-driven', { ...log, execution: name });
      } else {
        summary.alreadyRedriven++;
        deps.log.warn('upload re-driven before: its execution has not claimed it yet, or ended without a record', {
          ...log,
          execution: name,
        });
      }
    }
  }

  try {
    // Claims first: they are fresh, where the inventory is up to a day old.
    for (const partition of uploadIndexPartitions(writtenSince, writtenBefore))
      for await (const page of deps.store.queryUploadIndex(partition, writtenSince, writtenBefore)) {
        const due = page.filter((u) => watched(u) && inWindow(u.writtenAt));
        summary.indexed += due.length;
        await check(due.map(({ writtenAt: _at, ...upload }) => ({ upload })));
      }
    const ingestBucket = options.bucket;
    const inventory =
      options.inventory && ingestBucket ? await readInventory(deps, options.inventory, ingestBucket) : undefined;
    if (inventory && options.inventory && ingestBucket) {
      summary.inventory = inventory.manifestKey;
      const keep = (o: InventoriedObject) => underPrefix(o.key) && inWindow(o.lastModified);
      for await (const file of inventoriedObjects(deps.s3, inventory, options.inventory.bucket, keep, deps.log)) {
        summary.inventoried += file.rows;
        // BatchGetItem takes 100 keys; check() reads in batches of that size whatever it is given.
        for (let start = 0; start < file.objects.length; start += 1000)
          await check(
            file.objects.slice(start, start + 1000).map((object) => ({
              upload: uploadOf(ingestBucket, object),
              inventoryEvent: objectCreatedEventOf(ingestBucket, object),
            })),
          );
      }
    }
  } catch (error) {
    if (error !== CAPPED) throw error;
  }
  for (const log of unusable.values()) {
    summary.candidates++;
    summary.abandoned++;
    deps.log.error('upload abandoned: its claim keeps no event of this upload to re-drive it with', log);
  }
  return summary;
}

/** The newest inventory, or `undefined` when there is none yet or its manifest is refused (logged: the run goes on). */
async function readInventory(
  deps: SweepDeps,
  location: InventoryLocation,
  sourceBucket: string,
): Promise<Inventory | undefined> {
  try {
    const inventory = await newestInventory(deps.s3, location, sourceBucket);
    if (!inventory)
      deps.log.warn('no S3 Inventory of the ingest bucket yet: uploads whose event was lost are not looked for', {
        inventoryBucket: location.bucket,
        prefix: location.prefix,
      });
    return inventory;
  } catch (error) {
    if ((error as Error).name !== 'InventoryManifestError') throw error;
    deps.log.error('S3 Inventory manifest refused: uploads whose event was lost are not looked for this run', {
      error: (error as Error).message,
    });
    return undefined;
  }
}
