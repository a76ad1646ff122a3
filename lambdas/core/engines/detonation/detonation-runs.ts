import { randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import { GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import type { HandlerDeps } from '../../runtime/deps';
import { getJson } from '../../store/objects';
import { DetonationReportSchema, type DetonationReport } from '../../contracts/detonation-report';
import { parseAgentConfig } from '../../contracts/agent-config';
import { reportKeys } from '../../contracts/report-keys';
import type { EngineResult, Sample } from '../../contracts/pipeline';
import * as z from 'zod';
import { detonationTaskSlots } from '../../config/runtime-config';

/** What the detonation task is started with (container overrides), small enough for the state. */
export interface DetonationJob {
  sampleUrl: string;
  reportUrl: string;
  reportKey: string;
  /**
   * Presigned PUT of the packet capture, at `pcapKey` beside the report; empty when it would not fit
   * in the task's container overrides (the agent then reports the capture unsupported).
   */
  pcapUrl: string;
  pcapKey: string;
  sampleName: string;
  /** `AGENT_CONFIG`, as JSON text; it carries `run_nonce`. */
  agentConfig: string;
  /** The nonce this run's report must echo; Collect refuses a report without it. */
  runNonce: string;
}

/** Seconds the detonation task gets beyond the agent's own deadline: Fargate's start (image pull) and stop. */
export const TASK_OVERHEAD_SECONDS = 900;
/** Seconds the presigned URLs outlive the task's timeout: clock skew between S3 and the task, no more. */
export const URL_GRACE_SECONDS = 60;

/** The detonation task's timeout for an agent deadline (seconds). */
export function detonationTaskTimeoutSeconds(agentTimeoutSeconds: number): number {
  return Math.ceil(agentTimeoutSeconds) + TASK_OVERHEAD_SECONDS;
}

/**
 * Seconds the presigned URLs stay valid: the task's timeout and a short grace. A URL that leaks
 * (from the state or the task's overrides) is useless soon after the run it belongs to is over.
 */
export function detonationUrlExpirySeconds(agentTimeoutSeconds: number): number {
  return detonationTaskTimeoutSeconds(agentTimeoutSeconds) + URL_GRACE_SECONDS;
}

/**
 * Seconds a detonation's turn of a task slot is held beyond the agent's deadline: a typical Fargate
 * start (image pull) and stop. Not the task timeout's worst case (15 minutes), which would idle the
 * slots most of the time; a task that overruns its turn meets the next one's RunTask, which a
 * capacity failure sends back to wait with jitter.
 */
export const TASK_TURN_OVERHEAD_SECONDS = 120;

/** The scope of the detonation task slots in the shared counters. */
const TASK_SLOT_SCOPE = 'detonation';

/** A reserved turn of a detonation task slot, as the state carries it. */
export const DetonationTurnSchema = z.object({
  slot: z.number().int().nonnegative(),
  at: z.number().int(),
  until: z.number().int(),
  holder: z.string().min(1).max(2048),
  /** The Wait before the task may be started. */
  waitSeconds: z.number().int().nonnegative(),
});
export type DetonationTurn = z.infer<typeof DetonationTurnSchema>;

/**
 * Reserves the next turn of a detonation task slot (the concurrent tasks the account's Fargate
 * capacity holds) for `holder` (the execution), and the seconds to wait for it.
 */
export async function reserveDetonationTurn(deps: HandlerDeps, holder: string): Promise<DetonationTurn> {
  const agent = parseAgentConfig(deps.config.detonation.agent, { allowInternet: false });
  const holdMs = (Math.ceil(agent.timeout) + TASK_TURN_OVERHEAD_SECONDS) * 1000;
  const count = detonationTaskSlots(deps.config.detonation);
  const turn = await deps.taskSlots.reserve(TASK_SLOT_SCOPE, count, holdMs, holder);
  const waitSeconds = Math.max(0, Math.ceil((turn.at - deps.clock.now()) / 1000));
  if (waitSeconds > 0) deps.log.info('detonation queued', { slot: turn.slot, waitSeconds, slots: count });
  return { ...turn, holder, waitSeconds };
}

/** Gives the rest of a turn back once the task stopped (when nobody queued behind it). */
export async function releaseDetonationTurn(deps: HandlerDeps, turn: DetonationTurn): Promise<boolean> {
  return deps.taskSlots.release(TASK_SLOT_SCOPE, turn, turn.holder);
}

/** A fresh run nonce: 24 random bytes, URL-safe base64. */
export function newRunNonce(): string {
  return randomBytes(24).toString('base64url');
}

/** True when the report echoes exactly this run's nonce (compared in constant time). */
export function nonceMatches(expected: string, echoed: string | undefined): boolean {
  if (!echoed) return false;
  const a = Buffer.from(expected);
  const b = Buffer.from(echoed);
  return a.length === b.length && timingSafeEqual(a, b);
}

/**
 * Prepares a detonation: a presigned GET of the sample and a presigned PUT for the report, so that the
 * task needs no IAM role at all (a sample could otherwise take the role's credentials).
 */
export async function prepareDetonation(deps: HandlerDeps, sample: Sample): Promise<DetonationJob> {
  // Validated again here (a configuration must never reach a task that would refuse it), but passed
  // on as written: parsing converts sizes (512 means 512 MiB), so it must happen once, in the agent.
  const agent = parseAgentConfig(deps.config.detonation.agent, { allowInternet: false });
  const expiresIn = detonationUrlExpirySeconds(agent.timeout);
  const runNonce = newRunNonce();
  const reportKey = reportKeys.detonation(sample.sha256, randomUUID());
  const s3 = deps.clients.s3;
  const version = sample.versionId ? { VersionId: sample.versionId } : {};
  const pcapKey = reportKeys.detonationPcap(reportKey);
  const [sampleUrl, reportUrl, pcapUrl] = await Promise.all([
    getSignedUrl(s3, new GetObjectCommand({ Bucket: sample.bucket, Key: sample.key, ...version }), {
      expiresIn,
    }),
    getSignedUrl(
      s3,
      new PutObjectCommand({ Bucket: deps.config.reportsBucket, Key: reportKey, ContentType: 'application/json' }),
      { expiresIn },
    ),
    // Same bucket and prefix as the report: the task's URLs need no grant beyond Prepare's own.
    getSignedUrl(
      s3,
      new PutObjectCommand({
        Bucket: deps.config.reportsBucket,
        Key: pcapKey,
        ContentType: 'application/vnd.tcpdump.pcap',
      }),
      { expiresIn },
    ),
  ]);
  // The nonce replaces any the settings might name (in either spelling): it is Prepare's alone.
  const { run_nonce: _snake, runNonce: _camel, ...written } = deps.config.detonation.agent as Record<string, unknown>;
  return fitOverrides({
    sampleUrl,
    reportUrl,
    reportKey,
    pcapUrl,
    pcapKey,
    sampleName: sample.key.split('/').pop() || sample.sha256,
    agentConfig: JSON.stringify({ ...written, run_nonce: runNonce }),
    runNonce,
  });
}

/**
 * Characters ECS allows for a RunTask's container overrides in all, JSON included. Three presigned
 * URLs signed with a Lambda's session credentials take about 1.9 KB each; a long session token (or a
 * long sample key) could push the task past the limit, and RunTask would refuse it.
 */
export const CONTAINER_OVERRIDES_LIMIT = 8192;
/** Room kept for the override's structure (container name, keys, brackets) and what Step Functions adds. */
const OVERRIDES_MARGIN = 512;

/** The characters the job's environment takes in the container overrides, as JSON name/value pairs. */
export function overridesSize(job: Omit<DetonationJob, 'reportKey' | 'pcapKey' | 'runNonce'>): number {
  const environment = [job.sampleUrl, job.reportUrl, job.pcapUrl, job.agentConfig, job.sampleName].map((value) => ({
    name: 'XXXXXXXXXXXX',
    value,
  }));
  return JSON.stringify(environment).length;
}

/**
 * The job, without the capture's URL when all of it would not fit in the container overrides: the
 * verdict does not depend on the capture, and the run must not be refused for it.
 */
export function fitOverrides(job: DetonationJob): DetonationJob {
  return overridesSize(job) <= CONTAINER_OVERRIDES_LIMIT - OVERRIDES_MARGIN ? job : { ...job, pcapUrl: '' };
}

/** The largest detonation report read back: the agent's own bounds keep real ones far below it. */
const MAX_DETONATION_REPORT_BYTES = 32 * 1024 * 1024;

/** Reads the detonation report from S3 and validates it; `undefined` when the task wrote none. */
export async function readDetonationReport(
  deps: HandlerDeps,
  reportKey: string,
): Promise<DetonationReport | undefined> {
  const document = await getJson(deps.clients.s3, deps.config.reportsBucket, reportKey, MAX_DETONATION_REPORT_BYTES);
  return document === undefined ? undefined : DetonationReportSchema.parse(document);
}

/**
 * Turns the agent's report into the engine result every branch ends in. The report must echo
 * `runNonce`, the nonce Prepare gave this run: anything else (a report replayed from another run,
 * or one forged with a leaked URL) ends the engine in `error` and its verdict is not used.
 */
export async function collectDetonation(deps: HandlerDeps, reportKey: string, runNonce: string): Promise<EngineResult> {
  const base: { engine: 'detonation'; reportKey: string; captureKey?: string } = { engine: 'detonation', reportKey };
  let report: DetonationReport | undefined;
  try {
    report = await readDetonationReport(deps, reportKey);
  } catch (error) {
    return {
      ...base,
      status: 'error',
      verdict: 'unknown',
      score: null,
      reason: `the detonation report is invalid: ${(error as Error).message.slice(0, 300)}`,
    };
  }
  if (!report)
    return {
      ...base,
      reportKey: null,
      status: 'error',
      verdict: 'unknown',
      score: null,
      reason: 'the detonation task ended without a report',
    };
  if (!nonceMatches(runNonce, report.runNonce))
    return {
      ...base,
      status: 'error',
      verdict: 'unknown',
      score: null,
      reason: report.runNonce
        ? "the detonation report belongs to another run (its nonce does not match this run's): refused as a replay or forgery"
        : 'the detonation report carries no run nonce: refused, it cannot be bound to this run',
    };
  const native = { value: report.score, scale: 'detonation indicators 0-100' };
  // The capture the agent says it uploaded, beside the report (a report of this run: the nonce matched).
  if (report.capabilities.pcap === 'captured') base.captureKey = reportKeys.detonationPcap(reportKey);
  if (report.status === 'unsupported')
    return {
      ...base,
      status: 'unsupported',
      verdict: 'unknown',
      score: null,
      native,
      reason: report.error ?? 'not a type the agent runs',
    };
  if (report.status === 'error') {
    // A partial report: indicators seen before the failure still incriminate; their absence
    // proves nothing, so a failed run without them stays an error.
    if (report.verdict === 'suspicious' || report.verdict === 'malicious')
      return {
        ...base,
        status: 'completed',
        verdict: report.verdict,
        score: report.score,
        native,
        reason:
          `partial report, scored on what was observed before the agent failed: ${report.error ?? 'unknown error'}`.slice(
            0,
            400,
          ),
      };
    return {
      ...base,
      status: 'error',
      verdict: 'unknown',
      score: null,
      native,
      reason: report.error ?? 'the agent failed',
    };
  }
  return { ...base, status: 'completed', verdict: report.verdict, score: report.score, native };
}

/** The detonation report among these results, for the verdict document; undefined when there is none or it is unreadable. */
export async function detonationReportOf(
  deps: HandlerDeps,
  results: readonly EngineResult[],
): Promise<DetonationReport | undefined> {
  const detonation = results.find((r) => r.engine === 'detonation' && r.reportKey);
  if (!detonation?.reportKey) return undefined;
  try {
    return await readDetonationReport(deps, detonation.reportKey);
  } catch {
    return undefined;
  }
}
