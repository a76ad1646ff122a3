import * as z from 'zod';
import { clampScore } from '../core/contracts/scoring';
import { CuckooFamilyConnector, type FamilyTask, TASK_OPTIONS, TaskView } from './cuckoo-family';
import type { ConnectorContext, ItemStatus, NativeReport, NormalisedScore, SampleSource } from './kit';
import {
  BadResponseError,
  bandedScore,
  EndpointDisabledError,
  type HttpRequest,
  ItemNotFoundError,
  itemStatus,
  jsonOrUndefined,
  peekBody,
  hostsOf,
  lenient,
  namesOf,
  type RawFindings,
  registryEntry,
  SampleTooLargeError,
  severityFrom,
  techniquesOf,
  UNSUPPORTED,
  UnsupportedFileError,
} from './kit';

/**
 * CAPE's apiv2 envelope: application errors come back as HTTP 200 with `error: true`. `error` is
 * `false` or an empty list on success, and absent altogether from some successes: `tasks_delete`
 * answers `{"data": "Task(s) ID(s) N has been deleted"}` and `tasks_list` `{"data": [...], "config": …}`
 * (CAPEv2 web/apiv2/views.py). A refused delete names its tasks in `failed` instead of `error_value`.
 */
const Envelope = z.object({
  error: z.union([z.boolean(), z.array(z.unknown())]).optional(),
  error_value: z.string().optional(),
  errors: z.array(z.unknown()).optional(),
  failed: z.string().optional(),
  data: z.unknown().optional(),
});

/** What `tasks_delete` answers for tasks it deleted. */
const Deleted = z.string().regex(/has been deleted/);

/** CAPE's answer when an endpoint is off in api.conf ("Cuckoo Status API is disabled", "Task Deletion API is Disabled"). */
const DISABLED = /API is disabled/i;

const SubmitData = z.object({ task_ids: z.array(z.number().int()).min(1), message: z.string().optional() });

const Report = z.object({ malscore: z.number().nullable().optional(), malstatus: z.string().nullable().optional() });

/**
 * The parts of a CAPE report findings come from (CAPEv2 `modules/processing` and `reporting`):
 * `detections` the families (`[{family, details}]`; older releases a single string), `signatures`
 * with `severity` 1–3 (higher in a few community signatures), `ttps` the ATT&CK ids per signature
 * (`[{signature, ttps: [...]}]`), `network.hosts` (`[{ip, …}]`) and `network.domains` (`[{domain, ip}]`).
 */
const FindingsReport = z.object({
  detections: z.unknown().optional(),
  signatures: lenient(
    z.array(
      z
        .object({ name: z.unknown().optional(), description: z.unknown().optional(), severity: z.unknown().optional() })
        .loose(),
    ),
  ),
  ttps: z.unknown().optional(),
  network: lenient(z.object({ hosts: z.unknown().optional(), domains: z.unknown().optional() }).loose()),
});

/** What a CAPE JSON report concluded; CAPE severity 1 is low, 2 medium, 3 high, above that critical. */
export function capeFindings(report: unknown): RawFindings {
  const parsed = FindingsReport.safeParse(report);
  if (!parsed.success) return {};
  const { detections, signatures = [], ttps, network } = parsed.data;
  return {
    families: namesOf(detections, 'family'),
    signatures: signatures.map((s) => ({
      name: s.name,
      severity: severityFrom(s.severity, [2, 3, 4]),
      description: s.description,
    })),
    attack: techniquesOf(ttps, 'ttps', 'ttp'),
    hosts: hostsOf([network?.domains, 'domain'], [network?.hosts, 'ip']),
  };
}

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

  /**
   * `cuckoo/status/` where it answers; CAPE ships it off (`[cuckoostatus] enabled = no`), so on a
   * default install the probe asks for the newest task id instead (`tasks/list/1/?ids=1`, `[tasklist]`
   * ships enabled). Either proves the API answers and, with token auth on, accepts the token: DRF
   * refuses a bad one with 401 before any view runs.
   */
  protected async probe(): Promise<undefined> {
    try {
      await this.call({ method: 'GET', path: 'cuckoo/status/' });
    } catch (error) {
      if (!(error instanceof EndpointDisabledError)) throw error;
      await this.call({ method: 'GET', path: 'tasks/list/1/', query: { ids: '1' } });
    }
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

  protected readFindings(report: unknown): RawFindings {
    return capeFindings(report);
  }

  /** CAPE's web interface serves an analysis at `/analysis/<task id>/`, beside the API's `/apiv2/`. */
  protected override defaultReportPage(): string | undefined {
    return `${this.config.baseUrl.replace(/\/?(apiv2\/?)?$/, '')}/analysis/{id}/`;
  }

  /** Deletes a task, or says why not (see {@link deleteTask}). */
  override delete(itemId: string): Promise<boolean> {
    return this.succeeds(() => this.deleteTask(itemId));
  }

  /**
   * Deletes a task: an `EndpointDisabledError` where the API has deletion off (CAPE's shipped default,
   * `[taskdelete] enabled = no`), a `BadResponseError` naming the task when CAPE would not remove it
   * (it deletes only reported tasks).
   */
  async deleteTask(itemId: string): Promise<void> {
    await this.call({ method: 'GET', path: `tasks/delete/${encodeURIComponent(itemId)}/` }, Deleted);
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
    const value = envelope.error_value ?? envelope.failed ?? 'unknown error';
    const details = JSON.stringify(envelope.errors ?? []);
    const all = `${value} ${details}`;
    if (/exceeds the maximum allowed size|too large/i.test(all)) throw new SampleTooLargeError('cape', value);
    // tasks_view says "Task not found in database", the report and status views "Task does not exist".
    if (/does not exist|task not found/i.test(value)) throw new ItemNotFoundError('cape', value);
    if (DISABLED.test(value))
      throw new EndpointDisabledError('cape', `${value}: switched off in the CAPE server's conf/api.conf`);
    if (UNSUPPORTED.test(all)) throw new UnsupportedFileError('cape', value);
    throw new BadResponseError(
      'cape',
      `error: true: ${value}${envelope.errors?.length ? ` ${details.slice(0, 200)}` : ''}`,
    );
  }
}

/** CAPEv2 in the connector registry. */
export const capeConnectorInfo = registryEntry('cape', 'CAPEv2 (REST API v2)', ['delete', 'poll-hint'], CapeConnector);
