import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EmulatorServer } from '../../emulators/server';
import { parseSettings } from '../../lambdas/core/config/runtime-config';
import { TriageConnector } from '../../lambdas/vendors/triage';
import { TriageEmulator } from '../../emulators/triage';
import {
  TestClock,
  fixture,
  standaloneConnector,
  sample as testSample,
  readJson as json,
  useEmulator,
  vendorFixture,
} from './support';

const sample = (content: string, fileName = 'KfhizGC7.ps1') => testSample(content, fileName);

const config = (baseUrl: string, extra: Record<string, unknown> = {}) =>
  parseSettings({ vendors: [{ id: 'triage', baseUrl, requestTimeoutMs: 500, analysisTimeoutSeconds: 120, ...extra }] })
    .vendors[0]!;

describe('TriageConnector against the Triage emulator', () => {
  const clock = new TestClock(Date.parse('2026-11-22T12:00:00Z'));
  const emulator = new TriageEmulator({ clock, apiKey: 'tr-key', queueSeconds: 20, processingSeconds: 40 });
  let connector: TriageConnector;
  useEmulator(emulator, (baseUrl) => {
    connector = new TriageConnector({
      config: config(baseUrl, { options: { network: 'drop', profile: 'win10-v2004' } }),
      credentials: 'tr-key',
      clock: clock,
    });
  });

  it('submits with a _json part, polls through the sample states to reported, and scores the overview', async () => {
    const id = await connector.submit(sample('SANDTRAP-TEST-MALICIOUS'));
    expect(id).toMatch(/^261122-[a-z0-9]{10}$/);
    expect(emulator.receivedRequests.at(-1)).toEqual({
      kind: 'file',
      interactive: false,
      defaults: { timeout: 120, network: 'drop' },
      profiles: [{ profile: 'win10-v2004' }],
    });
    expect(connector.initialWaitSeconds()).toBe(180);
    const states: string[] = [];
    for (const step of [0, 15, 60, 100, 30]) {
      clock.advance(step);
      const status = await connector.status(id);
      expect(status.failed).toBe(false);
      states.push(status.state);
    }
    expect(states).toEqual(['static_analysis', 'scheduled', 'running', 'processing', 'reported']);
    expect(await connector.status(id)).toEqual({ done: true, failed: false, state: 'reported' });

    // The report is the v1 overview, fetched beside the v0 base as the official clients fetch it.
    const report = await connector.report(id);
    expect(report).toMatchObject({ contentType: 'application/json', extension: 'json' });
    const overview = await json(report);
    expect(overview).toMatchObject({ sample: { id }, analysis: { score: 10, family: ['nemty'] } });
    expect(connector.score(overview)).toEqual({
      score: 100,
      verdict: 'malicious',
      native: { value: 10, scale: 'Triage score 1-10' },
    });
    // Unlike the summary, the overview lists the signatures.
    const findings = connector.findings(overview, id);
    expect(findings.families).toEqual(['nemty']);
    expect(findings.signatures.slice(0, 2)).toEqual([
      {
        name: 'Nemty',
        severity: 'critical',
        description: 'Ransomware discovered in late 2019 which has been actively developed/updated over time.',
      },
      {
        name: 'Deletes shadow copies',
        severity: 'high',
        description: 'Ransomware often targets backup files to inhibit system recovery.',
      },
    ]);
    expect(findings.attack).toEqual(expect.arrayContaining(['T1107', 'T1490', 'T1053']));
    expect(findings.hosts).toEqual(['www.myexternalip.com', 'api.db-ip.com']);

    const full = await connector.fullReport(id);
    expect(Object.keys(full.tasks)).toEqual(['behavioral1', 'behavioral2']);
    expect(full.tasks.behavioral1).toMatchObject({
      version: '0.2.1',
      analysis: { score: 10, platform: 'windows10-2004_x64' },
    });
    expect(connector.score(full.tasks.behavioral2)).toMatchObject({ score: 100, verdict: 'malicious' });

    expect(await connector.delete(id)).toBe(true);
    await expect(connector.status(id)).rejects.toMatchObject({ name: 'ItemNotFoundError' });
    expect(await connector.delete(id)).toBe(false);
  });

  it('asks again (TransientError) while a task report is REPORT_NOT_AVAILABLE', async () => {
    const id = await connector.submit(sample('SANDTRAP-TEST-SUSPICIOUS'));
    await expect(connector.fullReport(id)).rejects.toMatchObject({
      name: 'TransientError',
      message: expect.stringContaining('REPORT_NOT_AVAILABLE'),
    });
    clock.advance(200);
    const full = await connector.fullReport(id);
    expect(connector.score(full.summary)).toMatchObject({ score: 56, verdict: 'suspicious', native: { value: 6 } });
  });
});

describe('TriageConnector for a new account, and the official client against the emulator', () => {
  const clock = new TestClock(Date.parse('2026-11-22T12:00:00Z'));
  const emulator = new TriageEmulator({ clock, apiKey: 'tr-key' });
  let baseUrl = '';
  useEmulator(emulator, (url) => {
    baseUrl = url;
  });

  it('is available for an account with no samples yet, whose sample list says "data": null', async () => {
    const connector = new TriageConnector({ config: config(baseUrl), credentials: 'tr-key', clock });
    expect(emulator.submissions).toBe(0);
    expect(await connector.available()).toBe(true);
  });

  it('accepts the multipart upload of the official Python client (filename before name, no space after form-data;)', async () => {
    // hatching/triage python/triage/client.py, encode_multipart_formdata:
    //   'Content-Disposition: form-data; filename="{filename}"; name=\"{field}\"\r\n\r\n'
    //   'Content-Disposition: form-data;name="{field}"\r\n\r\n{value}\r\n'
    const boundary = '5f0c1e2d3b4a59687766554433221100';
    const json = JSON.stringify({
      kind: 'file',
      interactive: false,
      profiles: [],
      defaults: { timeout: 150, network: 'internet' },
    });
    const body =
      `--${boundary}\r\nContent-Disposition: form-data;name="_json"\r\n\r\n${json}\r\n` +
      `--${boundary}\r\nContent-Disposition: form-data; filename="KfhizGC7.ps1"; name="file"\r\n\r\nSANDTRAP-TEST-SUSPICIOUS\r\n` +
      `--${boundary}--\r\n`;
    const response = await fetch(`${baseUrl}samples`, {
      method: 'POST',
      headers: { authorization: 'Bearer tr-key', 'content-type': `multipart/form-data; boundary=${boundary}` },
      body,
    });
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ id: expect.stringMatching(/^261122-/), status: 'pending' });
    expect(emulator.receivedRequests.at(-1)).toMatchObject({ kind: 'file', defaults: { timeout: 150 } });
  });
});

describe("TriageConnector on Triage's empty sample list", () => {
  const server = new EmulatorServer((req) =>
    req.url.pathname === '/api/v0/samples'
      ? { status: 200, body: vendorFixture('triage_samples_empty.json') as object }
      : { status: 404, body: { error: 'NOT_FOUND', message: 'not found' } },
  );
  let connector: TriageConnector;
  beforeAll(async () => {
    const origin = await server.start();
    connector = new TriageConnector({ config: config(`${origin}/api/v0/`), credentials: 'k', clock: new TestClock() });
  });
  afterAll(() => server.stop());

  it('reads {"data": null} as an empty list: available', async () => {
    expect(await connector.available()).toBe(true);
  });
});

describe('TriageConnector on a Triage without the v1 overview', () => {
  // A private cloud that serves API v0 only: the overview is NOT_FOUND, the v0 summary is there.
  const server = new EmulatorServer((req) =>
    req.url.pathname === '/api/v0/samples/200615-8jbndpgg9n/summary'
      ? { status: 200, body: fixture('triage_report.json') as object }
      : { status: 404, body: { error: 'NOT_FOUND', message: 'not found' } },
  );
  let connector: TriageConnector;
  beforeAll(async () => {
    const origin = await server.start();
    connector = new TriageConnector({ config: config(`${origin}/api/v0/`), credentials: 'k', clock: new TestClock() });
  });
  afterAll(() => server.stop());

  it('reports the v0 summary instead, with its score and family tags', async () => {
    const summary = await json(await connector.report('200615-8jbndpgg9n'));
    expect(summary).toMatchObject({ sample: '200615-8jbndpgg9n', score: 10 });
    expect(connector.score(summary)).toMatchObject({ score: 100, verdict: 'malicious' });
    expect(connector.findings(summary, '200615-8jbndpgg9n').families).toEqual(['nemty']);
  });
});

describe('TriageConnector.score', () => {
  // Points nowhere: scoring must use the report it is given, never the network (sandboxapi downloaded the summary again).
  const connector = standaloneConnector(TriageConnector, config('http://127.0.0.1:9/api/v0/'), 'key');

  it('scores sandboxapi fixture triage_report.json (summary, score 10) as 100', () => {
    expect(connector.score(fixture('triage_report.json'))).toEqual({
      score: 100,
      verdict: 'malicious',
      native: { value: 10, scale: 'Triage score 1-10' },
    });
  });

  it.each(['triage_behavioral1.json', 'triage_behavioral2.json'])(
    'scores sandboxapi fixture %s (report_triage.json, analysis.score 10) as 100',
    (name) => {
      expect(connector.score(fixture(name))).toEqual({
        score: 100,
        verdict: 'malicious',
        native: { value: 10, scale: 'Triage score 1-10' },
      });
    },
  );

  it('maps the 1–10 scale onto Triage’s own tiers: 1–4 benign, 5–7 suspicious, 8–10 malicious', () => {
    const scores = Object.fromEntries([1, 4, 5, 7, 8, 10].map((s) => [s, connector.score({ score: s, tasks: {} })]));
    expect(Object.fromEntries(Object.entries(scores).map(([s, r]) => [s, [r.score, r.verdict]]))).toEqual({
      1: [0, 'benign'],
      4: [33, 'benign'],
      5: [44, 'suspicious'],
      7: [67, 'suspicious'],
      8: [78, 'malicious'],
      10: [100, 'malicious'],
    });
  });

  it('falls back to the best task score when the summary has no overall score', () => {
    const summary = fixture('triage_report.json') as { score?: number; tasks: Record<string, { score?: number }> };
    delete summary.score;
    summary.tasks['200615-8jbndpgg9n-behavioral1']!.score = 7;
    summary.tasks['200615-8jbndpgg9n-behavioral2']!.score = 5;
    expect(connector.score(summary)).toMatchObject({ score: 67, verdict: 'suspicious', native: { value: 7 } });
  });

  it('keeps a summary without any score (N/A) unknown, not benign', () => {
    expect(
      connector.score({
        sample: '261122-aaaaaaaaaa',
        status: 'failed',
        tasks: { '261122-aaaaaaaaaa-behavioral1': { kind: 'behavioral', status: 'failed' } },
      }),
    ).toEqual({
      score: null,
      verdict: 'unknown',
      native: { value: null, scale: 'Triage score 1-10' },
    });
  });

  it('refuses documents that hold no report, such as sandboxapi fixture triage_check.json', () => {
    expect(() => connector.score(fixture('triage_check.json'))).toThrow(/not a Triage summary or task report/);
    expect(() => connector.score('reported')).toThrow(/not a Triage summary or task report/);
  });
});
