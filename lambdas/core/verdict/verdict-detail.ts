import {
  engineSummaryOf,
  type EngineResult,
  MAX_THREATS,
  type Sample,
  type SampleVerdictDetail,
  SampleVerdictDetailSchema,
  STATIC_ENGINE,
  type Threat,
  VERDICT_SCHEMA_VERSION,
  type VerdictReason,
} from '../contracts/pipeline';
import type { VerdictRecord } from '../store/verdict-store';

/**
 * Every threat the engines named, once per name: the engines with the highest scores first (their
 * naming is the one consumers see first), cut to the event's bound.
 */
export function threatsOf(results: readonly EngineResult[]): Threat[] {
  const ranked = results
    .filter((result) => result.status === 'completed' && result.threats?.length)
    .sort((a, b) => (b.score ?? -1) - (a.score ?? -1));
  const seen = new Set<string>();
  const threats: Threat[] = [];
  for (const result of ranked)
    for (const threat of result.threats ?? []) {
      const key = threat.name.toLowerCase();
      if (seen.has(key) || threats.length >= MAX_THREATS) continue;
      seen.add(key);
      threats.push(threat);
    }
  return threats;
}

/**
 * What a verdict rests on when it is less than a full analysis: an empty object is benign by
 * definition; a verdict that only the static engine scored says so, since nothing ran the file.
 */
export function verdictReasonOf(
  sample: Pick<Sample, 'size'>,
  results: readonly EngineResult[],
): VerdictReason | undefined {
  if (sample.size === 0) return 'empty';
  const scored = results.filter((r) => r.status === 'completed' && r.score !== null);
  if (scored.length > 0 && scored.every((r) => r.engine === STATIC_ENGINE)) return 'static-only';
  return undefined;
}

/**
 * The `Sample Verdict` detail of a stored verdict, for the upload it is published for: the record
 * says what the content is and how it was judged, the object where this upload is.
 */
export function verdictDetailOf(
  record: VerdictRecord,
  object: { bucket: string; key: string; versionId: string | null },
  cached: boolean,
  durationMs: number,
): SampleVerdictDetail {
  const reason = verdictReasonOf(record, record.engineResults);
  return SampleVerdictDetailSchema.parse({
    schemaVersion: VERDICT_SCHEMA_VERSION,
    sha256: record.sha256,
    bucket: object.bucket,
    key: object.key,
    versionId: object.versionId,
    size: record.size,
    fileType: record.fileType,
    verdict: record.verdict,
    score: record.score,
    engines: record.engineResults.map(engineSummaryOf),
    threats: threatsOf(record.engineResults),
    ...(reason ? { reason } : {}),
    cached,
    analyzedAt: new Date(record.analyzedAt).toISOString(),
    durationMs: Math.max(0, Math.round(durationMs)),
  });
}
