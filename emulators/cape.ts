import { BaseEmulator, brokenJson, type GatewayFault, htmlPage, naiveTime, type ReceivedFile } from './base-emulator';
import { TASK_STATES } from './cuckoo';
import { markerVerdict, type EmulatorFault, type EmulatorOptions } from './emulator';
import { EMULATED_FINDINGS } from './findings';
import type { EmulatorRequest, EmulatorResponse } from './server';

/** What this emulator's malicious report concludes (see {@link EMULATED_FINDINGS}). */
const FINDINGS = EMULATED_FINDINGS.cape;

/** A signature with the fields of one in a real CAPE 2.4 report (test/fixtures/vendors/cape_report_apihooks.json). */
function capeSignature(name: string, description: string, categories: string[], severity: number, data: object[]) {
  return {
    name,
    description,
    categories,
    severity,
    weight: 1,
    confidence: 100,
    references: [],
    data,
    new_data: [],
    alert: false,
    families: [],
  };
}

/** Options of {@link CapeEmulator}. */
export interface CapeEmulatorOptions extends EmulatorOptions {
  /** Token the API requires (`Authorization: Token …`); none: anonymous access, CAPE's shipped default. */
  token?: string;
  /** DRF throttle: requests allowed per minute (fixed windows on the clock); more get HTTP 429. */
  requestsPerMinute?: number;
  /** Largest upload accepted, in bytes (web.conf max_sample_size). */
  maxSampleSize?: number;
  /**
   * The time zone the host's naive timestamps are wall-clock times of (`started_on`, …): Cuckoo 2
   * writes the host's local time, CAPE its cuckoo.conf `timezone`. @default 'UTC'
   */
  timeZone?: string;
  /** malscore for a sample; default: by test markers in its content. */
  malscore?: (content: Buffer, fileName: string) => number;
  /** The Retry-After of the `rate-limited` fault, in seconds. @default 42 */
  retryAfterSeconds?: number;
  /**
   * `cuckoo/status/` answers; CAPE ships it off (`[cuckoostatus] enabled = no` in
   * conf/default/api.conf.default), when it says `error: true` "Cuckoo Status API is disabled". @default false
   */
  cuckooStatus?: boolean;
  /**
   * `tasks/delete/{id}/` deletes; CAPE ships it off (`[taskdelete] enabled = no`), when it says
   * `error: true` "Task Deletion API is Disabled". @default false
   */
  taskDelete?: boolean;
}

interface Task extends ReceivedFile {
  id: number;
  timeout: number;
  malscore: number;
  fault: EmulatorFault;
}

/** CAPE's malscore (0–10) for the test markers. */
export function markerMalscore(content: Buffer): number {
  return { malicious: 9.2, suspicious: 5.5, benign: 1.0 }[markerVerdict(content)];
}

/**
 * CAPEv2's REST API v2 on loopback: `/apiv2/...` routes with trailing slashes, the `{error, data,
 * error_value}` envelope with application errors inside HTTP 200, DRF's 401/429 bodies, and a task
 * lifecycle (pending → running → completed → reported) driven by the given clock. Answers follow
 * kevoreilly/CAPEv2 `web/apiv2/views.py` and `conf/default/api.conf.default` (commit 4da22e6),
 * including the endpoints a default install has switched off.
 *
 * CAPE has no quota: its only back-pressure is DRF's throttle (HTTP 429, the `rate-limited` fault),
 * so the `quota` fault is not one of its faults (see {@link ABSENT_FAULTS}).
 */
export class CapeEmulator extends BaseEmulator<CapeEmulatorOptions> {
  readonly vendor = 'cape' as const;
  /** Scores new submissions; replace it to make the "vendor" change its mind between analyses. */
  malscoreFor: (content: Buffer, fileName: string) => number;
  private readonly tasks = new Map<number, Task>();
  /** Requests seen per one-minute window of the clock. */
  readonly requestsPerWindow = new Map<number, number>();
  /** Requests answered 429 because the per-minute throttle was exceeded. */
  throttled = 0;
  private nextId = 1;

  constructor(options: CapeEmulatorOptions) {
    super(options, { apiPath: '/apiv2/', credentials: options.token });
    this.malscoreFor = options.malscore ?? markerMalscore;
  }

  /** Tasks held now: CAPE deletes tasks, and a deleted one no longer counts. */
  override get submissions(): number {
    return this.tasks.size;
  }

  private status(task: Task): { status: string; startedOn: number | null; completedOn: number | null } {
    const { phase, startedAt, runEnd } = this.timeline(task.submittedAt, task.timeout);
    if (phase === 'queued') return { status: 'pending', startedOn: null, completedOn: null };
    if (phase === 'running') return { status: 'running', startedOn: startedAt, completedOn: null };
    const status = task.fault === 'failed-analysis' ? 'failed_analysis' : TASK_STATES[phase];
    return { status, startedOn: startedAt, completedOn: runEnd };
  }

  /** The most requests seen in any one-minute window. */
  /** When each task was submitted (the emulator's clock, epoch ms), in submission order. */
  get submissionTimes(): number[] {
    return [...this.tasks.values()].map((task) => task.submittedAt);
  }

  get maxRequestsPerMinute(): number {
    return Math.max(0, ...this.requestsPerWindow.values());
  }

  protected override handle(req: EmulatorRequest): Promise<EmulatorResponse> {
    const window = Math.floor(this.options.clock.now() / 60_000);
    const seen = (this.requestsPerWindow.get(window) ?? 0) + 1;
    this.requestsPerWindow.set(window, seen);
    if (this.options.requestsPerMinute !== undefined && seen > this.options.requestsPerMinute) {
      this.throttled++;
      const wait = Math.ceil(((window + 1) * 60_000 - this.options.clock.now()) / 1000);
      return Promise.resolve({
        status: 429,
        headers: { 'retry-after': String(wait) },
        body: { detail: `Request was throttled. Expected available in ${wait} seconds.` },
      });
    }
    return super.handle(req);
  }

  protected override keyRefused(req: EmulatorRequest): boolean {
    return this.options.token !== undefined && req.headers.authorization !== `Token ${this.options.token}`;
  }

  protected override faultAnswer(fault: GatewayFault): EmulatorResponse | undefined {
    if (fault === 'bad-key') return { status: 401, body: { detail: 'Invalid token.' } };
    if (fault === 'rate-limited') {
      const wait = this.options.retryAfterSeconds ?? 42;
      return {
        status: 429,
        headers: { 'retry-after': String(wait) },
        body: { detail: `Request was throttled. Expected available in ${wait} seconds.` },
      };
    }
    if (fault === 'server-error') return htmlPage(502, '502 Bad Gateway');
    if (fault === 'malformed') return brokenJson('{"error": false, "data": {"task_ids": [');
    return undefined;
  }

  /**
   * views.py tasks_delete: refused while `[taskdelete]` is off; otherwise only a reported task is
   * deleted (validate_task), and the answer carries no `error` key on success.
   */
  private deleteTask(id: number): Record<string, unknown> {
    if (!this.options.taskDelete) return { error: true, error_value: 'Task Deletion API is Disabled' };
    const task = this.tasks.get(id);
    if (!task || this.status(task).status !== 'reported')
      return { error: true, failed: `Task(s) ID(s) ${id} failed to remove` };
    this.tasks.delete(id);
    return { data: `Task(s) ID(s) ${id} has been deleted` };
  }

  protected override async route(req: EmulatorRequest, fault: EmulatorFault): Promise<EmulatorResponse> {
    const path = req.url.pathname;
    const match = (pattern: RegExp) => path.match(pattern);
    if (!path.endsWith('/'))
      return { status: 404, body: '<h1>Not Found</h1>', headers: { 'content-type': 'text/html' } };
    if (req.method === 'GET' && path === '/apiv2/cuckoo/status/') {
      // views.py cuckoo_status: `if not apiconf.cuckoostatus.get("enabled")`, an HTTP 200.
      if (!this.options.cuckooStatus) return { body: { error: true, error_value: 'Cuckoo Status API is disabled' } };
      return {
        body: {
          error: [],
          data: {
            version: '2.4-CAPE',
            hostname: 'cape-emulator',
            machines: { total: 4, available: 4 },
            tasks: { total: this.tasks.size, pending: 0, running: 0, completed: 0, reported: 0 },
          },
        },
      };
    }
    const list = match(/^\/apiv2\/tasks\/list\/(?:(\d+)\/(?:(\d+)\/)?)?$/);
    if (req.method === 'GET' && list) {
      // views.py tasks_list ([tasklist] ships enabled): no `error` key at all, the newest tasks first.
      const limit = Math.min(Number(list[1] ?? 10), 50);
      const offset = Number(list[2] ?? 0);
      const tasks = [...this.tasks.values()].reverse().slice(offset, offset + limit);
      const idsOnly = req.url.searchParams.get('ids');
      return {
        body: {
          data: tasks.map((task) =>
            idsOnly ? { id: task.id } : { id: task.id, target: task.fileName, status: this.status(task).status },
          ),
          config: `Limit: ${limit}, Offset: ${list[2] ?? 'None'}`,
          buf: idsOnly ? 0 : tasks.length,
        },
      };
    }
    if (req.method === 'POST' && path === '/apiv2/tasks/create/file/') {
      const form = await req.form();
      const file = form.get('file');
      if (!(file instanceof File)) return { body: { error: true, error_value: 'No file was submitted' } };
      const received = await this.receive(file);
      if (fault === 'unsupported')
        return {
          body: {
            error: true,
            error_value: 'Error adding task to database',
            errors: [{ [file.name]: 'File type is not supported by any analysis package' }],
          },
        };
      if (fault === 'oversize' || received.size > (this.options.maxSampleSize ?? 30_000_000)) {
        return {
          body: {
            error: true,
            error_value: 'Error adding task to database',
            errors: [{ [file.name]: 'Uploaded file exceeds the maximum allowed size in conf/web.conf.' }],
          },
        };
      }
      const id = this.nextId++;
      const timeout = Number(form.get('timeout') ?? this.options.runSeconds ?? 120) || 120;
      this.tasks.set(id, {
        ...received,
        id,
        timeout,
        malscore: this.malscoreFor(received.content, file.name),
        fault: fault === 'failed-analysis' ? 'failed-analysis' : 'none',
      });
      return {
        body: {
          error: [],
          data: { task_ids: [id], message: `Task ID ${id} has been submitted` },
          errors: [],
          url: [`http://127.0.0.1/submit/status/${id}/`],
        },
      };
    }
    const deletion = match(/^\/apiv2\/tasks\/delete\/(\d+)\/$/);
    if (req.method === 'GET' && deletion) return { body: this.deleteTask(Number(deletion[1])) };
    const view = match(/^\/apiv2\/tasks\/(view|status)\/(\d+)\/$/);
    if (req.method === 'GET' && view) {
      const task = this.tasks.get(Number(view[2]));
      // views.py: tasks_view says "Task not found in database", tasks_status "Task does not exist".
      if (!task)
        return {
          body: { error: true, error_value: view[1] === 'view' ? 'Task not found in database' : 'Task does not exist' },
        };
      const state = this.status(task);
      if (view[1] === 'status') return { body: { error: false, data: state.status } };
      return {
        body: {
          error: false,
          data: {
            id: task.id,
            target: task.fileName,
            category: 'file',
            timeout: task.timeout,
            status: state.status,
            added_on: naiveTime(task.submittedAt, this.options.timeZone),
            started_on: state.startedOn === null ? null : naiveTime(state.startedOn, this.options.timeZone),
            completed_on: state.completedOn === null ? null : naiveTime(state.completedOn, this.options.timeZone),
            errors: state.status === 'failed_analysis' ? ['Analysis hit a critical error'] : [],
            sample: { sha256: task.sha256, file_size: task.size },
          },
        },
      };
    }
    const report = match(/^\/apiv2\/tasks\/get\/report\/(\d+)\/(?:(json|html|pdf|maec|litereport)\/)?$/);
    if (req.method === 'GET' && report) {
      const task = this.tasks.get(Number(report[1]));
      if (!task) return { body: { error: true, error_value: 'Task does not exist' } };
      const state = this.status(task);
      if (state.status.startsWith('failed')) return { body: { error: true, error_value: 'Task failed' } };
      if (state.status !== 'reported') return { body: { error: true, error_value: 'Task is still being analyzed' } };
      const malstatus = task.malscore >= 7 ? 'Malicious' : task.malscore >= 4 ? 'Suspicious' : 'Clean';
      const document = {
        info: {
          id: task.id,
          version: '2.4-CAPE',
          duration: task.timeout,
          started: naiveTime(state.startedOn ?? 0, this.options.timeZone),
          ended: naiveTime(state.completedOn ?? 0, this.options.timeZone),
          machine: { name: 'win10-1' },
        },
        target: { category: 'file', file: { name: task.fileName, size: task.size, sha256: task.sha256 } },
        // Signatures as the captured CAPE 2.4 report in test/fixtures/vendors/cape_report_apihooks.json
        // writes them (`categories`, `severity` 1–3, `weight`, `confidence`, `data`, `families`, …); the
        // malicious report's two are that report's own. That sample named no family, so `detections`,
        // `ttps` and `network` below keep the shape of CAPEv2's code (`modules/processing`,
        // `reporting/jsondump`), not of a captured body.
        signatures:
          task.malscore >= 7
            ? [
                capeSignature(
                  FINDINGS.signatures[0]!,
                  'Installs itself for autorun at Windows startup',
                  ['persistence'],
                  3,
                  [{ regkey: 'HKEY_CURRENT_USER\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Run\\TestApiHooks' }],
                ),
                capeSignature(
                  FINDINGS.signatures[1]!,
                  'Uses Windows utilities for basic functionality',
                  ['command', 'lateral'],
                  2,
                  [{ command: 'C:\\WINDOWS\\system32\\cmd.exe /c echo hai' }],
                ),
              ]
            : task.malscore >= 4
              ? [capeSignature('test_marker', 'Test marker found', ['generic'], 2, [])]
              : [],
        detections: task.malscore >= 7 ? [{ family: FINDINGS.family, details: [{ Signature: 'agenttesla' }] }] : [],
        ttps:
          task.malscore >= 7
            ? [
                { signature: FINDINGS.signatures[0], ttps: [FINDINGS.attack[0]] },
                { signature: FINDINGS.signatures[1], ttps: [FINDINGS.attack[1]] },
              ]
            : [],
        network:
          task.malscore >= 7
            ? {
                hosts: [{ ip: FINDINGS.hosts[1], country_name: '' }],
                domains: [{ domain: FINDINGS.hosts[0], ip: FINDINGS.hosts[1] }],
              }
            : { hosts: [], domains: [] },
        // Padding makes the report bigger than one chunk, as real reports are.
        behavior: {
          summary: {
            files: Array.from({ length: 200 }, (_, i) => `C:\\Users\\user\\AppData\\Local\\Temp\\file${i}.tmp`),
          },
        },
        malscore: task.malscore,
        malstatus,
      };
      return {
        headers: {
          'content-type': 'application/json',
          'content-disposition': `attachment; filename=${task.id}_report.json`,
        },
        body: document,
      };
    }
    return { status: 404, body: '<h1>Not Found</h1>', headers: { 'content-type': 'text/html' } };
  }
}
