import * as z from 'zod';
import type { Clock } from '../core/clock';
import type { VendorConfig } from '../core/config';
import { bandOf, clampScore } from '../core/scoring';
import type {
  ConnectorInfo,
  ItemStatus,
  NativeReport,
  NormalisedScore,
  SampleSource,
  SandboxConnector,
} from './connector';
import {
  BadResponseError,
  ItemNotFoundError,
  QuotaExceededError,
  SampleTooLargeError,
  UnsupportedFileError,
  type VendorError,
} from './errors';
import { httpClientFor, type VendorHttpClient, type HttpRequest } from './http';
import { multipartBody } from './multipart';
import { parseNaiveUtc } from './naive-time';

const SubmitResponse = z
  .object({ task_id: z.number().int().nullable().optional(), task_ids: z.array(z.number().int()).optional() })
  .refine((r) => typeof r.task_id === 'number' || (r.task_ids?.length ?? 0) > 0, 'neither task_id nor task_ids');

const TaskView = z.object({
  task: z.object({
    id: z.number().int(),
    status: z.string(),
    timeout: z.number().nullable().optional(),
    added_on: z.string().nullable().optional(),
    started_on: z.string().nullable().optional(),
    errors: z.array(z.unknown()).optional(),
  }),
});

const StatusResponse = z.object({
  tasks: z.object({ pending: z.number().int().nonnegative() }),
  version: z.string().optional(),
});

const Report = z.object({ info: z.object({ score: z.number().nullable().optional() }).optional() });

/** Task states after which Cuckoo will never write a report. */
const FAILED_STATES = new Set(['failed_analysis', 'failed_processing', 'failed_reporting']);

/** What Cuckoo's scheduler records when no analysis package handles the file type. */
const NO_PACKAGE = /no (valid )?(analysis )?package|not supported|unsupported/i;

/** Submission options Cuckoo 2's `tasks/create/file` takes, passed through from configuration. */
const SUBMIT_OPTIONS = [
  'package',
  'options',
  'priority',
  'machine',
  'platform',
  'tags',
  'custom',
  'owner',
  'memory',
  'enforce_timeout',
  'clock',
  'unique',
];

/** The scale `info.score` is on: the sum of matched signature severities divided by 5, with no upper bound. */
const SCALE = 'info.score (Σ severity / 5, unbounded)';

/**
 * Cuckoo Sandbox 2.x through its REST API (`cuckoo api`, default port 8090). Fixes what sandboxapi's
 * `CuckooAPI` gets wrong: it sends the API token, waits for `reported` (the report does not exist yet at
 * `completed`), ends the poll on `failed_*` instead of polling forever, and keeps a missing score
 * `unknown` rather than 0. CAPEv2 has its own connector (`cape`).
 *
 * `apiKey`: the `api_token` from Cuckoo's configuration, sent as `Authorization: Bearer <api_token>`;
 * leave it unset for an API that runs without a token (older installs).
 */
export class CuckooConnector implements SandboxConnector {
  readonly id = 'cuckoo' as const;
  private readonly http: VendorHttpClient;
  /** Seconds Cuckoo needs after the run to process the results and write the report. */
  private readonly processingSeconds: number;

  constructor(
    private readonly config: VendorConfig,
    apiKey: string | undefined,
    private readonly clock: Clock,
  ) {
    this.http = httpClientFor('cuckoo', config, {
      headers: { accept: 'application/json', ...(apiKey ? { authorization: `Bearer ${apiKey}` } : {}) },
      statusError: cuckooStatusError,
    });
    this.processingSeconds = Number(config.options.processingSeconds ?? 60);
  }

  /** True when `cuckoo/status` answers; a refused token is an `AuthError`, not "unavailable". */
  async available(): Promise<boolean> {
    try {
      await this.http.json({ method: 'GET', path: 'cuckoo/status' }, StatusResponse);
      return true;
    } catch (error) {
      if ((error as Error).name === 'AuthError') throw error;
      return false;
    }
  }

  async submit(sample: SampleSource): Promise<string> {
    const maxBytes = this.config.maxFileBytes;
    if (maxBytes !== undefined && sample.size > maxBytes) {
      throw new SampleTooLargeError('cuckoo', `${sample.size} bytes is over the configured ${maxBytes}`);
    }
    const fields = [{ name: 'timeout', value: String(this.config.analysisTimeoutSeconds) }];
    for (const name of SUBMIT_OPTIONS) {
      const value = this.config.options[name];
      if (value !== undefined) fields.push({ name, value: String(value) });
    }
    const multipart = multipartBody(fields, {
      field: 'file',
      fileName: sample.fileName,
      contentType: 'application/octet-stream',
      size: sample.size,
      stream: await sample.open(),
    });
    const created = await this.http.json(
      {
        method: 'POST',
        path: 'tasks/create/file',
        body: multipart.body,
        contentLength: multipart.contentLength,
        headers: { 'content-type': multipart.contentType },
      },
      SubmitResponse,
    );
    return String(created.task_id ?? created.task_ids?.[0]);
  }

  initialWaitSeconds(): number {
    return this.config.analysisTimeoutSeconds + this.processingSeconds;
  }

  /**
   * Done only at `reported`. A `failed_*` task ends the poll; when the scheduler found no analysis
   * package for the file, that is an `UnsupportedFileError` (Cuckoo accepts any upload and only
   * discovers this when the analysis starts).
   */
  async status(itemId: string): Promise<ItemStatus> {
    const { task } = await this.http.json(
      { method: 'GET', path: `tasks/view/${encodeURIComponent(itemId)}` },
      TaskView,
    );
    const state = task.status;
    if (state === 'reported') return { done: true, failed: false, state };
    if (FAILED_STATES.has(state)) {
      const errors = (task.errors ?? []).map((e) => (typeof e === 'string' ? e : JSON.stringify(e)));
      const unsupported = errors.find((e) => NO_PACKAGE.test(e));
      if (unsupported) throw new UnsupportedFileError('cuckoo', `task ${task.id}: ${unsupported}`);
      return {
        done: false,
        failed: true,
        state,
        reason: errors.length ? errors.join('; ').slice(0, 300) : `Cuckoo task ${state}`,
      };
    }
    // Cuckoo records 0 when the task runs with the machinery's default timeout.
    const timeout = task.timeout || this.config.analysisTimeoutSeconds;
    const startedOn = parseNaiveUtc(task.started_on);
    let pollAfterSeconds: number | undefined;
    if (state === 'pending') pollAfterSeconds = timeout + this.processingSeconds;
    else if (state === 'running' && startedOn !== undefined) {
      pollAfterSeconds = Math.max(0, (startedOn + timeout * 1000 - this.clock.now()) / 1000) + this.processingSeconds;
    }
    return { done: false, failed: false, state, ...(pollAfterSeconds !== undefined ? { pollAfterSeconds } : {}) };
  }

  /** The JSON report (`tasks/report/{id}/json`), streamed. */
  report(itemId: string): Promise<NativeReport> {
    return this.download(itemId, 'json', 'application/json');
  }

  /** The HTML report (`tasks/report/{id}/html`), streamed; Cuckoo's reporting module must be enabled. */
  htmlReport(itemId: string): Promise<NativeReport> {
    return this.download(itemId, 'html', 'text/html');
  }

  /**
   * Normalises `info.score`: Cuckoo adds up signature severities without a cap, so the score is
   * capped at 10 before scaling to 0–100. A report without a score is `unknown` (sandboxapi says 0).
   */
  score(report: unknown): NormalisedScore {
    const parsed = Report.safeParse(report);
    if (!parsed.success) throw new BadResponseError('cuckoo', 'report is not a Cuckoo JSON report');
    const native = parsed.data.info?.score;
    if (typeof native !== 'number') return { score: null, verdict: 'unknown', native: { value: null, scale: SCALE } };
    const score = clampScore(Math.min(native, 10) * 10);
    return {
      score,
      verdict: bandOf(score, { suspiciousAt: 40, maliciousAt: 70 }),
      native: { value: native, scale: SCALE },
    };
  }

  async delete(itemId: string): Promise<boolean> {
    try {
      await this.http.text({ method: 'GET', path: `tasks/delete/${encodeURIComponent(itemId)}` });
      return true;
    } catch {
      return false;
    }
  }

  /** Tasks waiting for a machine (`tasks.pending` of `cuckoo/status`; sandboxapi counted `tasks/list`, which is unbounded). */
  async queueSize(): Promise<number> {
    const status = await this.http.json({ method: 'GET', path: 'cuckoo/status' }, StatusResponse);
    return status.tasks.pending;
  }

  private async download(itemId: string, format: string, contentType: string): Promise<NativeReport> {
    const req: HttpRequest = { method: 'GET', path: `tasks/report/${encodeURIComponent(itemId)}/${format}` };
    const response = await this.http.send(req);
    return { body: response.body, contentType, extension: format };
  }
}

/**
 * Statuses with a Cuckoo-specific meaning: 404 is an unknown task (or a report that was never
 * written), 413 an upload over the web server's body limit, and a 429 that names a quota comes from
 * a gateway's quota rather than its rate limit (Cuckoo itself has neither).
 */
function cuckooStatusError(status: number, body: string): VendorError | undefined {
  const detail = messageOf(body);
  if (status === 404) return new ItemNotFoundError('cuckoo', detail || 'not found');
  if (status === 413) return new SampleTooLargeError('cuckoo', detail || 'request entity too large');
  if (status === 429 && /quota/i.test(detail)) return new QuotaExceededError('cuckoo', detail);
  return undefined;
}

/** Cuckoo's errors are `{"message": "..."}`; anything else (an HTML page from a proxy) is shown trimmed. */
function messageOf(body: string): string {
  try {
    const parsed = z.object({ message: z.string() }).safeParse(JSON.parse(body));
    if (parsed.success) return parsed.data.message;
  } catch {
    // Not JSON: fall through to the raw text.
  }
  return body
    .replace(/<[^>]+>/g, ' ')
    .replace(/\s+/g, ' ')
    .trim()
    .slice(0, 200);
}

/** Cuckoo 2.x as the registry lists it. */
export const cuckooConnectorInfo: ConnectorInfo = {
  id: 'cuckoo',
  name: 'Cuckoo Sandbox 2.x (REST API)',
  capabilities: ['delete', 'queue-size', 'html-report', 'token-auth', 'poll-hint'],
  create: (config, apiKey, clock) => new CuckooConnector(config, apiKey, clock),
};
