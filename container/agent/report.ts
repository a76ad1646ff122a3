import {
  BEHAVIOR_KEYS,
  DetonationReportSchema,
  REPORT_LIMITS,
  verdictOfScore,
  type AgentConfig,
  type AppliedLimits,
  type Behavior,
  type BoundedList,
  type Capabilities,
  type DetonationReport,
  type DetonationStatus,
  type EndReason,
  type LimitsHit,
  type SampleFacts,
  type Severity,
} from '../../lambdas/core/detonation-report';
import type { ActivityRecorder } from './recorder';
import type { StaticStrings } from './static';

/**
 * Assembles the report: the recorder's bounded lists, the indicators, the score and verdict, and
 * a final pass through the shared schema, so the agent can never upload a report the Lambdas
 * would reject.
 */

/** What one indicator of each severity weighs (0–100). */
export const SEVERITY_WEIGHT: Record<Severity, number> = { low: 10, medium: 35, high: 60, critical: 90 };

/**
 * Combines the indicators like independent pieces of evidence: 100 × (1 − Π(1 − w/100)). One high
 * indicator is suspicious (60), two are malicious (84), a critical one is malicious alone, and a
 * handful of low ones never are.
 */
export function scoreBehavior(behavior: Behavior): number {
  let clean = 1;
  for (const key of BEHAVIOR_KEYS)
    for (const indicator of behavior[key]) clean *= 1 - SEVERITY_WEIGHT[indicator.severity] / 100;
  return Math.round((1 - clean) * 100);
}

/** A behaviour with no indicator under any key. */
export function emptyBehavior(): Behavior {
  return Object.fromEntries(BEHAVIOR_KEYS.map((key) => [key, []])) as unknown as Behavior;
}

/** Every limit, none hit. */
export function noLimitsHit(): LimitsHit {
  return {
    cpu: false,
    memory: false,
    processes: false,
    fileSize: false,
    disk: false,
    timeout: false,
    traceSize: false,
  };
}

/** A bounded list of the first `max` items. */
export function bounded<T>(items: readonly T[], max: number): BoundedList<T> {
  return { items: items.slice(0, max), count: items.length, truncated: items.length > max };
}

/** Everything the report is assembled from. */
export interface ReportParts {
  status: DetonationStatus;
  error?: string;
  sample: SampleFacts;
  startedAt: number;
  finishedAt: number;
  endReason: EndReason;
  limits: AppliedLimits;
  limitsHit: LimitsHit;
  capabilities: Capabilities;
  recorder: ActivityRecorder | null;
  output: { bytes: number; tail: string };
  staticStrings: StaticStrings | null;
  behavior: Behavior;
  notes: string[];
  config: AgentConfig | null;
}

const empty = <T>(): BoundedList<T> => ({ items: [], count: 0, truncated: false });
const iso = (seconds: number) => new Date(seconds * 1000).toISOString();

/** Builds and validates the report. The score and verdict exist only for completed runs. */
export function assembleReport(parts: ReportParts): DetonationReport {
  const completed = parts.status === 'completed';
  const score = completed ? scoreBehavior(parts.behavior) : null;
  const recorder = parts.recorder;
  const report: DetonationReport = {
    schemaVersion: 1,
    engine: 'detonation',
    status: parts.status,
    ...(parts.error ? { error: parts.error.slice(0, REPORT_LIMITS.text) } : {}),
    sample: parts.sample,
    startedAt: iso(parts.startedAt),
    finishedAt: iso(parts.finishedAt),
    durationMs: Math.max(0, Math.round((parts.finishedAt - parts.startedAt) * 1000)),
    endReason: parts.endReason,
    timedOut: parts.limitsHit.timeout,
    limits: parts.limits,
    limitsHit: parts.limitsHit,
    capabilities: parts.capabilities,
    processes: recorder?.processList() ?? empty(),
    executions: recorder?.executionList() ?? empty(),
    fileOperations: recorder?.fileOperationList() ?? empty(),
    network: recorder?.network() ?? {
      dnsQueries: empty(),
      connections: empty(),
      httpRequests: empty(),
      tlsServerNames: empty(),
      payloads: empty(),
    },
    resourceUsage: recorder?.resourceUsage() ?? empty(),
    output: { bytes: parts.output.bytes, tail: parts.output.tail.slice(-2048) },
    staticStrings: {
      urls: parts.staticStrings
        ? {
            items: parts.staticStrings.urls.map((u) => u.slice(0, REPORT_LIMITS.text)),
            count: parts.staticStrings.urlCount,
            truncated: parts.staticStrings.urlCount > parts.staticStrings.urls.length,
          }
        : empty(),
      ipAddresses: parts.staticStrings
        ? {
            items: parts.staticStrings.ipAddresses,
            count: parts.staticStrings.ipCount,
            truncated: parts.staticStrings.ipCount > parts.staticStrings.ipAddresses.length,
          }
        : empty(),
    },
    behavior: parts.behavior,
    score,
    verdict: verdictOfScore(score),
    notes: bounded(
      parts.notes.map((n) => n.slice(0, REPORT_LIMITS.text)),
      REPORT_LIMITS.notes,
    ),
    config: (parts.config ?? {}) as Record<string, unknown>,
  };
  return DetonationReportSchema.parse(report);
}
