import { type AnalysisPhase, BaseEmulator, type GatewayFault, naiveTime, type ReceivedFile } from './base-emulator';
import { markerVerdict, type EmulatorFault, type EmulatorOptions } from './emulator';
import { EMULATED_FINDINGS } from './findings';
import type { EmulatorRequest, EmulatorResponse } from './server';

/** What this emulator's malicious report concludes (see {@link EMULATED_FINDINGS}). */
const FINDINGS = EMULATED_FINDINGS.cuckoo;

/** The `ttp` of two signatures of the real Cuckoo 2 report (test/fixtures/vendors/cuckoo_report_signatures.json). */
const REAL_TTP = {
  disablesSecurity: {
    T1089: {
      short: 'Disabling Security Tools',
      long: 'Adversaries may disable security tools to avoid possible detection of their tools and activities. This can take the form of killing security software or event logging processes, deleting Registry keys so that tools do not start at run time, or other methods to interfere with security scanning or event reporting.',
    },
    T1112: {
      short: 'Modify Registry',
      long: 'Adversaries may interact with the Windows Registry to hide configuration information within Registry keys, remove information as part of cleaning up, or as part of other techniques to aid in Persistence and Execution.',
    },
  },
  persistenceAutorun: {
    T1060: {
      short: 'Registry Run Keys / Startup Folder',
      long: 'Adding an entry to the "run keys" in the Registry or startup folder will cause the program referenced to be executed when a user logs in.  These programs will be executed under the context of the user and will have the account\'s associated permissions level.',
    },
    T1053: {
      short: 'Scheduled Task',
      long: 'Utilities such as at and schtasks, along with the Windows Task Scheduler, can be used to schedule programs or scripts to be executed at a date and time. A task can also be scheduled on a remote system, provided the proper authentication is met to use RPC and file and printer sharing is turned on. Scheduling a task on a remote system typically required being a member of the Administrators group on the the remote system.',
    },
  },
};

/** Options of {@link CuckooEmulator}. */
export interface CuckooEmulatorOptions extends EmulatorOptions {
  /** The `api_token` the API requires as `Authorization: Bearer …`; none: an API without a token. */
  token?: string;
  /** Largest request body the web server in front of the API accepts, in bytes; none: no limit. */
  maxUploadBytes?: number;
  /**
   * The time zone the host's naive timestamps are wall-clock times of (`started_on`, …): Cuckoo 2
   * writes the host's local time, CAPE its cuckoo.conf `timezone`. @default 'UTC'
   */
  timeZone?: string;
  /** `info.score` for a sample; default: by test markers in its content. */
  score?: (content: Buffer) => number;
}

interface Task extends ReceivedFile {
  id: number;
  timeout: number;
  package: string | null;
  priority: number;
  score: number;
  outcome: 'ok' | 'failed-analysis' | 'unsupported';
}

/**
 * Cuckoo 2's `info.score` (Σ signature severity / 5, no upper bound) for the test markers; the
 * malicious one goes past 10, as heavily-signatured real samples do.
 */
export function markerCuckooScore(content: Buffer): number {
  return { malicious: 12.4, suspicious: 5.2, benign: 0.4 }[markerVerdict(content)];
}

/** The task states of Cuckoo's scheduler (and CAPE's, its fork) for each phase of an analysis. */
export const TASK_STATES: Record<AnalysisPhase, string> = {
  queued: 'pending',
  running: 'running',
  processing: 'completed',
  reported: 'reported',
};

/** Where a task stands at the vendor: its state, when its run started and ended, and the errors recorded. */
interface TaskState {
  status: string;
  startedOn: number | null;
  completedOn: number | null;
  errors: string[];
}

const failedTask = (startedOn: number, completedOn: number, error: string): TaskState => ({
  status: 'failed_analysis',
  startedOn,
  completedOn,
  errors: [error],
});
const json = (status: number, message: string): EmulatorResponse => ({ status, body: { message } });
const html = (status: number, title: string): EmulatorResponse => ({
  status,
  headers: { 'content-type': 'text/html' },
  body: `<!DOCTYPE HTML PUBLIC "-//W3C//DTD HTML 3.2 Final//EN">\n<title>${title}</title>\n<h1>${title.replace(/^\d+ /, '')}</h1>\n`,
});

/**
 * Cuckoo Sandbox 2.x's REST API (`cuckoo api`, Flask) on loopback: `tasks/create/file` with a
 * multipart `file`, `tasks/view/{id}` → `{"task": {...}}`, `tasks/report/{id}/{format}`,
 * `{"message": "..."}` errors, an optional Bearer token, and a task lifecycle (pending → running →
 * completed → reported) driven by the given clock.
 *
 * Cuckoo has no rate limit or quota of its own: the `rate-limited` and `quota` faults answer as the
 * API gateway commonly put in front of it would (429, with a quota message for the latter). The
 * `unsupported` fault behaves like Cuckoo itself: the upload is accepted and the task fails with
 * "No valid package available" when the analysis starts. `oversize` is the web server's 413.
 */
export class CuckooEmulator extends BaseEmulator<CuckooEmulatorOptions> {
  readonly vendor = 'cuckoo' as const;
  private readonly tasks = new Map<number, Task>();
  private nextId = 1;

  constructor(options: CuckooEmulatorOptions) {
    super(options, { apiPath: '/', credentials: options.token });
  }

  private state(task: Task): TaskState {
    const { phase, startedAt, runEnd } = this.timeline(task.submittedAt, task.timeout);
    if (phase === 'queued') return { status: 'pending', startedOn: null, completedOn: null, errors: [] };
    // With no analysis package for the file, the task fails as its run would start.
    if (task.outcome === 'unsupported')
      return failedTask(startedAt, startedAt, 'No valid package available for file type: data');
    if (phase === 'running') return { status: 'running', startedOn: startedAt, completedOn: null, errors: [] };
    if (task.outcome === 'failed-analysis')
      return failedTask(startedAt, runEnd, 'The analysis hit a critical error, aborting');
    return { status: TASK_STATES[phase], startedOn: startedAt, completedOn: runEnd, errors: [] };
  }

  protected override keyRefused(req: EmulatorRequest): boolean {
    return this.options.token !== undefined && req.headers.authorization !== `Bearer ${this.options.token}`;
  }

  protected override faultAnswer(fault: GatewayFault): EmulatorResponse | undefined {
    if (fault === 'bad-key') return json(401, 'Authentication required');
    if (fault === 'rate-limited')
      return { ...html(429, '429 Too Many Requests'), headers: { 'content-type': 'text/html', 'retry-after': '42' } };
    if (fault === 'server-error') return html(500, '500 Internal Server Error');
    if (fault === 'malformed') return { body: { message: 'OK' } };
    return undefined;
  }

  protected override async route(req: EmulatorRequest, fault: EmulatorFault): Promise<EmulatorResponse> {
    const path = req.url.pathname;
    if (req.method === 'GET' && path === '/cuckoo/status') {
      const counts: Record<string, number> = { pending: 0, running: 0, completed: 0, reported: 0 };
      for (const task of this.tasks.values()) {
        const status = this.state(task).status;
        if (status in counts) counts[status] = (counts[status] ?? 0) + 1;
      }
      return {
        body: {
          tasks: { ...counts, total: this.tasks.size },
          diskspace: { analyses: { total: 491271233536, free: 71403470848, used: 419867762688 } },
          version: '2.0.7',
          protocol_version: 1,
          hostname: 'cuckoo-emulator',
          machines: { available: 4, total: 5 },
        },
      };
    }
    if (req.method === 'POST' && path === '/tasks/create/file') {
      if (fault === 'quota') return json(429, 'Quota exceeded: 500 submissions per day');
      if (
        fault === 'oversize' ||
        (this.options.maxUploadBytes !== undefined && req.body.length > this.options.maxUploadBytes)
      ) {
        return html(413, '413 Request Entity Too Large');
      }
      const form = await req.form();
      const file = form.get('file');
      if (!(file instanceof File)) return json(400, 'No file has been provided');
      const received = await this.receive(file);
      const id = this.nextId++;
      this.tasks.set(id, {
        ...received,
        id,
        timeout: Number(form.get('timeout') ?? 0) || (this.options.runSeconds ?? 120),
        package: (form.get('package') as string | null) || null,
        priority: Number(form.get('priority') ?? 1) || 1,
        score: (this.options.score ?? markerCuckooScore)(received.content),
        outcome: fault === 'failed-analysis' ? 'failed-analysis' : fault === 'unsupported' ? 'unsupported' : 'ok',
      });
      this.accepted();
      return { body: { task_id: id } };
    }
    if (req.method === 'GET' && path === '/tasks/list') {
      return { body: { tasks: [...this.tasks.values()].map((t) => this.view(t)) } };
    }
    const item = path.match(/^\/tasks\/(view|delete)\/(\d+)$/);
    if (req.method === 'GET' && item) {
      const task = this.tasks.get(Number(item[2]));
      if (!task) return json(404, 'Task not found');
      if (item[1] === 'delete') {
        this.tasks.delete(task.id);
        return { body: { status: 'OK' } };
      }
      return { body: { task: this.view(task) } };
    }
    const report = path.match(/^\/tasks\/report\/(\d+)(?:\/(json|html))?$/);
    if (req.method === 'GET' && report) {
      const task = this.tasks.get(Number(report[1]));
      if (!task || this.state(task).status !== 'reported') return json(404, 'Report not found');
      if (report[2] === 'html')
        return {
          headers: { 'content-type': 'text/html' },
          body: `<html><body><h1>Cuckoo report ${task.id}</h1><p>Score ${task.score}</p></body></html>`,
        };
      return { headers: { 'content-type': 'application/json' }, body: this.document(task) };
    }
    return json(404, 'Not Found');
  }

  private view(task: Task) {
    const state = this.state(task);
    return {
      category: 'file',
      machine: state.startedOn === null ? null : 'cuckoo1',
      errors: state.errors,
      target: `/tmp/cuckoo-tmp/upload_${task.id}/${task.fileName}`,
      package: task.package,
      sample_id: task.id,
      guest:
        state.startedOn === null
          ? {}
          : { name: 'cuckoo1', manager: 'VirtualBox', status: state.completedOn === null ? 'running' : 'stopped' },
      custom: null,
      owner: '',
      priority: task.priority,
      platform: null,
      options: null,
      status: state.status,
      enforce_timeout: false,
      timeout: task.timeout,
      memory: false,
      tags: [],
      id: task.id,
      added_on: naiveTime(task.submittedAt, this.options.timeZone),
      started_on: state.startedOn === null ? null : naiveTime(state.startedOn, this.options.timeZone),
      completed_on: state.completedOn === null ? null : naiveTime(state.completedOn, this.options.timeZone),
    };
  }

  /** A report shaped like Cuckoo 2's `reports/report.json` (and the sandboxapi fixture). */
  private document(task: Task) {
    const state = this.state(task);
    return {
      info: {
        category: 'file',
        package: 'js',
        score: task.score,
        started: naiveTime(state.startedOn ?? 0, this.options.timeZone),
        custom: '',
        machine: { name: 'cuckoo1', manager: 'VirtualBox', label: 'cuckoo1' },
        ended: naiveTime(state.completedOn ?? 0, this.options.timeZone),
        version: '2.0.7',
        duration: task.timeout,
        id: task.id,
      },
      // Signatures as a real Cuckoo 2 report writes them (test/fixtures/vendors/cuckoo_report_signatures.json):
      // `families`, `description`, `ttp` keyed by technique id with `short` and `long`, `name`, `markcount`,
      // `references`, `marks`, `severity`. The first two are that report's own, as captured (marks cut).
      // It named no family, so the third, the one naming the family, follows Cuckoo's code.
      signatures:
        task.score >= 10
          ? [
              {
                families: [],
                description: 'Disables Windows Security features',
                ttp: REAL_TTP.disablesSecurity,
                name: FINDINGS.signatures[0],
                markcount: 1,
                references: [],
                marks: [
                  {
                    type: 'generic',
                    description: 'attempts to disable user access control',
                    registry:
                      'HKEY_LOCAL_MACHINE\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Policies\\System\\EnableLUA',
                  },
                ],
                severity: 4,
              },
              {
                families: [],
                description: 'Installs itself for autorun at Windows startup',
                ttp: REAL_TTP.persistenceAutorun,
                name: FINDINGS.signatures[1],
                markcount: 5,
                references: [],
                marks: [
                  {
                    type: 'generic',
                    reg_key: 'HKEY_CURRENT_USER\\Software\\Microsoft\\Windows\\CurrentVersion\\Run\\posooYos.exe',
                    reg_value: 'C:\\Users\\Administrator\\eeokscog\\posooYos.exe',
                  },
                ],
                severity: 3,
              },
              {
                families: [FINDINGS.family],
                description: 'Exhibits behaviour characteristic of the Emotet loader',
                ttp: {},
                name: FINDINGS.signatures[2],
                markcount: 1,
                references: [],
                marks: [],
                severity: 3,
              },
            ]
          : task.score >= 4
            ? [
                {
                  name: 'test_marker',
                  description: 'Carries a Sandtrap test marker',
                  severity: 3,
                  marks: [],
                  markcount: 1,
                },
              ]
            : [],
      virustotal: {},
      static: {},
      dropped: [],
      network:
        task.score >= 10
          ? { hosts: [FINDINGS.hosts[1]], domains: [{ domain: FINDINGS.hosts[0], ip: FINDINGS.hosts[1] }], http: [] }
          : { hosts: [], domains: [], http: [] },
      target: {
        category: 'file',
        file: { name: task.fileName, size: task.size, sha256: task.sha256, type: 'ASCII text' },
      },
      behavior: {
        summary: {
          file_created: Array.from({ length: 200 }, (_, i) => `C:\\Users\\user\\AppData\\Local\\Temp\\file${i}.tmp`),
        },
      },
      memory: {},
      debug: { errors: [] },
      strings: ['!This program cannot be run in DOS mode.'],
    };
  }
}
