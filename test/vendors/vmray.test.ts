import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestClock, fixture, readAll, sample, standaloneConnector, testVendorConfig, useEmulator } from './support';
import { atBandEdges } from '../fixtures/bands';
import { topRanked, VmrayConnector, type VmrayAnalysis } from '../../lambdas/vendors/vmray';
import { EmulatorServer } from '../../emulators/server';
import { VmrayEmulator } from '../../emulators/vmray';

const KEY = 'vmray-test-key';

const configFor = (baseUrl: string, extra: Record<string, unknown> = {}) =>
  testVendorConfig('vmray', baseUrl, extra, { processingSeconds: 30 });

describe('VMRay connector against the VMRay emulator', () => {
  const clock = new TestClock();
  const emulator = new VmrayEmulator({ clock, apiKey: KEY, queueSeconds: 20, processingSeconds: 30 });
  let vmray: VmrayConnector;
  useEmulator(emulator, (baseUrl) => {
    vmray = new VmrayConnector({ config: configFor(baseUrl), credentials: KEY, clock: clock });
  });

  it("probes system_info, which answers a normal API key, as VMRay's own integrations do", async () => {
    await expect(vmray.available()).resolves.toBe(true);
    const request = emulator.server.requests.at(-1);
    expect(request?.path).toBe('/rest/system_info');
    expect(request?.headers.authorization).toBe(`api_key ${KEY}`);
  });

  it('still counts a 403 from system_info as up (a key whose role lacks the right), where sandboxapi said down', async () => {
    const refusing = new EmulatorServer(() => ({
      status: 403,
      body: { result: 'error', error_msg: 'Permission denied' },
    }));
    try {
      const origin = await refusing.start();
      await expect(
        new VmrayConnector({ config: configFor(`${origin}/rest/`), credentials: KEY, clock: clock }).available(),
      ).resolves.toBe(true);
    } finally {
      await refusing.stop();
    }
  });

  it('submits, polls the submission until finished, then reports the top-ranked analysis from summary_v2.json', async () => {
    const itemId = await vmray.submit(sample('// SANDTRAP-TEST-MALICIOUS inert marker\n'));
    expect(itemId).toMatch(/^\d+:\d+$/);
    expect(vmray.initialWaitSeconds()).toBe(150);

    await expect(vmray.status(itemId)).resolves.toEqual({ done: false, failed: false, state: 'in_progress' });
    clock.advance(100);
    await expect(vmray.status(itemId)).resolves.toEqual({ done: false, failed: false, state: 'in_progress' });
    clock.advance(70);
    await expect(vmray.status(itemId)).resolves.toEqual({ done: true, failed: false, state: 'finished' });

    // The emulator lists the suspicious Windows 7 analysis first; the malicious Windows 10 one ranks higher.
    const top = await vmray.topRankedAnalysis(itemId);
    expect(top).toMatchObject({ analysis_vm_name: 'win10_64', analysis_verdict: 'malicious', analysis_vti_score: 92 });

    const report = await vmray.report(itemId);
    expect(report).toMatchObject({ contentType: 'application/json', extension: 'json' });
    const summary = JSON.parse(await readAll(report));
    expect(summary).toMatchObject({
      analysis_metadata: { verdict: 'malicious' },
      virtual_machine: { name: 'win10_64' },
    });
    expect(emulator.server.requests.at(-1)?.path).toBe(
      `/rest/analysis/${top?.analysis_id}/archive/logs/summary_v2.json`,
    );
    expect(vmray.score(summary)).toEqual({
      score: 90,
      verdict: 'malicious',
      native: { value: 'malicious', scale: 'verdict' },
    });
  });

  it('asks for the analysis time in user_config and sends a non-ASCII file name base64-encoded too', async () => {
    const connector = new VmrayConnector({
      config: configFor(emulator.baseUrl, {
        analysisTimeoutSeconds: 60,
        options: { user_config: '{"net_scheme_name":"default"}' },
      }),
      credentials: KEY,
      clock: clock,
    });
    const itemId = await connector.submit(sample('// SANDTRAP-TEST-SUSPICIOUS', 'façture.js'));
    // Queue 20 s + the 60 s asked for + processing 30 s.
    clock.advance(110);
    await expect(connector.status(itemId)).resolves.toMatchObject({ done: true });
    const sampleId = itemId.split(':')[1];
    const response = await fetch(`${emulator.baseUrl}sample/${sampleId}`, {
      headers: { authorization: `api_key ${KEY}` },
    });
    expect(((await response.json()) as { data: { sample_filename: string } }).data.sample_filename).toBe('façture.js');
  });

  it('falls back to the v1 summary.json on a platform without summary_v2.json', async () => {
    const old = new VmrayEmulator({ clock, apiKey: KEY, summaryV2: false });
    try {
      const connector = new VmrayConnector({ config: configFor(await old.start()), credentials: KEY, clock: clock });
      const itemId = await connector.submit(sample('// SANDTRAP-TEST-MALICIOUS'));
      clock.advance(400);
      const summary = JSON.parse(await readAll(await connector.report(itemId)));
      expect(old.server.requests.slice(-2).map((r) => r.path.split('/').pop())).toEqual([
        'summary_v2.json',
        'summary.json',
      ]);
      expect(summary.vti.vti_score).toBe(92);
      expect(connector.score(summary)).toEqual({
        score: 90,
        verdict: 'malicious',
        native: { value: 92, scale: 'VTI score 0-100' },
      });
    } finally {
      await old.stop();
    }
  });

  it('reports a resubmitted known sample from its earlier analyses when VMRay creates no new jobs', async () => {
    const first = await vmray.submit(sample('// SANDTRAP-TEST-SUSPICIOUS known'));
    clock.advance(400);
    await expect(vmray.status(first)).resolves.toMatchObject({ done: true });
    const again = await vmray.submit(sample('// SANDTRAP-TEST-SUSPICIOUS known'));
    expect(again.split(':')[1]).toBe(first.split(':')[1]);
    await expect(vmray.status(again)).resolves.toEqual({ done: true, failed: false, state: 'finished' });
    await expect(vmray.topRankedAnalysis(again)).resolves.toMatchObject({
      analysis_submission_id: Number(first.split(':')[0]),
      analysis_verdict: 'suspicious',
    });
    expect(vmray.score(JSON.parse(await readAll(await vmray.report(again))))).toMatchObject({
      score: 55,
      verdict: 'suspicious',
    });
  });

  it('does not take "No jobs were created" for a known sample as a refusal', async () => {
    const caching = new VmrayEmulator({ clock, apiKey: KEY, reportCachedAsError: true });
    try {
      const connector = new VmrayConnector({
        config: configFor(await caching.start()),
        credentials: KEY,
        clock: clock,
      });
      await connector.submit(sample('// SANDTRAP-TEST-MALICIOUS cached'));
      clock.advance(400);
      const again = await connector.submit(sample('// SANDTRAP-TEST-MALICIOUS cached'));
      await expect(connector.status(again)).resolves.toMatchObject({ done: true });
      expect(connector.score(JSON.parse(await readAll(await connector.report(again))))).toMatchObject({
        verdict: 'malicious',
      });
    } finally {
      await caching.stop();
    }
  });

  it('cannot delete', async () => {
    await expect(vmray.delete()).resolves.toBe(false);
  });

  it('throws ItemNotFoundError for an unknown submission and for an id that is not <submission>:<sample>', async () => {
    await expect(vmray.status('1:2')).rejects.toMatchObject({ name: 'ItemNotFoundError' });
    await expect(vmray.status('1169850')).rejects.toMatchObject({ name: 'ItemNotFoundError' });
  });

  describe('faults', () => {
    it('reads the quota refusal VMRay returns inside an HTTP 200', async () => {
      emulator.setFault('quota');
      await expect(vmray.submit(sample('x'))).rejects.toMatchObject({
        name: 'QuotaExceededError',
        message: expect.stringContaining('quota for account'),
      });
      expect(emulator.server.requests.at(-1)?.path).toBe('/rest/sample/submit');
    });
  });
});

describe('VMRay connector on sandboxapi fixture responses', () => {
  let submitFixture = 'vmray_sample_submit.json';
  const server = new EmulatorServer((req) => {
    const route = `${req.method} ${req.url.pathname}`;
    if (route === 'GET /rest/system_info') return { body: fixture('vmray_system_info.json') as object };
    if (route === 'POST /rest/sample/submit') return { body: fixture(submitFixture) as object };
    if (route === 'GET /rest/submission/1374306' || route === 'GET /rest/submission/1374307')
      return { body: fixture('vmray_submission.json') as object };
    if (route === 'GET /rest/analysis') {
      const own = req.url.searchParams.get('analysis_submission_id') === '1374306';
      return { body: own ? (fixture('vmray_analysis_submission.json') as object) : { result: 'ok', data: [] } };
    }
    if (route === 'GET /rest/analysis/sample/1169850') return { body: fixture('vmray_analysis_sample.json') as object };
    return { status: 404, body: { result: 'error', error_msg: 'Not found' } };
  });
  let vmray: VmrayConnector;

  beforeAll(async () => {
    vmray = standaloneConnector(VmrayConnector, configFor(`${await server.start()}/rest/`), KEY);
  });
  afterAll(() => server.stop());

  it('reads the system_info fixture as available', async () => {
    await expect(vmray.available()).resolves.toBe(true);
  });

  it('keeps both the submission id and the sample id of the submit fixture', async () => {
    await expect(vmray.submit(sample('x'))).resolves.toBe('1374306:1169850');
  });

  it('refuses the errors fixture as quota exceeded, although it also lists a submission and a sample', async () => {
    submitFixture = 'vmray_sample_submit_errors.json';
    try {
      await expect(vmray.submit(sample('x'))).rejects.toMatchObject({
        name: 'QuotaExceededError',
        message: expect.stringContaining('Denied: The vmray quota'),
      });
    } finally {
      submitFixture = 'vmray_sample_submit.json';
    }
  });

  it('treats the finished submission fixture as done and ranks the VTI 67 analysis of the analyses fixture first', async () => {
    await expect(vmray.status('1374306:1169850')).resolves.toEqual({ done: true, failed: false, state: 'finished' });
    await expect(vmray.topRankedAnalysis('1374306:1169850')).resolves.toMatchObject({
      analysis_id: 1097123,
      analysis_vti_score: 67,
    });
  });

  it('falls back to the analyses of the sample when the submission has none of its own', async () => {
    await expect(vmray.topRankedAnalysis('1374307:1169850')).resolves.toMatchObject({ analysis_id: 1097123 });
  });
});

describe('VMRay score normalisation', () => {
  const vmray = standaloneConnector(VmrayConnector, configFor('http://127.0.0.1:9/rest/'), KEY);

  it('scores the v1 summary fixture: VTI 20 → 33, benign (sandboxapi passed 20 through)', () => {
    expect(vmray.score(fixture('vmray_analysis_archive_logs_summary.json'))).toEqual({
      score: 33,
      verdict: 'benign',
      native: { value: 20, scale: 'VTI score 0-100' },
    });
  });

  it('scores the sample fixture: VTI 67 with legacy severity suspicious → 65, suspicious', () => {
    expect(vmray.score(fixture('vmray_sample.json'))).toEqual({
      score: 65,
      verdict: 'suspicious',
      native: { value: 67, scale: 'VTI score 0-100' },
    });
  });

  it.each(atBandEdges([0, 24, 25, 74, 75, 100]))(
    'places VTI %s at %s (%s), linear inside VMRay’s tiers',
    (vti, score, verdict) => {
      expect(vmray.score({ vti: { vti_score: vti } })).toMatchObject({ score, verdict });
    },
  );

  it('lets the verdict win when it disagrees with the VTI score, keeping the score at the edge of its band', () => {
    expect(vmray.score({ sample_verdict: 'malicious', sample_vti_score: 67 })).toMatchObject({
      score: 70,
      verdict: 'malicious',
    });
    expect(vmray.score({ sample_verdict: 'clean', sample_vti_score: 80 })).toMatchObject({
      score: 39,
      verdict: 'benign',
    });
  });

  it('maps a verdict without a VTI score to clean 10 / suspicious 55 / malicious 90', () => {
    expect(vmray.score({ analysis_metadata: { verdict: 'clean' } })).toMatchObject({ score: 10, verdict: 'benign' });
    expect(vmray.score({ analysis_metadata: { verdict: 'suspicious' } })).toMatchObject({
      score: 55,
      verdict: 'suspicious',
    });
    expect(vmray.score({ data: { sample_verdict: 'malicious' }, result: 'ok' })).toMatchObject({
      score: 90,
      verdict: 'malicious',
    });
  });

  it('keeps not_available unknown, even next to a VTI score', () => {
    expect(vmray.score({ analysis_metadata: { verdict: 'not_available' } })).toEqual({
      score: null,
      verdict: 'unknown',
      native: { value: 'not_available', scale: 'verdict' },
    });
    expect(vmray.score({ sample_verdict: 'not_available', sample_vti_score: 0 })).toMatchObject({
      score: null,
      verdict: 'unknown',
    });
  });

  it('rejects something that is not a VMRay summary or sample', () => {
    expect(() => vmray.score({ analysis: {} })).toThrow(expect.objectContaining({ name: 'BadResponseError' }));
  });

  it('ranks analyses by verdict first, then VTI score', () => {
    const analyses: VmrayAnalysis[] = [
      { analysis_id: 1, analysis_verdict: 'suspicious', analysis_vti_score: 74 },
      { analysis_id: 2, analysis_verdict: 'malicious', analysis_vti_score: 60 },
      { analysis_id: 3, analysis_severity: 'blacklisted', analysis_vti_score: 50 },
    ];
    expect(topRanked(analyses)?.analysis_id).toBe(2);
    expect(topRanked([])).toBeUndefined();
  });
});
