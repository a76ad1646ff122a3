import * as z from 'zod';
import type { ConnectorContext, ItemStatus, NativeReport, NormalisedScore, SampleSource } from '../kit';
import {
  BadResponseError,
  BaseConnector,
  type FormField,
  ItemNotFoundError,
  itemStatus,
  jsonOrUndefined,
  registryEntry,
} from '../kit';
import { hostsOf, lenient, namesOf, type RawFindings, severityFrom, techniquesOf } from '../kit';
import { errorForMessage, ForbiddenError, VmrayClient, vmrayStatusError } from './client';
import { combine, topRanked } from './verdicts';
import { Analysis, SampleRecord, Submission, SubmitData, SummaryV1, SummaryV2, type VmrayAnalysis } from './wire';

/** Optional `sample/submit` parameters, passed through from configuration under their API names. */
const SUBMIT_OPTIONS = [
  'analyzer_mode',
  'archive_password',
  'document_password',
  'sample_type',
  'shareable',
  'max_jobs',
  'tags',
  'comment',
];

/** What VMRay says when it created no new jobs for a submission (analysis caching of a known sample). */
const NO_JOBS = /no (new )?jobs (were|have been) created/i;

/**
 * VMRay Analyzer / Platform through its REST API (`https://cloud.vmray.com/rest/`, the EU/US clouds or
 * on-premises). The item id is `<submission_id>:<sample_id>`. Like VMRay's own integrations it probes
 * `system_info`, which answers normal API keys, and counts a 403 there as "up, key without that right"
 * rather than down (sandboxapi's `VMRayAPI` read any non-200 as down), reads the quota
 * error VMRay returns inside an HTTP 200, and reports from the top-ranked analysis' `summary_v2.json`,
 * falling back to the v1 `summary.json` on platforms that have no v2 summary.
 *
 * Options: `user_config` (a JSON object string, merged with the analysis timeout we ask for),
 * `processingSeconds` (default 60), and the optional `sample/submit` parameters under their API names
 * (`analyzer_mode`, `tags`, `max_jobs`, …).
 *
 * Credentials: a VMRay API key (a "Report" key; a "Verdict" key cannot download reports), sent as
 * `Authorization: api_key <key>`.
 */
export class VmrayConnector extends BaseConnector<'vmray'> {
  /** A finished submission's status also lists its analyses; the report is found through them. */
  override readonly requestCosts = { status: 2, report: 2 };
  private readonly api = new VmrayClient(() => this.http);

  constructor(context: ConnectorContext) {
    super('vmray', context, {
      headers: { accept: 'application/json', authorization: `api_key ${context.credentials ?? ''}` },
      statusError: vmrayStatusError,
      keyRequired: 'VMRay requires one',
    });
  }

  /** `system_info` answers; a 403 (a key whose role lacks the right) still shows the service up and the key known. */
  protected async probe(): Promise<undefined> {
    try {
      await this.api.call({ method: 'GET', path: 'system_info' }, z.unknown());
    } catch (error) {
      if (!(error instanceof ForbiddenError)) throw error;
    }
  }

  protected async upload(sample: SampleSource): Promise<string> {
    const fields: FormField[] = [
      {
        name: 'user_config',
        value: JSON.stringify({ ...this.userConfig(), timeout: this.config.analysisTimeoutSeconds }),
      },
    ];
    fields.push(...this.optionFields(SUBMIT_OPTIONS));
    // VMRay reads a non-ASCII file name from a base64 twin of the file field, so the part itself
    // carries an ASCII name (multipart servers disagree on how to decode anything else).
    const asciiName = sample.fileName.replace(/[^\x20-\x7e]/g, '_');
    if (asciiName !== sample.fileName)
      fields.push({ name: 'sample_filename_b64enc', value: Buffer.from(sample.fileName, 'utf8').toString('base64') });
    const req = await this.uploadRequest('sample/submit', fields, sample, {
      field: 'sample_file',
      fileName: asciiName,
    });
    const data = this.api.unwrap((await this.http.text(req)).text, req.path, SubmitData);
    for (const { error_msg: message } of data.errors) {
      const typed = errorForMessage(message);
      if (typed) throw typed;
      // A known sample served from its earlier analyses is not a refusal: status and report fall back to them.
      if (!NO_JOBS.test(message)) throw new BadResponseError('vmray', `submission refused: ${message}`);
    }
    const submission = data.submissions[0];
    const sampleRecord = data.samples[0];
    if (!submission || !sampleRecord)
      throw new BadResponseError('vmray', 'sample/submit: no submission or sample in the answer');
    return `${submission.submission_id}:${sampleRecord.sample_id}`;
  }

  /** Polls the submission; a finished one is done when it left an analysis to report on, and failed otherwise. */
  async status(itemId: string): Promise<ItemStatus> {
    const { submissionId } = parseItemId(itemId);
    const submission = await this.api.call({ method: 'GET', path: `submission/${submissionId}` }, Submission);
    if (!submission.submission_finished) return itemStatus.inProgress('in_progress');
    if (await this.topRankedAnalysis(itemId)) return itemStatus.ready('finished');
    const reason = submission.submission_has_errors
      ? 'submission finished with errors and no analysis'
      : 'submission finished without an analysis';
    return itemStatus.failedAnalysis('finished', reason);
  }

  /**
   * The analysis the report comes from: the highest verdict, then VTI score, among the submission's
   * analyses, or among the sample's earlier ones when VMRay served the submission from them and created no jobs.
   */
  async topRankedAnalysis(itemId: string): Promise<VmrayAnalysis | undefined> {
    const { submissionId, sampleId } = parseItemId(itemId);
    const own = await this.api.call(
      { method: 'GET', path: 'analysis', query: { analysis_submission_id: submissionId } },
      z.array(Analysis),
    );
    if (own.length > 0) return topRanked(own);
    return topRanked(await this.api.call({ method: 'GET', path: `analysis/sample/${sampleId}` }, z.array(Analysis)));
  }

  /** The detailed report of the top-ranked analysis: `logs/summary_v2.json`, or the v1 `logs/summary.json` where there is no v2. */
  async report(itemId: string): Promise<NativeReport> {
    const analysis = await this.topRankedAnalysis(itemId);
    if (!analysis) throw new ItemNotFoundError('vmray', `no analysis for ${itemId}`);
    const archive = `analysis/${analysis.analysis_id}/archive/logs`;
    try {
      return await this.download({ method: 'GET', path: `${archive}/summary_v2.json` }, 'json');
    } catch (error) {
      if (!(error instanceof ItemNotFoundError)) throw error;
      return this.download({ method: 'GET', path: `${archive}/summary.json` }, 'json');
    }
  }
  protected readFindings(report: unknown): RawFindings {
    return vmrayFindings(report);
  }

  /** VMRay's web interface shows a sample at `/user/sample/view?id=<sample id>`, beside the API's `/rest/`. */
  protected override defaultReportPage(): string | undefined {
    return `${this.config.baseUrl.replace(/\/?(rest\/?)?$/, '')}/user/sample/view?id={id}`;
  }

  /** Pages address the sample, the second half of the `<submission>:<sample>` item id. */
  protected override reportPageId(itemId: string): string {
    return parseItemId(itemId).sampleId;
  }

  /**
   * Scores a v2 summary (`analysis_metadata.verdict`), a v1 summary (`vti.vti_score`) or a sample record
   * (`sample_verdict`, legacy `sample_severity`, `sample_vti_score`). A VTI score is placed piecewise
   * (0–24 → 0–39, 25–74 → 40–69, 75–100 → 70–100) and kept inside the verdict's band when both exist;
   * a verdict alone is clean 10 / suspicious 55 / malicious 90; `not_available` is unknown.
   */
  score(report: unknown): NormalisedScore {
    const v2 = SummaryV2.safeParse(report);
    if (v2.success) return combine(v2.data.analysis_metadata.verdict, undefined);
    const v1 = SummaryV1.safeParse(report);
    if (v1.success) return combine(undefined, v1.data.vti.vti_score);
    const wrapped = z.object({ data: SampleRecord }).safeParse(report);
    const record = wrapped.success ? wrapped.data.data : SampleRecord.safeParse(report).data;
    if (record && ('sample_verdict' in record || 'sample_vti_score' in record || 'sample_severity' in record)) {
      return combine(record.sample_verdict ?? record.sample_severity, record.sample_vti_score);
    }
    throw new BadResponseError('vmray', 'report is neither a VMRay summary nor a sample record');
  }

  /** `options.user_config` as an object; a configuration mistake, so a plain error the state machine does not retry. */
  private userConfig(): Record<string, unknown> {
    const raw = this.config.options.user_config;
    if (typeof raw !== 'string') return {};
    const parsed = z.record(z.string(), z.unknown()).safeParse(jsonOrUndefined(raw));
    if (!parsed.success) throw new Error('vmray: options.user_config is not a JSON object');
    return parsed.data;
  }
}

function parseItemId(itemId: string): { submissionId: string; sampleId: string } {
  const match = /^(\d+):(\d+)$/.exec(itemId);
  if (!match) throw new ItemNotFoundError('vmray', `'${itemId}' is not a VMRay item id (<submission_id>:<sample_id>)`);
  return { submissionId: match[1] as string, sampleId: match[2] as string };
}

/** VMRay as the registry lists it. */
export const vmrayConnectorInfo = registryEntry('vmray', 'VMRay Analyzer (REST API)', ['top-analysis'], VmrayConnector);

/** A VMRay collection: v2 summaries key their entries (`{"vti_match_1": {…}}`), v1 lists them. */
const Entries = z
  .unknown()
  .transform((v) => (Array.isArray(v) ? v : v && typeof v === 'object' ? Object.values(v) : []));

const Match = z
  .object({
    category_desc: z.unknown().optional(),
    operation_desc: z.unknown().optional(),
    technique_desc: z.unknown().optional(),
    analysis_score: z.unknown().optional(),
    rule_score: z.unknown().optional(),
    threat_names: z.unknown().optional(),
  })
  .loose();

/**
 * The parts of a VMRay summary findings come from. v2 (`summary_v2.json`): `vti.matches` (keyed;
 * `operation_desc` the signature, `analysis_score` 1–5, `threat_names` the families it names; its
 * `technique_id` is VMRay's own rule id, not an ATT&CK id), `threat_names`, `mitre_attack.v4.techniques`
 * (keyed by the ATT&CK id, `{"technique_T1016": {description, tactics, …}}`, with no id field inside),
 * `domains` and `ip_addresses` (keyed; `domain`, `ip_address`). v1 (`summary.json`): `vti.vti_rule_matches` (listed; `rule_score`),
 * `mitre_attack.techniques` (`id`), `artifacts.domains` and `artifacts.ips`. `classifications`
 * (`Trojan`) are categories, not families.
 */
const VmrayFindingsReport = z.object({
  vti: lenient(z.object({ matches: Entries.optional(), vti_rule_matches: Entries.optional() }).loose()),
  threat_names: z.unknown().optional(),
  mitre_attack: z.unknown().optional(),
  domains: Entries.optional(),
  ip_addresses: Entries.optional(),
  artifacts: lenient(z.object({ domains: z.unknown().optional(), ips: z.unknown().optional() }).loose()),
});

/** Whether a v2 summary's domain or address entry is an indicator: not when it says `is_ioc: false`. */
function isIoc(entry: unknown): boolean {
  return (entry as { is_ioc?: unknown } | null)?.is_ioc !== false;
}

/**
 * The ATT&CK ids of a summary's techniques: a v1 list names them in `id`; a v2 summary keys them
 * (`technique_T1016`) and its entries carry no id, as the summary_v2.json in VMRay's own
 * vmray-misp-feed tests shows (test/fixtures/vendors/vmray_summary_v2_eicar.json).
 */
function techniqueIds(techniques: unknown): unknown[] {
  if (Array.isArray(techniques))
    return techniques.slice(0, 2_000).flatMap((t) => techniquesOf(t, 'technique_id', 'id'));
  if (!techniques || typeof techniques !== 'object') return [];
  return Object.entries(techniques as Record<string, unknown>)
    .slice(0, 2_000)
    .flatMap(([key, t]) => {
      const named = techniquesOf(t, 'technique_id', 'id');
      if (named.length) return named;
      const keyed = /^(?:technique_)?(T\d{4}(?:\.\d{3})?)$/i.exec(key);
      return keyed ? [keyed[1]] : [];
    });
}

/** What a VMRay summary (v2 or v1) concluded; a score of 1–2 is low, 3 medium, 4 high, 5 critical. */
export function vmrayFindings(report: unknown): RawFindings {
  const parsed = VmrayFindingsReport.safeParse(report);
  if (!parsed.success) return {};
  const { vti, threat_names: threatNames, mitre_attack: mitre, domains, ip_addresses: ips, artifacts } = parsed.data;
  const matches = [...(vti?.matches ?? []), ...(vti?.vti_rule_matches ?? [])].flatMap((m) => {
    const match = Match.safeParse(m);
    return match.success ? [match.data] : [];
  });
  const attackSource = (mitre as { v4?: { techniques?: unknown }; techniques?: unknown } | null | undefined) ?? {};
  const techniques = attackSource.v4?.techniques ?? attackSource.techniques;
  return {
    families: [...namesOf(threatNames), ...matches.flatMap((m) => namesOf(m.threat_names))],
    signatures: matches.map((m) => ({
      name: m.operation_desc,
      severity: severityFrom(m.analysis_score ?? m.rule_score, [3, 4, 5]),
      description: [m.category_desc, m.technique_desc].filter((d) => typeof d === 'string').join(': '),
    })),
    attack: techniqueIds(techniques),
    // A v2 summary lists every address the run saw (the resolver, the sandbox's own) and marks the
    // ones that matter `is_ioc: true`; those marked false are left out.
    hosts: hostsOf(
      [domains?.filter(isIoc), 'domain'],
      [ips?.filter(isIoc), 'ip_address'],
      [artifacts?.domains, 'domain'],
      [artifacts?.ips, 'ip_address'],
    ),
  };
}
