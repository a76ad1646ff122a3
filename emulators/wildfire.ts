import { BaseEmulator, htmlPage, type ReceivedFile } from './base-emulator';
import { markerVerdict, type EmulatorFault, type EmulatorOptions } from './emulator';
import { EMULATED_FINDINGS } from './findings';
import type { EmulatorRequest, EmulatorResponse } from './server';

/** What this emulator's malicious report concludes (see {@link EMULATED_FINDINGS}). */
const FINDINGS = EMULATED_FINDINGS.wildfire;

/** The `details` of the two summary entries of the captured report (test/fixtures/vendors/wildfire_report_pdf.xml). */
const REAL_DETAILS = [
  'An Action is performed in response to an event. Every triggered behavior in a PDF is ultimately a type of Action. Object key of Actions may be encoded to defeat static analysis.',
  'File may reference external resources through the URL/domain name/IP address. Both benign and malicious samples can have this behavior.',
] as const;

/** Options of {@link WildfireEmulator}. */
export interface WildfireEmulatorOptions extends EmulatorOptions {
  /** The key every request must carry in its `apikey` form field. */
  apiKey: string;
  /** Largest upload accepted, in bytes; bigger ones get HTTP 413. */
  maxSampleSize?: number;
}

interface Sample extends ReceivedFile {
  /** The verdict code once the analysis ends. */
  verdict: number;
  failed: boolean;
}

/** WildFire's verdict code for the test markers: malware, grayware, benign. */
export function markerWildfireVerdict(content: Buffer): number {
  return { malicious: 1, suspicious: 2, benign: 0 }[markerVerdict(content)];
}

const xml = (body: string) => `<?xml version="1.0" encoding="UTF-8"?>${body}`;
const escapeXml = (text: string) =>
  text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
const xmlAnswer = (status: number, body: string, headers: Record<string, string> = {}): EmulatorResponse => ({
  status,
  headers: { 'content-type': 'application/xml', ...headers },
  body: xml(body),
});
/** WildFire's error document, with the quoted message its servers send. */
const errorAnswer = (status: number, message: string) =>
  xmlAnswer(status, `<error><error-message>'${escapeXml(message)}'</error-message></error>`);

const MALWARE_WORD: Record<number, string> = { 0: 'no', 1: 'yes', 2: 'grayware', 4: 'phishing', 5: 'yes' };

/**
 * Palo Alto Networks WildFire's public API on loopback (`/publicapi/...`): form POSTs with the key in
 * `apikey`, XML answers, the documented status codes (401, 404, 405, 413, 418, 419) and verdict codes
 * (−100 while the analysis runs, −101 when it fails). Samples are known by SHA-256; their lifecycle
 * (upload → queue → run → processing → verdict and report) follows the given clock.
 *
 * WildFire has no request-rate status: volume is refused with 419 "Quota Exceeded" (the daily
 * quota), never 429, so `rate-limited` is not one of its faults (ABSENT_FAULTS). Reports in PDF come
 * as `application/octet-stream` with a Content-Disposition file name, which the official client
 * pan-python expects (lib/pan/wfapi.py, `if content_type == 'application/octet-stream': return
 * self.__set_stream_response(...)`; any other type it does not handle is "no handler for content-type").
 */
export class WildfireEmulator extends BaseEmulator<WildfireEmulatorOptions> {
  readonly vendor = 'wildfire' as const;
  private readonly samples = new Map<string, Sample>();

  constructor(options: WildfireEmulatorOptions) {
    super(options, { apiPath: '/publicapi/', credentials: options.apiKey });
  }

  /** The verdict code a sample has at the current time: −100 until its report is written. */
  private verdictOf(sample: Sample): number {
    if (this.timeline(sample.submittedAt).phase !== 'reported') return -100;
    return sample.failed ? -101 : sample.verdict;
  }

  protected override async handle(req: EmulatorRequest): Promise<EmulatorResponse> {
    const fault = this.takeFault(req);
    // Every resource but /test/pe is POST; WildFire answers anything else with 405.
    if (req.method !== 'POST') return errorAnswer(405, 'Method Not Allowed');
    const form = await req.form();
    if (fault === 'bad-key' || form.get('apikey') !== this.options.apiKey) return errorAnswer(401, 'Invalid API key');
    if (fault === 'quota') return errorAnswer(419, 'Quota Exceeded');
    if (fault === 'server-error') return htmlPage(500, '500 Internal Server Error');
    if (fault === 'malformed') return xmlAnswer(200, '<wildfire><upload-file-info><sha256>');
    const answer = await this.routeCall(req.url.pathname, form, fault);
    return this.delivered(answer, fault);
  }

  private async routeCall(path: string, form: FormData, fault: EmulatorFault): Promise<EmulatorResponse> {
    if (path === '/publicapi/submit/file') {
      const file = form.get('file');
      if (!(file instanceof File)) return errorAnswer(420, 'Missing required file');
      return this.upload(file, fault);
    }
    const hash = String(form.get('hash') ?? '').toLowerCase();
    if (path === '/publicapi/get/verdict') {
      if (!/^[0-9a-f]{32}$|^[0-9a-f]{64}$/.test(hash)) return errorAnswer(421, 'Invalid hash');
      const sample = [...this.samples.values()].find((s) => s.sha256 === hash || s.md5 === hash);
      const verdict = sample ? this.verdictOf(sample) : -102;
      return xmlAnswer(
        200,
        `<wildfire><get-verdict-info><sha256>${sample?.sha256 ?? hash}</sha256><md5>${sample?.md5 ?? ''}</md5><verdict>${verdict}</verdict></get-verdict-info></wildfire>`,
      );
    }
    if (path === '/publicapi/get/report') {
      const sample = this.samples.get(hash);
      if (!sample || this.verdictOf(sample) < 0) return errorAnswer(404, 'Not Found');
      if (form.get('format') === 'pdf') {
        return {
          headers: {
            'content-type': 'application/octet-stream',
            'content-disposition': `attachment; filename=${sample.sha256}.pdf`,
          },
          body: Buffer.from(`%PDF-1.4\n% WildFire report ${sample.sha256}\n%%EOF\n`),
        };
      }
      return xmlAnswer(200, this.reportXml(sample));
    }
    return errorAnswer(404, 'Not Found');
  }

  private async upload(file: File, fault: EmulatorFault): Promise<EmulatorResponse> {
    if (fault === 'unsupported') return errorAnswer(418, 'Unsupported File Type');
    if (fault === 'oversize' || file.size > (this.options.maxSampleSize ?? 100 * 1024 * 1024))
      return errorAnswer(413, 'Request Entity Too Large');
    const received = await this.receive(file);
    this.accepted();
    // WildFire knows a sample once: uploading it again returns the same record and keeps its verdict.
    const sample: Sample = this.samples.get(received.sha256) ?? {
      ...received,
      verdict: markerWildfireVerdict(received.content),
      failed: fault === 'failed-analysis',
    };
    this.samples.set(sample.sha256, sample);
    return xmlAnswer(
      200,
      `<wildfire><upload-file-info><url></url><filetype>PE32 executable</filetype><filename>${escapeXml(sample.fileName)}</filename>` +
        `<sha256>${sample.sha256}</sha256><md5>${sample.md5}</md5><size>${sample.size}</size></upload-file-info></wildfire>`,
    );
  }

  private reportXml(sample: Sample): string {
    const malware = MALWARE_WORD[sample.verdict] ?? 'no';
    // Summary entries as a real report writes them (test/fixtures/vendors/wildfire_report_pdf.xml):
    // the behaviour as text, with `score`, `id` and `details` attributes. The malware verdict's two are
    // that report's own, as captured.
    const behaviours: { name: string; id: number; score: string; details: string }[] =
      sample.verdict === 0
        ? []
        : sample.verdict === 1
          ? [
              { name: FINDINGS.signatures[0]!, id: 394, score: '0.0', details: REAL_DETAILS[0] },
              { name: FINDINGS.signatures[1]!, id: 8016, score: '0.0', details: REAL_DETAILS[1] },
              {
                name: 'Connected to an unknown domain',
                id: 3002,
                score: '0.7',
                details: 'Connected to an unknown domain',
              },
            ]
          : [
              'Created an executable file in a user folder',
              'Modified the Windows registry',
              'Connected to an unknown domain',
            ].map((name, i) => ({ name, id: 3000 + i, score: `0.${9 - i}`, details: name }));
    // `network` children (`dns@query`, `TCP@ip`) as WildFire's report XML documents them; no captured
    // WildFire report confirms them (sandboxapi has none), so the names are an assumption from its docs.
    const network =
      sample.verdict === 1
        ? `<network><TCP ip="${FINDINGS.hosts[1]}" port="8080" country="US"/><dns query="${FINDINGS.hosts[0]}" response="${FINDINGS.hosts[1]}" type="A"/></network>`
        : '<network/>';
    // Padding makes the report bigger than one chunk, as real reports are.
    const timeline = Array.from(
      { length: 200 },
      (_, i) =>
        `<entry seq="${i + 1}">Created file C:\\Users\\Administrator\\AppData\\Local\\Temp\\tmp${i}.dat</entry>`,
    ).join('');
    const summary = behaviours
      .map(
        (b) => `<entry score="${b.score}" id="${b.id}" details="${escapeXml(b.details)}">${escapeXml(b.name)}</entry>`,
      )
      .join('');
    const task = (platform: number, software: string) =>
      `<report><version>3.0</version><platform>${platform}</platform><software>${software}</software><sha256>${sample.sha256}</sha256><md5>${sample.md5}</md5>` +
      `<malware>${malware}</malware><summary>${summary}</summary>${network}<timeline>${timeline}</timeline></report>`;
    return (
      `<wildfire><version>2.0</version><file_info><file_signer>None</file_signer><malware>${malware}</malware><sha1>${sample.sha1}</sha1>` +
      `<filetype>PE32 executable</filetype><sha256>${sample.sha256}</sha256><md5>${sample.md5}</md5><size>${sample.size}</size></file_info>` +
      `<task_info>${task(100, 'Windows 10 x64, Adobe Reader 11, Office 2016')}${task(60, 'Windows 7 x64 SP1, Office 2013')}</task_info></wildfire>`
    );
  }
}
