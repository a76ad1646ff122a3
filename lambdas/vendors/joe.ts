import * as z from 'zod';
import type { Clock } from '../core/clock';
import type { VendorConfig } from '../core/config';
import { bandOf, clampScore, clampToBand, DEFAULT_THRESHOLDS, VERDICT_BANDS } from '../core/scoring';
import type { Verdict } from '../core/schemas';
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
  SampleTooLargeError,
  TransientError,
  UnsupportedFileError,
  type VendorError,
} from './errors';
import { httpClientFor, type VendorHttpClient, type HttpRequest } from './http';
import { multipartBody, type FormField } from './multipart';

const JoeErrorItem = z.object({ code: z.number().int(), message: z.string().optional() });

/** Joe's envelope: `{"data": ...}` on success, `{"errors": [{code, message}]}` on failure. */
const Envelope = z.object({ data: z.unknown().optional(), errors: z.array(JoeErrorItem).optional() });

const Webid = z.union([z.string(), z.number()]).transform(String);

const Online = z.object({ online: z.boolean() });

const NewSubmission = z.object({ submission_id: Webid });

const SubmissionInfo = z.object({
  submission_id: Webid,
  status: z.string(),
  most_relevant_analysis: z
    .object({ webid: Webid, detection: z.string().optional(), score: z.number().nullable().optional() })
    .nullable()
    .optional(),
  analyses: z
    .array(
      z.object({
        webid: Webid,
        runs: z
          .array(
            z.object({
              system: z.string().optional(),
              detection: z.string().nullable().optional(),
              error: z.string().nullable().optional(),
            }),
          )
          .optional(),
      }),
    )
    .optional(),
});

const Strategy = z.looseObject({
  '@name': z.string().optional(),
  detection: z.string().optional(),
  score: z.number().nullable().optional(),
  minScore: z.number().optional(),
  maxScore: z.number().optional(),
  malicious: z.boolean().optional(),
  suspicious: z.boolean().optional(),
  clean: z.boolean().optional(),
  unknown: z.boolean().optional(),
});

/** The parts of a `jsonfixed` report the score reads. Joe's XML-derived JSON makes a lone strategy an object. */
const JoeReport = z.object({
  analysis: z.object({
    signaturedetections: z
      .object({ strategy: z.union([z.array(Strategy), Strategy]) })
      .nullable()
      .optional(),
  }),
});

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
function detectionOf(strategy: z.infer<typeof Strategy>): Verdict | undefined {
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
 * `apiKey`: the Joe Sandbox API key, sent as the form field `apikey` of every request.
 */
export class JoeConnector implements SandboxConnector {
  readonly id = 'joe' as const;
  private readonly http: VendorHttpClient;
  /** Seconds Joe needs after the run to write the reports. */
  private readonly processingSeconds: number;

  constructor(
    private readonly config: VendorConfig,
    private readonly apiKey: string | undefined,
    _clock: Clock,
  ) {
    this.http = httpClientFor('joe', config, {
      headers: { accept: 'application/json' },
      statusError: joeStatusError,
    });
    this.processingSeconds = Number(config.options.processingSeconds ?? 60);
  }

  /** True only when `server/online` says `online: true` (false during maintenance). */
  async available(): Promise<boolean> {
    try {
      const { online } = await this.call('v2/server/online', {}, Online);
      return online === true;
    } catch (error) {
      if ((error as Error).name === 'AuthError') throw error;
      return false;
    }
  }

  async submit(sample: SampleSource): Promise<string> {
    const apikey = this.key();
    const maxBytes = this.config.maxFileBytes;
    if (maxBytes !== undefined && sample.size > maxBytes) {
      throw new SampleTooLargeError('joe', `${sample.size} bytes is over the configured ${maxBytes}`);
    }
    const fields: FormField[] = [
      { name: 'apikey', value: apikey },
      { name: 'analysis-time', value: String(this.config.analysisTimeoutSeconds) },
    ];
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
    for (const name of SUBMIT_OPTIONS) {
      const value = this.config.options[name];
      // Joe takes booleans as 0/1.
      if (value !== undefined)
        fields.push({ name, value: typeof value === 'boolean' ? (value ? '1' : '0') : String(value) });
    }
    const multipart = multipartBody(fields, {
      field: 'sample',
      fileName: sample.fileName,
      contentType: 'application/octet-stream',
      size: sample.size,
      stream: await sample.open(),
    });
    const created = await this.unwrap(
      {
        method: 'POST',
        path: 'v2/submission/new',
        body: multipart.body,
        contentLength: multipart.contentLength,
        headers: { 'content-type': multipart.contentType },
      },
      NewSubmission,
    );
    return created.submission_id;
  }

  initialWaitSeconds(): number {
    return this.config.analysisTimeoutSeconds + this.processingSeconds;
  }

  /**
   * Polls `submission/info`: `finished` is done when it produced a most relevant analysis; when every
   * run of every analysis ended in an error, the analysis failed.
   */
  async status(itemId: string): Promise<ItemStatus> {
    const info = await this.submissionInfo(itemId);
    if (info.status !== 'finished') return { done: false, failed: false, state: info.status };
    const runs = (info.analyses ?? []).flatMap((a) => a.runs ?? []);
    const errors = runs.map((r) => r.error).filter((e): e is string => Boolean(e));
    if (runs.length > 0 && errors.length === runs.length) {
      return { done: false, failed: true, state: 'error', reason: [...new Set(errors)].join('; ').slice(0, 300) };
    }
    if (!info.most_relevant_analysis)
      return { done: false, failed: true, state: info.status, reason: 'submission finished without an analysis' };
    return { done: true, failed: false, state: info.status };
  }

  /** The `jsonfixed` report of the submission's most relevant analysis, streamed. */
  report(itemId: string): Promise<NativeReport> {
    return this.download(itemId, 'jsonfixed', 'application/json', 'json');
  }

  /** The PDF report of the submission's most relevant analysis, streamed. */
  pdfReport(itemId: string): Promise<NativeReport> {
    return this.download(itemId, 'pdf', 'application/pdf', 'pdf');
  }

  /** The XML report of the submission's most relevant analysis, streamed. */
  xmlReport(itemId: string): Promise<NativeReport> {
    return this.download(itemId, 'xml', 'application/xml', 'xml');
  }

  /** Resolves a `submission_id` to the webid of its most relevant analysis, which the analysis endpoints take. */
  async webid(submissionId: string): Promise<string> {
    const info = await this.submissionInfo(submissionId);
    if (!info.most_relevant_analysis)
      throw new ItemNotFoundError('joe', `submission ${submissionId} has no analysis yet (status ${info.status})`);
    return info.most_relevant_analysis.webid;
  }

  /**
   * Normalises the `empiric` detection strategy: its 0–100 score, kept inside the band its detection
   * names (clean 0–39, suspicious 40–69, malicious 70–100); `unknown` detection is unknown. Without a
   * detection, the score alone decides with our 40/70 cuts (Joe publishes no thresholds).
   */
  score(report: unknown): NormalisedScore {
    const parsed = JoeReport.safeParse(report);
    if (!parsed.success) throw new BadResponseError('joe', 'report is not a Joe Sandbox JSON report');
    const strategies = parsed.data.analysis.signaturedetections?.strategy;
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
      if (scaled === null) return { score: null, verdict: 'unknown', native: { value: null, scale: SCALE } };
      const score = clampScore(scaled);
      return { score, verdict: bandOf(score, DEFAULT_THRESHOLDS), native: { value: native, scale: SCALE } };
    }
    const band = VERDICT_BANDS[detection];
    const score = clampToBand(scaled ?? (band.min + band.max) / 2, detection);
    return { score, verdict: detection, native: { value: native, scale: SCALE } };
  }

  /** Deletes the submission and its analyses (`submission/delete`). */
  async delete(itemId: string): Promise<boolean> {
    try {
      await this.call('v2/submission/delete', { submission_id: itemId }, z.unknown());
      return true;
    } catch {
      return false;
    }
  }

  private submissionInfo(submissionId: string): Promise<z.infer<typeof SubmissionInfo>> {
    return this.call('v2/submission/info', { submission_id: submissionId }, SubmissionInfo);
  }

  private async download(itemId: string, type: string, contentType: string, extension: string): Promise<NativeReport> {
    const webid = await this.webid(itemId);
    const response = await this.http.send(this.form('v2/analysis/download', { webid, type }));
    return { body: response.body, contentType, extension };
  }

  /** A form POST carrying the key. */
  private form(path: string, fields: Record<string, string>): HttpRequest {
    return {
      method: 'POST',
      path,
      body: new URLSearchParams({ apikey: this.key(), ...fields }).toString(),
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    };
  }

  private call<T extends z.ZodType>(path: string, fields: Record<string, string>, data: T): Promise<z.infer<T>> {
    return this.unwrap(this.form(path, fields), data);
  }

  /** Sends a request and unwraps Joe's envelope; an `errors` list (in any status) becomes a typed error. */
  private async unwrap<T extends z.ZodType>(req: HttpRequest, data: T): Promise<z.infer<T>> {
    const { text } = await this.http.text(req);
    const envelope = this.http.parse(text, Envelope, req.path);
    const error = envelope.errors?.[0];
    if (error) throw errorForCode(error.code, error.message ?? `error code ${error.code}`);
    const parsed = data.safeParse(envelope.data);
    if (!parsed.success)
      throw new BadResponseError(
        'joe',
        `${req.path}: unexpected data at ${parsed.error.issues[0]?.path.join('.') || '(root)'}: ${parsed.error.issues[0]?.message}`,
      );
    return parsed.data;
  }

  private key(): string {
    if (!this.apiKey) throw new AuthError('joe', 'no API key configured (Joe Sandbox requires one)');
    return this.apiKey;
  }
}

/**
 * Joe's documented error codes. The HTTP status of each is not documented, so the code decides;
 * codes 2 and 3 (missing or invalid parameter) are read further by their message.
 */
function errorForCode(code: number, message: string): VendorError {
  const text = `error ${code}: ${message}`;
  switch (code) {
    case 1:
      return new QuotaExceededError('joe', text);
    case 4:
    case 7:
      return new AuthError('joe', text);
    case 5:
    case 6:
      return new TransientError('joe', text);
    case 2:
    case 3:
      if (/too (big|large)|file size|exceeds/i.test(message)) return new SampleTooLargeError('joe', text);
      if (/unsupported|not supported/i.test(message)) return new UnsupportedFileError('joe', text);
      if (/unknown|not found|does not exist/i.test(message)) return new ItemNotFoundError('joe', text);
      return new BadResponseError('joe', text);
    default:
      return new BadResponseError('joe', text);
  }
}

/** Error bodies carry Joe's code; without one (a proxy's page) the default HTTP mapping applies. */
function joeStatusError(_status: number, body: string): VendorError | undefined {
  try {
    const parsed = Envelope.safeParse(JSON.parse(body));
    const error = parsed.success ? parsed.data.errors?.[0] : undefined;
    return error ? errorForCode(error.code, error.message ?? `error code ${error.code}`) : undefined;
  } catch {
    return undefined;
  }
}

/** Joe Sandbox as the registry lists it. */
export const joeConnectorInfo: ConnectorInfo = {
  id: 'joe',
  name: 'Joe Sandbox (API v2)',
  capabilities: ['delete', 'pdf-report', 'xml-report', 'webid-resolution'],
  create: (config, apiKey, clock) => new JoeConnector(config, apiKey, clock),
};
