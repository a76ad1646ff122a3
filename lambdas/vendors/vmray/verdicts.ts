import { clampScore, clampToBand } from '../../core/contracts/scoring';
import type { Verdict } from '../../core/contracts/pipeline';
import type { NormalisedScore } from '../../core/connector/connector';
import { bandedScore } from '../normalised-score';
import type { VmrayAnalysis } from './wire';

/** Where a verdict without a VTI score lands. */
const VERDICT_ONLY: Record<Exclude<Verdict, 'unknown'>, number> = { benign: 10, suspicious: 55, malicious: 90 };

/** VMRay verdicts (current) and severities (legacy, before verdicts existed) as our verdicts; `unknown` means "not available". */
const VERDICTS: Record<string, Verdict> = {
  clean: 'benign',
  not_suspicious: 'benign',
  whitelisted: 'benign',
  suspicious: 'suspicious',
  malicious: 'malicious',
  blacklisted: 'malicious',
  not_available: 'unknown',
};

const RANK: Record<Verdict, number> = { malicious: 3, suspicious: 2, benign: 1, unknown: 0 };

/**
 * VMRay's legacy VTI score (0–100) on our scale, linear inside each of VMRay's own tiers:
 * 0–24 clean → 0–39, 25–74 suspicious → 40–69, 75–100 malicious → 70–100.
 */
function vtiToScore(vti: number): number {
  if (vti < 25) return Math.min(39, (Math.max(0, vti) * 39) / 24);
  if (vti < 75) return Math.min(69, 40 + ((vti - 25) * 29) / 49);
  return Math.min(100, 70 + ((vti - 75) * 30) / 25);
}

/** Combines a verdict and a VTI score: the score places the sample, the verdict wins when they disagree. */
export function combine(verdictName: string | null | undefined, vti: number | null | undefined): NormalisedScore {
  const verdict = verdictName ? VERDICTS[verdictName.toLowerCase()] : undefined;
  const native =
    typeof vti === 'number'
      ? { value: vti, scale: 'VTI score 0-100' }
      : { value: verdictName ?? null, scale: 'verdict' };
  if (verdict === 'unknown') return { score: null, verdict: 'unknown', native };
  if (typeof vti === 'number') {
    const placed = vtiToScore(vti);
    if (!verdict) return bandedScore(clampScore(placed), native);
    return { score: clampToBand(placed, verdict), verdict, native };
  }
  if (verdict) return { score: VERDICT_ONLY[verdict], verdict, native };
  return bandedScore(null, native);
}

/** How an analysis ranks: its verdict (or legacy severity), then its VTI score, then the newest. */
function rankOf(analysis: VmrayAnalysis): [number, number, number] {
  const named = analysis.analysis_verdict ?? analysis.analysis_severity ?? undefined;
  const verdict = named ? VERDICTS[named.toLowerCase()] : undefined;
  return [verdict ? RANK[verdict] : 0, analysis.analysis_vti_score ?? -1, analysis.analysis_id];
}

/** The most telling analysis of a list (what VMRay calls the top-ranked one); undefined for an empty list. */
export function topRanked(analyses: readonly VmrayAnalysis[]): VmrayAnalysis | undefined {
  let best: VmrayAnalysis | undefined;
  for (const analysis of analyses) {
    if (!best) {
      best = analysis;
      continue;
    }
    const [a, b] = [rankOf(analysis), rankOf(best)];
    const order = a[0] - b[0] || a[1] - b[1] || a[2] - b[2];
    if (order > 0) best = analysis;
  }
  return best;
}
