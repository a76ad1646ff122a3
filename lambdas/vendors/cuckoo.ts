import * as z from 'zod';
import { clampScore } from '../core/contracts/scoring';
import { CuckooFamilyConnector, type FamilyTask, TASK_OPTIONS, TaskView } from './cuckoo-family';
import type { ConnectorContext, ItemStatus, NativeReport, NormalisedScore, SampleSource } from './kit';
import {
  bandedScore,
  itemStatus,
  jsonErrorMapping,
  hostsOf,
  lenient,
  type RawFindings,
  registryEntry,
  type ReportFormat,
  severityFrom,
  techniquesOf,
  statusIs,
  stringField,
  UnsupportedFileError,
} from './kit';

const SubmitResponse = z
  .object({ task_id: z.number().int().nullable().optional(), task_ids: z.array(z.number().int()).optional() })
  .refine((r) => typeof r.task_id === 'number' || (r.task_ids?.length ?? 0) > 0, 'neither task_id nor task_ids');

const TaskResponse = z.object({ task: TaskView });

const StatusResponse = z.object({
  tasks: z.object({ pending: z.number().int().nonnegative() }),
  version: z.string().optional(),
});

const Report = z.object({ info: z.object({ score: z.number().nullable().optional() }).optional() });

/**
 * The parts of a Cuckoo 2 report findings come from: `signatures` (`name`, `description`, `severity`
 * 1–3, `families` the malware families the signature names, and since 2.0.7 `ttp` keyed by ATT&CK id)
 * and `network` (`hosts` a list of addresses, `domains` `[{domain, ip}]`). Cuckoo has no verdict
 * of its own on the family: the families are those its signatures name.
 */
const FindingsReport = z.object({
  signatures: lenient(
    z.array(
      z
        .object({
          name: z.unknown().optional(),
          description: z.unknown().optional(),
          severity: z.unknown().optional(),
          families: z.unknown().optional(),
          ttp: z.unknown().optional(),
        })
        .loose(),
    ),
  ),
  network: lenient(z.object({ hosts: z.unknown().optional(), domains: z.unknown().optional() }).loose()),
});

/** What a Cuckoo 2 JSON report concluded; severity 1 is low, 2 medium, 3 high, above that critical. */
export function cuckooFindings(report: unknown): RawFindings {
  const parsed = FindingsReport.safeParse(report);
  if (!parsed.success) return {};
  const { signatures = [], network } = parsed.data;
  return {
    families: signatures.flatMap((s) => (Array.isArray(s.families) ? s.families : [])),
    signatures: signatures.map((s) => ({
      name: s.name,
      severity: severityFrom(s.severity, [2, 3, 4]),
      description: s.description,
    })),
    attack: signatures.flatMap((s) => techniquesOf(s.ttp)),
    hosts: hostsOf([network?.domains, 'domain'], [network?.hosts, 'ip']),
  };
}

/** What Cuckoo's scheduler records when no analysis package handles the file type. */
const NO_PACKAGE = /no (valid )?(analysis )?package|not supported|unsupported/i;

/** Submission options Cuckoo 2's `tasks/create/file` takes, passed through from configuration. */
const SUBMIT_OPTIONS = [...TASK_OPTIONS, 'owner', 'memory', 'enforce_timeout', 'clock', 'unique'];

/** The scale `info.score` is on: the sum of matched signature severities divided by 5, with no upper bound. */
const SCALE = 'info.score (Σ severity / 5, unbounded)';

/**
 * Cuckoo Sandbox 2.x through its REST API (`cuckoo api`, default port 8090). Fixes what sandboxapi's
 * `CuckooAPI` gets wrong: it sends the API token, waits for `reported` (the report does not exist yet at
 * `completed`), ends the poll on `failed_*` instead of polling forever, and keeps a missing score
 * `unknown` rather than 0. CAPEv2 has its own connector (`cape`).
 *
 * Credentials: the `api_token` from Cuckoo's configuration, sent as `Authorization: Bearer <api_token>`;
 * leave it unset for an API that runs without a token (older installs).
 */
export class CuckooConnector extends CuckooFamilyConnector<'cuckoo'> {
  /** Task states after which Cuckoo will never write a report. */
  protected readonly failedStates = new Set(['failed_analysis', 'failed_processing', 'failed_reporting']);

  constructor(context: ConnectorContext) {
    super('cuckoo', context, {
      headers: { accept: 'application/json' },
      credentialHeaders: (token) => ({ authorization: `Bearer ${token}` }),
      statusError: cuckooStatusError,
    });
  }

  /** `cuckoo/status` answers. */
  protected async probe(): Promise<undefined> {
    await this.http.json({ method: 'GET', path: 'cuckoo/status' }, StatusResponse);
  }

  protected async upload(sample: SampleSource): Promise<string> {
    const fields = [this.analysisTimeField('timeout'), ...this.optionFields(SUBMIT_OPTIONS)];
    const created = await this.http.json(await this.uploadRequest('tasks/create/file', fields, sample), SubmitResponse);
    return String(created.task_id ?? created.task_ids?.[0]);
  }

  protected async task(itemId: string): Promise<FamilyTask> {
    const { task } = await this.http.json(
      { method: 'GET', path: `tasks/view/${encodeURIComponent(itemId)}` },
      TaskResponse,
    );
    // Cuckoo records 0 when the task runs with the machinery's default timeout.
    return { ...task, timeoutSeconds: task.timeout || this.config.analysisTimeoutSeconds };
  }

  /**
   * A `failed_*` task ends the poll; when the scheduler found no analysis package for the file, that
   * is an `UnsupportedFileError` (Cuckoo accepts any upload and only discovers this when the analysis starts).
   */
  protected failure(task: FamilyTask): ItemStatus {
    const errors = (task.errors ?? []).map((e) => (typeof e === 'string' ? e : JSON.stringify(e)));
    const unsupported = errors.find((e) => NO_PACKAGE.test(e));
    if (unsupported) throw new UnsupportedFileError('cuckoo', `task ${task.id}: ${unsupported}`);
    return itemStatus.failedAnalysis(
      task.status,
      errors.length ? errors.join('; ').slice(0, 300) : `Cuckoo task ${task.status}`,
    );
  }

  /** The JSON report (`tasks/report/{id}/json`), streamed. */
  report(itemId: string): Promise<NativeReport> {
    return this.taskReport(itemId, 'json');
  }

  /** The HTML report (`tasks/report/{id}/html`), streamed; Cuckoo's reporting module must be enabled. */
  htmlReport(itemId: string): Promise<NativeReport> {
    return this.taskReport(itemId, 'html');
  }

  /**
   * Normalises `info.score`: Cuckoo adds up signature severities without a cap, so the score is
   * capped at 10 before scaling to 0–100. A report without a score is `unknown` (sandboxapi says 0).
   */
  score(report: unknown): NormalisedScore {
    const native = this.reportAs(report, Report, 'a Cuckoo JSON report').info?.score;
    if (typeof native !== 'number') return bandedScore(null, { value: null, scale: SCALE });
    return bandedScore(clampScore(Math.min(native, 10) * 10), { value: native, scale: SCALE });
  }

  /** No default link to the analysis: Cuckoo's web interface is a server apart from its API (configure `reportPageUrl`). */
  protected readFindings(report: unknown): RawFindings {
    return cuckooFindings(report);
  }

  override delete(itemId: string): Promise<boolean> {
    return this.succeeds(() => this.http.text({ method: 'GET', path: `tasks/delete/${encodeURIComponent(itemId)}` }));
  }

  /** Tasks waiting for a machine (`tasks.pending` of `cuckoo/status`; sandboxapi counted `tasks/list`, which is unbounded). */
  async queueSize(): Promise<number> {
    const status = await this.http.json({ method: 'GET', path: 'cuckoo/status' }, StatusResponse);
    return status.tasks.pending;
  }

  private taskReport(itemId: string, format: ReportFormat): Promise<NativeReport> {
    return this.download({ method: 'GET', path: `tasks/report/${encodeURIComponent(itemId)}/${format}` }, format);
  }
}

/**
 * Statuses with a Cuckoo-specific meaning: 404 is an unknown task (or a report that was never
 * written), 413 an upload over the web server's body limit, and a 429 that names a quota comes from
 * a gateway's quota rather than its rate limit (Cuckoo itself has neither). Its errors are
 * `{"message": "..."}`.
 */
const cuckooStatusError = jsonErrorMapping('cuckoo', stringField('message'), [
  ['not-found', statusIs(404), 'not found'],
  ['too-large', statusIs(413), 'request entity too large'],
  ['quota', (status, message) => status === 429 && /quota/i.test(message)],
]);

/** Cuckoo 2.x as the registry lists it. */
export const cuckooConnectorInfo = registryEntry(
  'cuckoo',
  'Cuckoo Sandbox 2.x (REST API)',
  ['delete', 'queue-size', 'html-report', 'token-auth', 'poll-hint'],
  CuckooConnector,
);
