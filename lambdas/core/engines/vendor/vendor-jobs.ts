import { Transform } from 'node:stream';
import type { HandlerDeps } from '../../runtime/deps';
import { openObject, streamGzipToS3 } from '../../store/objects';
import { nextPollWait } from './polling';
import { reportKeys } from '../../contracts/report-keys';
import {
  type EngineResult,
  type EngineStatus,
  MAX_THREATS,
  type Sample,
  type Threat,
  type VendorId,
  type VendorJob,
} from '../../contracts/pipeline';
import type { VendorFindings } from '../../contracts/findings';
import type { RequestCall, SampleSource, SandboxConnector } from '../../connector/connector';
import { RateLimitedError, VendorError } from '../../connector/errors';
import { withAdmission } from '../../connector/request-gates';
import type { SlotLimit } from '../../store/slot-reservations';
import { dailySubmissions, requestLanes } from '../../store/request-lanes';

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

/** A Wait of at least a second up to `at`, counted from `now`. */
function secondsUntil(at: number, now: number): number {
  return Math.max(0, Math.ceil((at - now) / 1000));
}

/** The requests a call of this connector makes (its declared cost, one by default), as many as one reservation may take. */
function requestsOf(deps: HandlerDeps, connector: SandboxConnector, call: RequestCall, lane: SlotLimit): number {
  return Math.min(connector.requestCosts?.[call] ?? 1, deps.slots.maxUnits(lane));
}

/**
 * Reserves the slots of the vendor's rate that the next step's `call` needs, from `notBefore`, in a
 * window starting by `notAfter`; the moment the step may run and the requests admitted, or
 * `undefined` when no slot is free in time. A vendor without a rate goes at once.
 */
async function reserveRequests(
  deps: HandlerDeps,
  connector: SandboxConnector,
  engine: VendorId,
  call: RequestCall,
  window: { notBefore: number; notAfter?: number },
): Promise<{ at: number; admitted: number } | undefined> {
  const perMinute = deps.config.vendors.find((v) => v.id === engine)?.requestsPerMinute;
  if (!perMinute) return { at: window.notBefore, admitted: 0 };
  const lane = requestLanes(perMinute)[call === 'submit' ? 'submit' : 'follow-up'];
  const units = requestsOf(deps, connector, call, lane);
  const slot = await deps.slots.reserve(engine, lane, { units, ...window });
  return slot && { at: slot.at, admitted: units };
}

/**
 * Schedules the job's next poll `wantedSeconds` from now (or its report download, when `ready`): it
 * reserves the request slots and waits exactly until them. With no slot before the deadline the job
 * waits for the deadline, where it ends as timed out.
 */
async function scheduleFollowUp(
  deps: HandlerDeps,
  connector: SandboxConnector,
  job: VendorJob,
  wantedSeconds: number,
  phase: 'pending' | 'ready',
): Promise<VendorJob> {
  const now = deps.clock.now();
  const notBefore = now + wantedSeconds * 1000;
  // A ready report may be fetched a little past the deadline: the analysis is done, only the download is left.
  const notAfter = phase === 'ready' ? job.deadline + deps.config.poll.maxWaitSeconds * 1000 : job.deadline;
  const slot = await reserveRequests(deps, connector, job.engine, phase === 'ready' ? 'report' : 'status', {
    notBefore,
    notAfter,
  });
  if (!slot) {
    if (phase === 'ready')
      return ended(job, 'timeout', 'the report was ready, but no request slot was free before the deadline');
    return { ...job, phase, waitSeconds: secondsUntil(job.deadline, now), admitted: 0 };
  }
  return { ...job, phase, waitSeconds: secondsUntil(slot.at, now), admitted: slot.admitted };
}

/**
 * A queued job's submission slot: today's (or a later day's) unit of the daily quota when the vendor
 * has one, then a slot of the submission lane no earlier. Ends the engine with `quota_exceeded` when
 * the queue is longer than the vendor allows.
 */
async function reserveSubmission(
  deps: HandlerDeps,
  connector: SandboxConnector,
  job: VendorJob,
  notBefore: number,
): Promise<VendorJob> {
  const now = deps.clock.now();
  const vendor = deps.config.vendors.find((v) => v.id === job.engine);
  let from = notBefore;
  if (vendor?.submissionsPerDay) {
    const daily = dailySubmissions(vendor.submissionsPerDay);
    // `end`: only a unit of the day it is now (or of notBefore's day) will do.
    const notAfter = vendor.whenDailyQuotaSpent === 'end' ? notBefore : job.deadline;
    const day = await deps.slots.reserve(job.engine, daily, { notBefore, notAfter });
    if (!day)
      return ended(
        job,
        'quota_exceeded',
        vendor.whenDailyQuotaSpent === 'end'
          ? `today's ${vendor.submissionsPerDay} submissions are spent`
          : `no submission left within ${vendor.maxQueueSeconds} s (${vendor.submissionsPerDay} a day)`,
      );
    from = Math.max(from, day.at);
  }
  // A unit of the daily quota taken above is spent even if no request slot follows in time: the
  // quota is the vendor's, and a slot refused here is rare (a queue of days at the request rate).
  const slot = await reserveRequests(deps, connector, job.engine, 'submit', {
    notBefore: from,
    notAfter: job.deadline,
  });
  if (!slot)
    return ended(job, 'quota_exceeded', `no request slot for the submission within ${vendor?.maxQueueSeconds ?? 0} s`);
  return { ...job, phase: 'queued', state: 'queued', waitSeconds: secondsUntil(slot.at, now), admitted: slot.admitted };
}

/** Submits a job whose slot has come; the first poll is scheduled the way every later one is. */
async function submitJob(
  deps: HandlerDeps,
  connector: SandboxConnector,
  job: VendorJob,
  sample: Sample,
): Promise<VendorJob> {
  const now = deps.clock.now();
  const itemId = await withAdmission(job.admitted, () => connector.submit(sampleSource(deps, sample, job.engine)));
  const deadline = now + deps.config.engineDeadlineSeconds * 1000;
  const learntSeconds = await deps.vendorTimings.readySeconds(job.engine);
  const wanted = nextPollWait(deps.config.poll, 0, (deadline - now) / 1000, {
    etaSeconds: connector.initialWaitSeconds(),
    ...(learntSeconds !== undefined ? { learntSeconds } : {}),
  });
  deps.log.info('submitted', { vendor: job.engine, itemId, sha256: sample.sha256, waitSeconds: wanted });
  const submitted: VendorJob = {
    ...job,
    itemId,
    submittedAt: now,
    ...(learntSeconds !== undefined ? { learntSeconds } : {}),
    deadline,
    attempt: 0,
    phase: 'pending',
    state: 'submitted',
  };
  return scheduleFollowUp(deps, connector, submitted, wanted, 'pending');
}

/**
 * Moves a vendor job one step, each step spending the request slots it reserved and waited for:
 * - a new job reserves its submission slot, and submits at once when the slot is now;
 * - a queued job whose slot has come submits;
 * - a submitted job asks for its status and reserves the slots of its next poll or its report.
 *
 * The vendor's own rate limiting (429 and Retry-After) is honoured, never below the poll policy's
 * wait for the attempt; quota, auth, unsupported and too-large end the engine with that status;
 * transient failures are thrown for the state machine to retry.
 */
export async function advanceVendorJob(deps: HandlerDeps, job: VendorJob, sample: Sample): Promise<VendorJob> {
  // A job that is ready or ended stays so: a redelivered or repeated step changes nothing.
  if (job.phase === 'ready' || job.phase === 'ended') return { ...job, waitSeconds: 0 };
  const now = deps.clock.now();
  const connector = await deps.connector(job.engine);
  const attempt = job.attempt + 1;
  const policy = deps.config.poll;
  try {
    if (job.phase === 'queued') {
      if (job.state === 'new') {
        const reserved = await reserveSubmission(deps, connector, job, now);
        // A slot that is now (within a second) is spent by this very step.
        if (reserved.phase !== 'queued' || reserved.waitSeconds > 1) return reserved;
        return await submitJob(deps, connector, reserved, sample);
      }
      if (now >= job.deadline + 60_000) return ended(job, 'quota_exceeded', 'the submission slot passed unused');
      return await submitJob(deps, connector, job, sample);
    }
    const secondsLeft = (job.deadline - now) / 1000;
    if (secondsLeft <= 0) {
      if (job.itemId) await withAdmission(job.admitted, () => connector.delete(job.itemId)).catch(() => false);
      return ended(job, 'timeout', `no report within ${deps.config.engineDeadlineSeconds} s`);
    }
    const status = await withAdmission(job.admitted, () => connector.status(job.itemId));
    if (status.done) {
      await deps.vendorTimings.observe(job.engine, (now - job.submittedAt) / 1000, attempt, now);
      return await scheduleFollowUp(deps, connector, { ...job, attempt, state: status.state }, 0, 'ready');
    }
    if (status.failed) return ended({ ...job, attempt }, 'failed', status.reason ?? `vendor state ${status.state}`);
    const wanted = nextPollWait(policy, attempt, secondsLeft, {
      etaSeconds: status.pollAfterSeconds,
      elapsedSeconds: (now - job.submittedAt) / 1000,
      ...(job.learntSeconds !== undefined ? { learntSeconds: job.learntSeconds } : {}),
    });
    return await scheduleFollowUp(deps, connector, { ...job, attempt, state: status.state }, wanted, 'pending');
  } catch (error) {
    if (error instanceof RateLimitedError) {
      // The vendor refused despite our reservation (its own count, another client on the key): its
      // Retry-After is honoured, but never below the policy's backoff for the attempt, so a vendor
      // answering `Retry-After: 1` to everything costs a handful of waits before the deadline, not thousands.
      const jitter = Math.floor(Math.random() * Math.min(30, Math.max(1, error.retryAfterSeconds)));
      const secondsLeft = Math.max(0, (job.deadline - now) / 1000);
      const wanted = Math.max(
        Math.ceil(error.retryAfterSeconds) + jitter,
        nextPollWait(policy, attempt, Number.POSITIVE_INFINITY),
      );
      deps.log.warn('rate limited by the vendor', { vendor: job.engine, waitSeconds: wanted });
      const refused = { ...job, attempt, state: 'rate-limited' };
      if (job.phase === 'queued') {
        // Our queue is over; the vendor's refusals count against the engine's deadline from the first.
        const deadline =
          job.state === 'rate-limited'
            ? job.deadline
            : Math.min(job.deadline, now + deps.config.engineDeadlineSeconds * 1000);
        return reserveSubmissionSlotOnly(deps, connector, { ...refused, deadline }, now + wanted * 1000);
      }
      return scheduleFollowUp(deps, connector, refused, Math.min(wanted, Math.ceil(secondsLeft)), 'pending');
    }
    const status = TERMINAL[(error as Error).name];
    if (status) return ended({ ...job, attempt }, status, (error as Error).message);
    throw error;
  }
}

/** A refused submission's next request slot (its unit of the daily quota was taken already). */
async function reserveSubmissionSlotOnly(
  deps: HandlerDeps,
  connector: SandboxConnector,
  job: VendorJob,
  notBefore: number,
): Promise<VendorJob> {
  const now = deps.clock.now();
  // A last attempt at the deadline itself rather than none: the wait never passes it.
  const slot =
    now < job.deadline
      ? await reserveRequests(deps, connector, job.engine, 'submit', {
          notBefore: Math.min(notBefore, job.deadline),
          notAfter: job.deadline,
        })
      : undefined;
  if (!slot) return ended(job, 'timeout', 'the vendor refused the submission (rate limited) until the deadline');
  return { ...job, phase: 'queued', waitSeconds: secondsUntil(slot.at, now), admitted: slot.admitted };
}

/** A new job for one vendor engine, queued for its submission slot; it may wait for that at most the vendor's `maxQueueSeconds`. */
export function newVendorJob(deps: HandlerDeps, engine: VendorId): VendorJob {
  const now = deps.clock.now();
  const maxQueueSeconds = deps.config.vendors.find((v) => v.id === engine)?.maxQueueSeconds ?? 0;
  return {
    engine,
    itemId: '',
    submittedAt: now,
    deadline: now + maxQueueSeconds * 1000,
    attempt: 0,
    waitSeconds: 0,
    admitted: 0,
    phase: 'queued',
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
  // The report's request slots were reserved when the poll found it ready.
  const report = await withAdmission(job.admitted, () => connector.report(job.itemId));
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
  const findings = connector.findings?.(parsed, job.itemId);
  deps.log.info('report collected', { vendor: job.engine, itemId: job.itemId, bytes: bytesIn, score: scored.score });
  return {
    ...base,
    status: 'completed',
    verdict: scored.verdict,
    score: scored.score,
    native: scored.native,
    ...(findings ? { findings, threats: threatsOfFindings(job.engine, findings) } : {}),
  };
}

/** A vendor's families as the threats its engine result names (the verdict's `threats[]` is built from these). */
export function threatsOfFindings(engine: VendorId, findings: VendorFindings): Threat[] {
  return findings.families
    .slice(0, MAX_THREATS)
    .map((family) => ({ name: family, engine, family, category: 'malware' }));
}
