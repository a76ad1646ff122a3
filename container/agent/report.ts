import * as z from 'zod';
import {
  AppliedLimitsSchema,
  BEHAVIOR_KEYS,
  CapabilitiesSchema,
  DetonationReportSchema,
  DetonationReportShape,
  EndReasonSchema,
  IndicatorSchema,
  LimitsHitSchema,
  NetworkSchema,
  REPORT_LIMITS,
  RunNonceSchema,
  SampleFactsSchema,
  verdictOfScore,
  type AppliedLimits,
  type Behavior,
  type BoundedList,
  type Capabilities,
  type DetonationReport,
  type DetonationStatus,
  type EndReason,
  type Execution,
  type FileOperation,
  type Indicator,
  type LimitsHit,
  type NetworkActivity,
  type ProcessRecord,
  type ResourceSample,
  type SampleFacts,
  type Severity,
} from '../../lambdas/core/contracts/detonation-report';
import type { AgentConfig } from '../../lambdas/core/contracts/agent-config';
import { Clip } from './bounded';
import type { ActivityRecorder } from './recorder';
import { appliedLimits } from './run';
import type { StaticStrings } from './static';

/**
 * Assembles the report: the recorder's bounded lists, the indicators, the score and verdict, and
 * a final pass through the shared schema, so the agent can never upload a report the Lambdas
 * would reject.
 */

/**
 * What one indicator of each severity weighs (0–100). What the severities mean to rule authors:
 * `low` is context or discovery (listing processes, a downloader run, a daemonised child) and never
 * decides a verdict alone; `medium` is a confident indicator of an attack technique and is
 * suspicious alone; `high` is strong evidence, malicious with one more tactic; `critical` is
 * malicious alone.
 */
export const SEVERITY_WEIGHT: Record<Severity, number> = { low: 10, medium: 45, high: 60, critical: 90 };

/** The most that low-severity indicators add up to together: discovery alone stays benign. */
export const LOW_SEVERITY_CAP = 30;

/** How much a further indicator of a tactic already shown counts, against one of a new tactic. */
export const SAME_TACTIC_FACTOR = 0.5;

/**
 * Combines the indicators as pieces of evidence, by tactic (behaviour key). Within a tactic the
 * strongest indicator counts in full and each further one at half its weight; tactics combine as
 * independent evidence, 100 × (1 − Π(1 − wₜ/100)); the low-severity indicators of every tactic
 * together add at most {@link LOW_SEVERITY_CAP}. So one medium indicator is suspicious (45), a
 * medium and a high of two tactics are malicious (78), two of one tactic stay suspicious (57), a
 * critical one is malicious alone (90), and no number of low ones is more than benign (≤ 30).
 */
export function scoreBehavior(behavior: Behavior): number {
  let clean = 1;
  let lowClean = 1;
  for (const key of BEHAVIOR_KEYS) {
    const weights = behavior[key]
      .filter((indicator) => indicator.severity !== 'low')
      .map((indicator) => SEVERITY_WEIGHT[indicator.severity] / 100)
      .sort((a, b) => b - a);
    weights.forEach((weight, index) => {
      clean *= 1 - (index === 0 ? weight : weight * SAME_TACTIC_FACTOR);
    });
    for (const indicator of behavior[key]) if (indicator.severity === 'low') lowClean *= 1 - SEVERITY_WEIGHT.low / 100;
  }
  const low = Math.min(LOW_SEVERITY_CAP / 100, 1 - lowClean);
  return Math.round((1 - clean * (1 - low)) * 100);
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
  /** The run nonce to echo (from the configuration). */
  runNonce?: string;
}

const empty = <T>(): BoundedList<T> => ({ items: [], count: 0, truncated: false });
const iso = (seconds: number) => new Date(seconds * 1000).toISOString();

/** True when any behaviour key holds an indicator. */
function hasIndicators(behavior: Behavior): boolean {
  return BEHAVIOR_KEYS.some((key) => behavior[key].length > 0);
}

/**
 * The indicators that fit the schema, their evidence bounded: evidence lines quote the sample
 * (paths, argv, names), so they are cut and made well-formed like any recorded value. An indicator
 * that still does not validate is dropped rather than allowed to invalidate the report.
 */
export function boundedBehavior(behavior: Behavior | null | undefined): { behavior: Behavior; dropped: number } {
  const out = emptyBehavior();
  let dropped = 0;
  for (const key of BEHAVIOR_KEYS) {
    const list = Array.isArray(behavior?.[key]) ? (behavior?.[key] as Indicator[]) : [];
    for (const indicator of list.slice(0, REPORT_LIMITS.indicators)) {
      const clip = new Clip();
      const evidence = clip.list<unknown>(indicator?.evidence, REPORT_LIMITS.evidence).map((line) => clip.text(line));
      const parsed = IndicatorSchema.safeParse({
        ...indicator,
        title: clip.text(indicator?.title),
        evidence: evidence.length > 0 ? evidence : ['(no evidence line)'],
        occurrences: Math.max(1, clip.count(indicator?.occurrences)),
      });
      if (parsed.success) out[key].push(parsed.data);
      else dropped++;
    }
    dropped += Math.max(0, list.length - REPORT_LIMITS.indicators);
  }
  return { behavior: out, dropped };
}

/**
 * The score of a run: completed runs always have one; a failed run has one only when it showed
 * indicators (what was seen still incriminates; what was not seen proves nothing).
 */
function scoreOf(status: DetonationStatus, behavior: Behavior): number | null {
  if (status === 'completed') return scoreBehavior(behavior);
  if (status === 'error' && hasIndicators(behavior)) return scoreBehavior(behavior);
  return null;
}

const clipped = (value: string | undefined, max: number = REPORT_LIMITS.text) => new Clip().text(value, max);
// A time the report can carry as an ISO date: from the epoch to the end of year 9999 (earlier or later
// ones print as extended years, which the report's schema rightly refuses); anything else is now.
const LAST_FOUR_DIGIT_YEAR_SECONDS = 253_402_300_800;
const isoOrNow = (seconds: number) =>
  iso(Number.isFinite(seconds) && seconds >= 0 && seconds < LAST_FOUR_DIGIT_YEAR_SECONDS ? seconds : Date.now() / 1000);

/** The report before validation. Reads only what `parts` holds; a recorder that throws loses its lists. */
function draft(parts: ReportParts, behavior: Behavior, notes: string[]): DetonationReport {
  const recorder = parts.recorder;
  const section = <T>(name: string, read: (() => T) | undefined, fallback: T): T => {
    if (!read) return fallback;
    try {
      return read();
    } catch (error) {
      notes.push(`the ${name} section was left out: ${(error as Error).message}`);
      return fallback;
    }
  };
  const score = scoreOf(parts.status, behavior);
  const outputClip = new Clip();
  const durationMs = Math.round((parts.finishedAt - parts.startedAt) * 1000);
  return {
    schemaVersion: 1,
    engine: 'detonation',
    status: parts.status,
    ...(parts.error ? { error: clipped(parts.error) } : {}),
    sample: parts.sample,
    startedAt: isoOrNow(parts.startedAt),
    finishedAt: isoOrNow(parts.finishedAt),
    durationMs: Number.isSafeInteger(durationMs) && durationMs > 0 ? durationMs : 0,
    endReason: parts.endReason,
    timedOut: parts.limitsHit.timeout,
    limits: parts.limits,
    limitsHit: parts.limitsHit,
    capabilities: parts.capabilities,
    processes: section('processes', recorder ? () => recorder.processList() : undefined, empty()),
    executions: section('executions', recorder ? () => recorder.executionList() : undefined, empty()),
    fileOperations: section('file operations', recorder ? () => recorder.fileOperationList() : undefined, empty()),
    network: section('network', recorder ? () => recorder.network() : undefined, emptyNetwork()),
    resourceUsage: section('resource usage', recorder ? () => recorder.resourceUsage() : undefined, empty()),
    output: {
      bytes: outputClip.count(parts.output.bytes),
      tail: outputClip.text(parts.output.tail.slice(-2048), 2048),
    },
    staticStrings: {
      urls: parts.staticStrings
        ? {
            items: parts.staticStrings.urls.map((u) => clipped(u)),
            count: parts.staticStrings.urlCount,
            truncated: parts.staticStrings.urlCount > parts.staticStrings.urls.length,
          }
        : empty(),
      ipAddresses: parts.staticStrings
        ? {
            items: parts.staticStrings.ipAddresses.map((ip) => clipped(ip, 64)),
            count: parts.staticStrings.ipCount,
            truncated: parts.staticStrings.ipCount > parts.staticStrings.ipAddresses.length,
          }
        : empty(),
    },
    behavior,
    score,
    verdict: verdictOfScore(score),
    ...(parts.runNonce ? { runNonce: parts.runNonce } : {}),
    notes: bounded(
      notes.map((n) => clipped(n)),
      REPORT_LIMITS.notes,
    ),
    config: (parts.config ?? {}) as Record<string, unknown>,
  };
}

const emptyNetwork = (): NetworkActivity => ({
  dnsQueries: empty(),
  connections: empty(),
  httpRequests: empty(),
  tlsServerNames: empty(),
  payloads: empty(),
});

/** Sections replaced by an empty value when they do not validate, with the schema of each. */
const SECTIONS = [
  ['sample', SampleFactsSchema],
  ['processes', DetonationReportShape.processes],
  ['executions', DetonationReportShape.executions],
  ['fileOperations', DetonationReportShape.fileOperations],
  ['network', NetworkSchema],
  ['resourceUsage', DetonationReportShape.resourceUsage],
  ['output', DetonationReportShape.output],
  ['staticStrings', DetonationReportShape.staticStrings],
  ['limits', AppliedLimitsSchema],
  ['config', DetonationReportShape.config],
] as const;

/** What is known of a run that failed before its sample ran or was observed. */
export interface FailedRun {
  error: string;
  sample: { name: string; sha256: string | null; size: number | null };
  startedAt: number;
  finishedAt: number;
  endReason: EndReason;
  config: AgentConfig | null;
  notes?: string[];
}

/**
 * The report of a run that failed before anything was observed (the agent itself failed, or the
 * host found no valid report from the box): status `error`, no capability in use, nothing recorded,
 * the sample as far as it is known and the limits its configuration would have applied.
 */
export function failedRunReport(run: FailedRun, extra: Pick<ReportParts, 'runNonce'> = {}): DetonationReport {
  return assembleReport({
    status: 'error',
    error: run.error,
    sample: {
      ...run.sample,
      name: (run.sample.name || 'sample').slice(0, REPORT_LIMITS.text),
      fileType: 'unknown',
      mimeType: 'application/octet-stream',
      preparation: { method: 'static-only' },
    },
    startedAt: run.startedAt,
    finishedAt: run.finishedAt,
    endReason: run.endReason,
    limits: appliedLimits(run.config),
    limitsHit: { ...noLimitsHit(), timeout: run.endReason === 'timeout' },
    capabilities: { tracer: 'none', seccompBpf: false, networkGuard: false, mountNamespace: false, pcap: 'disabled' },
    recorder: null,
    output: { bytes: 0, tail: '' },
    staticStrings: null,
    behavior: emptyBehavior(),
    notes: run.notes ?? [],
    config: run.config,
    ...extra,
  });
}

/**
 * Builds and validates the report; never throws. Everything recorded was bounded on the way in,
 * so the first validation passes; should a section still be refused, it is replaced by an empty
 * one (a note says which), and as a last resort a minimal `error` report keeps the indicators, so
 * a malicious run is never reported without its verdict for a value the sample chose.
 */
export function assembleReport(parts: ReportParts): DetonationReport {
  const notes = [...parts.notes];
  const { behavior, dropped } = boundedBehavior(parts.behavior);
  if (dropped > 0) notes.push(`${dropped} indicators did not fit the report and were left out`);
  let report: DetonationReport;
  try {
    report = draft(parts, behavior, notes);
  } catch (error) {
    return minimalReport(parts, behavior, `the report could not be assembled: ${(error as Error).message}`);
  }
  const first = DetonationReportSchema.safeParse(report);
  if (first.success) return first.data;

  const salvaged: Record<string, unknown> = { ...report };
  const replaced: string[] = [];
  for (const [key, schema] of SECTIONS) {
    if (schema.safeParse(salvaged[key]).success) continue;
    replaced.push(key);
    salvaged[key] = SALVAGE_DEFAULTS[key](parts);
  }
  const salvageNotes = [
    ...notes,
    `left out of the report because they did not validate: ${replaced.join(', ') || 'none'}`,
  ];
  salvaged.notes = bounded(
    salvageNotes.map((n) => clipped(n)),
    REPORT_LIMITS.notes,
  );
  const second = DetonationReportSchema.safeParse(salvaged);
  if (second.success) return second.data;
  return minimalReport(parts, behavior, `the report did not validate: ${z.prettifyError(second.error)}`);
}

const SALVAGE_DEFAULTS: Record<(typeof SECTIONS)[number][0], (parts: ReportParts) => unknown> = {
  sample: (parts) => safeSample(parts.sample),
  processes: () => empty(),
  executions: () => empty(),
  fileOperations: () => empty(),
  network: () => emptyNetwork(),
  resourceUsage: () => empty(),
  output: () => ({ bytes: 0, tail: '' }),
  staticStrings: () => ({ urls: empty(), ipAddresses: empty() }),
  limits: () => FALLBACK_LIMITS,
  config: () => ({}),
};

const FALLBACK_LIMITS: AppliedLimits = appliedLimits(null);

/** The sample's facts reduced to what is known to validate. */
function safeSample(sample: SampleFacts | undefined): SampleFacts {
  const sha256 = typeof sample?.sha256 === 'string' && /^[0-9a-f]{64}$/.test(sample.sha256) ? sample.sha256 : null;
  const size =
    typeof sample?.size === 'number' && Number.isSafeInteger(sample.size) && sample.size >= 0 ? sample.size : null;
  return {
    name: clipped(typeof sample?.name === 'string' ? sample.name : 'sample'),
    sha256,
    size,
    fileType: clipped(typeof sample?.fileType === 'string' ? sample.fileType : 'unknown', 64),
    mimeType: 'application/octet-stream',
    preparation: { method: 'static-only' },
  };
}

/**
 * The smallest report that validates: the status becomes `error` (the reason says what failed),
 * and the indicators, already bounded, keep deciding the score.
 */
function minimalReport(parts: ReportParts, behavior: Behavior, reason: string): DetonationReport {
  const score = scoreOf('error', behavior);
  const report = {
    schemaVersion: 1 as const,
    engine: 'detonation' as const,
    status: 'error' as const,
    error: clipped(parts.error ? `${parts.error}; ${reason}` : reason),
    sample: safeSample(parts.sample),
    startedAt: isoOrNow(parts.startedAt),
    finishedAt: isoOrNow(parts.finishedAt),
    durationMs: 0,
    endReason: EndReasonSchema.safeParse(parts.endReason).success ? parts.endReason : ('not-run' as const),
    timedOut: parts.limitsHit?.timeout === true,
    limits: AppliedLimitsSchema.safeParse(parts.limits).success ? parts.limits : FALLBACK_LIMITS,
    limitsHit: LimitsHitSchema.safeParse(parts.limitsHit).success ? parts.limitsHit : noLimitsHit(),
    capabilities: CapabilitiesSchema.safeParse(parts.capabilities).success
      ? parts.capabilities
      : {
          tracer: 'none' as const,
          seccompBpf: false,
          networkGuard: false,
          mountNamespace: false,
          pcap: 'disabled' as const,
        },
    processes: empty<ProcessRecord>(),
    executions: empty<Execution>(),
    fileOperations: empty<FileOperation>(),
    network: emptyNetwork(),
    resourceUsage: empty<ResourceSample>(),
    output: { bytes: 0, tail: '' },
    staticStrings: { urls: empty<string>(), ipAddresses: empty<string>() },
    behavior,
    score,
    verdict: verdictOfScore(score),
    ...(parts.runNonce && RunNonceSchema.safeParse(parts.runNonce).success ? { runNonce: parts.runNonce } : {}),
    notes: bounded([clipped(reason)], REPORT_LIMITS.notes),
    config: {},
  };
  return DetonationReportSchema.parse(report);
}
