import { describe, expect, it } from 'vitest';
import { FalconConnector } from '../../lambdas/vendors/falcon';
import {
  TestClock,
  expectPolls,
  fixture,
  readAll,
  sample,
  standaloneConnector,
  testVendorConfig,
  useEmulator,
  useFixtureServer,
} from './support';
import { FalconEmulator } from '../../emulators/falcon';

const KEY = 'falcon-test-key';

const configFor = (baseUrl: string, extra: Record<string, unknown> = {}) =>
  testVendorConfig('falcon', baseUrl, extra, { processingSeconds: 30 });

describe('Falcon connector against the Hybrid Analysis emulator', () => {
  const clock = new TestClock();
  const emulator = new FalconEmulator({ clock, apiKey: KEY, queueSeconds: 20, processingSeconds: 30 });
  let falcon: FalconConnector;
  useEmulator(emulator, (baseUrl) => {
    falcon = new FalconConnector({ config: configFor(baseUrl), credentials: KEY, clock: clock });
  });

  it('is available, and sends the api-key header with the Falcon Sandbox user agent', async () => {
    await expect(falcon.available()).resolves.toBe(true);
    const request = emulator.server.requests.at(-1);
    expect(request?.path).toBe('/api/v2/system/heartbeat');
    expect(request?.headers).toMatchObject({
      'api-key': KEY,
      'user-agent': 'Falcon Sandbox',
      accept: 'application/json',
    });
  });

  it('counts a restricted key as available and lets it submit: only the heartbeat refuses it', async () => {
    const restricted = new FalconEmulator({ clock, apiKey: KEY, restrictedKey: true });
    try {
      const connector = new FalconConnector({
        config: configFor(await restricted.start()),
        credentials: KEY,
        clock: clock,
      });
      await expect(connector.available()).resolves.toBe(true);
      expect(restricted.server.requests.map((r) => r.path)).toEqual([
        '/api/v2/system/heartbeat',
        '/api/v2/system/version',
      ]);
      // PayloadSecurity/VxAPI api/callers/submit/api_submit_file.py (55d852c):
      //   endpoint_url = '/submit/file'
      //   endpoint_auth_level = ApiCaller.CONST_API_AUTH_LEVEL_RESTRICTED
      await expect(connector.submit(sample('// SANDTRAP-TEST-MALICIOUS inert marker\n'))).resolves.toMatch(
        /^[0-9a-f]+$/,
      );
    } finally {
      await restricted.stop();
    }
  });

  it('submits, polls IN_QUEUE → IN_PROGRESS → SUCCESS, then reads and scores the summary', async () => {
    const jobId = await falcon.submit(sample('// SANDTRAP-TEST-MALICIOUS inert marker\n'));
    expect(jobId).toMatch(/^[0-9a-f]{24}$/);
    expect(falcon.initialWaitSeconds()).toBe(150);

    await expectPolls(falcon, clock, jobId, [
      [0, { done: false, failed: false, state: 'IN_QUEUE' }],
      [60, { done: false, failed: false, state: 'IN_PROGRESS' }],
      [100, { done: false, failed: false, state: 'IN_PROGRESS' }],
      [20, { done: true, failed: false, state: 'SUCCESS' }],
    ]);

    const report = await falcon.report(jobId);
    expect(report).toMatchObject({ contentType: 'application/json', extension: 'json' });
    const summary = JSON.parse(await readAll(report));
    expect(summary).toMatchObject({ job_id: jobId, environment_id: '100', verdict: 'malicious' });
    expect(falcon.score(summary)).toEqual({
      score: 96,
      verdict: 'malicious',
      native: { value: 88, scale: 'threat_score 0-100' },
    });
  });

  it('submits to environment 100 by default, to options.environmentId when set, and asks for the analysis time', async () => {
    const in160 = new FalconConnector({
      config: configFor(emulator.baseUrl, { analysisTimeoutSeconds: 90, options: { environmentId: 160 } }),
      credentials: KEY,
      clock: clock,
    });
    const jobId = await in160.submit(sample('benign'));
    // Queue 20 s, the 90 s asked for, processing 30 s: the report exists only if custom_run_time was honoured.
    clock.advance(20 + 90 + 30);
    const summary = JSON.parse(await readAll(await in160.report(jobId)));
    expect(summary).toMatchObject({ environment_id: '160', environment_description: 'Windows 10 64 bit' });
    const unknownEnvironment = new FalconConnector({
      config: configFor(emulator.baseUrl, { options: { environmentId: 999 } }),
      credentials: KEY,
      clock: clock,
    });
    await expect(unknownEnvironment.submit(sample('x'))).rejects.toMatchObject({
      name: 'BadResponseError',
      message: expect.stringContaining('environment_id'),
    });
  });

  it('lists the environments and the queue size', async () => {
    const environments = await falcon.environments();
    expect(environments.map((e) => e.id)).toContain(100);
    await falcon.submit(sample('queued'));
    await expect(falcon.queueSize()).resolves.toBeGreaterThanOrEqual(1);
  });

  it('streams the PDF report', async () => {
    const jobId = await falcon.submit(sample('// SANDTRAP-TEST-SUSPICIOUS'));
    clock.advance(400);
    const pdf = await falcon.pdfReport(jobId);
    expect(pdf).toMatchObject({ contentType: 'application/pdf', extension: 'pdf' });
    expect(await readAll(pdf)).toMatch(/^%PDF-/);
  });

  it('cannot delete: the API has no deletion', async () => {
    await expect(falcon.delete()).resolves.toBe(false);
  });

  it('throws ItemNotFoundError for an unknown job', async () => {
    await expect(falcon.status('0000000000000000deadbeef')).rejects.toMatchObject({ name: 'ItemNotFoundError' });
  });

  describe('faults', () => {
    it('tells the API rate limit (a wait of one minute window) from the submission quota, both HTTP 429', async () => {
      emulator.setFault('rate-limited');
      await expect(falcon.status('x')).rejects.toMatchObject({ name: 'RateLimitedError', retryAfterSeconds: 60 });
      emulator.setFault('quota');
      await expect(falcon.submit(sample('x'))).rejects.toMatchObject({
        name: 'QuotaExceededError',
        message: expect.stringContaining('Quota limit'),
      });
    });

    it('gives up on a slow answer within the request timeout, as a TransientError', async () => {
      emulator.setFault('slow');
      const started = Date.now();
      await expect(falcon.queueSize()).rejects.toMatchObject({ name: 'TransientError' });
      expect(Date.now() - started).toBeLessThan(2_000);
    });
  });
});

describe('Falcon connector on sandboxapi fixture responses', () => {
  let falcon: FalconConnector;
  const routes = {
    '/api/v2/submit/file': [201, 'falcon_submit_file.json'],
    '/api/v2/report/1/state': 'falcon_report_state.json',
    '/api/v2/system/heartbeat': 'falcon_system_heartbeat.json',
    '/api/v2/system/queue-size': 'falcon_system_queue-size.json',
  } as const;
  useFixtureServer(routes, { status: 404, body: { message: 'Not Found' } }, (origin) => {
    falcon = standaloneConnector(FalconConnector, configFor(`${origin}/api/v2/`), KEY);
  });

  it('reads the job id from the 201 submit fixture', async () => {
    await expect(falcon.submit(sample('x'))).resolves.toBe('1');
  });

  it('treats the SUCCESS state fixture as done', async () => {
    await expect(falcon.status('1')).resolves.toEqual({ done: true, failed: false, state: 'SUCCESS' });
  });

  it('reads availability and queue size from the fixtures', async () => {
    await expect(falcon.available()).resolves.toBe(true);
    await expect(falcon.queueSize()).resolves.toBe(10);
  });
});

describe('Falcon score normalisation', () => {
  const falcon = standaloneConnector(FalconConnector, configFor('http://127.0.0.1:9/api/v2/'), KEY);

  it('scores the sandboxapi summary fixture (no verdict, level 1, score 5) → 41, suspicious; sandboxapi said 5 of 10', () => {
    expect(falcon.score(fixture('falcon_report_summary.json'))).toEqual({
      score: 41,
      verdict: 'suspicious',
      native: { value: 5, scale: 'threat_score 0-100' },
    });
  });

  it.each([
    [2, 0, 70, 'malicious'],
    [2, 100, 100, 'malicious'],
    [1, 0, 40, 'suspicious'],
    [1, 100, 69, 'suspicious'],
    [0, 0, 0, 'benign'],
    [0, 100, 39, 'benign'],
  ])('places threat level %s with threat score %s at %s (%s)', (level, threatScore, score, verdict) => {
    expect(falcon.score({ verdict: 'no verdict', threat_level: level, threat_score: threatScore })).toMatchObject({
      score,
      verdict,
    });
  });

  it('lets the verdict choose the band when it names one', () => {
    expect(falcon.score({ verdict: 'malicious', threat_level: 1, threat_score: 50 })).toMatchObject({
      score: 85,
      verdict: 'malicious',
    });
    expect(falcon.score({ verdict: 'no specific threat', threat_level: 1, threat_score: 50 })).toMatchObject({
      score: 20,
      verdict: 'benign',
    });
  });

  it('scores a whitelisted sample 0 whatever its level', () => {
    expect(falcon.score({ verdict: 'whitelisted', threat_level: 1, threat_score: 30 })).toMatchObject({
      score: 0,
      verdict: 'benign',
    });
  });

  it('puts a null threat_score at its band midpoint, where sandboxapi crashed on int(None)', () => {
    expect(falcon.score({ verdict: 'malicious', threat_level: 2, threat_score: null })).toEqual({
      score: 85,
      verdict: 'malicious',
      native: { value: 'malicious', scale: 'verdict' },
    });
    expect(falcon.score({ verdict: 'suspicious', threat_level: 1, threat_score: null })).toMatchObject({
      score: 55,
      verdict: 'suspicious',
    });
  });

  it('keeps "no verdict" without a threat level unknown, not 0', () => {
    expect(falcon.score({ verdict: 'no verdict', threat_level: null, threat_score: null })).toEqual({
      score: null,
      verdict: 'unknown',
      native: { value: 'no verdict', scale: 'verdict' },
    });
  });

  it('rejects something that is not a Falcon summary', () => {
    expect(() => falcon.score({ threat_level: 'high' })).toThrow(expect.objectContaining({ name: 'BadResponseError' }));
  });
});
