import * as z from 'zod';
import type { EngineResult, Verdict } from './pipeline';

/** How engine scores combine into one verdict. */
export const VerdictPolicySchema = z
  .object({
    /** `max`: the highest engine score wins (default); `mean`: the average of the scored engines. */
    method: z.enum(['max', 'mean']).default('max'),
    suspiciousAt: z.number().min(0).max(100).default(40),
    maliciousAt: z.number().min(0).max(100).default(70),
  })
  .strict()
  .refine((p) => p.suspiciousAt < p.maliciousAt, 'suspiciousAt must be below maliciousAt');
export type VerdictPolicy = z.infer<typeof VerdictPolicySchema>;

/** The verdict and 0–100 score an analysis ends with. */
export interface AggregateVerdict {
  verdict: Verdict;
  score: number | null;
}

/** Places a 0–100 score in the policy's bands; `null` (no engine could score) is `unknown`, never benign. */
export function bandOf(score: number | null, policy: Pick<VerdictPolicy, 'suspiciousAt' | 'maliciousAt'>): Verdict {
  if (score === null) return 'unknown';
  if (score >= policy.maliciousAt) return 'malicious';
  if (score >= policy.suspiciousAt) return 'suspicious';
  return 'benign';
}

/** Clamps and rounds a normalised score into 0–100. */
export function clampScore(value: number): number {
  if (!Number.isFinite(value)) throw new RangeError(`score is not a finite number: ${value}`);
  return Math.round(Math.min(100, Math.max(0, value)));
}

/** The score range of each verdict on the 0–100 scale; every engine maps its own scale into these bands. */
export const VERDICT_BANDS: Record<Exclude<Verdict, 'unknown'>, { min: number; max: number }> = {
  benign: { min: 0, max: 39 },
  suspicious: { min: 40, max: 69 },
  malicious: { min: 70, max: 100 },
};

/** The default policy's thresholds, which {@link VERDICT_BANDS} draw. */
export const DEFAULT_THRESHOLDS = {
  suspiciousAt: VERDICT_BANDS.suspicious.min,
  maliciousAt: VERDICT_BANDS.malicious.min,
} as const;

/** A score kept inside the band of the verdict a vendor named, so that score and verdict never disagree. */
export function clampToBand(value: number, verdict: Exclude<Verdict, 'unknown'>): number {
  const band = VERDICT_BANDS[verdict];
  return clampScore(Math.min(band.max, Math.max(band.min, value)));
}

/**
 * Combines engine results into one verdict. Only completed engines with a score count; the default
 * policy takes the highest score, so one confident engine is enough to call a sample malicious.
 */
export function aggregate(results: readonly EngineResult[], policy: VerdictPolicy): AggregateVerdict {
  const scores = results.filter((r) => r.status === 'completed' && r.score !== null).map((r) => r.score as number);
  if (scores.length === 0) return { verdict: 'unknown', score: null };
  const score =
    policy.method === 'mean' ? clampScore(scores.reduce((a, b) => a + b, 0) / scores.length) : Math.max(...scores);
  return { verdict: bandOf(score, policy), score };
}
