import { describe, expect, it } from 'vitest';
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
import { JoeConnector } from '../../lambdas/vendors/joe';
import { JoeEmulator } from '../../emulators/joe';

const KEY = 'joe-test-key';

// Options given to one test add to these defaults rather than replace them: every submission accepts the terms.
function configFor(baseUrl: string, extra: Record<string, unknown> = {}) {
  const { options, ...rest } = extra as { options?: Record<string, string | number | boolean> };
  return testVendorConfig('joe', baseUrl, rest, { acceptTac: true, processingSeconds: 30, ...options });
}

describe('Joe connector against the Joe Sandbox emulator', () => {
  const clock = new TestClock();
  const emulator = new JoeEmulator({ clock, apiKey: KEY, queueSeconds: 20, processingSeconds: 30 });
  let joe: JoeConnector;
  useEmulator(emulator, (baseUrl) => {
    joe = new JoeConnector({ config: configFor(baseUrl), credentials: KEY, clock: clock });
  });

  it('is available when server/online says online: true, sending the key as the apikey form field', async () => {
    await expect(joe.available()).resolves.toBe(true);
    expect(emulator.calls.at(-1)).toEqual({ endpoint: 'v2/server/online', fields: { apikey: KEY } });
  });

  it('is not available during maintenance (online: false), which sandboxapi reported as available', async () => {
    const maintenance = new JoeEmulator({ clock, apiKey: KEY, offline: true });
    try {
      await expect(
        new JoeConnector({ config: configFor(await maintenance.start()), credentials: KEY, clock: clock }).available(),
      ).resolves.toBe(false);
    } finally {
      await maintenance.stop();
    }
  });

  it('submits, polls submitted → running → finished, then reads the report of the most relevant analysis and scores it', async () => {
    const submissionId = await joe.submit(sample('// SANDTRAP-TEST-MALICIOUS inert marker\n'));
    expect(emulator.calls.at(-1)).toEqual({
      endpoint: 'v2/submission/new',
      fields: { apikey: KEY, 'analysis-time': '120', 'accept-tac': '1', sample: '<file invoice.js>' },
    });
    expect(joe.initialWaitSeconds()).toBe(150);

    await expectPolls(joe, clock, submissionId, [
      [0, { done: false, failed: false, state: 'submitted' }],
      [60, { done: false, failed: false, state: 'running' }],
      [100, { done: false, failed: false, state: 'running' }],
      [20, { done: true, failed: false, state: 'finished' }],
    ]);

    const report = await joe.report(submissionId);
    expect(report).toMatchObject({ contentType: 'application/json', extension: 'json' });
    const document = JSON.parse(await readAll(report));
    expect(joe.score(document)).toEqual({
      score: 92,
      verdict: 'malicious',
      native: { value: 92, scale: 'score 0-100 (empiric detection)' },
    });
  });

  it('resolves the submission id to its analysis webid instead of using one as the other', async () => {
    const submissionId = await joe.submit(sample('// SANDTRAP-TEST-SUSPICIOUS'));
    clock.advance(200);
    const webid = await joe.webid(submissionId);
    expect(webid).not.toBe(submissionId);
    await joe.report(submissionId);
    expect(emulator.calls.at(-1)).toEqual({
      endpoint: 'v2/analysis/download',
      fields: { apikey: KEY, webid, type: 'jsonfixed' },
    });
  });

  it('refuses to resolve a webid before the submission has an analysis', async () => {
    const submissionId = await joe.submit(sample('early'));
    await expect(joe.webid(submissionId)).rejects.toMatchObject({ name: 'ItemNotFoundError' });
  });

  it('streams the PDF and XML reports', async () => {
    const submissionId = await joe.submit(sample('// SANDTRAP-TEST-SUSPICIOUS'));
    clock.advance(200);
    const pdf = await joe.pdfReport(submissionId);
    expect(pdf).toMatchObject({ contentType: 'application/pdf', extension: 'pdf' });
    expect(await readAll(pdf)).toMatch(/^%PDF-/);
    const xml = await joe.xmlReport(submissionId);
    expect(xml).toMatchObject({ contentType: 'application/xml', extension: 'xml' });
    expect(await readAll(xml)).toContain('<detection>SUS</detection>');
  });

  it('sends systems and tags as repeated list fields, booleans as 0/1, and accept-tac only when configured', async () => {
    const configured = new JoeConnector({
      config: configFor(emulator.baseUrl, {
        options: { acceptTac: false, systems: 'w10x64, w7x64', tags: 'sandtrap', 'internet-access': false },
      }),
      credentials: KEY,
      clock: clock,
    });
    await expect(configured.submit(sample('x'))).rejects.toMatchObject({
      name: 'BadResponseError',
      message: expect.stringContaining('accept-tac'),
    });
    expect(emulator.calls.at(-1)?.fields).toEqual({
      apikey: KEY,
      'analysis-time': '120',
      'systems[]': ['w10x64', 'w7x64'],
      'tags[]': 'sandtrap',
      'internet-access': '0',
      sample: '<file invoice.js>',
    });
  });

  it('deletes a submission, and answers false for one it cannot delete', async () => {
    const submissionId = await joe.submit(sample('to delete'));
    await expect(joe.delete(submissionId)).resolves.toBe(true);
    await expect(joe.delete(submissionId)).resolves.toBe(false);
  });

  it('throws ItemNotFoundError for an unknown submission', async () => {
    await expect(joe.status('999999')).rejects.toMatchObject({ name: 'ItemNotFoundError' });
  });

  describe('faults', () => {
    it('reads quota from error code 1 even though it comes with HTTP 429, and honours Retry-After on a plain 429', async () => {
      emulator.setFault('quota');
      await expect(joe.submit(sample('x'))).rejects.toMatchObject({
        name: 'QuotaExceededError',
        message: expect.stringContaining('error 1'),
      });
      emulator.setFault('rate-limited');
      await expect(joe.status('100001')).rejects.toMatchObject({ name: 'RateLimitedError', retryAfterSeconds: 30 });
    });

    it('gives up on a slow answer within the request timeout, as a TransientError', async () => {
      emulator.setFault('slow');
      const started = Date.now();
      await expect(joe.available()).resolves.toBe(false);
      await expect(joe.status('100001')).rejects.toMatchObject({ name: 'TransientError' });
      expect(Date.now() - started).toBeLessThan(3_000);
    });
  });
});

describe("the Joe emulator and jbxapi's default upload", () => {
  const clock = new TestClock();
  const emulator = new JoeEmulator({ clock, apiKey: KEY, queueSeconds: 20, processingSeconds: 30 });
  let api = '';
  useEmulator(emulator, (baseUrl) => {
    api = baseUrl;
  });
  /** A POST of form fields (and a file part), as jbxapi sends every call through requests. */
  const post = async (endpoint: string, fields: Record<string, string>, file?: [string, string]) => {
    const form = new FormData();
    for (const [name, value] of Object.entries(fields)) form.append(name, value);
    if (file) form.append(file[0], new Blob([file[1]]), file[0]);
    const response = await fetch(`${api}v2/${endpoint}`, { method: 'POST', body: form });
    return { status: response.status, body: (await response.json()) as { data?: Record<string, unknown> } };
  };

  it('takes a chunked upload: submission/new names chunked-sample, the bytes follow in chunks', async () => {
    // jbxapi 3.25 jbxapi.py, submit_sample(..., _chunked_upload=True):
    //   params["chunked-sample"] = filename
    //   self._chunked_upload('/v2/submission/chunked-sample', sample, {"apikey": ..., "submission_id": ...})
    // and _chunked_upload posts "current-chunk-index" (from 1) with files={"chunk": chunk_data}.
    const created = await post('submission/new', { apikey: KEY, 'accept-tac': '1', 'chunked-sample': 'invoice.js' });
    expect(created.status).toBe(200);
    const submissionId = String(created.body.data?.submission_id);
    const content = '// SANDTRAP-TEST-MALICIOUS inert marker, sent in two chunks';
    const halves = [content.slice(0, 20), content.slice(20)];
    for (const [i, chunk] of halves.entries()) {
      const sent = await post(
        'submission/chunked-sample',
        {
          apikey: KEY,
          submission_id: submissionId,
          'file-size': String(content.length),
          'chunk-size': '20',
          'chunk-count': '2',
          'current-chunk-index': String(i + 1),
          'current-chunk-size': String(chunk.length),
        },
        ['chunk', chunk],
      );
      expect(sent.status).toBe(200);
    }
    const joe = new JoeConnector({ config: configFor(api), credentials: KEY, clock });
    clock.advance(400);
    expect(await joe.status(submissionId)).toMatchObject({ done: true });
    const webid = await joe.webid(submissionId);
    expect(joe.score(JSON.parse(await readAll(await joe.report(submissionId))))).toMatchObject({
      verdict: 'malicious',
    });

    // jbxapi's command line prints analysis_download(args.webid, type="irjsonfixed", ...).
    const form = new FormData();
    for (const [name, value] of Object.entries({ apikey: KEY, webid, type: 'irjsonfixed' })) form.append(name, value);
    const download = await fetch(`${api}v2/analysis/download`, { method: 'POST', body: form });
    expect(download.status).toBe(200);
    expect(await download.json()).toMatchObject({ analysis: { id: webid } });
  });
});

describe('Joe connector on sandboxapi fixture responses', () => {
  let joe: JoeConnector;
  const routes = {
    '/api/v2/server/online': 'joe_server_online.json',
    '/api/v2/submission/new': 'joe_submission_new.json',
  };
  const unknown = { status: 404, body: { errors: [{ code: 8, message: 'Unknown endpoint.' }] } };
  useFixtureServer(routes, unknown, (origin) => {
    joe = standaloneConnector(JoeConnector, configFor(`${origin}/api/`), KEY);
  });

  it('reads online: true from the fixture', async () => {
    await expect(joe.available()).resolves.toBe(true);
  });

  it('takes the submission_id of the jbxapi 3.x fixture as the item id', async () => {
    await expect(joe.submit(sample('x'))).resolves.toBe('100001');
  });
});

describe('Joe score normalisation', () => {
  const joe = standaloneConnector(JoeConnector, configFor('http://127.0.0.1:9/api/'), KEY);
  const report = (strategy: unknown) => ({ analysis: { signaturedetections: { strategy } } });
  const empiric = (detection: string | undefined, score: number | null) => ({
    '@name': 'empiric',
    minScore: 0,
    maxScore: 100,
    score,
    ...(detection ? { detection } : {}),
  });

  it('scores the sandboxapi download fixture: empiric CLEAN, score 1 → 1, benign', () => {
    expect(joe.score(fixture('joe_analysis_download.json'))).toEqual({
      score: 1,
      verdict: 'benign',
      native: { value: 1, scale: 'score 0-100 (empiric detection)' },
    });
  });

  it('finds the empiric strategy by name, where sandboxapi read strategy[1] whatever it was', () => {
    const reordered = report([empiric('MAL', 85), { '@count': '0', '@name': 'atleastonemalicioussig', $: 'false' }]);
    expect(joe.score(reordered)).toMatchObject({ score: 85, verdict: 'malicious' });
    expect(joe.score(report(empiric('SUS', 50)))).toMatchObject({ score: 50, verdict: 'suspicious' });
  });

  it('keeps the score inside the band its detection names', () => {
    expect(joe.score(report([empiric('MAL', 40)]))).toMatchObject({ score: 70, verdict: 'malicious' });
    expect(joe.score(report([empiric('SUS', 90)]))).toMatchObject({ score: 69, verdict: 'suspicious' });
    expect(joe.score(report([empiric('CLEAN', 55)]))).toMatchObject({ score: 39, verdict: 'benign' });
    expect(joe.score(report([empiric('malicious', 99)]))).toMatchObject({ score: 99, verdict: 'malicious' });
  });

  it('keeps an unknown detection unknown rather than 0', () => {
    expect(joe.score(report([empiric('UNKNOWN', 0)]))).toEqual({
      score: null,
      verdict: 'unknown',
      native: { value: 0, scale: 'score 0-100 (empiric detection)' },
    });
  });

  it('falls back to the score with our 40/70 cuts when there is no detection', () => {
    expect(joe.score(report([empiric(undefined, 55)]))).toMatchObject({ score: 55, verdict: 'suspicious' });
  });

  it('is unknown without an empiric strategy', () => {
    expect(joe.score({ analysis: { signaturedetections: null } })).toMatchObject({ score: null, verdict: 'unknown' });
    expect(joe.score(report([{ '@name': 'atleastonemalicioussig', $: 'true' }]))).toMatchObject({
      score: null,
      verdict: 'unknown',
    });
  });

  it('rejects something that is not a Joe report', () => {
    expect(() => joe.score({ data: { score: 3 } })).toThrow(expect.objectContaining({ name: 'BadResponseError' }));
  });
});
