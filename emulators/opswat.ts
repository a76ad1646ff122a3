import { randomBytes, randomUUID } from 'node:crypto';
import { BaseEmulator, brokenJson, type GatewayFault, htmlPage, type ReceivedFile } from './base-emulator';
import { markerVerdict, type EmulatorFault, type EmulatorOptions } from './emulator';
import { EMULATED_FINDINGS } from './findings';
import type { EmulatorRequest, EmulatorResponse } from './server';

/** What this emulator's malicious report concludes (see {@link EMULATED_FINDINGS}). */
const FINDINGS = EMULATED_FINDINGS.opswat;

/** Two signal groups of the real malicious report (test/fixtures/sandboxapi/opswat_submissions_result_malicious.json). */
const REAL_GROUPS = [
  {
    identifier: 'BIN001',
    technique: { ID: 'T1027.002', relatedTactic: { ID: 'TA0005', name: 'Defense Evasion' }, name: 'Software Packing' },
  },
  {
    identifier: 'H062',
    technique: {
      ID: 'T1059',
      relatedTactic: { ID: 'TA0002', name: 'Execution' },
      name: 'Command and Scripting Interpreter',
    },
  },
] as const;

/** Options of {@link OpswatEmulator}. */
export interface OpswatEmulatorOptions extends EmulatorOptions {
  /** The key every request must carry in `X-Api-Key`. */
  apiKey: string;
  /** Largest upload accepted, in bytes; bigger ones get HTTP 413. */
  maxSampleSize?: number;
  /** Seconds the reports tell clients to wait between polls. @default 5 */
  pollPause?: number;
}

interface Flow extends ReceivedFile {
  flowId: string;
  reportId: string;
  taskId: string;
  isPrivate: boolean;
  verdict: { verdict: string; threatLevel: number };
  failed: boolean;
}

/** The final verdict for the test markers, with the pre-2.5.0 names sandboxapi's fixtures carry. */
export function markerOpswatVerdict(content: Buffer): { verdict: string; threatLevel: number } {
  return {
    malicious: { verdict: 'MALICIOUS', threatLevel: 1 },
    suspicious: { verdict: 'SUSPICIOUS', threatLevel: 0.5 },
    benign: { verdict: 'BENIGN', threatLevel: -1 },
  }[markerVerdict(content)];
}

const detail = (status: number, text: string, headers: Record<string, string> = {}): EmulatorResponse => ({
  status,
  headers,
  body: { detail: text },
});

/** Per-report sections the `general` filter stands for. */
const GENERAL = [
  'file',
  'created_date',
  'filesDownloadFinished',
  'additionalStepsRunning',
  'additionalStepsDone',
  'defaultOptionsUsed',
  'scanOptions',
];

/**
 * OPSWAT MetaDefender Sandbox (Filescan) on loopback (`/api/...`): `X-Api-Key` auth, FastAPI-style
 * `{"detail": ...}` errors, `POST /api/scan/file` answering a `flow_id`, and `GET
 * /api/scan/{flow_id}/report` honouring `filter` parameters, with `allFinished`, `pollPause` and
 * per-file `finalVerdict` / `overallState` moving from in_progress to success (or failed) on the given
 * clock, shaped like sandboxapi's fixtures.
 *
 * Quota, size and file-type errors are not documented; the emulator answers 429 "Daily scan quota
 * exceeded" (no Retry-After), 413 "File too large" and 400 "Unsupported file type". Throttling is
 * 429 with Retry-After.
 */
export class OpswatEmulator extends BaseEmulator<OpswatEmulatorOptions> {
  readonly vendor = 'opswat' as const;
  private readonly flows = new Map<string, Flow>();

  constructor(options: OpswatEmulatorOptions) {
    super(options, { apiPath: '/api/', credentials: options.apiKey });
  }

  /** Whether a flow was submitted as private. */
  isPrivate(flowId: string): boolean | undefined {
    return this.flows.get(flowId)?.isPrivate;
  }

  private state(flow: Flow): 'in_progress' | 'success' | 'failed' {
    if (this.timeline(flow.submittedAt).phase !== 'reported') return 'in_progress';
    return flow.failed ? 'failed' : 'success';
  }

  protected override keyRefused(req: EmulatorRequest): boolean {
    return req.headers['x-api-key'] !== this.options.apiKey;
  }

  protected override faultAnswer(fault: GatewayFault): EmulatorResponse | undefined {
    if (fault === 'bad-key') return detail(401, 'Invalid API key');
    if (fault === 'rate-limited') return detail(429, 'Too many requests', { 'retry-after': '15' });
    if (fault === 'quota') return detail(429, 'Daily scan quota exceeded');
    if (fault === 'server-error') return htmlPage(502, '502 Bad Gateway');
    if (fault === 'malformed') return brokenJson('{"flowId": "65');
    return undefined;
  }

  protected override async route(req: EmulatorRequest, fault: EmulatorFault): Promise<EmulatorResponse> {
    const path = req.url.pathname;
    if (req.method === 'GET' && path === '/api/users/me')
      return { body: { accountId: 'acc-6531567f', email: 'analyst@example.org', role: 'user' } };
    if (req.method === 'POST' && path === '/api/scan/file') return this.submit(req, fault);
    const report = path.match(/^\/api\/scan\/([0-9a-f]{24})\/report$/);
    if (req.method === 'GET' && report) {
      const flow = this.flows.get(report[1]!);
      if (!flow) return detail(404, 'Not Found');
      return { body: this.report(flow, req.url.searchParams.getAll('filter')) };
    }
    return detail(404, 'Not Found');
  }

  private async submit(req: EmulatorRequest, fault: EmulatorFault): Promise<EmulatorResponse> {
    const form = await req.form();
    const file = form.get('file');
    if (!(file instanceof File))
      return {
        status: 422,
        body: { detail: [{ loc: ['body', 'file'], msg: 'field required', type: 'value_error.missing' }] },
      };
    if (fault === 'unsupported') return detail(400, 'Unsupported file type');
    if (fault === 'oversize' || file.size > (this.options.maxSampleSize ?? 100 * 1024 * 1024))
      return detail(413, 'File too large');
    const received = await this.receive(file);
    const flow: Flow = {
      ...received,
      flowId: randomBytes(12).toString('hex'),
      reportId: randomUUID(),
      taskId: randomUUID(),
      isPrivate: form.get('is_private') === 'true',
      verdict: markerOpswatVerdict(received.content),
      failed: fault === 'failed-analysis',
    };
    this.flows.set(flow.flowId, flow);
    this.accepted();
    return { body: { flow_id: flow.flowId, priority: { applied: 100, max_possible: 100 } } };
  }

  private report(flow: Flow, filters: string[]) {
    const state = this.state(flow);
    const finished = state !== 'in_progress';
    const verdict = state === 'success' ? flow.verdict : { verdict: 'UNKNOWN', threatLevel: 0 };
    const signals = flow.verdict.threatLevel > 0 && state === 'success';
    const malicious = signals && flow.verdict.verdict === 'MALICIOUS';
    // The family as the real malicious report names it: an OSINT_LOOKUP tag in `allTags` and `allOsintTags`.
    const osint = [
      {
        source: 'OSINT_LOOKUP',
        sourceIdentifier: flow.sha256,
        tag: {
          name: FINDINGS.family,
          synonyms: ['geodo'],
          descriptions: [],
          verdict: { verdict: 'LIKELY_MALICIOUS', threatLevel: 0.75, confidence: 1 },
        },
      },
    ];
    const sections: Record<string, unknown> = {
      finalVerdict: { ...verdict, confidence: 1 },
      allTags: [...(signals ? [{ source: 'SIGNAL', tag: { name: 'evasive' } }] : []), ...(malicious ? osint : [])],
      overallState: state,
      taskReference: {
        name: 'transform-file',
        ID: flow.taskId,
        state: { in_progress: 'IN_PROGRESS', success: 'SUCCESS', failed: 'FAILED' }[state],
        opcount: finished ? 1 : 0,
        processTime: finished ? 9041 : 0,
        additionalInfo: {
          submitName: flow.fileName,
          submitTime: flow.submittedAt,
          digests: { 'SHA-256': flow.sha256 },
        },
      },
      subtaskReferences: [],
      // Padding makes the finished report bigger than one chunk, as real reports are.
      allSignalGroups: signals
        ? Array.from({ length: 60 }, (_, i) => ({
            // The first two groups are the real malicious report's BIN001 and H062, with their ATT&CK
            // techniques as it lists them (`allMitreTechniques[]` with `ID`, `relatedTactic`, `name`).
            identifier: (malicious && REAL_GROUPS[i]?.identifier) || `S${i}`,
            description: (malicious && FINDINGS.signatures[i]) || 'Matched a test signal',
            allMitreTechniques: malicious && REAL_GROUPS[i] ? [REAL_GROUPS[i].technique] : [],
            averageSignalStrength: 0.7,
            peakSignalStrength: 0.9,
            finalSignalStrength: 0.8,
            verdict: { verdict: flow.verdict.verdict, threatLevel: flow.verdict.threatLevel, confidence: 1 },
            allTags: [],
            signals: [
              {
                strength: 0.8,
                isStrictlyBasedOnInputData: true,
                signalReadable: `Found SANDTRAP-TEST marker ${i}`,
                additionalInfo: flow.fileName,
              },
            ],
          }))
        : [],
      // Domain IOCs as the real malicious report (`opswat_submissions_result_malicious.json`) lists them.
      allOsintTags: malicious ? osint : [],
      iocs: malicious
        ? {
            domain: [
              {
                data: FINDINGS.hosts[0],
                origins: [{ type: 'INPUT_FILE', identifier: flow.sha256 }],
                isInteresting: true,
              },
            ],
          }
        : {},
      file: { name: flow.fileName, hash: flow.sha256, type: 'pe' },
      created_date: new Date(flow.submittedAt).toISOString(),
      filesDownloadFinished: finished,
      additionalStepsRunning: finished ? [] : ['similarity_search'],
      additionalStepsDone: finished,
      defaultOptionsUsed: true,
      scanOptions: { rapid_mode: null, osint: true, extended_osint: true, visualization: true, files_download: true },
    };
    const wanted = filters.length ? new Set(filters.flatMap((f) => (f === 'general' ? GENERAL : [f]))) : undefined;
    const entry = Object.fromEntries(Object.entries(sections).filter(([name]) => !wanted || wanted.has(name)));
    return {
      flowId: flow.flowId,
      allFinished: finished,
      allFilesDownloadFinished: finished,
      allAdditionalStepsDone: finished,
      reportsAmount: 1,
      priority: 'max',
      pollPause: this.options.pollPause ?? 5,
      fileSize: flow.size,
      fileReadProgressBytes: flow.size,
      reports: { [flow.reportId]: entry },
    };
  }
}
