import { randomBytes } from 'node:crypto';
import { BaseEmulator, brokenJson, type GatewayFault, htmlPage, type ReceivedFile } from './base-emulator';
import { markerVerdict, type EmulatorFault, type EmulatorOptions } from './emulator';
import { EMULATED_FINDINGS } from './findings';
import type { EmulatorRequest, EmulatorResponse } from './server';

/** What this emulator's malicious report concludes (see {@link EMULATED_FINDINGS}). */
const FINDINGS = EMULATED_FINDINGS.triage;

/** Options of {@link TriageEmulator}. */
export interface TriageEmulatorOptions extends EmulatorOptions {
  /** The API key every request must carry as `Authorization: Bearer …`. */
  apiKey: string;
  /** Largest upload accepted, in bytes; bigger ones get HTTP 413. */
  maxSampleSize?: number;
}

interface Sample extends ReceivedFile {
  id: string;
  runSeconds: number;
  /** Triage score 1–10 once reported. */
  score: number;
  failed: boolean;
}

/** Triage's score (1–10) for the test markers: known family 10, suspicious 6, nothing found 1. */
export function markerTriageScore(content: Buffer): number {
  return { malicious: 10, suspicious: 6, benign: 1 }[markerVerdict(content)];
}

const error = (
  status: number,
  code: string,
  message: string,
  headers: Record<string, string> = {},
): EmulatorResponse => ({
  status,
  headers,
  body: { error: code, message },
});

/**
 * Signatures of the real nemty report (test/fixtures/sandboxapi/triage_behavioral1.json) as captured:
 * `label`, `name`, `score`, `ttp`, `tags`, `desc`.
 */
const REAL_SIGNATURES = [
  {
    label: 'nemty',
    name: FINDINGS.signatures[0]!,
    score: 10,
    tags: ['ransomware', `family:${FINDINGS.family}`],
    desc: 'Ransomware discovered in late 2019 which has been actively developed/updated over time.',
  },
  {
    label: 'deletes_shadows',
    name: FINDINGS.signatures[1]!,
    score: 9,
    ttp: ['T1107', 'T1490'],
    tags: ['ransomware'],
    desc: 'Ransomware often targets backup files to inhibit system recovery.',
  },
  {
    label: 'schtasks_persist',
    name: 'Creates scheduled task(s)',
    ttp: ['T1053'],
    tags: ['persistence'],
    desc: 'Schtasks is often used by malware for persistence or to perform post-infection execution.',
  },
  {
    label: 'external_ip_lookup',
    name: 'Looks up external IP address via web service',
    score: 6,
    desc: "Uses a legitimate IP lookup service to find the infected system's external IP.",
  },
];

/** What a suspicious sample's overview lists. */
const TEST_SIGNATURE = { name: 'Creates scheduled task(s)', ttp: ['T1053'], tags: ['persistence'], score: 6 };

const BEHAVIOURAL = [
  { name: 'behavioral1', resource: 'win10v2004-20260401-en', platform: 'windows10-2004_x64' },
  { name: 'behavioral2', resource: 'win7-20260401-en', platform: 'windows7_x64' },
];

/**
 * Hatching Triage / Recorded Future Sandbox API v0 on loopback (`/api/v0/...`): Bearer keys,
 * `{"error": CODE, "message"}` errors, multipart submissions with a `_json` part, samples with a
 * static task and two behavioural tasks moving through pending → static_analysis → scheduled →
 * running → processing → reported (or failed) on the given clock, and summaries and task reports
 * shaped like sandboxapi's fixtures.
 *
 * Triage documents no quota, throttling, size or file-type errors; the emulator answers them with
 * codes of its own in Triage's style: 429 `RATE_LIMITED` with Retry-After, 403 `QUOTA_EXCEEDED`,
 * 413 `BAD_REQUEST` "sample exceeds the maximum file size", 400 `INVALID` "unsupported file type".
 */
export class TriageEmulator extends BaseEmulator<TriageEmulatorOptions> {
  readonly vendor = 'triage' as const;
  private readonly samples = new Map<string, Sample>();
  /** The `_json` part of every accepted submission, parsed. */
  readonly receivedRequests: Record<string, unknown>[] = [];

  constructor(options: TriageEmulatorOptions) {
    super(options, { apiPath: '/api/v0/', credentials: options.apiKey });
  }

  /** Samples held now: Triage deletes samples, and a deleted one no longer counts. */
  override get submissions(): number {
    return this.samples.size;
  }

  /** The sample's status and that of a behavioural task at the current time. */
  private states(sample: Sample): { sample: string; static: string; behavioural: string } {
    const { phase, startedAt } = this.timeline(sample.submittedAt, sample.runSeconds);
    // Static analysis takes the first half of the wait for a machine.
    if (phase === 'queued' && this.options.clock.now() < (sample.submittedAt + startedAt) / 2)
      return { sample: 'static_analysis', static: 'running', behavioural: 'pending' };
    if (phase === 'queued') return { sample: 'scheduled', static: 'reported', behavioural: 'scheduled' };
    if (phase === 'running') return { sample: 'running', static: 'reported', behavioural: 'running' };
    if (sample.failed) return { sample: 'failed', static: 'reported', behavioural: 'failed' };
    return { sample: phase, static: 'reported', behavioural: phase };
  }

  protected override keyRefused(req: EmulatorRequest): boolean {
    return req.headers.authorization !== `Bearer ${this.options.apiKey}`;
  }

  protected override faultAnswer(fault: GatewayFault): EmulatorResponse | undefined {
    if (fault === 'bad-key') return error(401, 'UNAUTHORIZED', 'invalid or missing API key');
    if (fault === 'rate-limited') return error(429, 'RATE_LIMITED', 'too many requests', { 'retry-after': '20' });
    if (fault === 'server-error') return htmlPage(500, '500 Internal Server Error');
    if (fault === 'malformed') return brokenJson('{"id": "2611');
    return undefined;
  }

  protected override async route(req: EmulatorRequest, fault: EmulatorFault): Promise<EmulatorResponse> {
    const path = req.url.pathname;
    if (path === '/api/v0/samples' && req.method === 'GET') {
      const page = [...this.samples.values()]
        .slice(0, Number(req.url.searchParams.get('limit') ?? 20))
        .map((s) => this.view(s));
      // An empty page is `null`, as Go encodes a nil slice; the official client reads
      // `resp['data'] or []` (hatching/triage python/triage/pagination.py).
      return { body: { data: page.length ? page : null, next: null } };
    }
    if (path === '/api/v0/samples' && req.method === 'POST') return this.submit(req, fault);
    // The overview lives under API v1, as the official clients ask for it (GET /v1/samples/{id}/overview.json).
    const overview = path.match(/^\/api\/v1\/samples\/([^/]+)\/overview\.json$/);
    if (overview) {
      const sample = this.samples.get(overview[1]!);
      if (!sample) return error(404, 'NOT_FOUND', 'sample not found');
      if (req.method !== 'GET') return error(405, 'METHOD_NOT_ALLOWED', 'method not allowed');
      if (this.states(sample).sample !== 'reported')
        return error(404, 'REPORT_NOT_AVAILABLE', 'the report is not available yet');
      return { body: this.overview(sample) };
    }
    const match = path.match(/^\/api\/v0\/samples\/([^/]+)(?:\/(status|summary|[a-z]+\d+\/report_triage\.json))?$/);
    const sample = match ? this.samples.get(match[1]!) : undefined;
    if (!match || !sample) return error(404, 'NOT_FOUND', 'sample not found');
    if (!match[2] && req.method === 'DELETE') {
      this.samples.delete(sample.id);
      return { body: {} };
    }
    if (req.method !== 'GET') return error(405, 'METHOD_NOT_ALLOWED', 'method not allowed');
    if (!match[2]) return { body: this.view(sample) };
    // The short status document sandboxapi polls (fixture triage_check.json).
    if (match[2] === 'status') return { body: { sample: sample.id, status: this.states(sample).sample } };
    if (match[2] === 'summary') return { body: this.summary(sample) };
    const task = match[2].split('/')[0]!;
    const platform = BEHAVIOURAL.find((t) => t.name === task);
    if (!platform) return error(404, 'NOT_FOUND', 'task not found');
    if (this.states(sample).behavioural !== 'reported')
      return error(404, 'REPORT_NOT_AVAILABLE', 'the report is not available yet');
    return { body: this.taskReport(sample, platform) };
  }

  private async submit(req: EmulatorRequest, fault: EmulatorFault): Promise<EmulatorResponse> {
    const form = await req.form();
    const file = form.get('file');
    let request: { kind?: string; defaults?: { timeout?: number } };
    try {
      request = JSON.parse(String(form.get('_json') ?? '{}'));
    } catch {
      return error(400, 'INVALID', '_json is not valid JSON');
    }
    if (!(file instanceof File) || request.kind !== 'file')
      return error(400, 'BAD_REQUEST', 'a file submission needs kind "file" and a file part');
    if (fault === 'quota') return error(403, 'QUOTA_EXCEEDED', 'monthly submission quota exceeded');
    if (fault === 'unsupported') return error(400, 'INVALID', 'unsupported file type');
    if (fault === 'oversize' || file.size > (this.options.maxSampleSize ?? 200 * 1024 * 1024))
      return error(413, 'BAD_REQUEST', 'sample exceeds the maximum file size');
    this.receivedRequests.push(request);
    const now = this.options.clock.now();
    const received = await this.receive(file);
    const day = new Date(now).toISOString().slice(2, 10).replace(/-/g, '');
    const sample: Sample = {
      id: `${day}-${randomBytes(8)
        .toString('base64url')
        .toLowerCase()
        .replace(/[^a-z0-9]/g, '0')
        .slice(0, 10)}`,
      ...received,
      runSeconds: request.defaults?.timeout ?? this.options.runSeconds ?? 120,
      score: markerTriageScore(received.content),
      failed: fault === 'failed-analysis',
    };
    this.samples.set(sample.id, sample);
    return {
      body: {
        id: sample.id,
        status: 'pending',
        kind: 'file',
        filename: sample.fileName,
        private: true,
        submitted: new Date(now).toISOString().replace(/\.\d{3}Z$/, 'Z'),
      },
    };
  }

  private view(sample: Sample) {
    const states = this.states(sample);
    return {
      id: sample.id,
      status: states.sample,
      kind: 'file',
      filename: sample.fileName,
      private: true,
      tasks: [
        { id: 'static1', status: states.static },
        ...BEHAVIOURAL.map((t) => ({ id: t.name, status: states.behavioural, target: sample.fileName })),
      ],
      submitted: new Date(sample.submittedAt).toISOString(),
      ...(states.sample === 'reported' ? { completed: new Date(this.options.clock.now()).toISOString() } : {}),
    };
  }

  private tags(sample: Sample): string[] {
    return sample.score >= 10
      ? [`family:${FINDINGS.family}`, 'ransomware', 'persistence']
      : sample.score >= 5
        ? ['persistence']
        : [];
  }

  private summary(sample: Sample) {
    const states = this.states(sample);
    const reported = states.sample === 'reported';
    return {
      sample: sample.id,
      status: states.sample,
      owner: 'emulator.tria.ge',
      target: sample.sha256,
      created: new Date(sample.submittedAt).toISOString(),
      ...(reported ? { completed: new Date(this.options.clock.now()).toISOString(), score: sample.score } : {}),
      sha256: sample.sha256,
      tasks: {
        [`${sample.id}-static1`]: { kind: 'static', status: states.static },
        ...Object.fromEntries(
          BEHAVIOURAL.map((t, i) => [
            `${sample.id}-${t.name}`,
            {
              kind: 'behavioral',
              status: states.behavioural,
              tags: this.tags(sample),
              // `ttp` per task as Triage's `TaskSummary` documents it (the sandboxapi summary has none).
              ...(reported && sample.score >= 10 ? { ttp: [...FINDINGS.attack] } : {}),
              ...(reported ? { score: sample.score } : {}),
              target: `${sample.sha256}.exe`,
              backend: 'horse2',
              resource: t.resource,
              platform: t.platform,
              queue_id: 1_000_000 + i,
            },
          ]),
        ),
      },
    };
  }

  /**
   * `overview.json` in the shape of `types.OverviewReport` (hatching/triage types/types.go): `sample`,
   * `tasks` (a `TaskSummary` each), `analysis` (`score`, `family`, `tags`), `targets` (with their
   * signatures and `iocs`), `signatures`, `extracted`. A known family's signatures, ATT&CK ids and
   * domains are those of the real nemty report (test/fixtures/sandboxapi/triage_behavioral1.json).
   */
  private overview(sample: Sample) {
    const known = sample.score >= 10;
    const signatures = known ? REAL_SIGNATURES : sample.score >= 5 ? [TEST_SIGNATURE] : [];
    const hashes = { size: sample.size, md5: sample.md5, sha1: sample.sha1, sha256: sample.sha256 };
    const iocs = known ? { domains: [...FINDINGS.hosts] } : undefined;
    const tasks = [`${sample.id}-static1`, ...BEHAVIOURAL.map((t) => `${sample.id}-${t.name}`)];
    return {
      version: '0.3.0',
      sample: {
        id: sample.id,
        target: sample.fileName,
        ...hashes,
        score: sample.score,
        created: new Date(sample.submittedAt).toISOString(),
        completed: new Date(this.options.clock.now()).toISOString(),
        ...(iocs ? { iocs } : {}),
      },
      tasks: [
        { sample: tasks[0], kind: 'static', name: 'static1', status: 'reported', score: sample.score },
        ...BEHAVIOURAL.map((t, i) => ({
          sample: tasks[i + 1],
          kind: 'behavioral',
          name: t.name,
          status: 'reported',
          ...(known ? { ttp: [...FINDINGS.attack] } : {}),
          tags: this.tags(sample),
          score: sample.score,
          target: `${sample.sha256}.exe`,
          backend: 'horse2',
          resource: t.resource,
          platform: t.platform,
          task_name: t.name,
          sigs: signatures.length,
        })),
      ],
      analysis: {
        score: sample.score,
        ...(known ? { family: [FINDINGS.family!] } : {}),
        tags: this.tags(sample),
      },
      targets: [
        {
          tasks,
          target: sample.fileName,
          ...hashes,
          score: sample.score,
          tags: this.tags(sample),
          ...(known ? { family: [FINDINGS.family!] } : {}),
          signatures,
          ...(iocs ? { iocs } : {}),
        },
      ],
      signatures,
      extracted: [],
    };
  }

  private taskReport(sample: Sample, task: (typeof BEHAVIOURAL)[number]) {
    const hashes = { size: sample.size, md5: sample.md5, sha1: sample.sha1, sha256: sample.sha256 };
    return {
      version: '0.2.1',
      sample: {
        id: sample.id,
        score: sample.score,
        submitted: new Date(sample.submittedAt).toISOString(),
        target: sample.sha256,
        ...hashes,
      },
      task: { target: `${sample.sha256}.exe`, ...hashes },
      analysis: {
        score: sample.score,
        tags: this.tags(sample),
        ttp: sample.score >= 5 ? ['T1053'] : [],
        features: ['analog'],
        submitted: new Date(sample.submittedAt).toISOString(),
        reported: new Date(this.options.clock.now()).toISOString(),
        backend: 'horse2',
        resource: task.resource,
        platform: task.platform,
      },
      // Padding makes the report bigger than one chunk, as real reports are.
      processes: Array.from({ length: 150 }, (_, i) => ({
        procid: i + 10,
        procid_parent: i + 9,
        pid: 1000 + i,
        ppid: 999 + i,
        cmd: `"C:\\Users\\Admin\\AppData\\Local\\Temp\\${sample.fileName}" /step ${i}`,
        image: `C:\\Users\\Admin\\AppData\\Local\\Temp\\${sample.fileName}`,
        orig: i === 0,
        started: i * 100,
      })),
      signatures:
        sample.score >= 5
          ? [
              {
                label: 'schtasks_persist',
                name: 'Creates scheduled task(s)',
                ttp: ['T1053'],
                tags: ['persistence'],
                score: sample.score,
              },
            ]
          : [],
      network: { flows: [] },
      dumped: [],
      extracted: [],
    };
  }
}
