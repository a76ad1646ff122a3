import { randomUUID } from 'node:crypto';
import {
  DescribeExecutionCommand,
  ListExecutionsCommand,
  StartExecutionCommand,
  type DescribeExecutionCommandOutput,
} from '@aws-sdk/client-sfn';
import { ObjectCreatedEventSchema, uploadIdOf, type ObjectCreatedEvent } from '../lambdas/core/contracts/pipeline';
import { type ObjectRecord, VerdictStore } from '../lambdas/core/store/verdict-store';
import type { DeployedClients } from './clients';
import { awsCall, DeployedStackError } from './errors';
import { callOn, type DeployedStack } from './stack';
import { readVerdictRecord } from './verdicts';

/** The terminal record of one upload (`OBJECT#<bucket>/<key>#<uploadId>` / `STATUS`), as far as the CLI reads it. */
export type ObjectStatus = Omit<ObjectRecord, 'owner'>;

/** What the CLI knows of an analysis it waits for. */
export interface AnalysisTarget {
  bucket: string;
  key: string;
  /** The uploaded version; `null` on an unversioned bucket. */
  versionId: string | null;
  /** The upload's ETag, quotes or not: it identifies the upload in an event that lacks `version-id`. */
  etag?: string;
  /** Upload ids whose record ends the wait; for an upload, its version id. */
  uploadIds: string[];
  /** The execution, when the CLI started it (`reanalyze`). */
  executionArn?: string;
  /** When the upload or execution started: older executions are not looked at. */
  startedAt: Date;
}

/** How a wait ended. */
export type AnalysisEnd =
  | { status: 'verdict'; record: ObjectStatus }
  | { status: 'failed'; reason: string; error: string; at: number; record?: ObjectStatus }
  | { status: 'timeout'; waitedMs: number; started: boolean };

/** Options of {@link waitForAnalysis}. */
export interface WaitOptions {
  timeoutMs: number;
  /** Told once when no analysis has started after {@link WaitOptions.notStartedAfterMs}. */
  onNotStarted?: (message: string) => void;
  /** @default 60_000 */
  notStartedAfterMs?: number;
  /** First pause between polls; it grows by half up to {@link WaitOptions.maxPollMs}. @default 500 */
  pollMs?: number;
  /** @default 5_000 */
  maxPollMs?: number;
  sleep?: (ms: number) => Promise<void>;
  now?: () => number;
}

/** Executions started this long before the upload are still looked at: the client's clock may be behind AWS's. */
const CLOCK_SKEW_MS = 60_000;
/** Executions described per look, at most: a busy state machine must not turn one wait into hundreds of calls. */
const MAX_DESCRIBES_PER_LOOK = 50;

const TERMINAL = new Set(['verdict', 'failed']);
const normaliseEtag = (etag: string | undefined) => etag?.replace(/"/g, '');
const sleepFor = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Waits until the analysis of an upload (or a reanalysis) ends, by polling the upload's record in
 * DynamoDB. The record is keyed by the upload id the pipeline read from the `Object Created` event:
 * the version id on S3, but S3-compatible endpoints may leave `version-id` out of the event (MiniStack
 * does) and the pipeline then keys the record by S3's `sequencer`, which the uploader never sees.
 * So, while no record of the version id exists, the wait reads the alias Triage writes for such an
 * upload (key and ETag to upload id), and also looks for a Standard execution whose input is this
 * upload's event (one started by hand, or by a trigger of an earlier version that bypassed the
 * Express front, whose executions cannot be listed). An execution that ends without writing a
 * terminal record (it failed before it knew the object) ends the wait as failed.
 */
export async function waitForAnalysis(
  clients: DeployedClients,
  stack: DeployedStack,
  target: AnalysisTarget,
  options: WaitOptions,
): Promise<AnalysisEnd> {
  const now = options.now ?? Date.now;
  const sleep = options.sleep ?? sleepFor;
  const store = new VerdictStore(clients.ddb, stack.table);
  const startedWaiting = now();
  const deadline = startedWaiting + options.timeoutMs;
  const uploadIds = new Set(target.uploadIds);
  const described = new Set<string>();
  let executionArn = target.executionArn;
  let ended: DescribeExecutionCommandOutput | undefined;
  let sawRecord = false;
  let warned = false;
  let pause = options.pollMs ?? 500;
  for (let round = 0; ; round++) {
    // An event without a version id (an unversioned bucket; S3-compatible endpoints, even versioned)
    // has the upload recorded under S3's sequencer, which the uploader never sees: Triage maps its key
    // and ETag to it. An alias older than this upload is an earlier upload's.
    if (target.etag && !sawRecord) {
      const etag = target.etag;
      const alias = await awsCall(callOn(clients, 'dynamodb:GetItem', `table ${stack.table}`), () =>
        store.getUploadAlias({ bucket: target.bucket, key: target.key, etag }),
      );
      if (alias && alias.at >= target.startedAt.getTime() - CLOCK_SKEW_MS) uploadIds.add(alias.uploadId);
    }
    for (const uploadId of uploadIds) {
      const item = await awsCall(callOn(clients, 'dynamodb:GetItem', `table ${stack.table}`), () =>
        store.getObjectRecord({ bucket: target.bucket, key: target.key, uploadId }),
      );
      if (!item) continue;
      sawRecord = true;
      const record = item as unknown as ObjectStatus;
      if (!TERMINAL.has(record.status)) continue;
      if (record.status === 'verdict') return { status: 'verdict', record };
      return {
        status: 'failed',
        reason: record.reason ?? 'UnknownError',
        error: `the analysis failed (${record.reason ?? 'no reason recorded'})`,
        at: record.at,
        record,
      };
    }
    // A failed execution writes its record before it ends, so one that has ended and left none never will.
    if (ended) {
      return {
        status: 'failed',
        reason: ended.error ?? ended.status ?? 'UnknownError',
        error:
          `execution ${ended.name ?? executionArn} ended ${ended.status}${ended.cause ? `: ${ended.cause}` : ''}`.slice(
            0,
            2000,
          ),
        at: ended.stopDate?.getTime() ?? now(),
      };
    }
    if (!executionArn && !sawRecord && round > 0) {
      const found = await findExecution(clients, stack, target, described);
      if (found) {
        executionArn = found.executionArn;
        uploadIds.add(found.uploadId);
        continue;
      }
    }
    if (executionArn) {
      const arn = executionArn;
      const execution = await awsCall(callOn(clients, 'states:DescribeExecution', arn), () =>
        clients.sfn.send(new DescribeExecutionCommand({ executionArn: arn })),
      );
      // SUCCEEDED without a terminal record is a duplicate delivery: the record of the first execution ends the wait.
      if (execution.status !== 'RUNNING' && execution.status !== 'PENDING_REDRIVE' && execution.status !== 'SUCCEEDED')
        ended = execution;
    }
    const elapsed = now() - startedWaiting;
    if (!warned && !sawRecord && !executionArn && elapsed >= (options.notStartedAfterMs ?? 60_000)) {
      warned = true;
      options.onNotStarted?.(
        `no analysis of s3://${target.bucket}/${target.key} has started after ${Math.round(elapsed / 1000)} s (is the key under the stack's ingest prefix?)`,
      );
    }
    if (now() >= deadline)
      return { status: 'timeout', waitedMs: now() - startedWaiting, started: sawRecord || Boolean(executionArn) };
    await sleep(Math.max(0, Math.min(pause, deadline - now())));
    pause = Math.min(pause * 1.5, options.maxPollMs ?? 5_000);
  }
}

/** Whether an execution's input is the `Object Created` event of this upload (never a reanalysis). */
export function isEventOf(
  input: string | undefined,
  target: Pick<AnalysisTarget, 'bucket' | 'key' | 'versionId' | 'etag'>,
): ObjectCreatedEvent | undefined {
  let json: unknown;
  try {
    json = JSON.parse(input ?? '');
  } catch {
    return undefined;
  }
  const parsed = ObjectCreatedEventSchema.safeParse(json);
  if (!parsed.success || parsed.data.sandtrap?.reanalyze) return undefined;
  const { bucket, object } = parsed.data.detail;
  if (bucket.name !== target.bucket || object.key !== target.key) return undefined;
  const sameVersion = Boolean(target.versionId && object['version-id'] === target.versionId);
  const sameEtag = Boolean(target.etag && normaliseEtag(object.etag) === normaliseEtag(target.etag));
  return sameVersion || sameEtag ? parsed.data : undefined;
}

/** The execution the upload's event started, newest first, looking only at executions it has not described yet. */
async function findExecution(
  clients: DeployedClients,
  stack: DeployedStack,
  target: AnalysisTarget,
  described: Set<string>,
): Promise<{ executionArn: string; uploadId: string } | undefined> {
  const oldest = target.startedAt.getTime() - CLOCK_SKEW_MS;
  let budget = MAX_DESCRIBES_PER_LOOK;
  let nextToken: string | undefined;
  do {
    const page = await awsCall(callOn(clients, 'states:ListExecutions', stack.stateMachineArn), () =>
      clients.sfn.send(
        new ListExecutionsCommand({ stateMachineArn: stack.stateMachineArn, maxResults: 100, nextToken }),
      ),
    );
    for (const execution of page.executions ?? []) {
      if (!execution.executionArn || (execution.startDate && execution.startDate.getTime() < oldest)) return undefined;
      if (described.has(execution.executionArn)) continue;
      if (budget-- <= 0) return undefined;
      described.add(execution.executionArn);
      const arn = execution.executionArn;
      const detail = await awsCall(callOn(clients, 'states:DescribeExecution', arn), () =>
        clients.sfn.send(new DescribeExecutionCommand({ executionArn: arn })),
      );
      const event = isEventOf(detail.input, target);
      if (event) return { executionArn: arn, uploadId: uploadIdOf(event.detail.object) };
    }
    nextToken = page.nextToken;
  } while (nextToken);
  return undefined;
}

/** A started reanalysis. */
export interface Reanalysis {
  sha256: string;
  executionArn: string;
  /** The upload id the pipeline records the reanalysis under: `reanalysis:<execution name>`. */
  uploadId: string;
  bucket: string;
  key: string;
  versionId: string | null;
  startedAt: Date;
}

/**
 * The execution input of a reanalysis: the `Object Created` event of the analysed upload, as S3
 * would have sent it, plus `sandtrap: { reanalyze: true }`, which makes triage bypass the verdict
 * cache and the upload's claim.
 */
export function reanalysisEvent(
  object: { bucket: string; key: string; versionId: string | null },
  region: string,
  account: string,
  at: Date,
): ObjectCreatedEvent {
  const event = {
    version: '0',
    id: randomUUID(),
    'detail-type': 'Object Created',
    source: 'aws.s3',
    account,
    time: at.toISOString(),
    region,
    resources: [`arn:aws:s3:::${object.bucket}`],
    detail: {
      version: '0',
      bucket: { name: object.bucket },
      object: { key: object.key, ...(object.versionId ? { 'version-id': object.versionId } : {}) },
    },
    sandtrap: { reanalyze: true },
  };
  // Validated against what triage accepts, but sent whole: parsing would strip the envelope fields S3 sends.
  ObjectCreatedEventSchema.parse(event);
  return event as ObjectCreatedEvent;
}

/** An execution name that says what it is and stays unique (names are at most 80 characters). */
export function reanalysisName(sha256: string, at: Date): string {
  return `reanalyze-${sha256.slice(0, 16)}-${at.getTime().toString(36)}-${randomUUID().slice(0, 8)}`;
}

/** Starts a new analysis of the upload a stored verdict was analysed from, bypassing the verdict cache. */
export async function startReanalysis(
  clients: DeployedClients,
  stack: DeployedStack,
  sha256: string,
  at = new Date(),
): Promise<Reanalysis> {
  const record = await readVerdictRecord(clients, stack, sha256);
  if (!record.object?.bucket || !record.object.key) {
    throw new DeployedStackError(
      `the stored verdict of ${sha256} does not name the upload it was analysed from, so it cannot be reanalysed: upload the file again`,
    );
  }
  const account = stack.stateMachineArn.split(':')[4] ?? '';
  const input = reanalysisEvent(record.object, clients.region, account, at);
  const name = reanalysisName(sha256, at);
  const started = await awsCall(callOn(clients, 'states:StartExecution', stack.stateMachineArn), () =>
    clients.sfn.send(
      new StartExecutionCommand({ stateMachineArn: stack.stateMachineArn, name, input: JSON.stringify(input) }),
    ),
  );
  if (!started.executionArn)
    throw new DeployedStackError(`states:StartExecution on ${stack.stateMachineArn} returned no execution ARN`);
  return {
    sha256,
    executionArn: started.executionArn,
    uploadId: `reanalysis:${name}`,
    bucket: record.object.bucket,
    key: record.object.key,
    versionId: record.object.versionId ?? null,
    startedAt: started.startDate ?? at,
  };
}
