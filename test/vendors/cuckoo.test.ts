import { describe, expect, it } from 'vitest';
import { CuckooConnector } from '../../lambdas/vendors/cuckoo';
import {
  TestClock,
  fixture,
  standaloneConnector,
  readAll,
  sample,
  testVendorConfig,
  useEmulator,
  useFixtureServer,
} from './support';
import { atBandEdges } from '../fixtures/bands';
import { CuckooEmulator } from '../../emulators/cuckoo';

const TOKEN = 'cuckoo-test-token';

const configFor = (baseUrl: string, extra: Record<string, unknown> = {}) =>
  testVendorConfig('cuckoo', baseUrl, extra, { processingSeconds: 30 });

describe('Cuckoo connector against the Cuckoo 2 emulator', () => {
  const clock = new TestClock();
  const emulator = new CuckooEmulator({ clock, token: TOKEN, queueSeconds: 20, processingSeconds: 30 });
  let cuckoo: CuckooConnector;
  useEmulator(emulator, (baseUrl) => {
    cuckoo = new CuckooConnector({ config: configFor(baseUrl), credentials: TOKEN, clock: clock });
  });

  it('submits, polls pending → running → completed → reported, then reads and scores the report', async () => {
    const itemId = await cuckoo.submit(sample('// SANDTRAP-TEST-MALICIOUS inert marker\n'));
    expect(itemId).toMatch(/^\d+$/);
    expect(cuckoo.initialWaitSeconds()).toBe(150);

    const pending = await cuckoo.status(itemId);
    expect(pending).toEqual({ done: false, failed: false, state: 'pending', pollAfterSeconds: 150 });

    clock.advance(50);
    const running = await cuckoo.status(itemId);
    expect(running).toMatchObject({ done: false, failed: false, state: 'running' });
    // Started 30 s ago with a 120 s timeout: 90 s of run left plus 30 s of processing.
    expect(running.pollAfterSeconds).toBe(120);

    clock.advance(100);
    await expect(cuckoo.status(itemId)).resolves.toMatchObject({ done: false, failed: false, state: 'completed' });

    clock.advance(30);
    await expect(cuckoo.status(itemId)).resolves.toEqual({ done: true, failed: false, state: 'reported' });

    const report = await cuckoo.report(itemId);
    expect(report).toMatchObject({ contentType: 'application/json', extension: 'json' });
    const document = JSON.parse(await readAll(report));
    expect(document.info.id).toBe(Number(itemId));
    expect(cuckoo.score(document)).toEqual({
      score: 100,
      verdict: 'malicious',
      native: { value: 12.4, scale: 'info.score (Σ severity / 5, unbounded)' },
    });
  });

  it('sends the analysis timeout and configured options in the multipart form', async () => {
    const withOptions = new CuckooConnector({
      config: configFor(emulator.baseUrl, { analysisTimeoutSeconds: 90, options: { package: 'js', priority: 2 } }),
      credentials: TOKEN,
      clock: clock,
    });
    const itemId = await withOptions.submit(sample('console.log(1)'));
    const response = await fetch(`${emulator.baseUrl}tasks/view/${itemId}`, {
      headers: { authorization: `Bearer ${TOKEN}` },
    });
    const { task } = (await response.json()) as { task: { timeout: number; package: string; priority: number } };
    expect(task).toMatchObject({ timeout: 90, package: 'js', priority: 2 });
  });

  it('reads the queue size from cuckoo/status', async () => {
    await cuckoo.submit(sample('queued'));
    await expect(cuckoo.queueSize()).resolves.toBeGreaterThanOrEqual(1);
  });

  it('streams the HTML report once reported', async () => {
    const itemId = await cuckoo.submit(sample('// SANDTRAP-TEST-SUSPICIOUS\n'));
    clock.advance(200);
    const html = await cuckoo.htmlReport(itemId);
    expect(html).toMatchObject({ contentType: 'text/html', extension: 'html' });
    expect(await readAll(html)).toContain(`Cuckoo report ${itemId}`);
  });

  it('deletes a task, and answers false for a task it cannot delete', async () => {
    const itemId = await cuckoo.submit(sample('to delete'));
    await expect(cuckoo.delete(itemId)).resolves.toBe(true);
    await expect(cuckoo.delete(itemId)).resolves.toBe(false);
  });

  it('throws ItemNotFoundError for an unknown task', async () => {
    await expect(cuckoo.status('999')).rejects.toMatchObject({ name: 'ItemNotFoundError' });
  });

  describe('faults', () => {
    it('reports an unsupported file once Cuckoo finds no analysis package for it', async () => {
      emulator.setFault('unsupported', 1);
      const itemId = await cuckoo.submit(sample('\x00\x01 opaque'));
      await expect(cuckoo.status(itemId)).resolves.toMatchObject({ state: 'pending' });
      clock.advance(25);
      await expect(cuckoo.status(itemId)).rejects.toMatchObject({
        name: 'UnsupportedFileError',
        message: expect.stringContaining('No valid package'),
      });
    });

    it('ends the poll on failed_analysis with the reason, where sandboxapi polled forever', async () => {
      emulator.setFault('failed-analysis', 1);
      const itemId = await cuckoo.submit(sample('// SANDTRAP-TEST-MALICIOUS'));
      clock.advance(25);
      await expect(cuckoo.status(itemId)).resolves.toMatchObject({ done: false, failed: false, state: 'running' });
      clock.advance(200);
      await expect(cuckoo.status(itemId)).resolves.toEqual({
        done: false,
        failed: true,
        state: 'failed_analysis',
        reason: 'The analysis hit a critical error, aborting',
      });
    });
  });
});

describe('Cuckoo connector on sandboxapi fixture responses', () => {
  let cuckoo: CuckooConnector;
  const routes = {
    '/cuckoo/status': 'cuckoo_status.json',
    '/tasks/create/file': 'cuckoo_tasks_create_file.json',
    '/tasks/view/1': 'cuckoo_tasks_view.json',
  };
  const server = useFixtureServer(routes, { status: 404, body: { message: 'Not found' } }, (origin) => {
    cuckoo = standaloneConnector(CuckooConnector, configFor(`${origin}/`));
  });

  it('submits against a fixture reply and returns its task id', async () => {
    await expect(cuckoo.submit(sample('x'))).resolves.toBe('1');
  });

  it('reads availability and queue size from the fixture status', async () => {
    await expect(cuckoo.available()).resolves.toBe(true);
    await expect(cuckoo.queueSize()).resolves.toBe(0);
  });

  it('does not treat the fixture task in state completed as done (the report only exists at reported)', async () => {
    await expect(cuckoo.status('1')).resolves.toMatchObject({ done: false, failed: false, state: 'completed' });
  });

  it('sends no Authorization header when no token is configured', () => {
    expect(server.requests.every((r) => r.headers.authorization === undefined)).toBe(true);
  });
});

describe('Cuckoo score normalisation', () => {
  const cuckoo = standaloneConnector(CuckooConnector, configFor('http://127.0.0.1:9/'));

  it('scores the sandboxapi report fixture: info.score 5 → 50, suspicious', () => {
    expect(cuckoo.score(fixture('cuckoo_tasks_report.json'))).toEqual({
      score: 50,
      verdict: 'suspicious',
      native: { value: 5, scale: 'info.score (Σ severity / 5, unbounded)' },
    });
  });

  it.each(atBandEdges([0, 3.9, 4, 6.9, 7, 10]))('maps info.score %s to %s (%s)', (native, score, verdict) => {
    expect(cuckoo.score({ info: { score: native } })).toMatchObject({ score, verdict });
  });

  it('caps the unbounded info.score at 10 before scaling, where sandboxapi returned 23 on a 0–10 scale', () => {
    expect(cuckoo.score({ info: { score: 23 } })).toMatchObject({
      score: 100,
      verdict: 'malicious',
      native: { value: 23 },
    });
  });

  it('keeps a report without info.score unknown, where sandboxapi scored it 0', () => {
    expect(cuckoo.score({ info: {} })).toEqual({
      score: null,
      verdict: 'unknown',
      native: { value: null, scale: 'info.score (Σ severity / 5, unbounded)' },
    });
    expect(cuckoo.score({ signatures: [] })).toMatchObject({ score: null, verdict: 'unknown' });
  });

  it('rejects something that is not a Cuckoo report', () => {
    expect(() => cuckoo.score('<html/>')).toThrow(expect.objectContaining({ name: 'BadResponseError' }));
  });
});

describe('Cuckoo connector against a Cuckoo 2 host east of UTC', () => {
  // Cuckoo 2 stores host-local `datetime.now()` in `started_on`; this host runs on Kolkata time (UTC+5:30).
  const clock = new TestClock();
  const emulator = new CuckooEmulator({ clock, timeZone: 'Asia/Kolkata', queueSeconds: 20, processingSeconds: 30 });
  let baseUrl = '';
  useEmulator(emulator, (url) => {
    baseUrl = url;
  });

  it('hints the run time really left once the vendor time zone is set', async () => {
    const at = (timeZone?: string) =>
      new CuckooConnector({ config: configFor(baseUrl, timeZone ? { timeZone } : {}), credentials: undefined, clock });
    const itemId = await at('Asia/Kolkata').submit(sample('// SANDTRAP-TEST-SUSPICIOUS inert marker\n'));
    clock.advance(50); // running for 30 s of 120: 90 s of run and 30 s of processing left
    expect(await at('Asia/Kolkata').status(itemId)).toMatchObject({ state: 'running', pollAfterSeconds: 120 });
    expect(await at().status(itemId)).toMatchObject({ state: 'running', pollAfterSeconds: 120 + 5.5 * 3600 });
  });
});
