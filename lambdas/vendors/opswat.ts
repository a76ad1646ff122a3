import * as z from 'zod';
import { clampScore } from '../core/contracts/scoring';
import type { ConnectorContext, ItemStatus, NativeReport, NormalisedScore, SampleSource } from './kit';
import {
  bandedScore,
  BaseConnector,
  itemStatus,
  jsonErrorMapping,
  registryEntry,
  says,
  statusIs,
  UNSUPPORTED,
} from './kit';
import { hostsOf, lenient, type RawFindings, type SignatureSeverity, techniquesOf } from './kit';

const Account = z.object({ accountId: z.string().min(1) }).loose();

const Submitted = z.object({ flow_id: z.string().min(1) });

const FinalVerdict = z.object({ verdict: z.string().optional(), threatLevel: z.number() }).loose();

const ScanReport = z.object({ finalVerdict: FinalVerdict.optional(), overallState: z.string().optional() }).loose();

/** `GET /api/scan/{flow_id}/report`: one entry per analysed file, plus progress and a polling hint. */
const FlowReport = z.object({
  allFinished: z.boolean(),
  pollPause: z.number().nonnegative().optional(),
  reports: z.record(z.string(), ScanReport).default({}),
});

/** Report sections the stored report keeps (sandboxapi's selection): the verdict, its evidence and IOCs. */
const REPORT_FILTERS = [
  'general',
  'finalVerdict',
  'allTags',
  'overallState',
  'taskReference',
  'subtaskReferences',
  'allSignalGroups',
  'iocs',
];

/** States a per-file report ends in when the scan broke off. */
const FAILED_STATES = new Set(['failed', 'error', 'aborted']);

/**
 * OPSWAT MetaDefender Sandbox (ex-Filescan.io) through its REST API (`https://www.filescan.io/api/`,
 * or an on-premises instance's `/api/`). The item id is the `flow_id`; the scan report answers both
 * "is it finished" (`allFinished`) and "when to look again" (`pollPause`, which becomes the status
 * hint), and carries a `finalVerdict.threatLevel` (−1 … 1) per analysed file.
 *
 * Credentials: the account's API key, sent as the `X-Api-Key` header. Options: `isPrivate` (default
 * true: neither the file nor its report is shared with other users), `password` (for encrypted archives).
 */
export class OpswatConnector extends BaseConnector<'opswat'> {
  constructor(context: ConnectorContext) {
    super('opswat', context, {
      headers: { accept: 'application/json' },
      credentialHeaders: (key) => ({ 'x-api-key': key }),
      statusError,
    });
  }

  /** Reads the key's own account: a 200 with an `accountId` proves the key. */
  protected async probe(): Promise<undefined> {
    await this.http.json({ method: 'GET', path: 'users/me' }, Account);
  }

  protected async upload(sample: SampleSource): Promise<string> {
    const { isPrivate = true, password } = this.config.options;
    const fields = [
      { name: 'is_private', value: String(isPrivate) },
      { name: 'is_private_report', value: String(isPrivate) },
      ...(password !== undefined ? [{ name: 'password', value: String(password) }] : []),
    ];
    const submitted = await this.http.json(await this.uploadRequest('scan/file', fields, sample), Submitted);
    return submitted.flow_id;
  }

  /** No estimate before the first poll: the sandbox takes no run time, and `pollPause` comes with the first status. */
  override initialWaitSeconds(): undefined {
    return undefined;
  }

  /** Finished when `allFinished`; failed when every file's scan broke off; otherwise `pollPause` is the hint. */
  async status(itemId: string): Promise<ItemStatus> {
    const flow = await this.http.json(
      {
        method: 'GET',
        path: `scan/${encodeURIComponent(itemId)}/report`,
        query: { filter: ['finalVerdict', 'overallState'] },
      },
      FlowReport,
    );
    const states = Object.values(flow.reports).map((r) => r.overallState ?? 'unknown');
    if (flow.allFinished) {
      if (states.length > 0 && states.every((s) => FAILED_STATES.has(s))) {
        return itemStatus.failedAnalysis(states[0]!, `MetaDefender Sandbox scan ended ${states.join(', ')}`);
      }
      return itemStatus.ready('finished');
    }
    return itemStatus.inProgress(states[0] ?? 'queued', flow.pollPause);
  }

  report(itemId: string): Promise<NativeReport> {
    return this.download(
      { method: 'GET', path: `scan/${encodeURIComponent(itemId)}/report`, query: { filter: REPORT_FILTERS } },
      'json',
    );
  }
  protected readFindings(report: unknown): RawFindings {
    return opswatFindings(report);
  }

  /**
   * The highest `threatLevel` over the files, ×100 with negatives as 0 (as sandboxapi): Trusted −1 → 0,
   * No Threat up to 0.25 → 25, Low Risk 0.5 → 50, High Risk 0.75 → 75, Malicious 1 → 100. A file left
   * Undetermined (threatLevel 0) is no evidence either way: sandboxapi scored it 0, we leave it out,
   * and a report with nothing but undetermined files is `unknown`.
   */
  score(report: unknown): NormalisedScore {
    const flow = this.reportAs(report, FlowReport, 'a MetaDefender Sandbox scan report');
    const levels = Object.values(flow.reports).flatMap((r) => (r.finalVerdict ? [r.finalVerdict.threatLevel] : []));
    const determined = levels.filter((level) => level !== 0);
    const scale = 'threatLevel -1..1';
    if (determined.length === 0) return bandedScore(null, { value: levels.length ? 0 : null, scale });
    const level = Math.max(...determined);
    return bandedScore(clampScore(Math.max(0, level) * 100), { value: level, scale });
  }
}

/** The `detail` of a FastAPI error body: a string, or a list of validation errors. */
function detailOf(json: unknown): string | undefined {
  const detail = (json as { detail?: unknown } | null)?.detail;
  if (typeof detail === 'string') return detail;
  if (Array.isArray(detail)) return detail.map((d) => (d as { msg?: string }).msg ?? JSON.stringify(d)).join('; ');
  return undefined;
}

/** MetaDefender Sandbox's statuses; the client's defaults cover 401/403, 429 with Retry-After and 5xx. */
const statusError = jsonErrorMapping('opswat', detailOf, [
  ['quota', (status, detail) => status === 429 && /quota|daily|per day/i.test(detail)],
  ['too-large', (status, detail) => status === 413 || /too large/i.test(detail), 'file too large'],
  ['unsupported', says(UNSUPPORTED)],
  ['not-found', statusIs(404), 'scan not found'],
]);

/** The MetaDefender Sandbox connector as the registry lists it. */
export const opswatConnectorInfo = registryEntry(
  'opswat',
  'OPSWAT MetaDefender Sandbox (Filescan API)',
  ['poll-hint'],
  OpswatConnector,
);

/** MetaDefender Sandbox verdict words as signature severities. */
const VERDICT_SEVERITIES: Record<string, SignatureSeverity> = {
  MALICIOUS: 'critical',
  LIKELY_MALICIOUS: 'high',
  SUSPICIOUS: 'medium',
};

const Tag = z
  .object({
    source: z.unknown().optional(),
    tag: z
      .object({ name: z.unknown().optional(), verdict: lenient(z.object({ verdict: z.unknown().optional() }).loose()) })
      .loose(),
  })
  .loose();

const SignalGroup = z
  .object({
    identifier: z.unknown().optional(),
    description: z.unknown().optional(),
    verdict: lenient(z.object({ verdict: z.unknown().optional() }).loose()),
    allMitreTechniques: z.unknown().optional(),
  })
  .loose();

/**
 * The parts of a MetaDefender Sandbox (filescan) report findings come from, per file report:
 * `allTags` entries from source OSINT_LOOKUP and `allOsintTags` (families named by threat-intelligence
 * lookups, kept when their verdict is malicious or likely so; `allTags` SIGNAL tags such as `packed`
 * are traits, not families), `allSignalGroups` (the signatures: `description`, `identifier` and a
 * verdict word, MALICIOUS critical, LIKELY_MALICIOUS high, SUSPICIOUS medium, others low; their
 * `allMitreTechniques[].ID`), and `iocs.domain` / `iocs.ip` (`[{data}]`).
 */
const OpswatFileReport = z
  .object({
    allTags: lenient(z.array(z.unknown())),
    allOsintTags: lenient(z.array(z.unknown())),
    allSignalGroups: lenient(z.array(z.unknown())),
    iocs: lenient(z.object({ domain: z.unknown().optional(), ip: z.unknown().optional() }).loose()),
  })
  .loose();

/** What a MetaDefender Sandbox scan report concluded, over its file reports. */
export function opswatFindings(report: unknown): RawFindings {
  const reports = (report as { reports?: unknown } | null)?.reports;
  const files = (reports && typeof reports === 'object' ? Object.values(reports) : []).flatMap((r) => {
    const parsed = OpswatFileReport.safeParse(r);
    return parsed.success ? [parsed.data] : [];
  });
  const groups = files.flatMap((f) =>
    (f.allSignalGroups ?? []).flatMap((g) => {
      const group = SignalGroup.safeParse(g);
      return group.success ? [group.data] : [];
    }),
  );
  // The report the connector asks for (its `filter`s) carries `allTags`, not `allOsintTags`: the
  // family is the `allTags` entry whose source is OSINT_LOOKUP (as in the real malicious report).
  const families = files.flatMap((f) =>
    [...(f.allTags ?? []), ...(f.allOsintTags ?? [])].flatMap((t) => {
      const tag = Tag.safeParse(t);
      if (!tag.success || (tag.data.source !== undefined && tag.data.source !== 'OSINT_LOOKUP')) return [];
      const verdict = String(tag.data.tag.verdict?.verdict);
      return verdict === 'MALICIOUS' || verdict === 'LIKELY_MALICIOUS' ? [tag.data.tag.name] : [];
    }),
  );
  return {
    families,
    signatures: groups.map((g) => ({
      name: g.description,
      severity: VERDICT_SEVERITIES[String(g.verdict?.verdict)] ?? 'low',
      description: typeof g.identifier === 'string' ? g.identifier : undefined,
    })),
    attack: groups.flatMap((g) => techniquesOf(g.allMitreTechniques, 'ID')),
    hosts: files.flatMap((f) => hostsOf([f.iocs?.domain, 'data'], [f.iocs?.ip, 'data'])),
  };
}
