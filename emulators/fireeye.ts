import { randomBytes, randomUUID } from 'node:crypto';
import { BaseEmulator, brokenJson, type ReceivedFile } from './base-emulator';
import { markerVerdict, type EmulatorFault, type EmulatorOptions, type MarkerVerdict } from './emulator';
import { EMULATED_FINDINGS } from './findings';
import type { EmulatorRequest, EmulatorResponse } from './server';

/** What this emulator's malicious report concludes (see {@link EMULATED_FINDINGS}). */
const FINDINGS = EMULATED_FINDINGS.fireeye;

/** A time as FireEye alerts write it: `2021-05-09 04:01:16 +0000`. */
const fireeyeTime = (ms: number) => `${new Date(ms).toISOString().slice(0, 19).replace('T', ' ')} +0000`;

/** Options of {@link FireeyeEmulator}. */
export interface FireeyeEmulatorOptions extends EmulatorOptions {
  /** The WSAPI account the appliance knows. */
  username: string;
  password: string;
  /**
   * `classic`: AX / CM paths under `/wsapis/<version>/`; `mvx`: Trellix MVX, login under
   * `/wsapis/common/v2.0.0/` and submissions under `/wsapis/mvx/v2.0.0/`. @default 'classic'
   */
  family?: 'classic' | 'mvx';
  /** Version segment of the classic paths. @default 'v1.2.0' */
  version?: 'v1.1.0' | 'v1.2.0' | 'v2.0.0';
  /** Idle seconds after which a session token expires; 0 refuses every token as soon as it is used. @default 900 */
  tokenIdleSeconds?: number;
  /**
   * How a stale token is refused: `body`, HTTP 200 with `fireeyeapis.httpStatus: 401` (AUTH004, older
   * appliances and sandboxapi's fixture); `http`, a plain HTTP 401. @default 'body'
   */
  expiredToken?: 'body' | 'http';
  /** Largest upload accepted, in bytes; bigger ones get HTTP 413. */
  maxSampleSize?: number;
  /**
   * Which keys an MVX submit answer carries: the submission key `ID`, the `uuid` the result API is
   * keyed by, or both (then `ID` is a number the result API does not know). Trellix's docs list `ID`
   * and key results by uuid without saying which answers carry what. @default 'ID'
   */
  mvxSubmitKeys?: 'ID' | 'uuid' | 'both';
}

interface Submission extends ReceivedFile {
  id: string;
  runSeconds: number;
  profile: string;
  verdict: MarkerVerdict;
  failed: boolean;
}

const json = (body: object, status = 200, headers: Record<string, string> = {}): EmulatorResponse => ({
  status,
  headers,
  body,
});
/** The appliance's error document (`fireeyeapis`), as sandboxapi's `fireeye_unauthorized.json` shows it. */
const apiError = (
  httpStatus: number,
  message: string,
  description: string,
  answerStatus = httpStatus,
  headers: Record<string, string> = {},
) => json({ fireeyeapis: { '@version': 'v1.2.0', description, httpStatus, message } }, answerStatus, headers);
const html = (status: number, title: string): EmulatorResponse => ({
  status,
  headers: { 'content-type': 'text/html' },
  body: `<html><head><title>${title}</title></head><body><h1>${title}</h1></body></html>`,
});

/** Path prefix of submissions and configuration for the family and version the options name. */
function apiPrefixOf(options: FireeyeEmulatorOptions): string {
  return options.family === 'mvx' ? '/wsapis/mvx/v2.0.0/' : `/wsapis/${options.version ?? 'v1.2.0'}/`;
}

/**
 * FireEye AX / Trellix Malware Analysis WSAPI on loopback, in either path family. Login is POST
 * `auth/login` with HTTP Basic and answers with an `X-FeApi-Token` header; tokens expire after 15 idle
 * minutes of the given clock (or at once with {@link expireSessions}) and are then refused the way
 * {@link FireeyeEmulatorOptions.expiredToken} says; logout is POST only. Submissions take a multipart
 * body whose first part is the JSON `options`; their lifecycle (queue → run → processing → done)
 * follows the clock, and results carry alerts (classic) or a verdict (MVX) by the test markers.
 *
 * Where the WSAPI documents nothing (throttling, quotas, unsupported files, failed analyses) the
 * emulator answers in the appliance's usual `fireeyeapis` style: 429 with Retry-After for the
 * per-minute threshold, 429 naming the per-day threshold for quota, 400 "Unsupported file type",
 * nginx's 413 for oversize, and `submissionStatus: "Submission failed"` / MVX `status: failed`.
 */
export class FireeyeEmulator extends BaseEmulator<FireeyeEmulatorOptions> {
  readonly vendor = 'fireeye' as const;
  private readonly submissionsById = new Map<string, Submission>();
  /** Open sessions: token → last use (clock ms). */
  private readonly sessions = new Map<string, number>();
  private nextId = 1;
  /** Successful logins so far. */
  logins = 0;
  /** The `options` part of every accepted submission, parsed. */
  readonly receivedOptions: Record<string, unknown>[] = [];
  constructor(options: FireeyeEmulatorOptions) {
    super(options, {
      apiPath: apiPrefixOf(options),
      credentials: JSON.stringify({ username: options.username, password: options.password }),
    });
  }

  private get family() {
    return this.options.family ?? 'classic';
  }

  /** Path prefix of submissions and configuration. */
  private get apiPrefix(): string {
    return apiPrefixOf(this.options);
  }

  /** Path prefix of login and logout. */
  private get authPrefix(): string {
    return this.family === 'mvx' ? '/wsapis/common/v2.0.0/auth/' : `${this.apiPrefix}auth/`;
  }

  /** Ends every session, as a restart of the appliance or its idle timeout would. */
  expireSessions(): void {
    this.sessions.clear();
  }

  /** Sessions currently open. */
  get openSessions(): number {
    return this.sessions.size;
  }

  private state(submission: Submission): 'queued' | 'running' | 'done' | 'failed' {
    const { phase } = this.timeline(submission.submittedAt, submission.runSeconds);
    if (phase === 'queued' || phase === 'running') return phase;
    if (submission.failed) return 'failed';
    return phase === 'processing' ? 'running' : 'done';
  }

  protected override async handle(req: EmulatorRequest): Promise<EmulatorResponse> {
    const fault = this.takeFault(req);
    const path = req.url.pathname;
    if (fault === 'rate-limited')
      return apiError(429, 'Too Many Requests', 'WSAPI per-minute threshold exceeded', 429, { 'retry-after': '60' });
    if (fault === 'quota')
      return apiError(429, 'Too Many Requests', 'Maximum submissions per day reached (wsapi threshold day)');
    if (fault === 'server-error') return html(503, 'Service Unavailable');
    let answer: EmulatorResponse;
    if (path.startsWith(this.authPrefix)) answer = this.auth(req, fault);
    else if (!path.startsWith(this.apiPrefix)) return apiError(404, 'Not Found', 'no such resource');
    else {
      const refused = this.checkToken(req, fault);
      if (refused) return refused;
      if (fault === 'malformed') return brokenJson('{"submissionStatus": ');
      answer = await this.route(req, fault);
    }
    return this.delivered(answer, fault);
  }

  private auth(req: EmulatorRequest, fault: EmulatorFault): EmulatorResponse {
    const action = req.url.pathname.slice(this.authPrefix.length);
    if (req.method !== 'POST') return apiError(405, 'Method Not Allowed', `${action} requires POST`);
    if (action === 'logout') {
      const token = String(req.headers['x-feapi-token'] ?? '');
      if (!token || !this.sessions.delete(token)) return { status: 304, body: '' };
      return { status: 204, body: '' };
    }
    if (action !== 'login') return apiError(404, 'Not Found', 'no such resource');
    const expected = `Basic ${Buffer.from(`${this.options.username}:${this.options.password}`).toString('base64')}`;
    if (fault === 'bad-key' || req.headers.authorization !== expected)
      return apiError(401, 'Unauthorized', 'Invalid user name or password. code:AUTH001');
    // A broken login: 200 but no token header.
    if (fault === 'malformed') return { status: 200, body: '' };
    const token = randomBytes(24).toString('base64');
    this.sessions.set(token, this.options.clock.now());
    this.logins++;
    return { status: 200, headers: { 'x-feapi-token': token }, body: '' };
  }

  /** Refuses a missing, unknown or idle-expired token (the bad-key fault refuses any token). */
  private checkToken(req: EmulatorRequest, fault: EmulatorFault): EmulatorResponse | undefined {
    const token = String(req.headers['x-feapi-token'] ?? '');
    const now = this.options.clock.now();
    const lastUse = this.sessions.get(token);
    const idleMs = (this.options.tokenIdleSeconds ?? 900) * 1000;
    if (lastUse !== undefined && now - lastUse >= idleMs) this.sessions.delete(token);
    if (fault !== 'bad-key' && lastUse !== undefined && now - lastUse < idleMs) {
      this.sessions.set(token, now);
      return undefined;
    }
    const status = (this.options.expiredToken ?? 'body') === 'body' ? 200 : 401;
    return apiError(401, 'Unauthorized', 'Please check if the cookie has expired and retry. code:AUTH004', status);
  }

  protected override async route(req: EmulatorRequest, fault: EmulatorFault): Promise<EmulatorResponse> {
    const rest = req.url.pathname.slice(this.apiPrefix.length);
    if (req.method === 'GET' && rest === 'config' && this.family === 'classic') return json({});
    if (req.method === 'POST' && rest === 'submissions') return this.submit(req, fault);
    const status = rest.match(/^submissions\/status\/([^/]+)$/);
    if (req.method === 'GET' && status && this.family === 'classic') {
      const submission = this.submissionsById.get(decodeURIComponent(status[1]!));
      if (!submission) return apiError(404, 'Not Found', 'Submission not found');
      const state = this.state(submission);
      return json({
        submissionStatus: state === 'done' ? 'Done' : state === 'failed' ? 'Submission failed' : 'In Progress',
      });
    }
    const results = rest.match(/^submissions\/results\/([^/]+)$/);
    if (req.method === 'GET' && results && this.family === 'classic') {
      const submission = this.submissionsById.get(decodeURIComponent(results[1]!));
      if (!submission || this.state(submission) !== 'done')
        return apiError(404, 'Not Found', 'Submission results not found');
      const level = req.url.searchParams.get('info_level') ?? 'concise';
      const wantsJson = String(req.headers.accept ?? '').includes('application/json');
      return wantsJson
        ? json(this.resultsJson(submission, level))
        : { headers: { 'content-type': 'application/xml' }, body: this.resultsXml(submission, level) };
    }
    const result = rest.match(/^submissions\/result\/([^/]+)$/);
    if (req.method === 'GET' && result && this.family === 'mvx') {
      const submission = this.submissionsById.get(decodeURIComponent(result[1]!));
      if (!submission) return apiError(404, 'Not Found', 'Submission not found');
      return json(this.mvxResult(submission, req.url.searchParams.get('info_level') ?? 'concise'));
    }
    if (req.method === 'GET' && rest === 'reports/report' && this.family === 'classic') {
      const alertId = req.url.searchParams.get('id');
      const submission = [...this.submissionsById.values()].find((s) => s.id === alertId && s.verdict !== 'benign');
      if (
        req.url.searchParams.get('report_type') !== 'alertDetailsReport' ||
        req.url.searchParams.get('type') !== 'pdf' ||
        !submission
      ) {
        return apiError(400, 'Bad Request', 'Invalid report request');
      }
      return {
        headers: { 'content-type': 'application/pdf' },
        body: Buffer.from(`%PDF-1.4\n% Alert Details Report, alert ${alertId}\n%%EOF\n`),
      };
    }
    return apiError(404, 'Not Found', 'no such resource');
  }

  private async submit(req: EmulatorRequest, fault: EmulatorFault): Promise<EmulatorResponse> {
    // The options must be the first part: look at the raw body, since FormData keeps no order.
    const raw = req.body.toString('latin1');
    const optionsAt = raw.indexOf('name="options"');
    const fileAt = raw.search(/name="(file|filename)"/);
    if (optionsAt < 0 || fileAt < 0 || optionsAt > fileAt)
      return apiError(400, 'Bad Request', 'Submission options must be the first part, before the file');
    const form = await req.form();
    const file = form.get('file') ?? form.get('filename');
    if (!(file instanceof File)) return apiError(400, 'Bad Request', 'No file in the submission');
    let options: { timeout?: string; profiles?: string[]; profile?: string; [name: string]: unknown };
    try {
      options = JSON.parse(String(form.get('options')));
    } catch {
      return apiError(400, 'Bad Request', 'Submission options are not JSON');
    }
    if (fault === 'unsupported') return apiError(400, 'Bad Request', 'Unsupported file type');
    if (fault === 'oversize' || file.size > (this.options.maxSampleSize ?? 100 * 1024 * 1024))
      return html(413, '413 Request Entity Too Large');
    const received = await this.receive(file);
    this.receivedOptions.push(options);
    const id = this.family === 'mvx' ? randomUUID() : String(this.nextId++);
    this.submissionsById.set(id, {
      ...received,
      id,
      runSeconds: Number(options.timeout) || (this.options.runSeconds ?? 120),
      profile: options.profile ?? options.profiles?.[0] ?? 'win10x64',
      verdict: markerVerdict(received.content),
      failed: fault === 'failed-analysis',
    });
    this.accepted();
    // v1.x answers one object (sandboxapi's fixture); v2.0.0 and MVX a list.
    if (this.family === 'classic') return json(this.options.version !== 'v2.0.0' ? { ID: Number(id) } : [{ ID: id }]);
    const keys = this.options.mvxSubmitKeys ?? 'ID';
    return json([keys === 'ID' ? { ID: id } : keys === 'uuid' ? { uuid: id } : { ID: this.nextId++, uuid: id }]);
  }

  private alerts(submission: Submission) {
    if (submission.verdict === 'benign') return [];
    const malicious = submission.verdict === 'malicious';
    // Padding makes the results bigger than one chunk, as extended results are.
    const osChanges = Array.from({ length: 150 }, (_, i) => ({
      file: { mode: 'created', value: `C:\\Users\\admin\\AppData\\Local\\Temp\\drop${i}.tmp` },
    }));
    const occurred = fireeyeTime(submission.submittedAt);
    // The fields of a real concise alert (test/fixtures/vendors/fireeye_alert_details_phish.json, a
    // CM's answer): `ack`, `applianceId`, `attackTime`, `rootInfection`, `scVersion`, `sensor`, … and
    // the times as `YYYY-MM-DD hh:mm:ss +0000`.
    return [
      {
        ack: 'no',
        action: 'notified',
        alertUrl: `https://ax.example.org/malware_analysis/analyses?maid=${submission.id}`,
        applianceId: '0025908C1E22',
        attackTime: occurred,
        src: {},
        dst: {},
        product: 'MAS',
        name: 'MALWARE_OBJECT',
        id: Number.isNaN(Number(submission.id)) ? 1 : Number(submission.id),
        uuid: randomUUID(),
        occurred,
        rootInfection: Number.isNaN(Number(submission.id)) ? 1 : Number(submission.id),
        scVersion: '1149.206',
        sensor: 'FireEyeAX',
        sensorIp: '127.0.0.1',
        vlan: 0,
        severity: malicious ? 'MAJR' : 'MINR',
        // Only confirmed malware carries the flag; a MINR alert leaves it out.
        ...(malicious ? { malicious: 'yes' } : {}),
        explanation: {
          malwareDetected: {
            malware: [
              {
                name: malicious ? FINDINGS.family! : 'Riskware.Sandtrap.Test',
                md5Sum: submission.md5,
                sha256: submission.sha256,
              },
            ],
          },
          osChanges,
        },
      },
      // A callback alert, as AX raises when the sample reaches its command-and-control server. Its
      // `cncServices.cncService` (`address`, `port`, `protocol`) follows the WSAPI guide; the sandboxapi
      // results hold only a MALWARE_OBJECT alert, so this shape is an assumption from Trellix's docs.
      ...(malicious
        ? [
            {
              src: {},
              dst: { ip: FINDINGS.hosts[0], port: 8080 },
              product: 'MAS',
              name: FINDINGS.signatures[1],
              id: (Number.isNaN(Number(submission.id)) ? 1 : Number(submission.id)) + 1,
              uuid: randomUUID(),
              action: 'notified',
              occurred,
              alertUrl: `https://ax.example.org/malware_analysis/analyses?maid=${submission.id}`,
              severity: 'CRIT',
              malicious: 'yes',
              explanation: {
                malwareDetected: { malware: [{ name: FINDINGS.family!, md5Sum: submission.md5 }] },
                cncServices: { cncService: [{ address: FINDINGS.hosts[0], port: 8080, protocol: 'tcp' }] },
              },
            },
          ]
        : []),
    ];
  }

  private resultsJson(submission: Submission, level: string) {
    const alert = this.alerts(submission);
    return {
      msg: level,
      alertsCount: alert.length,
      version: 'AX (AX-5500) 9.0.3.912345',
      appliance: 'AX',
      'appliance-id': '0025908C1E22',
      alert,
    };
  }

  private resultsXml(submission: Submission, level: string): string {
    const alerts = this.alerts(submission)
      .map(
        (a) =>
          `<alert id="${submission.id}" name="${a.name}" severity="${a.severity}"${'malicious' in a ? ` malicious="${a.malicious}"` : ''} product="${a.product}"><explanation><malware-detected><malware name="${a.explanation.malwareDetected.malware[0]!.name}" md5sum="${submission.md5}"/></malware-detected></explanation><occurred>${a.occurred}</occurred></alert>`,
      )
      .join('');
    return `<?xml version="1.0" encoding="UTF-8"?><alerts xmlns="http://www.fireeye.com/alert/2011/AlertSchema" msg="${level}" appliance="AX" version="AX (AX-5500) 9.0.3.912345" alertsCount="${this.alerts(submission).length}">${alerts}</alerts>`;
  }

  private mvxResult(submission: Submission, level: string) {
    const state = this.state(submission);
    const status = state === 'done' ? 'success' : state === 'failed' ? 'failed' : 'queued';
    const verdict = { malicious: 'malicious', suspicious: 'riskware', benign: 'non-malicious' }[submission.verdict];
    return {
      uuid: submission.id,
      status,
      ...(status === 'success' ? { verdict } : {}),
      info_level: level,
      submission: {
        name: submission.fileName,
        sha256: submission.sha256,
        md5: submission.md5,
        size: submission.size,
        profile: submission.profile,
        submitted_at: new Date(submission.submittedAt).toISOString(),
      },
      ...(status === 'success' && level !== 'concise'
        ? {
            analysis: [
              { profile: submission.profile, duration: submission.runSeconds, alerts: this.alerts(submission) },
            ],
          }
        : {}),
    };
  }
}
