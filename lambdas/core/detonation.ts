import { randomUUID } from 'node:crypto';
import { GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import type { HandlerDeps } from './deps';
import { DetonationReportSchema, parseAgentConfig, type DetonationReport } from './detonation-report';
import { reportKeys } from './report-keys';
import type { EngineResult, Sample } from './schemas';

/** What the detonation task is started with (container overrides), small enough for the state. */
export interface DetonationJob {
  sampleUrl: string;
  reportUrl: string;
  reportKey: string;
  sampleName: string;
  /** `AGENT_CONFIG`, as JSON text. */
  agentConfig: string;
}

/** Seconds the presigned URLs stay valid: the whole task must fit, queueing for Fargate capacity included. */
const URL_EXPIRY_SECONDS = 3600;

/**
 * Prepares a detonation: a presigned GET of the sample and a presigned PUT for the report, so that the
 * task needs no IAM role at all (a sample could otherwise take the role's credentials).
 */
export async function prepareDetonation(deps: HandlerDeps, sample: Sample): Promise<DetonationJob> {
  const reportKey = reportKeys.detonation(sample.sha256, randomUUID());
  const s3 = deps.clients.s3;
  const version = sample.versionId ? { VersionId: sample.versionId } : {};
  const [sampleUrl, reportUrl] = await Promise.all([
    getSignedUrl(s3, new GetObjectCommand({ Bucket: sample.bucket, Key: sample.key, ...version }), {
      expiresIn: URL_EXPIRY_SECONDS,
    }),
    getSignedUrl(
      s3,
      new PutObjectCommand({ Bucket: deps.config.reportsBucket, Key: reportKey, ContentType: 'application/json' }),
      { expiresIn: URL_EXPIRY_SECONDS },
    ),
  ]);
  // Validated again here (a configuration must never reach a task that would refuse it), but passed
  // on as written: parsing converts sizes (512 means 512 MiB), so it must happen once, in the agent.
  parseAgentConfig(deps.config.detonation.agent, { allowInternet: false });
  return {
    sampleUrl,
    reportUrl,
    reportKey,
    sampleName: sample.key.split('/').pop() || sample.sha256,
    agentConfig: JSON.stringify(deps.config.detonation.agent),
  };
}

/** Reads the detonation report from S3 and validates it; `undefined` when the task wrote none. */
export async function readDetonationReport(
  deps: HandlerDeps,
  reportKey: string,
): Promise<DetonationReport | undefined> {
  try {
    const object = await deps.clients.s3.send(
      new GetObjectCommand({ Bucket: deps.config.reportsBucket, Key: reportKey }),
    );
    const text = await object.Body?.transformToString('utf8');
    return DetonationReportSchema.parse(JSON.parse(text ?? ''));
  } catch (error) {
    if (
      (error as { name?: string }).name === 'NoSuchKey' ||
      (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode === 404
    )
      return undefined;
    throw error;
  }
}

/** Turns the agent's report into the engine result every branch ends in. */
export async function collectDetonation(deps: HandlerDeps, reportKey: string): Promise<EngineResult> {
  const base = { engine: 'detonation' as const, reportKey };
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
  const native = { value: report.score, scale: 'detonation indicators 0-100' };
  if (report.status === 'unsupported')
    return {
      ...base,
      status: 'unsupported',
      verdict: 'unknown',
      score: null,
      native,
      reason: report.error ?? 'not a type the agent runs',
    };
  if (report.status === 'error')
    return {
      ...base,
      status: 'error',
      verdict: 'unknown',
      score: null,
      native,
      reason: report.error ?? 'the agent failed',
    };
  return { ...base, status: 'completed', verdict: report.verdict, score: report.score, native };
}

/** The behaviour indicators of the detonation among these results, for the verdict document. */
export async function behaviorOf(
  deps: HandlerDeps,
  results: readonly EngineResult[],
): Promise<DetonationReport['behavior'] | undefined> {
  const detonation = results.find((r) => r.engine === 'detonation' && r.reportKey);
  if (!detonation?.reportKey) return undefined;
  try {
    return (await readDetonationReport(deps, detonation.reportKey))?.behavior;
  } catch {
    return undefined;
  }
}
