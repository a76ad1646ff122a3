import * as z from 'zod';
import { clampScore, clampToBand, VERDICT_BANDS } from '../../core/contracts/scoring';
import type { Verdict } from '../../core/contracts/pipeline';
import type { ConnectorContext, ItemStatus, NativeReport, NormalisedScore, SampleSource } from '../kit';
import { hostsOf, lenient, namesOf, type RawFindings, severityFrom, techniquesOf } from '../kit';
import {
  bandedScore,
  BaseConnector,
  type FormField,
  ItemNotFoundError,
  itemStatus,
  registryEntry,
  type ReportFormat,
} from '../kit';
import { JoeClient, joeStatusError } from './client';
import { JoeReport, NewSubmission, Online, type Strategy } from './wire';

/** Optional `submission/new` parameters, passed through from configuration under their API names. */
const SUBMIT_OPTIONS = [
  'comments',
  'internet-access',
  'internet-simulation',
  'report-cache',
  'hybrid-code-analysis',
  'archive-password',
  'document-password',
  'command-line-argument',
  'secondary-results',
  'delete-after-days',
  'priority',
];

const SCALE = 'score 0-100 (empiric detection)';

/** How `detection` (report: MAL/SUS/CLEAN/UNKNOWN; API: malicious/suspicious/clean/unknown) reads as a verdict. */
function detectionOf(strategy: Strategy): Verdict | undefined {
  const named = strategy.detection?.toLowerCase();
  if (named === 'mal' || named === 'malicious' || (named === undefined && strategy.malicious)) return 'malicious';
  if (named === 'sus' || named === 'suspicious' || (named === undefined && strategy.suspicious)) return 'suspicious';
  if (named === 'clean' || (named === undefined && strategy.clean)) return 'benign';
  if (named === 'unknown' || (named === undefined && strategy.unknown)) return 'unknown';
  return undefined;
}

/**
 * Joe Sandbox through its API v2 (cloud `https://jbxcloud.joesecurity.org/api/`, on-premises
 * `https://<host>/joesandbox/index.php/api/`): every call a form POST carrying the key. The item id is
 * the `submission_id`; unlike sandboxapi (which used it as a webid), the connector polls
 * `submission/info` and reads reports from the submission's `most_relevant_analysis.webid`. It counts
 * the server as available only when `online` is `true` (sandboxapi returned the whole dict, always
 * truthy), and scores by the strategy named `empiric`, not by its position in the array.
 *
 * Options: `acceptTac: true` accepts Joe's terms and conditions on submission (the cloud refuses
 * submissions without it; it is never sent unless configured), `systems` and `tags` (comma-separated),
 * `processingSeconds` (default 60), and the optional `submission/new` parameters under their API names.
 *
 * Credentials: the Joe Sandbox API key, sent as the form field `apikey` of every request.
 */
export class JoeConnector extends BaseConnector<'joe'> {
  /** The report is fetched by the webid that the analysis info resolves first. */
  override readonly requestCosts = { report: 2 };
  private readonly api = new JoeClient(
    () => this.http,
    () => this.key(),
  );

  constructor(context: ConnectorContext) {
    super('joe', context, {
      headers: { accept: 'application/json' },
      statusError: joeStatusError,
      keyRequired: 'Joe Sandbox requires one',
    });
  }

  /** `server/online` says `online: true` (false during maintenance). */
  protected async probe(): Promise<boolean> {
    const { online } = await this.api.call('v2/server/online', {}, Online);
    return online === true;
  }

  protected async upload(sample: SampleSource): Promise<string> {
    const fields: FormField[] = [{ name: 'apikey', value: this.key() }, this.analysisTimeField('analysis-time')];
    if (this.config.options.acceptTac === true) fields.push({ name: 'accept-tac', value: '1' });
    for (const list of ['systems', 'tags']) {
      const value = this.config.options[list];
      if (typeof value !== 'string') continue;
      for (const item of value
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean))
        fields.push({ name: `${list}[]`, value: item });
    }
    // Joe takes booleans as 0/1.
    fields.push(
      ...this.optionFields(SUBMIT_OPTIONS, (value) =>
        typeof value === 'boolean' ? (value ? '1' : '0') : String(value),
      ),
    );
    const request = await this.uploadRequest('v2/submission/new', fields, sample, { field: 'sample' });
    const created = await this.api.unwrap(request, NewSubmission);
    return created.submission_id;
  }

  /**
   * Polls `submission/info`: `finished` is done when it produced a most relevant analysis; when every
   * run of every analysis ended in an error, the analysis failed.
   */
  async status(itemId: string): Promise<ItemStatus> {
    const info = await this.api.submissionInfo(itemId);
    if (info.status !== 'finished') return itemStatus.inProgress(info.status);
    const runs = (info.analyses ?? []).flatMap((a) => a.runs ?? []);
    const errors = runs.map((r) => r.error).filter((e): e is string => Boolean(e));
    if (runs.length > 0 && errors.length === runs.length) {
      return itemStatus.failedAnalysis('error', [...new Set(errors)].join('; ').slice(0, 300));
    }
    if (!info.most_relevant_analysis)
      return itemStatus.failedAnalysis(info.status, 'submission finished without an analysis');
    return itemStatus.ready(info.status);
  }

  /** The `jsonfixed` report of the submission's most relevant analysis, streamed. */
  report(itemId: string): Promise<NativeReport> {
    return this.analysisReport(itemId, 'jsonfixed', 'json');
  }

  /** The PDF report of the submission's most relevant analysis, streamed. */
  pdfReport(itemId: string): Promise<NativeReport> {
    return this.analysisReport(itemId, 'pdf', 'pdf');
  }

  /** The XML report of the submission's most relevant analysis, streamed. */
  xmlReport(itemId: string): Promise<NativeReport> {
    return this.analysisReport(itemId, 'xml', 'xml');
  }

  /** Resolves a `submission_id` to the webid of its most relevant analysis, which the analysis endpoints take. */
  async webid(submissionId: string): Promise<string> {
    const info = await this.api.submissionInfo(submissionId);
    if (!info.most_relevant_analysis)
      throw new ItemNotFoundError('joe', `submission ${submissionId} has no analysis yet (status ${info.status})`);
    return info.most_relevant_analysis.webid;
  }
  /**
   * No default link: the item id is Joe's submission id, while its web pages are addressed by the
   * analysis' webid (configure `reportPageUrl` where the instance has a page per submission).
   */
  protected readFindings(report: unknown): RawFindings {
    return joeFindings(report);
  }

  /**
   * Normalises the `empiric` detection strategy: its 0–100 score, kept inside the band its detection
   * names (clean 0–39, suspicious 40–69, malicious 70–100); `unknown` detection is unknown. Without a
   * detection, the score alone decides with our 40/70 cuts (Joe publishes no thresholds).
   */
  score(report: unknown): NormalisedScore {
    const strategies = this.reportAs(report, JoeReport, 'a Joe Sandbox JSON report').analysis.signaturedetections
      ?.strategy;
    const empiric = (Array.isArray(strategies) ? strategies : strategies ? [strategies] : []).find(
      (s) => s['@name'] === 'empiric',
    );
    if (!empiric) return { score: null, verdict: 'unknown', native: { value: null, scale: SCALE } };
    const native = typeof empiric.score === 'number' ? empiric.score : null;
    const detection = detectionOf(empiric);
    if (detection === 'unknown') return { score: null, verdict: 'unknown', native: { value: native, scale: SCALE } };
    const min = empiric.minScore ?? 0;
    const max = empiric.maxScore ?? 100;
    const scaled = native === null ? null : max > min ? ((native - min) * 100) / (max - min) : native;
    if (!detection) {
      return bandedScore(scaled === null ? null : clampScore(scaled), { value: native, scale: SCALE });
    }
    const band = VERDICT_BANDS[detection];
    const score = clampToBand(scaled ?? (band.min + band.max) / 2, detection);
    return { score, verdict: detection, native: { value: native, scale: SCALE } };
  }

  /** Deletes the submission and its analyses (`submission/delete`). */
  override delete(itemId: string): Promise<boolean> {
    return this.succeeds(() => this.api.call('v2/submission/delete', { submission_id: itemId }, z.unknown()));
  }

  private async analysisReport(itemId: string, type: string, format: ReportFormat): Promise<NativeReport> {
    const webid = await this.webid(itemId);
    return this.download(this.api.form('v2/analysis/download', { webid, type }), format);
  }
}

/** Joe Sandbox as the registry lists it. */
export const joeConnectorInfo = registryEntry(
  'joe',
  'Joe Sandbox (API v2)',
  ['delete', 'pdf-report', 'xml-report', 'webid-resolution'],
  JoeConnector,
);

/** One element or a list of them: Joe's JSON is derived from XML, so a lone child is an object. */
const OneOrMany = z.unknown().transform((v) => (Array.isArray(v) ? v : v === undefined || v === null ? [] : [v]));

/**
 * The parts of a Joe `jsonfixed` report findings come from: the detection strategies' `threatname`
 * (the family Joe concluded; "Unknown" when none), `signatureinfo.sig` (each `{"@id", "@impact",
 * "$": description}`; impact 1 low … 3 high, above that critical), `mitreattack.tactic[].technique[]`
 * (`{id, name}`), `domaininfo.domain[]` (`@name`) and `ipinfo.ip[]` (`@ip`). Shapes as Joe's XML
 * report maps to JSON; the sandboxapi fixture is trimmed to the score and has none of them.
 */
const JoeFindingsReport = z.object({
  analysis: z
    .object({
      signaturedetections: lenient(z.object({ strategy: OneOrMany.optional() }).loose()),
      signatureinfo: lenient(z.object({ sig: OneOrMany.optional() }).loose()),
      mitreattack: lenient(z.object({ tactic: OneOrMany.optional() }).loose()),
      domaininfo: lenient(z.object({ domain: OneOrMany.optional() }).loose()),
      ipinfo: lenient(z.object({ ip: OneOrMany.optional() }).loose()),
    })
    .loose(),
});

/** What a Joe Sandbox `jsonfixed` report concluded. */
export function joeFindings(report: unknown): RawFindings {
  const parsed = JoeFindingsReport.safeParse(report);
  if (!parsed.success) return {};
  const a = parsed.data.analysis;
  const record = (v: unknown) => (v && typeof v === 'object' ? (v as Record<string, unknown>) : {});
  const threatNames = namesOf(a.signaturedetections?.strategy, 'threatname').filter(
    (name) => typeof name === 'string' && !/^unknown$/i.test(name.trim()),
  );
  const techniques = (a.mitreattack?.tactic ?? []).flatMap((tactic) => techniquesOf(record(tactic).technique, 'id'));
  return {
    families: threatNames,
    signatures: (a.signatureinfo?.sig ?? []).map((sig) => {
      const s = record(sig);
      return { name: s.$ ?? s.desc, severity: severityFrom(s['@impact'], [2, 3, 4]) };
    }),
    attack: techniques,
    hosts: hostsOf([a.domaininfo?.domain, '@name'], [a.ipinfo?.ip, '@ip']),
  };
}
