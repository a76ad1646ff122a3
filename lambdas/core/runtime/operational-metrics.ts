import type { FinalizeOutput, VendorJob } from '../contracts/pipeline';

/**
 * What the operations dashboard and alarms read, as each step's output shows it. A name maps to a
 * count, or to seconds. The names are the contract with `lib/operations.ts`, which draws and alarms
 * on them: change both together.
 */
export type OperationalMetrics = Record<string, number | { seconds: number }>;

/** The metric names the stack's alarms and dashboard use. */
export const OPERATIONAL_METRICS = {
  vendorAuthFailed: 'VendorAuthFailed',
  vendorQueueSeconds: (vendor: string) => `VendorQueueSeconds-${vendor}`,
  engineSeconds: (engine: string) => `EngineSeconds-${engine}`,
  verdict: (verdict: string) => `Verdict-${verdict}`,
  detonationQueueSeconds: 'DetonationQueueSeconds',
  /** Verdicts whose object did not get all the verdict tags (the owner's tags fill S3's ten, or it was gone). */
  objectsNotTagged: 'ObjectsNotTagged',
} as const;

/** A vendor job after submit or poll: the wait for a submission slot (queue depth in time), a rejected key. */
export function vendorJobMetrics(job: VendorJob): OperationalMetrics {
  const metrics: OperationalMetrics = {};
  if (job.phase === 'queued')
    metrics[OPERATIONAL_METRICS.vendorQueueSeconds(job.engine)] = { seconds: job.waitSeconds };
  if (job.result?.status === 'auth_failed') metrics[OPERATIONAL_METRICS.vendorAuthFailed] = 1;
  return metrics;
}

/** An engine's latency: from its start (a vendor's submission, a detonation's turn) to its collection. */
export function engineLatencyMetrics(engine: string, startedAt: number | undefined, now: number): OperationalMetrics {
  if (startedAt === undefined || startedAt <= 0 || now < startedAt) return {};
  return { [OPERATIONAL_METRICS.engineSeconds(engine)]: { seconds: Math.round((now - startedAt) / 1000) } };
}

/** One verdict, counted by its result; and its object, when it did not get every verdict tag. */
export function verdictMetrics(output: FinalizeOutput): OperationalMetrics {
  const metrics: OperationalMetrics = { [OPERATIONAL_METRICS.verdict(output.detail.verdict)]: 1 };
  const tagging = output.detail.tagging?.status;
  if (tagging && tagging !== 'tagged') metrics[OPERATIONAL_METRICS.objectsNotTagged] = 1;
  return metrics;
}
