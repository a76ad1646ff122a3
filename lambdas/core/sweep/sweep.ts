import { createHash } from 'node:crypto';
import type { S3Client } from '@aws-sdk/client-s3';
import type { Clock } from '../contracts/clock';
import { executionTimeoutSeconds, type RuntimeSettings } from '../config/runtime-config';
import type { Log } from '../runtime/deps';
import type { ExecutionStarter } from './execution-starter';
import { ObjectCreatedEventSchema, uploadIdOf, type ObjectCreatedEvent } from '../contracts/pipeline';
import { isTerminalRecord, objectRecordKey, type ObjectVersion, type VerdictStore } from '../store/verdict-store';
import type { SweepConfig } from './sweep-config';
import { listUploads, type ListedUpload } from './upload-listing';

/**
 * Margin on a claim's staleness for the clocks of different hosts: the sweep must never call a claim
 * stale that Triage, a moment later, would not take over.
 */
const CLOCK_SKEW_MS = 60_000;

/** What one sweep looks at and how much it may do. Durations in milliseconds. */
export interface SweepOptions {
  bucket: string;
  /** Only keys under this prefix start analyses, so only they are swept. */
  prefix?: string;
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

/** What the sweep works with: S3 to list, the verdict store to check, executions to start. */
export interface SweepDeps {
  s3: S3Client;
  store: VerdictStore;
  clock: Clock;
  log: Log;
  executions: ExecutionStarter;
}

/** What one sweep found and did. */
export interface SweepSummary {
  /** Uploads listed under the prefix. */
  listed: number;
  /** Listed uploads written between the lookback and the deadline, and checked. */
  candidates: number;
  /** Executions started. */
  redriven: number;
  /** Candidates with a terminal record: a verdict or a failure. */
  skippedTerminal: number;
  /** Candidates claimed by an execution that may still be running. */
  inFlight: number;
  /** Candidates whose re-drive an earlier run started and which it has not claimed yet, or ended without a record. */
  alreadyRedriven: number;
  /** Candidates left alone after `maxAttempts` re-drives: their executions keep dying. */
  abandoned: number;
  /** Whether the run stopped at `maxRedrives`, leaving uploads due for a re-drive to the next run. */
  capped: boolean;
}

/** The sweep's options from its function's configuration and the pipeline's settings. */
export function sweepOptionsOf(
  config: SweepConfig,
  settings: Pick<RuntimeSettings, 'engineDeadlineSeconds'>,
): SweepOptions {
  return {
    bucket: config.ingestBucket,
    ...(config.ingestPrefix ? { prefix: config.ingestPrefix } : {}),
    deadlineMs: config.deadlineMinutes * 60_000,
    lookbackMs: config.lookbackDays * 24 * 3_600_000,
    // The staleness Triage applies when it claims, so that a re-driven execution takes the claim over.
    claimStaleAfterMs: executionTimeoutSeconds(settings) * 1000,
    maxRedrives: config.maxRedrivesPerRun,
    maxAttempts: config.maxAttempts,
  };
}

/** An upload's identity as Triage derives it from the event the listing stands for. */
function uploadOf(bucket: string, listed: ListedUpload): ObjectVersion {
  return {
    bucket,
    key: listed.key,
    uploadId: uploadIdOf({ 'version-id': listed.versionId ?? undefined, etag: listed.etag }),
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

/**
 * The `Object Created` event EventBridge delivers for a listed upload, as far as a listing can tell:
 * no sequencer, so its upload id is the version id (or, without versioning, the ETag), as the sweep's.
 */
function objectCreatedEventOf(bucket: string, listed: ListedUpload): ObjectCreatedEvent {
  return ObjectCreatedEventSchema.parse({
    'detail-type': 'Object Created',
    source: 'aws.s3',
    time: new Date(listed.lastModified).toISOString().replace(/\.\d{3}Z$/, 'Z'),
    detail: {
      bucket: { name: bucket },
      object: {
        key: listed.key,
        size: listed.size,
        etag: listed.etag,
        ...(listed.versionId ? { 'version-id': listed.versionId } : {}),
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

/**
 * Finds uploads that have no terminal record after the deadline and re-drives them: one execution of
 * the analysis state machine each, with the `Object Created` event the trigger rule would have
 * delivered. An upload is due when it was written between the lookback and the deadline and
 * - has no record at all: its S3 or EventBridge event was lost (or is still being retried by
 *   EventBridge; if it arrives after all, Triage finds the re-drive's claim and ends it as a duplicate);
 * - or is claimed (`analyzing`) for longer than the state machine's timeout: the execution that
 *   claimed it is over without a record (a machine-level timeout, which no Catch sees, or an abort).
 *
 * Takeover: a claim counts as stale here only when it is older than the staleness Triage applies
 * (the state machine's timeout, plus a margin for clock skew), so the re-driven execution's Triage
 * always takes the claim over, and a claim younger than that, whose execution may still be running,
 * is left alone. The re-drive carries the event kept with the claim (else one built from the listing).
 *
 * Idempotence: each re-drive is named after the upload and its attempt (`redrive-<hash>-<n>`, where
 * n follows the claim's owner), so two runs that see the same upload start one execution; a name
 * used before starts nothing. A re-driven execution that dies too leaves its own stale claim, which
 * the next attempt takes over, up to `maxAttempts`.
 *
 * Uploads are named by version id (every version is checked), which events and listings share on a
 * versioned bucket such as Sandtrap's ingest bucket. Without versioning an event names its upload by
 * S3's sequencer, which no listing shows: the sweep can only name it by ETag, and re-drives such an
 * upload once even when it was analysed.
 */
export async function sweepUploads(deps: SweepDeps, options: SweepOptions): Promise<SweepSummary> {
  const now = deps.clock.now();
  const writtenBefore = now - options.deadlineMs;
  const writtenSince = now - options.lookbackMs;
  const claimedBefore = now - options.claimStaleAfterMs - CLOCK_SKEW_MS;
  const summary: SweepSummary = {
    listed: 0,
    candidates: 0,
    redriven: 0,
    skippedTerminal: 0,
    inFlight: 0,
    alreadyRedriven: 0,
    abandoned: 0,
    capped: false,
  };
  listing: for await (const page of listUploads(deps.s3, options.bucket, options.prefix)) {
    summary.listed += page.length;
    const due = page.filter((listed) => listed.lastModified < writtenBefore && listed.lastModified >= writtenSince);
    if (due.length === 0) continue;
    const uploads = due.map((listed) => ({ listed, upload: uploadOf(options.bucket, listed) }));
    const records = await deps.store.getObjectRecords(uploads.map((u) => u.upload));
    for (const { listed, upload } of uploads) {
      const record = records.get(objectRecordKey(upload).pk);
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
      if (summary.redriven >= options.maxRedrives) {
        summary.capped = true;
        break listing;
      }
      summary.candidates++;
      const name = redriveExecutionName(upload, attempt);
      const input = (record && claimedEventOf(record, upload)) ?? objectCreatedEventOf(options.bucket, listed);
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
  return summary;
}
