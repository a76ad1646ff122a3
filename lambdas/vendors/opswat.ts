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
import { httpClientFor, type VendorHttpClient } from './http';
import { multipartBody } from './multipart';

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
 * `apiKey` is the account's API key, sent as the `X-Api-Key` header. Options: `isPrivate` (default
 * true: neither the file nor its report is shared with other users), `password` (for encrypted archives).
 */
export class OpswatConnector implements SandboxConnector {
  readonly id = 'opswat' as const;
  private readonly http: VendorHttpClient;

  constructor(
    private readonly config: VendorConfig,
    apiKey: string | undefined,
    _clock: Clock,
  ) {
    this.http = httpClientFor('opswat', config, {
      headers: { accept: 'application/json', ...(apiKey ? { 'x-api-key': apiKey } : {}) },
      statusError,
    });
  }

  /** Reads the key's own account: a 200 with an `accountId` proves the key. */
  async available(): Promise<boolean> {
    try {
      await this.http.json({ method: 'GET', path: 'users/me' }, Account);
      return true;
    } catch (error) {
      if ((error as Error).name === 'AuthError') throw error;
      return false;
    }
  }

  async submit(sample: SampleSource): Promise<string> {
    const maxBytes = this.config.maxFileBytes;
    if (maxBytes !== undefined && sample.size > maxBytes) {
      throw new SampleTooLargeError('opswat', `${sample.size} bytes is over the configured ${maxBytes}`);
    }
    const { isPrivate = true, password } = this.config.options;
    const fields = [
      { name: 'is_private', value: String(isPrivate) },
      { name: 'is_private_report', value: String(isPrivate) },
      ...(password !== undefined ? [{ name: 'password', value: String(password) }] : []),
    ];
    const multipart = multipartBody(fields, {
      field: 'file',
      fileName: sample.fileName,
      contentType: 'application/octet-stream',
      size: sample.size,
      stream: await sample.open(),
    });
    const submitted = await this.http.json(
      {
        method: 'POST',
        path: 'scan/file',
        body: multipart.body,
        contentLength: multipart.contentLength,
        headers: { 'content-type': multipart.contentType },
      },
      Submitted,
    );
    return submitted.flow_id;
  }

  /** No estimate before the first poll: the sandbox takes no run time, and `pollPause` comes with the first status. */
  initialWaitSeconds(): undefined {
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
        return {
          done: false,
          failed: true,
          state: states[0]!,
          reason: `MetaDefender Sandbox scan ended ${states.join(', ')}`,
        };
      }
      return { done: true, failed: false, state: 'finished' };
    }
    return {
      done: false,
      failed: false,
      state: states[0] ?? 'queued',
      ...(flow.pollPause !== undefined ? { pollAfterSeconds: flow.pollPause } : {}),
    };
  }

  async report(itemId: string): Promise<NativeReport> {
    const response = await this.http.send({
      method: 'GET',
      path: `scan/${encodeURIComponent(itemId)}/report`,
      query: { filter: REPORT_FILTERS },
    });
    return { body: response.body, contentType: 'application/json', extension: 'json' };
  }

  /**
   * The highest `threatLevel` over the files, ×100 with negatives as 0 (as sandboxapi): Trusted −1 → 0,
   * No Threat up to 0.25 → 25, Low Risk 0.5 → 50, High Risk 0.75 → 75, Malicious 1 → 100. A file left
   * Undetermined (threatLevel 0) is no evidence either way: sandboxapi scored it 0, we leave it out,
   * and a report with nothing but undetermined files is `unknown`.
   */
  score(report: unknown): NormalisedScore {
    const parsed = FlowReport.safeParse(report);
    if (!parsed.success) throw new BadResponseError('opswat', 'report is not a MetaDefender Sandbox scan report');
    const levels = Object.values(parsed.data.reports).flatMap((r) =>
      r.finalVerdict ? [r.finalVerdict.threatLevel] : [],
    );
    const determined = levels.filter((level) => level !== 0);
    const scale = 'threatLevel -1..1';
    if (determined.length === 0)
      return { score: null, verdict: 'unknown', native: { value: levels.length ? 0 : null, scale } };
    const level = Math.max(...determined);
    const score = clampScore(Math.max(0, level) * 100);
    return { score, verdict: bandOf(score, { suspiciousAt: 40, maliciousAt: 70 }), native: { value: level, scale } };
  }

  /** The API offers no delete for scans. */
  async delete(): Promise<boolean> {
    return false;
  }
}

/** The `detail` of a FastAPI error body (a string, or a list of validation errors). */
function detailOf(body: string): string {
  try {
    const detail = (JSON.parse(body) as { detail?: unknown }).detail;
    if (typeof detail === 'string') return detail;
    if (Array.isArray(detail)) return detail.map((d) => (d as { msg?: string }).msg ?? JSON.stringify(d)).join('; ');
  } catch {
    // Not JSON (a proxy's HTML page, say): the raw text says what there is to say.
  }
  return body.slice(0, 200).replace(/\s+/g, ' ').trim();
}

/** MetaDefender Sandbox's statuses; the client's defaults cover 401/403, 429 with Retry-After and 5xx. */
function statusError(status: number, body: string): VendorError | undefined {
  const detail = detailOf(body);
  if (status === 429 && /quota|daily|per day/i.test(detail)) return new QuotaExceededError('opswat', detail);
  if (status === 413 || /too large/i.test(detail)) return new SampleTooLargeError('opswat', detail || 'file too large');
  if (/unsupported|not supported/i.test(detail)) return new UnsupportedFileError('opswat', detail);
  if (status === 404) return new ItemNotFoundError('opswat', detail || 'scan not found');
  return undefined;
}

/** The MetaDefender Sandbox connector as the registry lists it. */
export const opswatConnectorInfo: ConnectorInfo = {
  id: 'opswat',
  name: 'OPSWAT MetaDefender Sandbox (Filescan API)',
  capabilities: ['poll-hint'],
  create: (config, key, clock) => new OpswatConnector(config, key, clock),
};
