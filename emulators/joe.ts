import { BaseEmulator, htmlPage, type ReceivedFile } from './base-emulator';
import { markerVerdict, type EmulatorFault, type EmulatorOptions, type MarkerVerdict } from './emulator';
import { EMULATED_FINDINGS } from './findings';
import type { EmulatorRequest, EmulatorResponse } from './server';

/** What this emulator's malicious report concludes (see {@link EMULATED_FINDINGS}). */
const FINDINGS = EMULATED_FINDINGS.joe;

/** Options of {@link JoeEmulator}. */
export interface JoeEmulatorOptions extends EmulatorOptions {
  /** The key every request must carry in its `apikey` form field. */
  apiKey: string;
  /** Refuse submissions without `accept-tac=1`, as Joe Sandbox Cloud does. @default true */
  requireTermsAcceptance?: boolean;
  /** The server is in maintenance: `server/online` answers `online: false`. */
  offline?: boolean;
}

/** One form field a request carried (file parts are recorded by name only). */
export interface JoeCall {
  endpoint: string;
  fields: Record<string, string | string[]>;
}

/** A `submission/new` that named `chunked-sample`: its sample arrives in chunks before the analysis starts. */
interface ChunkedUpload {
  fileName: string;
  form: FormData;
  fault: EmulatorFault;
  sequence: number;
  chunks: Buffer[];
}

interface Submission extends ReceivedFile {
  submissionId: string;
  webid: string;
  runSeconds: number;
  systems: string[];
  verdict: MarkerVerdict;
  failed: boolean;
}

/** Joe's empiric score (0–100) for each test marker verdict. */
const SCORES: Record<MarkerVerdict, number> = { malicious: 92, suspicious: 48, benign: 3 };
const DETECTIONS: Record<MarkerVerdict, { report: string; api: string }> = {
  malicious: { report: 'MAL', api: 'malicious' },
  suspicious: { report: 'SUS', api: 'suspicious' },
  benign: { report: 'CLEAN', api: 'clean' },
};

/** The HTTP status the emulator answers each Joe error code with (Joe does not document them). */
const CODE_STATUS: Record<number, number> = { 1: 429, 2: 400, 3: 400, 4: 403, 5: 503, 6: 500, 7: 403, 8: 404 };
const joeError = (code: number, message: string): EmulatorResponse => ({
  status: CODE_STATUS[code] ?? 400,
  body: { errors: [{ code, message }] },
});

/**
 * Joe Sandbox API v2 on loopback: `/api/v2/...`, every call a POST with the key in the `apikey` form
 * field, `{"data": ...}` answers and `{"errors": [{code, message}]}` failures (code 1 quota, 2/3
 * parameters, 4 bad key, 5 maintenance, 8 unknown endpoint), `submission/new` with a multipart
 * `sample`, and submissions whose analyses have their own webids (never equal to the submission id).
 * Lifecycle: submitted → running → finished, driven by the given clock; a failed analysis finishes
 * with every run in error ("Unable to run", as in the sandboxapi fixture). Joe documents no rate
 * limit, so `rate-limited` is a front end's plain 429 with Retry-After and no Joe error body, while
 * `quota` is Joe's own error code 1.
 */
export class JoeEmulator extends BaseEmulator<JoeEmulatorOptions> {
  readonly vendor = 'joe' as const;
  /** Every API call with its form fields, for tests that check what was sent. */
  readonly calls: JoeCall[] = [];
  private readonly bySubmission = new Map<string, Submission>();
  private readonly byWebid = new Map<string, Submission>();
  /** Chunked uploads under way, by submission id: the settings of `submission/new`, and the chunks so far. */
  private readonly uploads = new Map<string, ChunkedUpload>();
  /** Submissions made so far: each one's number gives its submission id and webid. */
  private sequence = 0;

  constructor(options: JoeEmulatorOptions) {
    super(options, { apiPath: '/api/', credentials: options.apiKey, options: { acceptTac: true } });
  }

  /** Submissions held now: Joe deletes submissions, and a deleted one no longer counts. */
  override get submissions(): number {
    return this.bySubmission.size;
  }

  private status(submission: Submission): 'submitted' | 'running' | 'finished' {
    const { phase } = this.timeline(submission.submittedAt, submission.runSeconds);
    if (phase === 'queued') return 'submitted';
    return phase === 'reported' ? 'finished' : 'running';
  }

  protected override async handle(req: EmulatorRequest): Promise<EmulatorResponse> {
    const fault = this.takeFault(req);
    if (fault === 'rate-limited') {
      return htmlPage(429, '429 Too Many Requests', { 'retry-after': '30' });
    }
    if (fault === 'server-error') return htmlPage(502, '502 Bad Gateway');
    if (req.method !== 'POST') return joeError(8, 'Unknown endpoint. Every API call is a POST.');
    const form = await req.form();
    const fields: Record<string, string | string[]> = {};
    for (const [name, value] of form.entries()) {
      const text = typeof value === 'string' ? value : `<file ${value.name}>`;
      const previous = fields[name];
      fields[name] = previous === undefined ? text : [...(Array.isArray(previous) ? previous : [previous]), text];
    }
    const endpoint = req.url.pathname.replace(/^\/api\//, '');
    this.calls.push({ endpoint, fields });
    if (form.get('apikey') !== this.options.apiKey || fault === 'bad-key') return joeError(4, 'Invalid API key.');
    if (fault === 'malformed') return { body: { data: null } };
    const answer = await this.routeCall(endpoint, form, fault);
    return this.delivered(answer, fault);
  }

  private async routeCall(endpoint: string, form: FormData, fault: EmulatorFault): Promise<EmulatorResponse> {
    switch (endpoint) {
      case 'v2/server/online':
        return { body: { data: { online: !this.options.offline } } };
      case 'v2/submission/new':
        return this.submit(form, fault);
      case 'v2/submission/chunked-sample':
        return this.chunk(form);
      case 'v2/submission/info': {
        const submission = this.bySubmission.get(String(form.get('submission_id')));
        return submission
          ? { body: { data: this.submissionInfo(submission) } }
          : joeError(3, 'Invalid parameter: submission_id. Unknown submission.');
      }
      case 'v2/submission/delete': {
        const submission = this.bySubmission.get(String(form.get('submission_id')));
        if (!submission) return joeError(3, 'Invalid parameter: submission_id. Unknown submission.');
        this.bySubmission.delete(submission.submissionId);
        this.byWebid.delete(submission.webid);
        return { body: { data: {} } };
      }
      case 'v2/analysis/info': {
        const submission = this.byWebid.get(String(form.get('webid')));
        return submission
          ? { body: { data: this.analysisInfo(submission) } }
          : joeError(3, 'Invalid parameter: webid. Unknown analysis.');
      }
      case 'v2/analysis/download':
        return this.download(String(form.get('webid')), String(form.get('type') ?? 'html'));
      default:
        return joeError(8, 'Unknown endpoint.');
    }
  }

  private async submit(form: FormData, fault: EmulatorFault): Promise<EmulatorResponse> {
    if ((this.options.requireTermsAcceptance ?? true) && form.get('accept-tac') !== '1') {
      return joeError(2, 'Missing parameter: accept-tac. Please accept the terms and conditions.');
    }
    if (fault === 'quota') return joeError(1, 'Quota reached: you have used all analyses of your daily quota.');
    if (fault === 'oversize')
      return joeError(3, 'Invalid parameter: sample. File too large (maximum file size is 100 MB).');
    if (fault === 'unsupported') return joeError(3, 'Invalid parameter: sample. Unsupported file type.');
    // jbxapi's default (submit_sample(..., _chunked_upload=True)): `chunked-sample=<name>` and no sample
    // part; the bytes follow to `submission/chunked-sample`, and the analysis starts with the last chunk.
    const chunked = form.get('chunked-sample');
    if (typeof chunked === 'string' && chunked) {
      const sequence = ++this.sequence;
      const submissionId = String(100000 + sequence);
      this.uploads.set(submissionId, { fileName: chunked, form, fault, sequence, chunks: [] });
      return { body: { data: { submission_id: submissionId } } };
    }
    const sample = form.get('sample');
    if (!(sample instanceof File)) return joeError(2, 'Missing parameter: sample.');
    return { body: { data: { submission_id: this.accept(await this.receive(sample), form, fault).submissionId } } };
  }

  /**
   * One chunk of a chunked upload, as jbxapi `_chunked_upload` sends it: form fields `submission_id`,
   * `file-size`, `chunk-size`, `chunk-count`, `current-chunk-index` (from 1), `current-chunk-size`, and
   * the bytes in a `chunk` part. jbxapi only checks that the answer is not an error.
   */
  private async chunk(form: FormData): Promise<EmulatorResponse> {
    const submissionId = String(form.get('submission_id'));
    const upload = this.uploads.get(submissionId);
    if (!upload) return joeError(3, 'Invalid parameter: submission_id. Unknown submission.');
    const part = form.get('chunk');
    const index = Number(form.get('current-chunk-index'));
    if (!(part instanceof File) || index !== upload.chunks.length + 1)
      return joeError(3, 'Invalid parameter: chunk. Chunks must arrive in order.');
    upload.chunks.push(Buffer.from(await part.arrayBuffer()));
    if (index < Number(form.get('chunk-count'))) return { body: { data: {} } };
    this.uploads.delete(submissionId);
    const file = new File([Buffer.concat(upload.chunks)], upload.fileName);
    this.accept(await this.receive(file), upload.form, upload.fault, upload.sequence);
    return { body: { data: {} } };
  }

  /** Starts the analysis of a received sample with the settings of its `submission/new`. */
  private accept(received: ReceivedFile, form: FormData, fault: EmulatorFault, sequence = ++this.sequence): Submission {
    const systems = form.getAll('systems[]').map(String);
    const submission: Submission = {
      ...received,
      submissionId: String(100000 + sequence),
      webid: String(4_800_000 + sequence * 7),
      runSeconds: Number(form.get('analysis-time') ?? 0) || (this.options.runSeconds ?? 120),
      systems: systems.length ? systems : ['w10x64'],
      verdict: markerVerdict(received.content),
      failed: fault === 'failed-analysis',
    };
    this.bySubmission.set(submission.submissionId, submission);
    this.byWebid.set(submission.webid, submission);
    return submission;
  }

  private runs(submission: Submission) {
    const finished = this.status(submission) === 'finished';
    return submission.systems.map((system) => ({
      system,
      detection: !finished || submission.failed ? 'unknown' : DETECTIONS[submission.verdict].api,
      error: finished && submission.failed ? 'Unable to run' : null,
      yara: false,
      sigma: false,
    }));
  }

  private submissionInfo(submission: Submission) {
    const status = this.status(submission);
    const finished = status === 'finished';
    const detection = finished && !submission.failed ? DETECTIONS[submission.verdict].api : 'unknown';
    const score = finished && !submission.failed ? SCORES[submission.verdict] : 0;
    return {
      submission_id: submission.submissionId,
      name: submission.fileName,
      status,
      time: new Date(submission.submittedAt).toISOString(),
      most_relevant_analysis: finished ? { webid: submission.webid, detection, score } : null,
      analyses: [
        {
          webid: submission.webid,
          time: new Date(submission.submittedAt).toISOString(),
          runs: this.runs(submission),
          tags: [],
          sha256: submission.sha256,
        },
      ],
    };
  }

  /** `analysis/info`, shaped like the sandboxapi fixture. */
  private analysisInfo(submission: Submission) {
    const finished = this.status(submission) === 'finished';
    return {
      webid: submission.webid,
      analysisid: submission.webid,
      status: finished ? 'finished' : this.status(submission),
      detection: finished && !submission.failed ? DETECTIONS[submission.verdict].api : 'unknown',
      score: finished && !submission.failed ? SCORES[submission.verdict] : 0,
      comments: '',
      filename: submission.fileName,
      scriptname: 'default.jbs',
      time: new Date(submission.submittedAt).toISOString(),
      md5: submission.md5,
      sha1: submission.sha1,
      sha256: submission.sha256,
      runs: this.runs(submission),
    };
  }

  private download(webid: string, type: string): EmulatorResponse {
    const submission = this.byWebid.get(webid);
    if (!submission) return joeError(3, 'Invalid parameter: webid. Unknown analysis.');
    if (this.status(submission) !== 'finished')
      return joeError(3, 'Invalid parameter: webid. Analysis is not finished yet.');
    // The file name quoted and followed by `;`: jbxapi (analysis_download, since its API v2 port d73997b) reads it
    // as `header.split("filename=")[1][1:-2]`, dropping one character before the quote and two after the name.
    // Assumption: Joe's exact header is not documented; this is the shape the official client is written for.
    const disposition = (ext: string) => ({ 'content-disposition': `attachment; filename="report-${webid}.${ext}";` });
    // `irjsonfixed` is the report jbxapi's own command line prints (`jbxapi.py`: analysis_download(args.webid,
    // type="irjsonfixed", ...)); the emulator serves the same document for both.
    if (type === 'jsonfixed' || type === 'irjsonfixed')
      return { headers: { 'content-type': 'application/json', ...disposition('json') }, body: this.report(submission) };
    if (type === 'xml') {
      return {
        headers: { 'content-type': 'application/xml', ...disposition('xml') },
        body: `<?xml version="1.0" encoding="UTF-8"?>\n<analysis><id>${webid}</id><signaturedetections><strategy name="empiric"><detection>${DETECTIONS[submission.verdict].report}</detection><score>${SCORES[submission.verdict]}</score></strategy></signaturedetections></analysis>\n`,
      };
    }
    if (type === 'pdf')
      return {
        headers: { 'content-type': 'application/pdf', ...disposition('pdf') },
        body: Buffer.from(`%PDF-1.5\n% Joe Sandbox report ${webid}\n%%EOF\n`),
      };
    return joeError(3, `Invalid parameter: type. Unknown report type '${type}'.`);
  }

  /** A `jsonfixed` report shaped like the sandboxapi fixture (`joe_analysis_download.json`), with body. */
  private report(submission: Submission) {
    const verdict = submission.verdict;
    const score = SCORES[verdict];
    return {
      analysis: {
        id: submission.webid,
        generalinfo: {
          target: { sample: submission.fileName },
          arch: 'WINDOWS',
          system: submission.systems[0],
          analysistime: `${submission.runSeconds}`,
        },
        fileinfo: {
          md5: submission.md5,
          sha1: submission.sha1,
          sha256: submission.sha256,
          filename: submission.fileName,
        },
        signaturedetections: {
          strategy: [
            {
              '@count': verdict === 'malicious' ? '3' : '0',
              '@name': 'atleastonemalicioussig',
              $: String(verdict === 'malicious'),
            },
            {
              malicious: verdict === 'malicious',
              '@name': 'empiric',
              ...(verdict === 'malicious' ? { threatname: FINDINGS.family } : {}),
              unknown: false,
              minScore: 0,
              suspicious: verdict === 'suspicious',
              detection: DETECTIONS[verdict].report,
              score,
              clean: verdict === 'benign',
              maxScore: 100,
            },
          ],
        },
        signatureinfo: {
          sig:
            verdict === 'benign'
              ? []
              : verdict === 'malicious'
                ? FINDINGS.signatures.map((name, i) => ({
                    '@id': String(1000001 + i),
                    '@impact': String(3 - i),
                    $: name,
                  }))
                : [{ '@id': '1000001', '@impact': '2', $: 'Carries a Sandtrap test marker' }],
        },
        // `threatname`, `mitreattack`, `domaininfo` and `ipinfo` as Joe's XML report maps to JSON; the
        // sandboxapi download is trimmed to the score, so these names are an assumption from Joe's docs.
        mitreattack:
          verdict === 'malicious'
            ? {
                tactic: [
                  { '@id': 'TA0003', name: 'Persistence', technique: FINDINGS.attack.map((id) => ({ id, name: id })) },
                ],
              }
            : null,
        domaininfo:
          verdict === 'malicious' ? { domain: [{ '@name': FINDINGS.hosts[0], '@ip': FINDINGS.hosts[1] }] } : null,
        ipinfo: verdict === 'malicious' ? { ip: [{ '@ip': FINDINGS.hosts[1], '@malicious': 'true' }] } : null,
        behavior: {
          system: {
            startupinfo: {
              process: Array.from({ length: 150 }, (_, i) => ({
                '@id': String(i),
                name: `proc${i}.exe`,
                cmdline: `C:\\Windows\\proc${i}.exe`,
              })),
            },
          },
        },
        errorinfo: null,
      },
    };
  }
}
