import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseSettings } from '../../lambdas/core/config/runtime-config';
import { FireeyeConnector } from '../../lambdas/vendors/fireeye';
import { closeHttpPools } from '../../lambdas/vendors/http';
import { FireeyeEmulator, type FireeyeEmulatorOptions } from '../../emulators/fireeye';
import { TestClock, fixture, sample as testSample, readAll as text } from './support';

const sample = (content: string, fileName = 'dropper.exe') => testSample(content, fileName);

const CREDENTIALS = JSON.stringify({ username: 'api-analyst', password: 'p:ss' });

const config = (baseUrl: string, options: Record<string, string> = {}) =>
  parseSettings({ vendors: [{ id: 'fireeye', baseUrl, requestTimeoutMs: 500, analysisTimeoutSeconds: 120, options }] })
    .vendors[0]!;

/** Starts an emulator and a connector on one test clock. */
async function setup(options: Partial<FireeyeEmulatorOptions> = {}, connectorOptions: Record<string, string> = {}) {
  const clock = new TestClock(Date.parse('2026-11-22T12:00:00Z'));
  const emulator = new FireeyeEmulator({
    clock,
    username: 'api-analyst',
    password: 'p:ss',
    queueSeconds: 30,
    processingSeconds: 60,
    ...options,
  });
  await emulator.start();
  const connector = new FireeyeConnector({
    config: config(emulator.baseUrl, connectorOptions),
    credentials: CREDENTIALS,
    clock: clock,
  });
  return { clock, emulator, connector };
}

afterAll(closeHttpPools);

describe('FireeyeConnector against the classic WSAPI (/wsapis/v1.2.0/)', () => {
  let h: Awaited<ReturnType<typeof setup>>;
  beforeAll(async () => {
    h = await setup({}, { profile: 'win10x64m' });
  });
  afterAll(() => h.emulator.stop());

  it('logs in once with HTTP Basic, then sends the X-FeApi-Token on every call', async () => {
    expect(await h.connector.available()).toBe(true);
    expect(await h.connector.available()).toBe(true);
    expect(h.emulator.logins).toBe(1);
    const [login, config] = h.emulator.server.requests;
    expect(login).toMatchObject({ method: 'POST', path: '/wsapis/v1.2.0/auth/login' });
    expect(login!.headers.authorization).toBe(`Basic ${Buffer.from('api-analyst:p:ss').toString('base64')}`);
    expect(config).toMatchObject({ method: 'GET', path: '/wsapis/v1.2.0/config' });
    expect(config!.headers['x-feapi-token']).toEqual(expect.any(String));
  });

  it('reaches /wsapis/v1.2.0/ from a bare appliance URL, as sandboxapi did', async () => {
    const bare = new FireeyeConnector({
      config: config(`${h.emulator.origin}/`),
      credentials: CREDENTIALS,
      clock: h.clock,
    });
    const before = h.emulator.server.requests.length;
    expect(await bare.available()).toBe(true);
    expect(h.emulator.server.requests.slice(before).map((r) => r.path)).toEqual([
      '/wsapis/v1.2.0/auth/login',
      '/wsapis/v1.2.0/config',
    ]);
  });

  it('accepts the credentials as username:password too, and refuses a bare word with AuthError', async () => {
    expect(
      await new FireeyeConnector({
        config: config(h.emulator.baseUrl),
        credentials: 'api-analyst:p:ss',
        clock: h.clock,
      }).available(),
    ).toBe(true);
    await expect(
      new FireeyeConnector({ config: config(h.emulator.baseUrl), credentials: 'no-colon', clock: h.clock }).available(),
    ).rejects.toMatchObject({ name: 'AuthError' });
  });

  it('submits options before the file, polls until Done, and scores a MAJR alert as malicious', async () => {
    const id = await h.connector.submit(sample('SANDTRAP-TEST-MALICIOUS'));
    expect(id).toBe('1');
    expect(h.emulator.receivedOptions.at(-1)).toMatchObject({
      profiles: ['win10x64m'],
      timeout: '120',
      analysistype: '2',
      priority: '0',
    });
    expect(h.connector.initialWaitSeconds()).toBe(180);
    expect(await h.connector.status(id)).toEqual({ done: false, failed: false, state: 'In Progress' });
    h.clock.advance(100);
    expect(await h.connector.status(id)).toMatchObject({ done: false, state: 'In Progress' });
    h.clock.advance(120);
    expect(await h.connector.status(id)).toEqual({ done: true, failed: false, state: 'Done' });

    const report = await h.connector.report(id);
    expect(report).toMatchObject({ contentType: 'application/json', extension: 'json' });
    const results = JSON.parse(await text(report));
    expect(results).toMatchObject({
      msg: 'extended',
      // The malicious sample also calls back: a second, CRIT alert naming its server.
      alertsCount: 2,
      alert: [
        { severity: 'MAJR', name: 'MALWARE_OBJECT' },
        { severity: 'CRIT', name: 'MALWARE_CALLBACK' },
      ],
    });
    expect(h.connector.score(results)).toEqual({
      score: 90,
      verdict: 'malicious',
      native: { value: 'MAJR', scale: 'FireEye alert severity (MAJR/MINR)' },
    });

    expect(await text(await h.connector.xmlReport(id))).toMatch(
      /^<\?xml[^>]*\?><alerts [^>]*alertsCount="2"><alert id="1"[^>]*severity="MAJR"/,
    );
    expect(await text(await h.connector.pdfReport(id))).toMatch(/^%PDF-1\.4\n% Alert Details Report, alert 1/);
    expect(await h.connector.delete()).toBe(false);
  });

  it('scores a submission without alerts 0 and explains that it has no PDF report', async () => {
    const id = await h.connector.submit(sample('harmless'));
    h.clock.advance(300);
    expect(h.connector.score(JSON.parse(await text(await h.connector.report(id))))).toMatchObject({
      score: 0,
      verdict: 'benign',
      native: { value: 'no alert' },
    });
    await expect(h.connector.pdfReport(id)).rejects.toMatchObject({ name: 'ItemNotFoundError' });
  });

  it('treats a failed submission as a terminal failure', async () => {
    h.emulator.setFault('failed-analysis', 1);
    const id = await h.connector.submit(sample('crashes the guest'));
    h.clock.advance(300);
    expect(await h.connector.status(id)).toMatchObject({ done: false, failed: true, state: 'Submission failed' });
    await expect(h.connector.status('999')).rejects.toMatchObject({ name: 'ItemNotFoundError' });
  });

  it('logs out with POST, and logs in again on the next call', async () => {
    await h.connector.available();
    const open = h.emulator.openSessions;
    await h.connector.logout();
    expect(h.emulator.count('/auth/logout', 'POST')).toBe(1);
    expect(h.emulator.count('/auth/logout', 'GET')).toBe(0);
    expect(h.emulator.openSessions).toBe(open - 1);
    const logins = h.emulator.logins;
    expect(await h.connector.available()).toBe(true);
    expect(h.emulator.logins).toBe(logins + 1);
  });

  it('authenticate() logs out of the session it holds and logs in afresh', async () => {
    await h.connector.available();
    const logins = h.emulator.logins;
    const open = h.emulator.openSessions;
    await h.connector.authenticate();
    expect(h.emulator.logins).toBe(logins + 1);
    expect(h.emulator.openSessions).toBe(open);
    expect(await h.connector.available()).toBe(true);
    expect(h.emulator.logins).toBe(logins + 1);
  });

  it('maps throttling, the daily threshold, unsupported, oversize, 5xx, timeouts, cut and broken bodies to typed errors', async () => {
    await h.connector.available();
    h.emulator.setFault('rate-limited', 1);
    await expect(h.connector.status('1')).rejects.toMatchObject({ name: 'RateLimitedError', retryAfterSeconds: 60 });
    h.emulator.setFault('quota', 1);
    await expect(h.connector.submit(sample('x'))).rejects.toMatchObject({ name: 'QuotaExceededError' });
    h.emulator.setFault('unsupported', 1);
    await expect(h.connector.submit(sample('x'))).rejects.toMatchObject({ name: 'UnsupportedFileError' });
    h.emulator.setFault('oversize', 1);
    await expect(h.connector.submit(sample('x'))).rejects.toMatchObject({ name: 'SampleTooLargeError' });
    h.emulator.setFault('server-error', 1);
    await expect(h.connector.status('1')).rejects.toMatchObject({ name: 'TransientError' });
    h.emulator.setFault('slow', 1);
    const started = Date.now();
    await expect(h.connector.status('1')).rejects.toMatchObject({ name: 'TransientError' });
    expect(Date.now() - started).toBeLessThan(2_000);
    h.emulator.setFault('truncated', 1);
    await expect(h.connector.status('1')).rejects.toMatchObject({ name: 'TransientError' });
    h.emulator.setFault('malformed', 1);
    await expect(h.connector.status('1')).rejects.toMatchObject({ name: 'BadResponseError' });
  });
});

describe('FireeyeConnector session expiry', () => {
  for (const expiredToken of ['body', 'http'] as const) {
    const how = expiredToken === 'body' ? 'fireeyeapis.httpStatus 401 inside an HTTP 200' : 'HTTP 401';
    it(`re-authenticates exactly once when an idle token is refused with ${how}`, async () => {
      const { clock, emulator, connector } = await setup({ expiredToken });
      try {
        const id = await connector.submit(sample('SANDTRAP-TEST-SUSPICIOUS'));
        expect(emulator.logins).toBe(1);
        clock.advance(16 * 60); // longer than the 15 idle minutes a token lives
        expect(await connector.status(id)).toMatchObject({ done: true, state: 'Done' });
        expect(emulator.logins).toBe(2);
        emulator.expireSessions();
        const results = JSON.parse(await text(await connector.report(id)));
        expect(connector.score(results)).toMatchObject({ score: 50, verdict: 'suspicious', native: { value: 'MINR' } });
        expect(emulator.logins).toBe(3);
      } finally {
        await emulator.stop();
      }
    });
  }

  it('retries a refused upload with a freshly opened sample stream', async () => {
    const { emulator, connector } = await setup();
    try {
      await connector.available();
      emulator.expireSessions();
      expect(await connector.submit(sample('SANDTRAP-TEST-MALICIOUS'))).toBe('1');
      expect(emulator.logins).toBe(2);
      expect(emulator.submissions).toBe(1);
    } finally {
      await emulator.stop();
    }
  });

  it('gives up with AuthError when the freshly issued token is refused too, after exactly one re-login', async () => {
    const { emulator, connector } = await setup({ tokenIdleSeconds: 0 });
    try {
      await expect(connector.status('1')).rejects.toMatchObject({
        name: 'AuthError',
        message: expect.stringContaining('freshly issued'),
      });
      expect(emulator.logins).toBe(2);
      expect(emulator.count('/submissions/status/1')).toBe(2);
    } finally {
      await emulator.stop();
    }
  });

  it('gives up with AuthError when the re-login itself is refused, instead of logging in again and again', async () => {
    const { emulator, connector } = await setup({ expiredToken: 'http' });
    try {
      await connector.available();
      emulator.setFault('bad-key');
      const error = await connector.status('1').catch((e: unknown) => e);
      expect(error).toMatchObject({ name: 'AuthError' });
      expect(emulator.count('/auth/login')).toBe(2);
    } finally {
      await emulator.stop();
    }
  });
});

describe('FireeyeConnector against the Trellix MVX WSAPI (/wsapis/mvx/v2.0.0/)', () => {
  let h: Awaited<ReturnType<typeof setup>>;
  beforeAll(async () => {
    h = await setup({ family: 'mvx' }, { profile: 'win10x64' });
  });
  afterAll(() => h.emulator.stop());

  it('logs in and out under /wsapis/common/v2.0.0/auth/', async () => {
    expect(await h.connector.available()).toBe(true);
    await h.connector.logout();
    expect(h.emulator.server.requests.map((r) => `${r.method} ${r.path}`)).toEqual(
      expect.arrayContaining(['POST /wsapis/common/v2.0.0/auth/login', 'POST /wsapis/common/v2.0.0/auth/logout']),
    );
  });

  it('submits, polls the format 2.0 result from queued to success, and scores riskware as suspicious', async () => {
    const id = await h.connector.submit(sample('SANDTRAP-TEST-SUSPICIOUS'));
    expect(id).toMatch(/^[0-9a-f-]{36}$/);
    expect(h.emulator.receivedOptions.at(-1)).toMatchObject({
      profile: 'win10x64',
      priority: 'normal',
      timeout: '120',
    });
    expect(await h.connector.status(id)).toEqual({ done: false, failed: false, state: 'queued' });
    h.clock.advance(250);
    expect(await h.connector.status(id)).toEqual({ done: true, failed: false, state: 'success' });
    const result = JSON.parse(await text(await h.connector.report(id)));
    expect(result).toMatchObject({ uuid: id, status: 'success', verdict: 'riskware', info_level: 'extended' });
    expect(h.connector.score(result)).toEqual({
      score: 50,
      verdict: 'suspicious',
      native: { value: 'riskware', scale: 'Trellix MVX verdict' },
    });
    expect(() => h.connector.xmlReport(id)).toThrow(/only offered by the classic WSAPI/);
  });

  it('treats status failed as a terminal failure', async () => {
    h.emulator.setFault('failed-analysis', 1);
    const id = await h.connector.submit(sample('crashes the guest'));
    h.clock.advance(300);
    expect(await h.connector.status(id)).toMatchObject({ done: false, failed: true, state: 'failed' });
  });
});

describe('FireeyeConnector on the three shapes of an MVX submit answer', () => {
  // Trellix documents `{ "ID": <submission key> }` and keys the MVX result API by uuid, without saying
  // which answers carry what: the connector takes the uuid first on MVX, the ID first on the classic API.
  it.each(['ID', 'uuid', 'both'] as const)('polls the result of an answer carrying %s', async (keys) => {
    const h = await setup({ family: 'mvx', mvxSubmitKeys: keys }, { profile: 'win10x64' });
    try {
      const id = await h.connector.submit(sample('SANDTRAP-TEST-MALICIOUS'));
      expect(id).toMatch(/^[0-9a-f-]{36}$/);
      h.clock.advance(300);
      expect(await h.connector.status(id)).toMatchObject({ done: true, state: 'success' });
    } finally {
      await h.emulator.stop();
    }
  });
});

describe('FireeyeConnector.score', () => {
  const connector = new FireeyeConnector({
    config: config('https://ax.example.org/'),
    credentials: CREDENTIALS,
    clock: new TestClock(Date.parse('2026-11-22T12:00:00Z')),
  });

  it('scores sandboxapi fixture fireeye_submissions_results.json (one MAJR alert) as 90', () => {
    expect(connector.score(fixture('fireeye_submissions_results.json'))).toEqual({
      score: 90,
      verdict: 'malicious',
      native: { value: 'MAJR', scale: 'FireEye alert severity (MAJR/MINR)' },
    });
  });

  it('scores an empty alert list 0 (sandboxapi raised IndexError)', () => {
    const results = { ...(fixture('fireeye_submissions_results.json') as object), alertsCount: 0, alert: [] };
    expect(connector.score(results)).toEqual({
      score: 0,
      verdict: 'benign',
      native: { value: 'no alert', scale: 'FireEye alert severity (MAJR/MINR)' },
    });
    expect(connector.score({ msg: 'concise', alertsCount: 0 })).toMatchObject({ score: 0, verdict: 'benign' });
  });

  it('weighs MINR as suspicious, malicious: no as clean, and lets the strongest alert win', () => {
    expect(connector.score({ alert: { severity: 'MINR' } })).toMatchObject({ score: 50, verdict: 'suspicious' });
    expect(connector.score({ alert: [{ severity: 'MINR', malicious: 'no' }] })).toMatchObject({
      score: 0,
      verdict: 'benign',
    });
    expect(
      connector.score({ alert: [{ severity: 'MINR' }, { severity: 'MAJR' }, { severity: 'MINR' }] }),
    ).toMatchObject({ score: 90, native: { value: 'MAJR' } });
    expect(connector.score({ alert: [{ severity: 'MINR', malicious: 'yes' }] })).toMatchObject({
      score: 90,
      verdict: 'malicious',
    });
  });

  it('scores MVX verdicts, and a result without one as unknown', () => {
    expect(connector.score({ status: 'success', verdict: 'malicious' })).toMatchObject({
      score: 90,
      verdict: 'malicious',
    });
    expect(connector.score({ status: 'success', verdict: 'non-malicious' })).toMatchObject({
      score: 0,
      verdict: 'benign',
    });
    expect(connector.score({ status: 'failed' })).toEqual({
      score: null,
      verdict: 'unknown',
      native: { value: null, scale: 'Trellix MVX verdict' },
    });
  });

  it('refuses the session-expired document (fixture fireeye_unauthorized.json) and other non-results', () => {
    expect(() => connector.score(fixture('fireeye_unauthorized.json'))).toThrow(/not FireEye submission results/);
    expect(() => connector.score(fixture('fireeye_submissions_status.json'))).toThrow(/not FireEye submission results/);
    expect(() => connector.score('<alerts/>')).toThrow(/not FireEye submission results/);
  });
});
