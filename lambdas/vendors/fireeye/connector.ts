import * as z from 'zod';
import type { ConnectorContext, ItemStatus, NativeReport, NormalisedScore, SampleSource } from '../kit';
import { BadResponseError, bandedScore, BaseConnector, ItemNotFoundError, itemStatus, registryEntry } from '../kit';
import { hostsOf, lenient, namesOf, type RawFindings, type SignatureSeverity } from '../kit';
import { FireeyeClient, statusError } from './client';
import {
  type Alert,
  type ApiLayout,
  ClassicResults,
  ClassicStatus,
  layoutOf,
  MvxResult,
  type SubmitEntry,
  SubmitResponse,
} from './wire';

/** Native FireEye signals on Sandtrap's 0–100 scale: no alert benign, a minor alert suspicious, a major one malicious. */
const SCORES = { none: 0, minor: 50, major: 90 } as const;

/** An alert's weight: `malicious: no` clears it, MAJR or `malicious: yes` is malicious, any other alert suspicious. */
function alertScore(alert: Alert): number {
  const malicious = alert.malicious?.toLowerCase();
  if (malicious === 'no') return SCORES.none;
  if (alert.severity?.toUpperCase() === 'MAJR' || malicious === 'yes') return SCORES.major;
  return SCORES.minor;
}

/**
 * FireEye AX / Trellix Malware Analysis through the Web Services API, both path families: classic
 * (`/wsapis/v1.2.0/`, `/wsapis/v2.0.0/`: `submissions/status` + `submissions/results`, alerts scored by
 * severity) and Trellix MVX (`/wsapis/mvx/v2.0.0/` with login under `/wsapis/common/v2.0.0/`:
 * `submissions/result/{uuid}?format=v2.0`, status queued / success / failed, verdict malicious /
 * riskware / non-malicious).
 *
 * Every call carries the session token of {@link FireeyeClient}.
 *
 * Credentials: the WSAPI account: JSON `{"username": "...", "password": "..."}`, or `username:password`.
 * Options: `profile` (guest image(s), comma-separated; default sandboxapi's `winxp-sp3`), `application`,
 * `priority`, `analysistype` (1 live, 2 sandbox; default 2), `force`, `prefetch`, `clientToken`
 * (`X-FeClient-Token`).
 */
export class FireeyeConnector extends BaseConnector<'fireeye'> {
  /** The upload may have to log in first (a session is opened on first use and after it expires). */
  override readonly requestCosts = { submit: 2 };
  private readonly layout: ApiLayout;
  private readonly api: FireeyeClient;

  constructor(context: ConnectorContext) {
    const clientToken = context.config.options.clientToken;
    super('fireeye', context, {
      headers: {
        accept: 'application/json',
        ...(clientToken !== undefined ? { 'x-feclient-token': String(clientToken) } : {}),
      },
      statusError,
    });
    this.layout = layoutOf(this.config.baseUrl);
    this.api = new FireeyeClient(this.http, this.layout, this.secret);
  }

  /** Logs in (when no session is open) and, on the classic API, reads `config`. */
  protected async probe(): Promise<undefined> {
    if (this.layout.family === 'classic') await this.api.json({ method: 'GET', path: 'config' }, z.unknown());
    else await this.api.token();
  }

  /** Logs in afresh with the configured credentials, logging out of any session held first. */
  authenticate(): Promise<void> {
    return this.api.authenticate();
  }

  /** Ends the session with POST `auth/logout` (sandboxapi sent GET); the appliance allows only 100 open sessions. */
  logout(): Promise<void> {
    return this.api.logout();
  }

  protected async upload(sample: SampleSource): Promise<string> {
    const options = JSON.stringify(this.submitOptions());
    // The sample is opened per attempt: a retry after a refused token needs a fresh stream.
    const answer = await this.api.json(
      () => this.uploadRequest('submissions', [{ name: 'options', value: options }], sample),
      SubmitResponse,
    );
    return this.submissionKey(Array.isArray(answer) ? answer[0]! : answer);
  }

  /**
   * The key the rest of the cycle asks for, where the answer carries `ID`, `uuid` or both: MVX polls
   * `submissions/result/{uuid}`, so there the `uuid` comes first; the classic API polls
   * `submissions/status/{ID}`, so there the `ID` does. Either falls back to the other.
   */
  private submissionKey(entry: z.infer<typeof SubmitEntry>): string {
    const [first, second] = this.layout.family === 'mvx' ? [entry.uuid, entry.ID] : [entry.ID, entry.uuid];
    return (first ?? second) as string;
  }

  /** The appliance's own processing time after the run; not configurable, unlike the other vendors'. */
  protected override processingSeconds(): number {
    return 60;
  }

  async status(itemId: string): Promise<ItemStatus> {
    if (this.layout.family === 'mvx') {
      const result = await this.api.json(
        { method: 'GET', path: this.mvxResultPath(itemId), query: { format: 'v2.0', info_level: 'concise' } },
        MvxResult,
      );
      const state = result.status.toLowerCase();
      if (state === 'success') return itemStatus.ready(state);
      if (state === 'failed') return itemStatus.failedAnalysis(state, 'Trellix analysis failed');
      return itemStatus.inProgress(state);
    }
    const { submissionStatus: state } = await this.api.json(
      { method: 'GET', path: `submissions/status/${encodeURIComponent(itemId)}` },
      ClassicStatus,
    );
    // "Done" on AX, "Submission Done" on some CM versions.
    if (/^(submission )?done$/i.test(state.trim())) return itemStatus.ready(state);
    if (/not found/i.test(state)) throw new ItemNotFoundError('fireeye', `submission ${itemId}: ${state}`);
    if (/fail|error/i.test(state)) return itemStatus.failedAnalysis(state, `FireEye submission ${state}`);
    return itemStatus.inProgress(state);
  }

  /** The JSON results (classic: `info_level=extended` alerts; MVX: the format 2.0 result document). */
  report(itemId: string): Promise<NativeReport> {
    if (this.layout.family === 'mvx') {
      return this.api.stream(
        { method: 'GET', path: this.mvxResultPath(itemId), query: { format: 'v2.0', info_level: 'extended' } },
        'json',
      );
    }
    return this.api.stream(
      { method: 'GET', path: this.resultsPath(itemId), query: { info_level: 'extended' } },
      'json',
    );
  }

  /** The classic results as XML, the appliance's own default format. */
  xmlReport(itemId: string): Promise<NativeReport> {
    this.requireClassic('XML results');
    return this.api.stream(
      {
        method: 'GET',
        path: this.resultsPath(itemId),
        query: { info_level: 'extended' },
        headers: { accept: 'application/xml' },
      },
      'xml',
    );
  }

  /** The Alert Details Report (PDF) of the submission's first alert; `ItemNotFoundError` when nothing alerted. */
  async pdfReport(itemId: string): Promise<NativeReport> {
    this.requireClassic('PDF reports');
    const results = await this.api.json(
      { method: 'GET', path: this.resultsPath(itemId), query: { info_level: 'concise' } },
      ClassicResults,
    );
    const alerts = results.alert === undefined ? [] : Array.isArray(results.alert) ? results.alert : [results.alert];
    const alertId = alerts.find((a) => a.id !== undefined)?.id;
    if (alertId === undefined)
      throw new ItemNotFoundError('fireeye', `submission ${itemId} raised no alert, so it has no alert details report`);
    return this.api.stream(
      {
        method: 'GET',
        path: 'reports/report',
        query: { report_type: 'alertDetailsReport', type: 'pdf', id: String(alertId) },
        headers: { accept: 'application/pdf' },
      },
      'pdf',
    );
  }
  /** No default link: the appliance's alert pages are addressed by alert id, not submission id (configure `reportPageUrl`). */
  protected readFindings(report: unknown): RawFindings {
    return fireeyeFindings(report);
  }

  /**
   * Scores classic results by their alerts (none → 0, which sandboxapi crashed on; MINR → 50; MAJR or
   * `malicious: yes` → 90; the strongest alert wins) or an MVX result by its verdict (non-malicious 0,
   * riskware 50, malicious 90; no verdict yet → unknown).
   */
  score(report: unknown): NormalisedScore {
    const mvx = MvxResult.safeParse(report);
    if (mvx.success && !('alert' in (report as object))) {
      const verdict = mvx.data.verdict?.toLowerCase() ?? null;
      const native = { value: verdict, scale: 'Trellix MVX verdict' };
      const score =
        verdict === 'malicious'
          ? SCORES.major
          : verdict === 'riskware'
            ? SCORES.minor
            : verdict === 'non-malicious'
              ? SCORES.none
              : null;
      return bandedScore(score, native);
    }
    const parsed = ClassicResults.safeParse(report);
    if (
      !parsed.success ||
      typeof report !== 'object' ||
      report === null ||
      !('alert' in report || 'alertsCount' in report)
    ) {
      throw new BadResponseError('fireeye', 'report is not FireEye submission results');
    }
    const alerts =
      parsed.data.alert === undefined ? [] : Array.isArray(parsed.data.alert) ? parsed.data.alert : [parsed.data.alert];
    const strongest = alerts.reduce<Alert | undefined>(
      (best, alert) => (best && alertScore(best) >= alertScore(alert) ? best : alert),
      undefined,
    );
    const score = strongest ? alertScore(strongest) : SCORES.none;
    const native = {
      value: strongest ? (strongest.severity ?? 'alert') : 'no alert',
      scale: 'FireEye alert severity (MAJR/MINR)',
    };
    return bandedScore(score, native);
  }

  private submitOptions(): Record<string, unknown> {
    const o = this.config.options;
    const profiles = String(o.profile ?? 'winxp-sp3')
      .split(',')
      .map((p) => p.trim())
      .filter(Boolean);
    const common = {
      application: String(o.application ?? '0'),
      timeout: String(this.config.analysisTimeoutSeconds),
      analysistype: String(o.analysistype ?? '2'),
      force: String(o.force ?? 'true'),
      prefetch: String(o.prefetch ?? '0'),
    };
    // MVX takes named priorities and one profile; the classic API numbers and a list.
    if (this.layout.family === 'mvx')
      return { ...common, priority: String(o.priority ?? 'normal'), profile: profiles[0] };
    return { ...common, priority: String(o.priority ?? '0'), profiles };
  }

  private resultsPath(itemId: string): string {
    return `submissions/results/${encodeURIComponent(itemId)}`;
  }

  private mvxResultPath(itemId: string): string {
    return `submissions/result/${encodeURIComponent(itemId)}`;
  }

  private requireClassic(what: string): void {
    if (this.layout.family !== 'classic')
      throw new Error(`fireeye: ${what} are only offered by the classic WSAPI (/wsapis/v1.2.0/, /wsapis/v2.0.0/)`);
  }
}

/** The FireEye / Trellix connector as the registry lists it. */
export const fireeyeConnectorInfo = registryEntry(
  'fireeye',
  'FireEye AX / Trellix Malware Analysis (WSAPI)',
  ['token-auth', 'pdf-report', 'xml-report'],
  FireeyeConnector,
);

/** FireEye alert severities: MINR minor, MAJR major, CRIT critical. */
const ALERT_SEVERITIES: Record<string, SignatureSeverity> = { MINR: 'medium', MAJR: 'high', CRIT: 'critical' };

const OneOrMany = z.unknown().transform((v) => (Array.isArray(v) ? v : v === undefined || v === null ? [] : [v]));

const FindingsAlert = z
  .object({
    name: z.unknown().optional(),
    severity: z.unknown().optional(),
    explanation: lenient(
      z
        .object({
          malwareDetected: lenient(z.object({ malware: OneOrMany.optional() }).loose()),
          cncServices: lenient(z.object({ cncService: OneOrMany.optional() }).loose()),
        })
        .loose(),
    ),
  })
  .loose();

/**
 * What FireEye / Trellix classic submission results concluded: each alert's `malwareDetected.malware`
 * names (the detection names, such as `Trojan.Emotet`, as families), the alert itself as a signature
 * (`name`, such as `MALWARE_CALLBACK`, with its severity and the malware names as description), and
 * `cncServices.cncService@address` as hosts. The results carry no ATT&CK ids; an MVX result (a verdict
 * only) carries nothing to find.
 */
export function fireeyeFindings(report: unknown): RawFindings {
  const alerts = OneOrMany.parse((report as { alert?: unknown } | null)?.alert).flatMap((a) => {
    const alert = FindingsAlert.safeParse(a);
    return alert.success ? [alert.data] : [];
  });
  const malwareOf = (alert: z.infer<typeof FindingsAlert>) =>
    namesOf(alert.explanation?.malwareDetected?.malware ?? [], 'name');
  return {
    families: alerts.flatMap(malwareOf),
    signatures: alerts.map((alert) => ({
      name: alert.name,
      severity: ALERT_SEVERITIES[String(alert.severity)] ?? 'low',
      description: malwareOf(alert).join(', '),
    })),
    hosts: alerts.flatMap((alert) => hostsOf([alert.explanation?.cncServices?.cncService ?? [], 'address'])),
  };
}
