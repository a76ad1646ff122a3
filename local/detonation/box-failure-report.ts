import { failedRunReport } from '../../container/agent/report';
import type { DetonationReport, EndReason } from '../../lambdas/core/contracts/detonation-report';
import { type AgentConfig, parseAgentConfig } from '../../lambdas/core/contracts/agent-config';

/**
 * The report the host side uploads when the boxed agent left none that validates (killed at the
 * host's deadline, crashed, or wrote something that is not a report): the pipeline still gets an
 * answer for the sample, with status `error` and what the host side knows (name, digest, size).
 */

/** What the host side knows about the run. */
export interface BoxFailure {
  reason: string;
  sampleName: string;
  sha256: string | null;
  size: number | null;
  rawConfig: string | undefined;
  startedAt: number;
  endReason: EndReason;
}

function configOf(raw: string | undefined): AgentConfig | null {
  try {
    return parseAgentConfig(raw ? JSON.parse(raw) : {}, { allowInternet: false });
  } catch {
    return null;
  }
}

export function boxFailureReport(failure: BoxFailure): DetonationReport {
  return failedRunReport({
    error: failure.reason,
    sample: { name: failure.sampleName, sha256: failure.sha256, size: failure.size },
    startedAt: failure.startedAt,
    finishedAt: Date.now() / 1000,
    endReason: failure.endReason,
    config: configOf(failure.rawConfig),
    notes: ['the boxed agent left no valid report; this one is the host side’s'],
  });
}
