import * as z from 'zod';
import type { Clock } from '../core/clock';
import type { VendorConfig } from '../core/config';
import { bandOf } from '../core/scoring';
import type {
  ConnectorInfo,
  ItemStatus,
  NativeReport,
  NormalisedScore,
  SampleSource,
  SandboxConnector,
} from './connector';
import {
  AuthError,
  BadResponseError,
  ItemNotFoundError,
  QuotaExceededError,
  RateLimitedError,
  SampleTooLargeError,
  TransientError,
  UnsupportedFileError,
  type VendorError,
} from './errors';
import { httpClientFor, peekBody, type VendorHttpClient, type HttpRequest, type HttpResponse } from './http';
import { multipartBody } from './multipart';

/**
 * The appliance refused our session token (HTTP 401, or `fireeyeapis.httpStatus: 401` inside a 200):
 * it expired after 15 idle minutes or was logged out. Never leaves the connector: it is answered by
 * one fresh login, and becomes an `AuthError` if the fresh token is refused too.
 */
class TokenRefused extends AuthError {}

/** Username and password of a WSAPI account (API Analyst or API Monitor role). */
interface Credentials {
  username: string;
  password: string;
}

const CredentialsJson = z.object({ username: z.string().min(1), password: z.string() });

/** Reads `{"username": "...", "password": "..."}` or `username:password` (split at the first colon). */
function parseCredentials(apiKey: string | undefined): Credentials {
  if (!apiKey) throw new AuthError('fireeye', 'no credentials configured');
  if (apiKey.trimStart().startsWith('{')) {
    let value: unknown;
    try {
      value = JSON.parse(apiKey);
    } catch {
      throw new AuthError('fireeye', 'credentials are not valid JSON');
    }
    const parsed = CredentialsJson.safeParse(value);
    if (!parsed.success) throw new AuthError('fireeye', 'credentials JSON needs a username and a password');
    return parsed.data;
  }
  const colon = apiKey.indexOf(':');
  if (colon <= 0)
    throw new AuthError('fireeye', 'credentials must be {"username","password"} JSON or username:password');
  return { username: apiKey.slice(0, colon), password: apiKey.slice(colon + 1) };
}

/**
 * Which WSAPI the base URL points at. `classic` is `/wsapis/v1.1.0|v1.2.0|v2.0.0/` (AX, CM); `mvx` is
 * Trellix's `/wsapis/mvx/v2.0.0/`, whose login and logout live under `/wsapis/common/<version>/`.
 */
type Family = 'classic' | 'mvx';

interface ApiLayout {
  family: Family;
  /** Prefix of API paths relative to the configured base URL: empty unless the base is the bare appliance. */
  prefix: string;
  /** Login and logout, relative to the configured base URL. */
  authPath: string;
}

/**
 * Works out the API family from the base URL; a bare appliance URL gets sandboxapi's `/wsapis/v1.2.0/`.
 * The base URL itself stays as configured, because request gates (rate limits) are keyed by it.
 */
function layoutOf(baseUrl: string): ApiLayout {
  const { pathname } = new URL(baseUrl);
  const path = pathname.endsWith('/') ? pathname : `${pathname}/`;
  const mvx = path.match(/\/wsapis\/mvx\/(v[\d.]+)\/$/);
  if (mvx) return { family: 'mvx', prefix: '', authPath: `../../common/${mvx[1]}/auth/` };
  if (/\/wsapis\/v[\d.]+\/$/.test(path)) return { family: 'classic', prefix: '', authPath: 'auth/' };
  return { family: 'classic', prefix: 'wsapis/v1.2.0/', authPath: 'wsapis/v1.2.0/auth/' };
}

/** The error document older appliances send, sometimes inside an HTTP 200 (code AUTH004 for an expired token). */
const FireEyeApis = z.object({
  fireeyeapis: z.object({
    httpStatus: z.number().int(),
    message: z.string().optional(),
    description: z.string().optional(),
  }),
});

const SubmissionId = z.union([z.string().min(1), z.number().int()]).transform(String);
const SubmitEntry = z.union([z.object({ ID: SubmissionId }), z.object({ uuid: SubmissionId })]);
const SubmitResponse = z.union([SubmitEntry, z.array(SubmitEntry).min(1)]);

const ClassicStatus = z.object({ submissionStatus: z.string() });

const MvxResult = z.object({ status: z.string(), verdict: z.string().optional() });

const Alert = z.object({
  id: z.union([z.number(), z.string()]).optional(),
  severity: z.string().optional(),
  malicious: z.string().optional(),
});
const ClassicResults = z.object({
  alertsCount: z.number().optional(),
  // A single alert arrives as an object on some versions (XML-to-JSON heritage).
  alert: z.union([z.array(Alert), Alert]).optional(),
});

/** Native FireEye signals on Sandtrap's 0–100 scale (notes §11). */
const SCORES = { none: 0, minor: 50, major: 90 } as const;
const BANDS = { suspiciousAt: 40, maliciousAt: 70 };

/** An alert's weight: `malicious: no` clears it, MAJR or `malicious: yes` is malicious, any other alert suspicious. */
function alertScore(alert: z.infer<typeof Alert>): number {
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
 * Every call carries the session token (`X-FeApi-Token`) from a login with HTTP Basic credentials. The
 * token lives as long as the connector (one per warm Lambda) and expires after 15 idle minutes; a
 * refused token, as HTTP 401 or as `fireeyeapis.httpStatus: 401` inside a 200, triggers exactly one
 * fresh login and one retry (sandboxapi retried recursively without a cap).
 *
 * `apiKey` holds the WSAPI account: JSON `{"username": "...", "password": "..."}`, or `username:password`.
 * Options: `profile` (guest image(s), comma-separated; default sandboxapi's `winxp-sp3`), `application`,
 * `priority`, `analysistype` (1 live, 2 sandbox; default 2), `force`, `prefetch`, `clientToken`
 * (`X-FeClient-Token`).
 */
export class FireeyeConnector implements SandboxConnector {
  readonly id = 'fireeye' as const;
  private readonly http: VendorHttpClient;
  private readonly layout: ApiLayout;
  /** The current session; a promise so that concurrent calls share one login. */
  private session?: Promise<string>;
  /** Seconds the appliance needs after the run to write its results. */
  private readonly processingSeconds = 60;

  constructor(
    private readonly config: VendorConfig,
    private readonly apiKey: string | undefined,
    _clock: Clock,
  ) {
    this.layout = layoutOf(config.baseUrl);
    const clientToken = config.options.clientToken;
    this.http = httpClientFor('fireeye', config, {
      headers: {
        accept: 'application/json',
        ...(clientToken !== undefined ? { 'x-feclient-token': String(clientToken) } : {}),
      },
      statusError: (status, body) => statusError(status, body),
    });
  }

  /** Logs in (when no session is open) and, on the classic API, reads `config`. */
  async available(): Promise<boolean> {
    try {
      if (this.layout.family === 'classic') await this.json({ method: 'GET', path: 'config' }, z.unknown());
      else await this.token();
      return true;
    } catch (error) {
      if (error instanceof AuthError) throw error;
      return false;
    }
  }

  /** Logs in afresh with the configured credentials, logging out of any session held first. */
  async authenticate(): Promise<void> {
    await this.logout();
    await this.startSession();
  }

  /** Ends the session with POST `auth/logout` (sandboxapi sent GET); the appliance allows only 100 open sessions. */
  async logout(): Promise<void> {
    const session = this.session;
    if (!session) return;
    this.session = undefined;
    const token = await session.catch(() => undefined);
    if (!token) return;
    // 204 ends the session; 304 or 401 mean the appliance no longer knew the token: ended either way.
    try {
      const response = await this.http.send({
        method: 'POST',
        path: `${this.layout.authPath}logout`,
        headers: { 'x-feapi-token': token },
      });
      await response.body.dump();
    } catch (error) {
      if (!(error instanceof TokenRefused)) throw error;
    }
  }

  async submit(sample: SampleSource): Promise<string> {
    const maxBytes = this.config.maxFileBytes;
    if (maxBytes !== undefined && sample.size > maxBytes) {
      throw new SampleTooLargeError('fireeye', `${sample.size} bytes is over the configured ${maxBytes}`);
    }
    const options = JSON.stringify(this.submitOptions());
    // The sample is opened per attempt: a retry after a refused token needs a fresh stream.
    const answer = await this.json(async () => {
      const multipart = multipartBody([{ name: 'options', value: options }], {
        field: 'file',
        fileName: sample.fileName,
        contentType: 'application/octet-stream',
        size: sample.size,
        stream: await sample.open(),
      });
      return {
        method: 'POST',
        path: 'submissions',
        body: multipart.body,
        contentLength: multipart.contentLength,
        headers: { 'content-type': multipart.contentType },
      };
    }, SubmitResponse);
    const entry = Array.isArray(answer) ? answer[0]! : answer;
    return 'ID' in entry ? entry.ID : entry.uuid;
  }

  initialWaitSeconds(): number {
    return this.config.analysisTimeoutSeconds + this.processingSeconds;
  }

  async status(itemId: string): Promise<ItemStatus> {
    if (this.layout.family === 'mvx') {
      const result = await this.json(
        { method: 'GET', path: this.mvxResultPath(itemId), query: { format: 'v2.0', info_level: 'concise' } },
        MvxResult,
      );
      const state = result.status.toLowerCase();
      if (state === 'success') return { done: true, failed: false, state };
      if (state === 'failed') return { done: false, failed: true, state, reason: 'Trellix analysis failed' };
      return { done: false, failed: false, state };
    }
    const { submissionStatus: state } = await this.json(
      { method: 'GET', path: `submissions/status/${encodeURIComponent(itemId)}` },
      ClassicStatus,
    );
    // "Done" on AX, "Submission Done" on some CM versions.
    if (/^(submission )?done$/i.test(state.trim())) return { done: true, failed: false, state };
    if (/not found/i.test(state)) throw new ItemNotFoundError('fireeye', `submission ${itemId}: ${state}`);
    if (/fail|error/i.test(state)) return { done: false, failed: true, state, reason: `FireEye submission ${state}` };
    return { done: false, failed: false, state };
  }

  /** The JSON results (classic: `info_level=extended` alerts; MVX: the format 2.0 result document). */
  report(itemId: string): Promise<NativeReport> {
    if (this.layout.family === 'mvx') {
      return this.stream(
        { method: 'GET', path: this.mvxResultPath(itemId), query: { format: 'v2.0', info_level: 'extended' } },
        'application/json',
        'json',
      );
    }
    return this.stream(
      { method: 'GET', path: this.resultsPath(itemId), query: { info_level: 'extended' } },
      'application/json',
      'json',
    );
  }

  /** The classic results as XML, the appliance's own default format. */
  xmlReport(itemId: string): Promise<NativeReport> {
    this.requireClassic('XML results');
    return this.stream(
      {
        method: 'GET',
        path: this.resultsPath(itemId),
        query: { info_level: 'extended' },
        headers: { accept: 'application/xml' },
      },
      'application/xml',
      'xml',
    );
  }

  /** The Alert Details Report (PDF) of the submission's first alert; `ItemNotFoundError` when nothing alerted. */
  async pdfReport(itemId: string): Promise<NativeReport> {
    this.requireClassic('PDF reports');
    const results = await this.json(
      { method: 'GET', path: this.resultsPath(itemId), query: { info_level: 'concise' } },
      ClassicResults,
    );
    const alerts = results.alert === undefined ? [] : Array.isArray(results.alert) ? results.alert : [results.alert];
    const alertId = alerts.find((a) => a.id !== undefined)?.id;
    if (alertId === undefined)
      throw new ItemNotFoundError('fireeye', `submission ${itemId} raised no alert, so it has no alert details report`);
    return this.stream(
      {
        method: 'GET',
        path: 'reports/report',
        query: { report_type: 'alertDetailsReport', type: 'pdf', id: String(alertId) },
        headers: { accept: 'application/pdf' },
      },
      'application/pdf',
      'pdf',
    );
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
      return { score, verdict: bandOf(score, BANDS), native };
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
    const strongest = alerts.reduce<z.infer<typeof Alert> | undefined>(
      (best, alert) => (best && alertScore(best) >= alertScore(alert) ? best : alert),
      undefined,
    );
    const score = strongest ? alertScore(strongest) : SCORES.none;
    const native = {
      value: strongest ? (strongest.severity ?? 'alert') : 'no alert',
      scale: 'FireEye alert severity (MAJR/MINR)',
    };
    return { score, verdict: bandOf(score, BANDS), native };
  }

  /** The WSAPI has no delete for submissions. */
  async delete(): Promise<boolean> {
    return false;
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

  private token(): Promise<string> {
    return this.session ?? this.startSession();
  }

  private startSession(): Promise<string> {
    const session = this.login();
    // A failed login is not kept: the next call tries again.
    session.catch(() => {
      if (this.session === session) this.session = undefined;
    });
    this.session = session;
    return session;
  }

  private async login(): Promise<string> {
    const { username, password } = parseCredentials(this.apiKey);
    const basic = Buffer.from(`${username}:${password}`, 'utf8').toString('base64');
    let response: HttpResponse;
    try {
      response = await this.http.send({
        method: 'POST',
        path: `${this.layout.authPath}login`,
        headers: { authorization: `Basic ${basic}` },
      });
    } catch (error) {
      if (error instanceof TokenRefused) throw new AuthError('fireeye', `login refused for user ${username}`);
      throw error;
    }
    await response.body.dump();
    const token = response.headers['x-feapi-token'];
    if (!token)
      throw new BadResponseError('fireeye', `login answered HTTP ${response.status} without an X-FeApi-Token header`);
    return token;
  }

  /** Runs a request with the session token; a refused token gets one fresh login and one retry. */
  private async withToken<T>(run: (token: string) => Promise<T>): Promise<T> {
    const token = await this.token();
    try {
      return await run(token);
    } catch (error) {
      if (!(error instanceof TokenRefused)) throw error;
      // Only the caller that saw this token fail replaces it; concurrent callers reuse the new login.
      if (this.session && (await this.session.catch(() => undefined)) === token) this.session = undefined;
    }
    const fresh = await this.token();
    try {
      return await run(fresh);
    } catch (error) {
      if (error instanceof TokenRefused) {
        this.session = undefined;
        throw new AuthError('fireeye', 'a freshly issued session token was refused too');
      }
      throw error;
    }
  }

  /** Sends an authenticated request and validates its JSON, reading errors hidden in HTTP 200 bodies. */
  private json<T extends z.ZodType>(
    request: HttpRequest | (() => Promise<HttpRequest>),
    schema: T,
  ): Promise<z.infer<T>> {
    return this.withToken(async (token) => {
      const req = typeof request === 'function' ? await request() : request;
      const { text } = await this.http.text(withTokenHeader({ ...req, path: this.layout.prefix + req.path }, token));
      const value = this.http.parse(text, z.unknown(), req.path);
      const envelope = FireEyeApis.safeParse(value);
      if (envelope.success) throw errorOf(envelope.data.fireeyeapis.httpStatus, text);
      return this.http.parse(text, schema, req.path);
    });
  }

  /** Streams an authenticated download, after checking that a small body is not an error document. */
  private stream(req: HttpRequest, contentType: string, extension: string): Promise<NativeReport> {
    return this.withToken(async (token) => {
      const response = await this.http.send(withTokenHeader({ ...req, path: this.layout.prefix + req.path }, token));
      const { head, ended, stream } = await peekBody(response.body, 64 * 1024);
      if (ended) {
        const envelope = FireEyeApis.safeParse(safeJson(head));
        if (envelope.success) throw errorOf(envelope.data.fireeyeapis.httpStatus, head);
        if (/<httpStatus>\s*401\s*<\/httpStatus>/.test(head)) throw errorOf(401, head);
      }
      return { body: stream, contentType, extension };
    });
  }
}

function withTokenHeader(req: HttpRequest, token: string): HttpRequest {
  return { ...req, headers: { ...req.headers, 'x-feapi-token': token } };
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** Error text the appliance puts in `fireeyeapis.description` / `message`, or the raw body. */
function errorDetail(body: string): string {
  const envelope = FireEyeApis.safeParse(safeJson(body));
  const text = envelope.success
    ? [envelope.data.fireeyeapis.message, envelope.data.fireeyeapis.description].filter(Boolean).join(': ')
    : body;
  return text.slice(0, 200).replace(/\s+/g, ' ').trim();
}

/** The typed error for a status found inside a `fireeyeapis` body, where the client's defaults do not reach. */
function errorOf(status: number, body: string): VendorError {
  const specific = statusError(status, body);
  if (specific) return specific;
  const message = `HTTP ${status} in the body: ${errorDetail(body)}`;
  if (status === 403) return new AuthError('fireeye', message);
  // No Retry-After header comes with a status inside a body: a minute is the threshold's own window.
  if (status === 429) return new RateLimitedError('fireeye', message, 60);
  if (status >= 500) return new TransientError('fireeye', message);
  return new BadResponseError('fireeye', message);
}

/** FireEye's meaning of statuses; the client's defaults cover 403, 429 (with Retry-After) and 5xx. */
function statusError(status: number, body: string): VendorError | undefined {
  const detail = errorDetail(body);
  if (status === 401) return new TokenRefused('fireeye', `token refused: ${detail}`);
  if (status === 404) return new ItemNotFoundError('fireeye', detail || 'not found');
  if (status === 413) return new SampleTooLargeError('fireeye', detail || 'request entity too large');
  // WSAPI thresholds are set per minute and per day; only the daily one is a quota.
  if (status === 429 && /per day|daily|day threshold/i.test(detail)) return new QuotaExceededError('fireeye', detail);
  if (status === 400 && /unsupported|not supported/i.test(detail)) return new UnsupportedFileError('fireeye', detail);
  return undefined;
}

/** The FireEye / Trellix connector as the registry lists it. */
export const fireeyeConnectorInfo: ConnectorInfo = {
  id: 'fireeye',
  name: 'FireEye AX / Trellix Malware Analysis (WSAPI)',
  capabilities: ['token-auth', 'pdf-report', 'xml-report'],
  create: (config, key, clock) => new FireeyeConnector(config, key, clock),
};
