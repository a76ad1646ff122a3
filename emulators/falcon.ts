import { BaseEmulator, type GatewayFault, naiveTime, type ReceivedFile } from './base-emulator';
import { markerVerdict, type EmulatorFault, type EmulatorOptions } from './emulator';
import { EMULATED_FINDINGS } from './findings';
import type { EmulatorRequest, EmulatorResponse } from './server';

/** What this emulator's malicious report concludes (see {@link EMULATED_FINDINGS}). */
const FINDINGS = EMULATED_FINDINGS.falcon;

/** Options of {@link FalconEmulator}. */
export interface FalconEmulatorOptions extends EmulatorOptions {
  /** The key the API requires in the `api-key` header. */
  apiKey: string;
  /**
   * The key is of the restricted level (1): the heartbeat (default level) is refused, while lookups and
   * `submit/file` are not (PayloadSecurity/VxAPI api/callers/submit/api_submit_file.py:
   * `endpoint_auth_level = ApiCaller.CONST_API_AUTH_LEVEL_RESTRICTED`).
   */
  restrictedKey?: boolean;
  /** Largest upload accepted, in bytes. @default 100 MiB */
  maxUploadBytes?: number;
}

/** What a Falcon summary says about a sample. */
export interface FalconThreat {
  verdict: string;
  threatLevel: number;
  threatScore: number | null;
}

interface Job extends ReceivedFile {
  jobId: string;
  submissionId: string;
  environmentId: number;
  runSeconds: number;
  threat: FalconThreat;
  failed: boolean;
}

/** Hybrid Analysis' verdict, threat level and threat score for the test markers. */
export function markerFalconThreat(content: Buffer): FalconThreat {
  return {
    malicious: { verdict: 'malicious', threatLevel: 2, threatScore: 88 },
    suspicious: { verdict: 'suspicious', threatLevel: 1, threatScore: 45 },
    benign: { verdict: 'no specific threat', threatLevel: 0, threatScore: 10 },
  }[markerVerdict(content)];
}

const ENVIRONMENTS = [
  {
    id: 100,
    description: 'Windows 7 32 bit',
    architecture: 'WINDOWS',
    total_virtual_machines: 40,
    busy_virtual_machines: 10,
    analysis_mode: 'KERNELMODE',
    group_icon: 'windows',
  },
  {
    id: 120,
    description: 'Windows 7 64 bit',
    architecture: 'WINDOWS',
    total_virtual_machines: 40,
    busy_virtual_machines: 12,
    analysis_mode: 'KERNELMODE',
    group_icon: 'windows',
  },
  {
    id: 160,
    description: 'Windows 10 64 bit',
    architecture: 'WINDOWS',
    total_virtual_machines: 60,
    busy_virtual_machines: 30,
    analysis_mode: 'KERNELMODE',
    group_icon: 'windows',
  },
  {
    id: 300,
    description: 'Linux (Ubuntu 16.04, 64 bit)',
    architecture: 'LINUX',
    total_virtual_machines: 10,
    busy_virtual_machines: 1,
    analysis_mode: 'USERMODE',
    group_icon: 'linux',
  },
];

const message = (status: number, text: string, headers: Record<string, string> = {}): EmulatorResponse => ({
  status,
  headers,
  body: { message: text },
});

/**
 * Hybrid Analysis / Falcon Sandbox API v2 on loopback: `/api/v2/...`, the `api-key` header,
 * `submit/file` answering 201 with `job_id`, `report/{id}/state` (IN_QUEUE → IN_PROGRESS → SUCCESS,
 * or ERROR), `report/{id}/summary` shaped like the sandboxapi fixture, `{"message": "..."}` errors,
 * and the JSON `Api-Limits` / `Submission-Limits` headers on 429s. Jobs follow the given clock.
 */
export class FalconEmulator extends BaseEmulator<FalconEmulatorOptions> {
  readonly vendor = 'falcon' as const;
  private readonly jobs = new Map<string, Job>();

  constructor(options: FalconEmulatorOptions) {
    super(options, { apiPath: '/api/v2/', credentials: options.apiKey });
  }

  private state(job: Job): 'IN_QUEUE' | 'IN_PROGRESS' | 'SUCCESS' | 'ERROR' {
    const { phase } = this.timeline(job.submittedAt, job.runSeconds);
    if (phase === 'queued') return 'IN_QUEUE';
    if (phase === 'running') return 'IN_PROGRESS';
    if (job.failed) return 'ERROR';
    return phase === 'processing' ? 'IN_PROGRESS' : 'SUCCESS';
  }

  private queued(): number {
    return [...this.jobs.values()].filter((j) => this.state(j) === 'IN_QUEUE').length;
  }

  protected override keyRefused(req: EmulatorRequest): boolean {
    return req.headers['api-key'] !== this.options.apiKey;
  }

  protected override faultAnswer(fault: GatewayFault): EmulatorResponse | undefined {
    if (fault === 'bad-key') return message(403, 'Invalid API key or insufficient permissions');
    if (fault === 'rate-limited') {
      const limits = { limits: { minute: 5, hour: 200 }, used: { minute: 5, hour: 37 }, limit_reached: true };
      return message(429, 'Exceeded maximum API requests per minute(5). Please try again later.', {
        'api-limits': JSON.stringify(limits),
      });
    }
    if (fault === 'server-error')
      return {
        status: 502,
        headers: { 'content-type': 'text/html' },
        body: '<html><head><title>502 Bad Gateway</title></head><body><center><h1>502 Bad Gateway</h1></center></body></html>',
      };
    if (fault === 'malformed') return { body: { message: 'Success' } };
    return undefined;
  }

  protected override async route(req: EmulatorRequest, fault: EmulatorFault): Promise<EmulatorResponse> {
    const path = req.url.pathname.replace(/^\/api\/v2/, '');
    const restricted = this.options.restrictedKey === true;
    if (req.method === 'GET' && path === '/system/heartbeat') {
      if (restricted) return message(403, 'This endpoint requires a key of the default level or above');
      return {
        body: {
          last_update: naiveTime(this.options.clock.now() - 60_000),
          number_of_seconds_since_last_update: 60,
          system_time: naiveTime(this.options.clock.now()),
        },
      };
    }
    if (req.method === 'GET' && path === '/system/version') {
      return {
        body: { instance: '9.3.0-emulator', sandbox: '9.3.0', api: '2.30.0', api_key: { level: restricted ? 1 : 100 } },
      };
    }
    if (req.method === 'GET' && path === '/system/queue-size') return { body: { value: this.queued() } };
    if (req.method === 'GET' && path === '/system/environments') return { body: ENVIRONMENTS };
    if (req.method === 'POST' && path === '/submit/file') return this.submit(req, fault);
    const report = path.match(/^\/report\/([^/]+)\/(state|summary|file\/(pdf|json))$/);
    if (req.method === 'GET' && report) {
      const job = this.jobs.get(decodeURIComponent(report[1] ?? ''));
      if (!job) return message(404, 'Report not found');
      const state = this.state(job);
      if (report[2] === 'state') {
        return state === 'ERROR'
          ? {
              body: {
                state,
                error_type: 'ANALYSIS_ERROR',
                error_origin: 'SANDBOX',
                error: 'The sample could not be executed in the selected environment',
              },
            }
          : { body: { state, error: null } };
      }
      if (state !== 'SUCCESS') return message(404, `Report is not ready (state ${state})`);
      if (report[2] === 'file/pdf')
        return {
          headers: { 'content-type': 'application/pdf' },
          body: Buffer.from(`%PDF-1.4\n% Falcon Sandbox report ${job.jobId}\n%%EOF\n`),
        };
      return { body: this.summary(job) };
    }
    return message(404, 'Not Found');
  }

  private async submit(req: EmulatorRequest, fault: EmulatorFault): Promise<EmulatorResponse> {
    if (fault === 'quota') {
      const limits = {
        total: {
          used: { hour: 200, day: 812, week: 2500, month: 5000 },
          quota: { hour: 200, month: 5000 },
          available: { hour: 0, month: 0 },
          quota_reached: true,
        },
      };
      return message(429, 'Quota limit has been exceeded.', { 'submission-limits': JSON.stringify(limits) });
    }
    if (fault === 'oversize' || req.body.length > (this.options.maxUploadBytes ?? 100 * 1024 * 1024)) {
      return message(413, 'File is too big. The maximum allowed size is 100 MB.');
    }
    if (fault === 'unsupported')
      return message(400, 'Failed to submit: the file type is not supported by any environment');
    const form = await req.form();
    const file = form.get('file');
    if (!(file instanceof File)) return message(400, 'file: This value should not be blank.');
    const environmentId = Number(form.get('environment_id'));
    if (!ENVIRONMENTS.some((e) => e.id === environmentId))
      return message(400, `environment_id: Unknown environment id '${form.get('environment_id') ?? ''}'`);
    const received = await this.receive(file);
    const sequence = this.jobs.size + 1;
    const job: Job = {
      ...received,
      jobId: (0x5f1a2b3c00 + sequence).toString(16).padStart(24, '0'),
      submissionId: (0x6a0b1c2d00 + sequence).toString(16).padStart(24, '0'),
      environmentId,
      runSeconds: Number(form.get('custom_run_time') ?? 0) || (this.options.runSeconds ?? 120),
      threat: markerFalconThreat(received.content),
      failed: fault === 'failed-analysis',
    };
    this.jobs.set(job.jobId, job);
    this.accepted();
    return {
      status: 201,
      body: {
        job_id: job.jobId,
        submission_id: job.submissionId,
        environment_id: String(environmentId),
        sha256: job.sha256,
      },
    };
  }

  /**
   * A report summary with the fields of the sandboxapi fixture (`falcon_report_summary.json`) and of
   * the real one in test/fixtures/vendors/falcon_report_summary_memery.json (`error_type`,
   * `submissions`, `network_mode`, `tags`, `mitre_attcks`, …), its family named in `vx_family`.
   */
  private summary(job: Job) {
    const environment = ENVIRONMENTS.find((e) => e.id === job.environmentId);
    const { verdict, threatLevel, threatScore } = job.threat;
    return {
      environment_id: String(job.environmentId),
      threat_score: threatScore,
      target_url: null,
      total_processes: 3,
      threat_level: threatLevel,
      size: job.size,
      job_id: job.jobId,
      submission_id: job.submissionId,
      vx_family: threatLevel === 2 ? FINDINGS.family : null,
      interesting: threatLevel > 0,
      compromised_hosts: [],
      state: 'SUCCESS',
      certificates: [],
      hosts: threatLevel === 2 ? [FINDINGS.hosts[1]] : [],
      sha256: job.sha256,
      extracted_files: [],
      analysis_start_time: naiveTime(this.timeline(job.submittedAt, job.runSeconds).startedAt),
      imphash: 'Unknown',
      total_network_connections: 0,
      av_detect: threatLevel === 2 ? 61 : 0,
      classification_tags: threatLevel === 2 ? ['trojan'] : [],
      submit_name: job.fileName,
      ssdeep: 'Unknown',
      total_signatures: 4 + threatLevel * 20,
      processes: [],
      url_analysis: false,
      type: 'ASCII text',
      environment_description: environment?.description ?? 'Unknown',
      verdict,
      domains: threatLevel === 2 ? [FINDINGS.hosts[0]] : [],
      type_short: ['script'],
      error_type: null,
      error_origin: null,
      tags: [],
      submissions: [
        {
          submission_id: job.submissionId,
          filename: job.fileName,
          url: null,
          created_at: new Date(job.submittedAt).toISOString().replace(/\.\d{3}Z$/, '+00:00'),
        },
      ],
      network_mode: 'default',
      machine_learning_models: [],
      // `mitre_attcks[]` is in the real summary (empty there: a static-only analysis); `signatures[]`
      // with `threat_level` and `attck_id` as VxAPI's summary documents them: neither the sandboxapi
      // nor the real summary lists signatures, so those field names are an assumption from its docs.
      mitre_attcks:
        threatLevel === 2
          ? FINDINGS.attack.map((id) => ({ tactic: 'Defense Evasion', technique: id, attck_id: id }))
          : [],
      signatures: [
        ...(threatLevel === 2
          ? FINDINGS.signatures.map((name, i) => ({
              threat_level: 2,
              threat_level_human: 'malicious',
              name,
              description: 'Behaviour seen during the run',
              category: 'General',
              attck_id: FINDINGS.attack[i],
            }))
          : []),
        ...Array.from({ length: 50 }, (_, i) => ({
          threat_level: i % 2,
          name: `Signature ${i}`,
          description: 'Behaviour seen during the run',
          category: 'General',
        })),
      ],
    };
  }
}
