import {
  engineSummaryOf,
  type EngineResult,
  MAX_EVENT_ATTACK,
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

/** Completed results, the engines with the highest scores first (their naming is the one consumers see first). */
function ranked(results: readonly EngineResult[]): EngineResult[] {
  return results.filter((result) => result.status === 'completed').sort((a, b) => (b.score ?? -1) - (a.score ?? -1));
}

/**
 * Every threat the engines named, once per name, cut to the event's bound. A vendor's family is a
 * threat named after it; it is dropped when an engine ranked higher already named it, as a threat's
 * name or as its family (a YARA threat `Win.AgentTesla` of family `AgentTesla`, say).
 */
export function threatsOf(results: readonly EngineResult[]): Threat[] {
  const seen = new Set<string>();
  const threats: Threat[] = [];
  for (const result of ranked(results))
    for (const threat of result.threats ?? []) {
      const key = threat.name.toLowerCase();
      if (seen.has(key) || threats.length >= MAX_THREATS) continue;
      seen.add(key);
      if (threat.family) seen.add(threat.family.toLowerCase());
      threats.push(threat);
    }
  return threats;
}

/** Every ATT&CK technique id the vendors' findings named, once each, cut to the event's bound. */
export function attackOf(results: readonly EngineResult[]): string[] {
  const ids = new Set<string>();
  for (const result of ranked(results)) for (const id of result.findings?.attack ?? []) ids.add(id);
  return [...ids].slice(0, MAX_EVENT_ATTACK);
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
  object: Pick<Sample, 'bucket' | 'key' | 'versionId' | 'withheld'>,
  cached: boolean,
  durationMs: number,
): SampleVerdictDetail {
  const reason = record.released ? 'released' : verdictReasonOf(record, record.engineResults);
  const attack = attackOf(record.engineResults);
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
    ...(attack.length ? { attack } : {}),
    ...(reason ? { reason } : {}),
    cached,
    analyzedAt: new Date(record.analyzedAt).toISOString(),
    durationMs: Math.max(0, Math.round(durationMs)),
    ...(object.withheld?.length ? { withheld: object.withheld } : {}),
  });
}
