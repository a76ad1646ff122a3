import * as z from 'zod';
import type { Clock } from '../core/clock';
import type { VendorConfig } from '../core/config';
import { bandOf, clampScore, clampToBand, DEFAULT_THRESHOLDS } from '../core/scoring';
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
  UnsupportedFileError,
  type VendorError,
} from './errors';
import { httpClientFor, type VendorHttpClient, type HttpRequest, type HttpResponse } from './http';
import { multipartBody, type FormField } from './multipart';

/** VMRay's envelope: `{"result": "ok", "data": ...}`, or `{"result": "error", "error_msg": "..."}`. */
const Envelope = z.object({ result: z.string(), data: z.unknown().optional(), error_msg: z.string().optional() });

const SubmitData = z.object({
  errors: z.array(z.object({ error_msg: z.string() })).default([]),
  submissions: z.array(z.object({ submission_id: z.number().int() })).default([]),
  samples: z.array(z.object({ sample_id: z.number().int() })).default([]),
});

const Submission = z.object({
  submission_id: z.number().int(),
  submission_finished: z.boolean(),
  submission_has_errors: z.boolean().nullable().optional(),
});

const Analysis = z.looseObject({
  analysis_id: z.number().int(),
  analysis_verdict: z.string().nullable().optional(),
  analysis_severity: z.string().nullable().optional(),
  analysis_vti_score: z.number().nullable().optional(),
});

/** An analysis as VMRay lists it (`/rest/analysis…`). */
export type VmrayAnalysis = z.infer<typeof Analysis>;

const SummaryV2 = z.object({ analysis_metadata: z.looseObject({ verdict: z.string().nullable().optional() }) });
const SummaryV1 = z.object({ vti: z.looseObject({ vti_score: z.number().nullable().optional() }) });
const SampleRecord = z.looseObject({
  sample_verdict: z.string().nullable().optional(),
  sample_severity: z.string().nullable().optional(),
  sample_vti_score: z.number().nullable().optional(),
});

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

/** Where a verdict without a VTI score lands. */
const VERDICT_ONLY: Record<Exclude<Verdict, 'unknown'>, number> = { benign: 10, suspicious: 55, malicious: 90 };

/** VMRay verdicts (current) and severities (legacy, before verdicts existed) as our verdicts; `unknown` means "not available". */
const VERDICTS: Record<string, Verdict> = {
  clean: 'benign',
  not_suspicious: 'benign',
  whitelisted: 'benign',
  suspicious: 'suspicious',
  malicious: 'malicious',
  blacklisted: 'malicious',
  not_available: 'unknown',
};

const RANK: Record<Verdict, number> = { malicious: 3, suspicious: 2, benign: 1, unknown: 0 };

/**
 * VMRay's legacy VTI score (0–100) on our scale, linear inside each of VMRay's own tiers:
 * 0–24 clean → 0–39, 25–74 suspicious → 40–69, 75–100 malicious → 70–100.
 */
function vtiToScore(vti: number): number {
  if (vti < 25) return Math.min(39, (Math.max(0, vti) * 39) / 24);
  if (vti < 75) return Math.min(69, 40 + ((vti - 25) * 29) / 49);
  return Math.min(100, 70 + ((vti - 75) * 30) / 25);
}

/** Combines a verdict and a VTI score: the score places the sample, the verdict wins when they disagree. */
function combine(verdictName: string | null | undefined, vti: number | null | undefined): NormalisedScore {
  const verdict = verdictName ? VERDICTS[verdictName.toLowerCase()] : undefined;
  const native =
    typeof vti === 'number'
      ? { value: vti, scale: 'VTI score 0-100' }
      : { value: verdictName ?? null, scale: 'verdict' };
  if (verdict === 'unknown') return { score: null, verdict: 'unknown', native };
  if (typeof vti === 'number') {
    const placed = vtiToScore(vti);
    if (!verdict) {
      const score = clampScore(placed);
      return { score, verdict: bandOf(score, DEFAULT_THRESHOLDS), native };
    }
    return { score: clampToBand(placed, verdict), verdict, native };
  }
  if (verdict) return { score: VERDICT_ONLY[verdict], verdict, native };
  return { score: null, verdict: 'unknown', native };
}

/** How an analysis ranks: its verdict (or legacy severity), then its VTI score, then the newest. */
function rankOf(analysis: VmrayAnalysis): [number, number, number] {
  const named = analysis.analysis_verdict ?? analysis.analysis_severity ?? undefined;
  const verdict = named ? VERDICTS[named.toLowerCase()] : undefined;
  return [verdict ? RANK[verdict] : 0, analysis.analysis_vti_score ?? -1, analysis.analysis_id];
}

/** The most telling analysis of a list (what VMRay calls the top-ranked one); undefined for an empty list. */
export function topRanked(analyses: readonly VmrayAnalysis[]): VmrayAnalysis | undefined {
  let best: VmrayAnalysis | undefined;
  for (const analysis of analyses) {
    if (!best) {
      best = analysis;
      continue;
    }
    const [a, b] = [rankOf(analysis), rankOf(best)];
    const order = a[0] - b[0] || a[1] - b[1] || a[2] - b[2];
    if (order > 0) best = analysis;
  }
  return best;
}

/** HTTP 403: the key is valid but lacks the rights for this call. Still an `AuthError` to the state machine. */
class ForbiddenError extends AuthError {
  constructor(message: string) {
    super('vmray', message);
    this.name = 'AuthError';
  }
}

/**
 * VMRay Analyzer / Platform through its REST API (`https://cloud.vmray.com/rest/`, the EU/US clouds or
 * on-premises). The item id is `<submission_id>:<sample_id>`. Unlike sandboxapi's `VMRayAPI` it counts
 * a 403 from `system_info` as "up, key not admin" (that endpoint needs an admin key), reads the quota
 * error VMRay returns inside an HTTP 200, and reports from the top-ranked analysis' `summary_v2.json`,
 * falling back to the v1 `summary.json` on platforms that have no v2 summary.
 *
 * Options: `user_config` (a JSON object string, merged with the analysis timeout we ask for),
 * `processingSeconds` (default 60), and the optional `sample/submit` parameters under their API names
 * (`analyzer_mode`, `tags`, `max_jobs`, …).
 *
 * `apiKey`: a VMRay API key (a "Report" key; a "Verdict" key cannot download reports), sent as
 * `Authorization: api_key <key>`.
 */
export class VmrayConnector implements SandboxConnector {
  readonly id = 'vmray' as const;
  private readonly client: VendorHttpClient | undefined;
  /** Seconds VMRay needs after the run to finish the analysis archive. */
  private readonly processingSeconds: number;

  constructor(
    private readonly config: VendorConfig,
    apiKey: string | undefined,
    _clock: Clock,
  ) {
    this.client = apiKey
      ? httpClientFor('vmray', config, {
          headers: { accept: 'application/json', authorization: `api_key ${apiKey}` },
          statusError: vmrayStatusError,
        })
      : undefined;
    this.processingSeconds = Number(config.options.processingSeconds ?? 60);
  }

  /** True when `system_info` answers, including its 403 for keys without admin rights: the service is up and knows the key. */
  async available(): Promise<boolean> {
    try {
      await this.call({ method: 'GET', path: 'system_info' }, z.unknown());
      return true;
    } catch (error) {
      if (error instanceof ForbiddenError) return true;
      if ((error as Error).name === 'AuthError') throw error;
      return false;
    }
  }

  async submit(sample: SampleSource): Promise<string> {
    const http = this.http();
    const maxBytes = this.config.maxFileBytes;
    if (maxBytes !== undefined && sample.size > maxBytes) {
      throw new SampleTooLargeError('vmray', `${sample.size} bytes is over the configured ${maxBytes}`);
    }
    const fields: FormField[] = [
      {
        name: 'user_config',
        value: JSON.stringify({ ...this.userConfig(), timeout: this.config.analysisTimeoutSeconds }),
      },
    ];
    for (const name of SUBMIT_OPTIONS) {
      const value = this.config.options[name];
      if (value !== undefined) fields.push({ name, value: String(value) });
    }
    // VMRay reads a non-ASCII file name from a base64 twin of the file field, so the part itself
    // carries an ASCII name (multipart servers disagree on how to decode anything else).
    const asciiName = sample.fileName.replace(/[^\x20-\x7e]/g, '_');
    if (asciiName !== sample.fileName)
      fields.push({ name: 'sample_filename_b64enc', value: Buffer.from(sample.fileName, 'utf8').toString('base64') });
    const multipart = multipartBody(fields, {
      field: 'sample_file',
      fileName: asciiName,
      contentType: 'application/octet-stream',
      size: sample.size,
      stream: await sample.open(),
    });
    const req: HttpRequest = {
      method: 'POST',
      path: 'sample/submit',
      body: multipart.body,
      contentLength: multipart.contentLength,
      headers: { 'content-type': multipart.contentType },
    };
    const data = this.unwrap((await http.text(req)).text, req.path, SubmitData);
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

  initialWaitSeconds(): number {
    return this.config.analysisTimeoutSeconds + this.processingSeconds;
  }

  /** Polls the submission; a finished one is done when it left an analysis to report on, and failed otherwise. */
  async status(itemId: string): Promise<ItemStatus> {
    const { submissionId } = parseItemId(itemId);
    const submission = await this.call({ method: 'GET', path: `submission/${submissionId}` }, Submission);
    if (!submission.submission_finished) return { done: false, failed: false, state: 'in_progress' };
    if (await this.topRankedAnalysis(itemId)) return { done: true, failed: false, state: 'finished' };
    const reason = submission.submission_has_errors
      ? 'submission finished with errors and no analysis'
      : 'submission finished without an analysis';
    return { done: false, failed: true, state: 'finished', reason };
  }

  /**
   * The analysis the report comes from: the highest verdict, then VTI score, among the submission's
   * analyses, or among the sample's earlier ones when VMRay served the submission from them and created no jobs.
   */
  async topRankedAnalysis(itemId: string): Promise<VmrayAnalysis | undefined> {
    const { submissionId, sampleId } = parseItemId(itemId);
    const own = await this.call(
      { method: 'GET', path: 'analysis', query: { analysis_submission_id: submissionId } },
      z.array(Analysis),
    );
    if (own.length > 0) return topRanked(own);
    return topRanked(await this.call({ method: 'GET', path: `analysis/sample/${sampleId}` }, z.array(Analysis)));
  }

  /** The detailed report of the top-ranked analysis: `logs/summary_v2.json`, or the v1 `logs/summary.json` where there is no v2. */
  async report(itemId: string): Promise<NativeReport> {
    const analysis = await this.topRankedAnalysis(itemId);
    if (!analysis) throw new ItemNotFoundError('vmray', `no analysis for ${itemId}`);
    const archive = `analysis/${analysis.analysis_id}/archive/logs`;
    let response: HttpResponse;
    try {
      response = await this.http().send({ method: 'GET', path: `${archive}/summary_v2.json` });
    } catch (error) {
      if (!(error instanceof ItemNotFoundError)) throw error;
      response = await this.http().send({ method: 'GET', path: `${archive}/summary.json` });
    }
    return { body: response.body, contentType: 'application/json', extension: 'json' };
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

  /** The REST API offers no deletion that sandboxapi or the notes document; always false. */
  async delete(): Promise<boolean> {
    return false;
  }

  /** `options.user_config` as an object; a configuration mistake, so a plain error the state machine does not retry. */
  private userConfig(): Record<string, unknown> {
    const raw = this.config.options.user_config;
    if (typeof raw !== 'string') return {};
    const parsed = z.record(z.string(), z.unknown()).safeParse(safeJson(raw));
    if (!parsed.success) throw new Error('vmray: options.user_config is not a JSON object');
    return parsed.data;
  }

  /** Sends a request and unwraps its envelope. */
  private async call<T extends z.ZodType>(req: HttpRequest, data: T): Promise<z.infer<T>> {
    return this.unwrap((await this.http().text(req)).text, req.path, data);
  }

  /** Unwraps `{"result": "ok", "data": ...}` and validates `data`. */
  private unwrap<T extends z.ZodType>(text: string, path: string, data: T): z.infer<T> {
    const envelope = this.http().parse(text, Envelope, path);
    if (envelope.result !== 'ok')
      throw new BadResponseError('vmray', `${path}: result ${envelope.result}: ${envelope.error_msg ?? ''}`);
    const parsed = data.safeParse(envelope.data);
    if (!parsed.success)
      throw new BadResponseError(
        'vmray',
        `${path}: unexpected data at ${parsed.error.issues[0]?.path.join('.') || '(root)'}: ${parsed.error.issues[0]?.message}`,
      );
    return parsed.data;
  }

  private http(): VendorHttpClient {
    if (!this.client) throw new AuthError('vmray', 'no API key configured (VMRay requires one)');
    return this.client;
  }
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function parseItemId(itemId: string): { submissionId: string; sampleId: string } {
  const match = /^(\d+):(\d+)$/.exec(itemId);
  if (!match) throw new ItemNotFoundError('vmray', `'${itemId}' is not a VMRay item id (<submission_id>:<sample_id>)`);
  return { submissionId: match[1] as string, sampleId: match[2] as string };
}

/** What an `error_msg` (in a 4xx body or a submit answer's `errors`) means, when it names something we can act on. */
function errorForMessage(message: string): VendorError | undefined {
  if (/quota/i.test(message)) return new QuotaExceededError('vmray', message);
  if (/too (big|large)|larger than|exceeds the maximum|upload size/i.test(message))
    return new SampleTooLargeError('vmray', message);
  if (/not supported|unsupported/i.test(message)) return new UnsupportedFileError('vmray', message);
  return undefined;
}

/** 401 (and the 405 some installs answer instead) is a bad key; 403 is a valid key without the rights; 404 an unknown item. */
function vmrayStatusError(status: number, body: string): VendorError | undefined {
  let message = body
    .replace(/<[^>]+>/g, ' ')
    .replace(/\s+/g, ' ')
    .trim()
    .slice(0, 200);
  try {
    message = Envelope.parse(JSON.parse(body)).error_msg ?? message;
  } catch {
    // Not VMRay's JSON (a proxy's page): keep the text.
  }
  if (status === 401 || status === 405)
    return new AuthError('vmray', `HTTP ${status}: ${message || 'API key refused'}`);
  if (status === 403) return new ForbiddenError(`HTTP 403: ${message || 'insufficient rights'}`);
  if (status === 404) return new ItemNotFoundError('vmray', message || 'not found');
  if (status === 413) return new SampleTooLargeError('vmray', message || 'request entity too large');
  if (status === 429 || status >= 500) return undefined;
  return errorForMessage(message);
}

/** VMRay as the registry lists it. */
export const vmrayConnectorInfo: ConnectorInfo = {
  id: 'vmray',
  name: 'VMRay Analyzer (REST API)',
  capabilities: ['top-analysis'],
  create: (config, apiKey, clock) => new VmrayConnector(config, apiKey, clock),
};
