import { Transform } from 'node:stream';
import type { HandlerDeps } from '../../runtime/deps';
import { openObject, streamGzipToS3 } from '../../store/objects';
import { nextPollWait } from './polling';
import { reportKeys } from '../../contracts/report-keys';
import type { EngineResult, EngineStatus, Sample, VendorId, VendorJob } from '../../contracts/pipeline';
import type { SampleSource } from '../../connector/connector';
import { RateLimitedError, VendorError } from '../../connector/errors';
import { withRequestPriority } from '../../connector/request-gates';

/** Reports larger than this are stored but not parsed for a score (Lambda memory is finite). */
const MAX_SCORED_REPORT_BYTES = 64 * 1024 * 1024;

/** Vendor errors that end an engine at once, with the status they end it with. */
const TERMINAL: Record<string, EngineStatus> = {
  AuthError: 'auth_failed',
  QuotaExceededError: 'quota_exceeded',
  UnsupportedFileError: 'unsupported',
  SampleTooLargeError: 'too_large',
  ItemNotFoundError: 'failed',
};

function ended(job: VendorJob, status: EngineStatus, reason: string): VendorJob {
  const result: EngineResult = {
    engine: job.engine,
    status,
    verdict: 'unknown',
    score: null,
    reason,
    ...(job.itemId ? { itemId: job.itemId } : {}),
  };
  return { ...job, phase: 'ended', state: status, waitSeconds: 0, result };
}

function sampleSource(deps: HandlerDeps, sample: Sample, engine: VendorId): SampleSource {
  return {
    fileName: sample.key.split('/').pop() || sample.sha256,
    size: sample.size,
    sha256: sample.sha256,
    fileType: sample.fileType,
    mimeType: sample.mimeType,
    async open() {
      const body = await openObject(deps.clients.s3, sample);
      if (!body) throw new VendorError(engine, `s3://${sample.bucket}/${sample.key} disappeared before submission`);
      return body;
    },
  };
}

/**
 * Moves a vendor job one step: submits it when it has no item id yet, otherwise asks for its status.
 * Rate limiting becomes a wait (the Wait state honours Retry-After); quota, auth, unsupported and
 * too-large end the engine with that status; transient failures are thrown for the state machine to retry.
 */
export async function advanceVendorJob(deps: HandlerDeps, job: VendorJob, sample: Sample): Promise<VendorJob> {
  // A job that is ready or ended stays so: a redelivered or repeated poll changes nothing.
  if (job.phase !== 'pending') return { ...job, waitSeconds: 0 };
  const now = deps.clock.now();
  const secondsLeft = (job.deadline - now) / 1000;
  const connector = await deps.connector(job.engine);
  if (secondsLeft <= 0) {
    if (job.itemId) await connector.delete(job.itemId).catch(() => false);
    return ended(job, 'timeout', `no report within ${deps.config.engineDeadlineSeconds} s`);
  }
  const attempt = job.attempt + 1;
  const policy = deps.config.poll;
  try {
    if (!job.itemId) {
      const perDay = deps.config.vendors.find((v) => v.id === job.engine)?.submissionsPerDay;
      if (perDay) await deps.limiter.take(job.engine, { name: 'submission', limit: perDay, windowSeconds: 86_400 });
      const itemId = await connector.submit(sampleSource(deps, sample, job.engine));
      const waitSeconds = nextPollWait(policy, 0, secondsLeft, { etaSeconds: connector.initialWaitSeconds() });
      deps.log.info('submitted', { vendor: job.engine, itemId, sha256: sample.sha256, waitSeconds });
      return { ...job, itemId, submittedAt: now, attempt: 0, phase: 'pending', state: 'submitted', waitSeconds };
    }
    const status = await connector.status(job.itemId);
    if (status.done) return { ...job, attempt, phase: 'ready', state: status.state, waitSeconds: 0 };
    if (status.failed) return ended({ ...job, attempt }, 'failed', status.reason ?? `vendor state ${status.state}`);
    const waitSeconds = nextPollWait(policy, attempt, secondsLeft, { etaSeconds: status.pollAfterSeconds });
    return { ...job, attempt, phase: 'pending', state: status.state, waitSeconds };
  } catch (error) {
    if (error instanceof RateLimitedError) {
      // Jitter spreads the waiting jobs over the next window instead of all waking at its start,
      // where they would take every slot before a ready report can be fetched.
      const jitter = Math.floor(Math.random() * Math.min(30, Math.max(1, error.retryAfterSeconds)));
      // Never below the policy's minimum: a vendor answering `Retry-After: 1` to everything would
      // otherwise spin Wait and Poll every second until the execution's history ran out.
      const floor = Math.min(policy.minWaitSeconds, Math.ceil(secondsLeft));
      const waitSeconds = Math.max(
        1,
        floor,
        Math.min(Math.ceil(error.retryAfterSeconds) + jitter, Math.ceil(secondsLeft)),
      );
      deps.log.warn('rate limited', { vendor: job.engine, waitSeconds });
      return { ...job, attempt, phase: 'pending', state: 'rate-limited', waitSeconds };
    }
    const status = TERMINAL[(error as Error).name];
    if (status) return ended({ ...job, attempt }, status, (error as Error).message);
    throw error;
  }
}

/** A new job for one vendor engine, its deadline counted from now. */
export function newVendorJob(deps: HandlerDeps, engine: VendorId): VendorJob {
  const now = deps.clock.now();
  return {
    engine,
    itemId: '',
    submittedAt: now,
    deadline: now + deps.config.engineDeadlineSeconds * 1000,
    attempt: 0,
    waitSeconds: 0,
    phase: 'pending',
    state: 'new',
  };
}

/**
 * Streams the native report gzip'd into the reports bucket while keeping a bounded copy to score,
 * and returns the engine result. The report never enters a state payload or a DynamoDB item.
 */
export async function collectVendorReport(deps: HandlerDeps, job: VendorJob, sample: Sample): Promise<EngineResult> {
  const connector = await deps.connector(job.engine);
  // The report is ready: its download may use the request slots kept back for reports.
  const report = await withRequestPriority('report', () => connector.report(job.itemId));
  const reportKey = reportKeys.engine(sample.sha256, job.engine, job.itemId, report.extension);
  const kept: Buffer[] = [];
  let keptBytes = 0;
  let overflow = false;
  const tap = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      if (!overflow) {
        keptBytes += chunk.length;
        if (keptBytes > MAX_SCORED_REPORT_BYTES) {
          overflow = true;
          kept.length = 0;
        } else kept.push(chunk);
      }
      callback(null, chunk);
    },
  });
  report.body.pipe(tap);
  report.body.on('error', (error) => tap.destroy(error));
  const { bytesIn } = await streamGzipToS3(
    deps.clients.s3,
    { bucket: deps.config.reportsBucket, key: reportKey, contentType: report.contentType },
    tap,
  );
  const base = { engine: job.engine, itemId: job.itemId, reportKey };
  if (overflow) {
    return {
      ...base,
      status: 'completed',
      verdict: 'unknown',
      score: null,
      reason: `report of ${bytesIn} bytes is too large to score`,
    };
  }
  const text = Buffer.concat(kept).toString('utf8');
  let parsed: unknown = text;
  if (report.extension === 'json') {
    try {
      parsed = JSON.parse(text);
    } catch {
      return { ...base, status: 'error', verdict: 'unknown', score: null, reason: 'report is not valid JSON' };
    }
  }
  const scored = connector.score(parsed);
  deps.log.info('report collected', { vendor: job.engine, itemId: job.itemId, bytes: bytesIn, score: scored.score });
  return { ...base, status: 'completed', verdict: scored.verdict, score: scored.score, native: scored.native };
}
