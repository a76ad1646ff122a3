import * as z from 'zod';
import type { AnalysisOutcome } from './outcome';

/**
 * The exit codes of `sandtrap analyze`, for scripts and CI. 0, 1 and 2 keep the meaning they always
 * had; `--fail-on` has a code of its own so a gate can tell "the sample is bad" from "the tool failed".
 */
export const EXIT = {
  /** Every file got a verdict (and none reached `--fail-on`). */
  ok: 0,
  /** Bad arguments or configuration, or the pipeline could not start: nothing was analysed. */
  error: 1,
  /** At least one file ended without a verdict (unreadable, failed, timed out). */
  noVerdict: 2,
  /** A verdict reached the `--fail-on` level. Wins over 2: a malicious sample matters more to a gate. */
  failOn: 3,
  /** Stopped by Ctrl-C (128 + SIGINT, as shells report it). */
  interrupted: 130,
} as const;

/** How the exit codes read in `--help` and the README. */
export const EXIT_CODES_HELP = [
  'Exit codes:',
  '  0    every file got a verdict (below the --fail-on level)',
  '  1    bad arguments or configuration: nothing was analysed',
  '  2    at least one file ended without a verdict (unreadable, failed, timed out)',
  '  3    a verdict reached the --fail-on level',
  '  130  interrupted (Ctrl-C)',
].join('\n');

/** The verdict levels `--fail-on` takes, lowest first. */
export const FailOnSchema = z.enum(['suspicious', 'malicious'], {
  message: '--fail-on takes suspicious or malicious',
});

const SEVERITY: Record<string, number> = { unknown: 0, benign: 0, suspicious: 1, malicious: 2 };

/** The exit code of a batch (see {@link EXIT}). */
export function exitCodeOf(
  outcomes: AnalysisOutcome[],
  options: { failOn?: z.infer<typeof FailOnSchema>; interrupted?: boolean },
): number {
  if (options.interrupted) return EXIT.interrupted;
  const threshold = options.failOn ? (SEVERITY[options.failOn] ?? 0) : Number.POSITIVE_INFINITY;
  if (outcomes.some((o) => o.ok && (SEVERITY[o.document.verdict] ?? 0) >= threshold)) return EXIT.failOn;
  if (outcomes.some((o) => !o.ok)) return EXIT.noVerdict;
  return EXIT.ok;
}
