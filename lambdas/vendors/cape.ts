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
} from './errors';
import { httpClientFor, peekBody, type VendorHttpClient } from './http';
import { multipartBody } from './multipart';
import { parseNaiveUtc } from './naive-time';

/** CAPE's apiv2 envelope: application errors come back as HTTP 200 with `error: true`. */
const Envelope = z.object({
  error: z.union([z.boolean(), z.array(z.unknown())]),
  error_value: z.string().optional(),
  errors: z.array(z.unknown()).optional(),
  data: z.unknown().optional(),
});

const SubmitData = z.object({ task_ids: z.array(z.number().int()).min(1), message: z.string().optional() });

const TaskView = z.object({
  id: z.number().int(),
  status: z.string(),
  started_on: z.string().nullable().optional(),
  added_on: z.string().nullable().optional(),
  timeout: z.number().nullable().optional(),
  errors: z.array(z.unknown()).optional(),
});

/** Task states after which no report will ever come. */
const FAILED_STATES = new Set(['failed_analysis', 'failed_processing', 'failed_reporting', 'banned']);

/** Submission options CAPE's `tasks/create/file/` takes, passed through from configuration. */
const SUBMIT_OPTIONS = [
  'package',
  'options',
  'priority',
  'machine',
  'platform',
  'tags',
  'custom',
  'memory',
  'enforce_timeout',
  'clock',
  'route',
  'tlp',
];

/**
 * CAPEv2 through its REST API v2 (`/apiv2/`), which sandboxapi's Cuckoo class cannot drive: trailing
 * slashes, the `{error, data, error_value}` envelope, `Authorization: Token`, and `reported` (not
 * `completed`) as the state where the report exists.
 */
export class CapeConnector implements SandboxConnector {
  readonly id = 'cape' as const;
  private readonly http: VendorHttpClient;
  /** Seconds CAPE needs after the analysis run to process and write the report. */
  private readonly processingSeconds: number;

  constructor(
    private readonly config: VendorConfig,
    apiKey: string | undefined,
    private readonly clock: Clock,
  ) {
    this.http = httpClientFor('cape', config, {
      headers: { accept: 'application/json', ...(apiKey ? { authorization: `Token ${apiKey}` } : {}) },
    });
    this.processingSeconds = Number(config.options.processingSeconds ?? 60);
  }

  async available(): Promise<boolean> {
    try {
      await this.call({ method: 'GET', path: 'cuckoo/status/' });
      return true;
    } catch (error) {
      if ((error as Error).name === 'AuthError') throw error;
      return false;
    }
  }

  async submit(sample: SampleSource): Promise<string> {
    const maxBytes = this.config.maxFileBytes;
    if (maxBytes !== undefined && sample.size > maxBytes) {
      throw new SampleTooLargeError('cape', `${sample.size} bytes is over the configured ${maxBytes}`);
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
    const data = await this.call(
      {
        method: 'POST',
        path: 'tasks/create/file/',
        body: multipart.body,
        contentLength: multipart.contentLength,
        headers: { 'content-type': multipart.contentType },
      },
      SubmitData,
    );
    return String(data.task_ids[0]);
  }

  initialWaitSeconds(): number {
    return this.config.analysisTimeoutSeconds + this.processingSeconds;
  }

  async status(itemId: string): Promise<ItemStatus> {
    const task = await this.call({ method: 'GET', path: `tasks/view/${encodeURIComponent(itemId)}/` }, TaskView);
    const state = task.status;
    if (state === 'reported') return { done: true, failed: false, state };
    if (FAILED_STATES.has(state)) {
      const reason = task.errors?.length ? JSON.stringify(task.errors).slice(0, 300) : `CAPE task ${state}`;
      return { done: false, failed: true, state, reason };
    }
    const timeout = task.timeout ?? this.config.analysisTimeoutSeconds;
    const startedOn = parseNaiveUtc(task.started_on);
    let pollAfterSeconds: number | undefined;
    if (state === 'pending') pollAfterSeconds = timeout + this.processingSeconds;
    else if (state === 'running' && startedOn !== undefined) {
      const runLeft = Math.max(0, (startedOn + timeout * 1000 - this.clock.now()) / 1000);
      pollAfterSeconds = runLeft + this.processingSeconds;
    }
    return { done: false, failed: false, state, ...(pollAfterSeconds !== undefined ? { pollAfterSeconds } : {}) };
  }

  async report(itemId: string): Promise<NativeReport> {
    const response = await this.http.send({
      method: 'GET',
      path: `tasks/get/report/${encodeURIComponent(itemId)}/json/`,
    });
    // A ready report is a JSON file; a report that is not ready is a small JSON envelope with error: true.
    const { head, ended, stream } = await peekBody(response.body, 64 * 1024);
    if (ended) {
      const envelope = Envelope.safeParse(safeJson(head));
      if (envelope.success && envelope.data.error === true) this.raise(envelope.data);
    }
    return { body: stream, contentType: 'application/json', extension: 'json' };
  }

  score(report: unknown): NormalisedScore {
    const parsed = z
      .object({ malscore: z.number().nullable().optional(), malstatus: z.string().nullable().optional() })
      .safeParse(report);
    if (!parsed.success) throw new BadResponseError('cape', 'report is not a CAPE JSON report');
    const { malscore, malstatus } = parsed.data;
    if (typeof malscore !== 'number' || malstatus === 'Failed') {
      return { score: null, verdict: 'unknown', native: { value: malscore ?? null, scale: 'malscore 0-10' } };
    }
    const score = clampScore(malscore * 10);
    return {
      score,
      verdict: bandOf(score, { suspiciousAt: 40, maliciousAt: 70 }),
      native: { value: malscore, scale: 'malscore 0-10' },
    };
  }

  async delete(itemId: string): Promise<boolean> {
    try {
      await this.call({ method: 'GET', path: `tasks/delete/${encodeURIComponent(itemId)}/` });
      return true;
    } catch {
      return false;
    }
  }

  /** Calls the API and unwraps the envelope, turning `error: true` into typed errors. */
  private async call<T extends z.ZodType = z.ZodUnknown>(
    req: Parameters<VendorHttpClient['text']>[0],
    data?: T,
  ): Promise<z.infer<T>> {
    const { text } = await this.http.text(req);
    const envelope = this.http.parse(text, Envelope, req.path);
    if (envelope.error === true) this.raise(envelope);
    if (!data) return envelope.data as z.infer<T>;
    const parsed = data.safeParse(envelope.data);
    if (!parsed.success)
      throw new BadResponseError('cape', `${req.path}: unexpected data: ${parsed.error.issues[0]?.message}`);
    return parsed.data;
  }

  private raise(envelope: z.infer<typeof Envelope>): never {
    const value = envelope.error_value ?? 'unknown error';
    const details = JSON.stringify(envelope.errors ?? []);
    const all = `${value} ${details}`;
    if (/exceeds the maximum allowed size|too large/i.test(all)) throw new SampleTooLargeError('cape', value);
    if (/does not exist/i.test(value)) throw new ItemNotFoundError('cape', value);
    if (/quota|limit (reached|exceeded)/i.test(all)) throw new QuotaExceededError('cape', value);
    if (/unsupported|not supported/i.test(all)) throw new UnsupportedFileError('cape', value);
    throw new BadResponseError(
      'cape',
      `error: true: ${value}${envelope.errors?.length ? ` ${details.slice(0, 200)}` : ''}`,
    );
  }
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** CAPEv2 in the connector registry. */
export const capeConnectorInfo: ConnectorInfo = {
  id: 'cape',
  name: 'CAPEv2 (REST API v2)',
  capabilities: ['delete', 'poll-hint'],
  create: (config, key, clock) => new CapeConnector(config, key, clock),
};
