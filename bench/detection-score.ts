import type { BehaviorKey, DetonationReport, EndReason, Severity } from '../lambdas/core/contracts/detonation-report';
import type { Verdict } from '../lambdas/core/contracts/pipeline';
import { type CorpusEntry, type ExpectedVerdict, isBenign } from './detection-corpus';
import type { Metric } from './metric';

/**
 * How the detonation engine did on the detection corpus: per sample, what was expected and what
 * was raised, and over the corpus the five detection metrics. Pure arithmetic over reports, so it
 * can be checked on hand-made outcomes.
 *
 * How ids count:
 * - technique recall: an expected id is found when any raised indicator, of any severity, lists it
 *   in its `attack`; ids match exactly, so a raised T1053 does not find an expected T1053.003;
 * - technique precision: the ids counted are those of medium, high and critical indicators, plus a
 *   low indicator's ids when the sample expects them. A low indicator is context by the score model
 *   (listing processes, running a downloader) and never decides a verdict, so the discovery a
 *   procedure does on its way costs no precision; anything the engine is confident about does. A
 *   counted id is right when the sample expects it or names it incidental;
 * - key recall: an expected key is found when it holds at least one indicator.
 */

/** One indicator as the score reads it. */
export interface RaisedIndicator {
  key: BehaviorKey;
  id: string;
  severity: Severity;
  attack: readonly string[];
}

/** What one detonation of a corpus sample gave. */
export interface SampleOutcome {
  verdict: Verdict;
  indicators: readonly RaisedIndicator[];
  /** Null when the detonation failed before a report was made. */
  endReason: EndReason | null;
  timedOut: boolean;
  error?: string;
}

/** One row of the per-sample table. */
export interface SampleScore {
  file: string;
  expectedKeys: BehaviorKey[];
  expectedTechniques: string[];
  expectedVerdict: ExpectedVerdict;
  verdict: Verdict;
  verdictInBand: boolean;
  /** Every ATT&CK id raised, of any severity, sorted. */
  raised: string[];
  missingKeys: BehaviorKey[];
  missingTechniques: string[];
  /** Counted ids (see above) the sample neither expects nor names incidental. */
  unexpected: string[];
  /** Counted ids the sample expects or names incidental. */
  correct: string[];
  /**
   * Ended by the deadline rather than by the sample, or not run at all. The idle timer is a normal
   * end: a sample that left a quiet daemon behind (gpg starts gpg-agent) is done with.
   */
  incomplete: boolean;
  error?: string;
}

/** The corpus-wide results. */
export interface DetectionScore {
  samples: SampleScore[];
  keyRecall: number;
  techniqueRecall: number;
  techniquePrecision: number;
  benignFalsePositiveRate: number;
  verdictAccuracy: number;
  incomplete: number;
}

const RANK: Record<Verdict, number> = { unknown: -1, benign: 0, suspicious: 1, malicious: 2 };

/** Whether a verdict is in the expected band: exactly benign, or at least suspicious or malicious. */
export function verdictInBand(expected: ExpectedVerdict, verdict: Verdict): boolean {
  if (expected === 'benign') return verdict === 'benign';
  return RANK[verdict] >= RANK[expected];
}

/** The outcome of a detonation report. */
export function outcomeOfReport(report: DetonationReport): SampleOutcome {
  const indicators = Object.entries(report.behavior).flatMap(([key, list]) =>
    list.map((i) => ({ key: key as BehaviorKey, id: i.id, severity: i.severity, attack: i.attack })),
  );
  return { verdict: report.verdict, indicators, endReason: report.endReason, timedOut: report.timedOut };
}

/** The outcome of a detonation that failed without a report. */
export function outcomeOfFailure(error: unknown): SampleOutcome {
  return {
    verdict: 'unknown',
    indicators: [],
    endReason: null,
    timedOut: false,
    error: error instanceof Error ? error.message : String(error),
  };
}

/** Scores one sample against its manifest entry. */
export function scoreSample(entry: CorpusEntry, outcome: SampleOutcome): SampleScore {
  const acceptable = new Set([...entry.techniques, ...entry.incidental]);
  const raised = new Set(outcome.indicators.flatMap((i) => i.attack));
  const counted = new Set(
    outcome.indicators.flatMap((i) => (i.severity === 'low' ? i.attack.filter((id) => acceptable.has(id)) : i.attack)),
  );
  const keysRaised = new Set(outcome.indicators.map((i) => i.key));
  const sorted = (ids: Iterable<string>) => [...ids].sort();
  return {
    file: entry.file,
    expectedKeys: entry.keys,
    expectedTechniques: entry.techniques,
    expectedVerdict: entry.verdict,
    verdict: outcome.verdict,
    verdictInBand: verdictInBand(entry.verdict, outcome.verdict),
    raised: sorted(raised),
    missingKeys: entry.keys.filter((k) => !keysRaised.has(k)),
    missingTechniques: entry.techniques.filter((id) => !raised.has(id)),
    unexpected: sorted([...counted].filter((id) => !acceptable.has(id))),
    correct: sorted([...counted].filter((id) => acceptable.has(id))),
    incomplete: outcome.endReason === null || outcome.endReason === 'timeout' || outcome.timedOut,
    ...(outcome.error ? { error: outcome.error } : {}),
  };
}

/** found ÷ total, and 0 when there is nothing to count (an empty corpus meets no target). */
const ratio = (found: number, total: number) => (total === 0 ? 0 : found / total);
const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);

/** Scores the corpus: each entry with its outcome, in the manifest's order. */
export function scoreDetection(runs: readonly { entry: CorpusEntry; outcome: SampleOutcome }[]): DetectionScore {
  const samples = runs.map(({ entry, outcome }) => scoreSample(entry, outcome));
  const techniqueRuns = runs
    .map((run, i) => ({ ...run, score: samples[i] as SampleScore }))
    .filter((r) => !isBenign(r.entry));
  const benign = samples.filter((s) => isBenign(s));
  const expectedKeys = sum(techniqueRuns.map((r) => r.entry.keys.length));
  const expectedTechniques = sum(techniqueRuns.map((r) => r.entry.techniques.length));
  const counted = sum(techniqueRuns.map((r) => r.score.correct.length + r.score.unexpected.length));
  return {
    samples,
    keyRecall: ratio(expectedKeys - sum(techniqueRuns.map((r) => r.score.missingKeys.length)), expectedKeys),
    techniqueRecall: ratio(
      expectedTechniques - sum(techniqueRuns.map((r) => r.score.missingTechniques.length)),
      expectedTechniques,
    ),
    techniquePrecision: ratio(sum(techniqueRuns.map((r) => r.score.correct.length)), counted),
    benignFalsePositiveRate: ratio(benign.filter((s) => s.verdict !== 'benign').length, benign.length),
    verdictAccuracy: ratio(samples.filter((s) => s.verdictInBand).length, samples.length),
    incomplete: samples.filter((s) => s.incomplete).length,
  };
}

/** Four decimals: enough to see one sample move, stable to print. */
const round = (x: number) => Math.round(x * 10_000) / 10_000;

/** The benchmark's metrics for a score; targets are the acceptance bounds of the detection work. */
export function detectionMetrics(score: DetectionScore, wallSeconds: number): Metric[] {
  const techniques = score.samples.filter((s) => !isBenign(s)).length;
  const benign = score.samples.length - techniques;
  return [
    {
      name: 'detection_key_recall',
      value: round(score.keyRecall),
      unit: `ratio (expected behaviour keys raised, ${techniques} technique samples)`,
      target: '>= 0.95',
    },
    {
      name: 'detection_technique_recall',
      value: round(score.techniqueRecall),
      unit: 'ratio (expected ATT&CK ids raised, exact match)',
      target: '>= 0.9',
    },
    {
      name: 'detection_technique_precision',
      value: round(score.techniquePrecision),
      unit: 'ratio (raised ids expected; low-severity ids count only when expected)',
      target: '>= 0.9',
    },
    {
      name: 'detection_benign_fp_rate',
      value: round(score.benignFalsePositiveRate),
      unit: `ratio (${benign} benign samples not judged benign)`,
      target: '<= 0.05',
    },
    {
      name: 'detection_verdict_accuracy',
      value: round(score.verdictAccuracy),
      unit: `ratio (${score.samples.length} samples in their expected verdict band)`,
      target: '>= 0.95',
    },
    {
      name: 'detection_samples_timed_out',
      value: score.incomplete,
      unit: 'samples (ended by the deadline, or not run)',
      target: '<= 0',
    },
    { name: 'detection_wall_s', value: Math.round(wallSeconds * 10) / 10, unit: 's (whole corpus, two at a time)' },
  ];
}
