import * as z from 'zod';
import { clampScore } from '../core/contracts/scoring';
import { CuckooFamilyConnector, type FamilyTask, TASK_OPTIONS, TaskView } from './cuckoo-family';
import type { ConnectorContext, ItemStatus, NativeReport, NormalisedScore, SampleSource } from './kit';
import {
  BadResponseError,
  bandedScore,
  type HttpRequest,
  ItemNotFoundError,
  itemStatus,
  jsonOrUndefined,
  peekBody,
  QuotaExceededError,
  registryEntry,
  SampleTooLargeError,
  UNSUPPORTED,
  UnsupportedFileError,
} from './kit';

/** CAPE's apiv2 envelope: application errors come back as HTTP 200 with `error: true`. */
const Envelope = z.object({
  error: z.union([z.boolean(), z.array(z.unknown())]),
  error_value: z.string().optional(),
  errors: z.array(z.unknown()).optional(),
  data: z.unknown().optional(),
});

const SubmitData = z.object({ task_ids: z.array(z.number().int()).min(1), message: z.string().optional() });

const Report = z.object({ malscore: z.number().nullable().optional(), malstatus: z.string().nullable().optional() });

/** Submission options CAPE's `tasks/create/file/` takes, passed through from configuration. */
const SUBMIT_OPTIONS = [...TASK_OPTIONS, 'memory', 'enforce_timeout', 'clock', 'route', 'tlp'];

const SCALE = 'malscore 0-10';

/**
 * CAPEv2 through its REST API v2 (`/apiv2/`), which sandboxapi's Cuckoo class cannot drive: trailing
 * slashes, the `{error, data, error_value}` envelope, `Authorization: Token`, and `reported` (not
 * `completed`) as the state where the report exists.
 */
export class CapeConnector extends CuckooFamilyConnector<'cape'> {
  protected readonly failedStates = new Set(['failed_analysis', 'failed_processing', 'failed_reporting', 'banned']);

  constructor(context: ConnectorContext) {
    super('cape', context, {
      headers: { accept: 'application/json' },
      credentialHeaders: (token) => ({ authorization: `Token ${token}` }),
    });
  }

  protected async probe(): Promise<undefined> {
    await this.call({ method: 'GET', path: 'cuckoo/status/' });
  }

  protected async upload(sample: SampleSource): Promise<string> {
    const fields = [this.analysisTimeField('timeout'), ...this.optionFields(SUBMIT_OPTIONS)];
    const data = await this.call(await this.uploadRequest('tasks/create/file/', fields, sample), SubmitData);
    return String(data.task_ids[0]);
  }

  protected async task(itemId: string): Promise<FamilyTask> {
    const task = await this.call({ method: 'GET', path: `tasks/view/${encodeURIComponent(itemId)}/` }, TaskView);
    return { ...task, timeoutSeconds: task.timeout ?? this.config.analysisTimeoutSeconds };
  }

  protected failure(task: FamilyTask): ItemStatus {
    const reason = task.errors?.length ? JSON.stringify(task.errors).slice(0, 300) : `CAPE task ${task.status}`;
    return itemStatus.failedAnalysis(task.status, reason);
  }

  async report(itemId: string): Promise<NativeReport> {
    const response = await this.http.send({
      method: 'GET',
      path: `tasks/get/report/${encodeURIComponent(itemId)}/json/`,
    });
    // A ready report is a JSON file; a report that is not ready is a small JSON envelope with error: true.
    const { head, ended, stream } = await peekBody(response.body, 64 * 1024);
    if (ended) {
      const envelope = Envelope.safeParse(jsonOrUndefined(head));
      if (envelope.success && envelope.data.error === true) this.raise(envelope.data);
    }
    return { body: stream, contentType: 'application/json', extension: 'json' };
  }

  score(report: unknown): NormalisedScore {
    const { malscore, malstatus } = this.reportAs(report, Report, 'a CAPE JSON report');
    if (typeof malscore !== 'number' || malstatus === 'Failed') {
      return bandedScore(null, { value: malscore ?? null, scale: SCALE });
    }
    return bandedScore(clampScore(malscore * 10), { value: malscore, scale: SCALE });
  }

  override delete(itemId: string): Promise<boolean> {
    return this.succeeds(() => this.call({ method: 'GET', path: `tasks/delete/${encodeURIComponent(itemId)}/` }));
  }

  /** Calls the API and unwraps the envelope, turning `error: true` into typed errors. */
  private async call<T extends z.ZodType = z.ZodUnknown>(req: HttpRequest, data?: T): Promise<z.infer<T>> {
    const { text } = await this.http.text(req);
    const envelope = this.http.parse(text, Envelope, req.path);
    if (envelope.error === true) this.raise(envelope);
    if (!data) return envelope.data as z.infer<T>;
    return this.http.validate(envelope.data, data, req.path);
  }

  private raise(envelope: z.infer<typeof Envelope>): never {
    const value = envelope.error_value ?? 'unknown error';
    const details = JSON.stringify(envelope.errors ?? []);
    const all = `${value} ${details}`;
    if (/exceeds the maximum allowed size|too large/i.test(all)) throw new SampleTooLargeError('cape', value);
    if (/does not exist/i.test(value)) throw new ItemNotFoundError('cape', value);
    if (/quota|limit (reached|exceeded)/i.test(all)) throw new QuotaExceededError('cape', value);
    if (UNSUPPORTED.test(all)) throw new UnsupportedFileError('cape', value);
    throw new BadResponseError(
      'cape',
      `error: true: ${value}${envelope.errors?.length ? ` ${details.slice(0, 200)}` : ''}`,
    );
  }
}

/** CAPEv2 in the connector registry. */
export const capeConnectorInfo = registryEntry('cape', 'CAPEv2 (REST API v2)', ['delete', 'poll-hint'], CapeConnector);
