import * as z from 'zod';
import { clampScore } from '../core/contracts/scoring';
import { BaseConnector } from './base-connector';
import type {
  ConnectorInfo,
  ItemStatus,
  NativeReport,
  NormalisedScore,
  SampleSource,
} from '../core/connector/connector';
import type { ConnectorContext } from '../core/connector/context';
import { errorBodyText } from './error-body';
import {
  BadResponseError,
  ItemNotFoundError,
  QuotaExceededError,
  SampleTooLargeError,
  UnsupportedFileError,
  type VendorError,
} from '../core/connector/errors';
import { bandedScore } from './normalised-score';

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
    const key = context.credentials;
    super('opswat', context, {
      headers: { accept: 'application/json', ...(key ? { 'x-api-key': key } : {}) },
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
function statusError(status: number, body: string): VendorError | undefined {
  const detail = errorBodyText(body, detailOf);
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
  create: (context) => new OpswatConnector(context),
};
