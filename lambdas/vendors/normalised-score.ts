import { bandOf, DEFAULT_THRESHOLDS } from '../core/contracts/scoring';
import type { NativeScore } from '../core/contracts/pipeline';
import type { NormalisedScore } from '../core/connector/connector';

/**
 * A 0–100 score in Sandtrap's common verdict bands (`scoring.ts`: benign below 40, malicious from
 * 70), keeping the vendor's native value; `null` (the vendor gave no score) is `unknown`.
 */
export function bandedScore(score: number | null, native: NativeScore): NormalisedScore {
  return { score, verdict: bandOf(score, DEFAULT_THRESHOLDS), native };
}
