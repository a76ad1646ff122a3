import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseSettings } from '../../lambdas/core/config/runtime-config';
import { CapeConnector } from '../../lambdas/vendors/cape';
import { CapeEmulator } from '../../emulators/cape';
import { EmulatorServer } from '../../emulators/server';
import { TestClock, sample as testSample, useEmulator, vendorFixture } from './support';

const sample = (content: string, fileName = 'sample.js') => testSample(content, fileName);

describe('CapeConnector against the CAPEv2 emulator', () => {
  const clock = new TestClock(Date.parse('2026-11-22T12:00:00Z'));
  const emulator = new CapeEmulator({ clock, token: 'tok', queueSeconds: 30, processingSeconds: 60 });
  let connector: CapeConnector;
  const config = (baseUrl: string, extra = {}) =>
    parseSettings({ vendors: [{ id: 'cape', baseUrl, requestTimeoutMs: 500, analysisTimeoutSeconds: 120, ...extra }] })
      .vendors[0]!;

  useEmulator(emulator, (baseUrl) => {
    connector = new CapeConnector({ config: config(baseUrl), credentials: 'tok', clock: clock });
  });

  it('waits for reported, not completed, and hints the remaining run time', async () => {
    const id = await connector.submit(sample('// SANDTRAP-TEST-SUSPICIOUS'));
    expect(connector.initialWaitSeconds()).toBe(180);
    expect(await connector.status(id)).toMatchObject({ done: false, state: 'pending', pollAfterSeconds: 180 });
    clock.advance(60); // running since 30 s, for 120 s
    expect(await connector.status(id)).toMatchObject({ done: false, state: 'running', pollAfterSeconds: 150 });
    clock.advance(100); // run ended at 150 s: processing
    const processing = await connector.status(id);
    expect(processing).toMatchObject({ done: false, state: 'completed' });
    expect(processing.pollAfterSeconds).toBeUndefined();
    // The report is not there yet: CAPE says so with error: true inside an HTTP 200.
    await expect(connector.report(id)).rejects.toMatchObject({
      name: 'BadResponseError',
      message: expect.stringContaining('Task is still being analyzed'),
    });
    clock.advance(60);
    expect(await connector.status(id)).toMatchObject({ done: true, state: 'reported' });
    const report = await connector.report(id);
    const chunks: Buffer[] = [];
    for await (const chunk of report.body) chunks.push(chunk as Buffer);
    const parsed = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    expect(parsed.malscore).toBe(5.5);
    expect(connector.score(parsed)).toEqual({
      score: 55,
      verdict: 'suspicious',
      native: { value: 5.5, scale: 'malscore 0-10' },
    });
  });

  it('ends the engine on a task CAPE does not know: tasks/view answers HTTP 200 "Task not found in database"', async () => {
    // CAPEv2 web/apiv2/views.py (4da22e6), tasks_view:
    //   resp = {"error": True, "error_value": "Task not found in database"}
    //   return Response(resp)
    // An ItemNotFoundError ends the engine (status failed); a BadResponseError would be retried.
    await expect(connector.status('424242')).rejects.toMatchObject({
      name: 'ItemNotFoundError',
      message: 'cape: Task not found in database',
    });
  });

  it('says why a default CAPE refuses to delete, and deletes nothing', async () => {
    // conf/default/api.conf.default: [taskdelete] enabled = no; views.py tasks_delete:
    //   resp = {"error": True, "error_value": "Task Deletion API is Disabled"}
    const id = await connector.submit(sample('// SANDTRAP-TEST-SUSPICIOUS'));
    clock.advance(3600);
    expect(await connector.delete(id)).toBe(false);
    await expect(connector.deleteTask(id)).rejects.toMatchObject({
      name: 'EndpointDisabledError',
      message: expect.stringContaining('Task Deletion API is Disabled'),
    });
    expect(await connector.status(id)).toMatchObject({ done: true, state: 'reported' });
  });

  it('is available on a default install, where cuckoo/status/ is disabled: the task list answers instead', async () => {
    // conf/default/api.conf.default: [cuckoostatus] enabled = no, [tasklist] enabled = yes.
    const before = emulator.count('/tasks/list/');
    expect(await connector.available()).toBe(true);
    expect(emulator.count('/tasks/list/') - before).toBe(1);
  });

  it('maps error: true answers to typed errors: too large, unsupported', async () => {
    for (const [fault, name] of [
      ['oversize', 'SampleTooLargeError'],
      ['unsupported', 'UnsupportedFileError'],
    ] as const) {
      emulator.setFault(fault, 1);
      await expect(connector.submit(sample('x'))).rejects.toMatchObject({ name });
    }
  });

  it('has no quota fault to switch on: CAPE has no quota, only a throttle', () => {
    expect(() => emulator.setFault('quota')).toThrow(/cape has no quota fault/);
  });

  it('scores an unknown malscore as unknown, not as zero', () => {
    expect(connector.score({ malscore: null, malstatus: 'Failed' })).toMatchObject({ score: null, verdict: 'unknown' });
    expect(connector.score({ malscore: 0 })).toMatchObject({ score: 0, verdict: 'benign' });
    expect(connector.score({ malscore: 10.0 })).toMatchObject({ score: 100, verdict: 'malicious' });
    expect(() => connector.score('not json')).toThrow(/not a CAPE JSON report/);
  });
});

describe('CapeConnector against a CAPEv2 with deletion and cuckoo/status switched on', () => {
  const clock = new TestClock(Date.parse('2026-11-22T12:00:00Z'));
  const emulator = new CapeEmulator({ clock, taskDelete: true, cuckooStatus: true });
  let connector: CapeConnector;

  useEmulator(emulator, (baseUrl) => {
    const config = parseSettings({ vendors: [{ id: 'cape', baseUrl, requestTimeoutMs: 500 }] }).vendors[0]!;
    connector = new CapeConnector({ config, credentials: undefined, clock });
  });

  it('deletes a reported task: success is {"data": "Task(s) ID(s) N has been deleted"} with no error key', async () => {
    const id = await connector.submit(sample('// SANDTRAP-TEST-SUSPICIOUS'));
    // CAPE deletes only reported tasks (validate_task in tasks_delete); a running one fails to remove.
    await expect(connector.deleteTask(id)).rejects.toMatchObject({
      name: 'BadResponseError',
      message: expect.stringContaining(`Task(s) ID(s) ${id} failed to remove`),
    });
    clock.advance(3600);
    expect(await connector.delete(id)).toBe(true);
    expect(emulator.submissions).toBe(0);
    await expect(connector.status(id)).rejects.toMatchObject({ name: 'ItemNotFoundError' });
  });

  it('probes cuckoo/status/ where it is on, without listing tasks', async () => {
    expect(await connector.available()).toBe(true);
    expect(emulator.count('/tasks/list/')).toBe(0);
  });
});

describe("CapeConnector on CAPE's own bodies", () => {
  // The bodies of test/fixtures/vendors (origin in its README), each with the HTTP status CAPE sends.
  const answers: Record<string, [number, string]> = {
    '/apiv2/tasks/view/7/': [200, 'cape_tasks_view_not_found.json'],
    '/apiv2/tasks/delete/7/': [200, 'cape_tasks_delete_deleted.json'],
    '/apiv2/tasks/delete/8/': [200, 'cape_tasks_delete_disabled.json'],
    '/apiv2/cuckoo/status/': [200, 'cape_cuckoo_status_disabled.json'],
    '/apiv2/tasks/list/1/': [200, 'cape_tasks_list_ids.json'],
  };
  const server = new EmulatorServer((req) => {
    const answer = answers[req.url.pathname];
    return answer ? { status: answer[0], body: vendorFixture(answer[1]) as object } : { status: 404, body: 'none' };
  });
  let connector: CapeConnector;
  beforeAll(async () => {
    const origin = await server.start();
    const config = parseSettings({ vendors: [{ id: 'cape', baseUrl: `${origin}/apiv2/`, requestTimeoutMs: 500 }] })
      .vendors[0]!;
    connector = new CapeConnector({ config, credentials: undefined, clock: new TestClock() });
  });
  afterAll(() => server.stop());

  it('reads "Task not found in database" as ItemNotFoundError', async () => {
    await expect(connector.status('7')).rejects.toMatchObject({ name: 'ItemNotFoundError' });
  });

  it('reads a delete answer without an error key as success, and the disabled answer as EndpointDisabledError', async () => {
    expect(await connector.delete('7')).toBe(true);
    await expect(connector.deleteTask('8')).rejects.toMatchObject({ name: 'EndpointDisabledError' });
  });

  it('is available when cuckoo/status/ is disabled and the task list answers', async () => {
    expect(await connector.available()).toBe(true);
  });
});

describe('CapeConnector against a CAPE host east of UTC, whose timestamps are its wall clock', () => {
  // CAPE before Feb 2026 stored datetime.now() (host-local); since, lib/cuckoo/core/data/db_common.py:
  //   tz_name = cfg.cuckoo.get("timezone", "utc")
  //   return datetime.now(tz).replace(tzinfo=None)
  // Either way `started_on` is a naive wall-clock time of the host's zone, here Tokyo (UTC+9).
  const clock = new TestClock(Date.parse('2026-11-22T12:00:00Z'));
  const emulator = new CapeEmulator({ clock, timeZone: 'Asia/Tokyo', queueSeconds: 30, processingSeconds: 60 });
  let baseUrl = '';
  const connect = (timeZone?: string) =>
    new CapeConnector({
      config: parseSettings({
        vendors: [
          {
            id: 'cape',
            baseUrl,
            requestTimeoutMs: 500,
            analysisTimeoutSeconds: 120,
            ...(timeZone ? { timeZone } : {}),
          },
        ],
      }).vendors[0]!,
      credentials: undefined,
      clock,
    });
  useEmulator(emulator, (url) => {
    baseUrl = url;
  });

  it('hints the run time really left when the vendor time zone is set, not nine hours more', async () => {
    const tokyo = connect('Asia/Tokyo');
    const id = await tokyo.submit(sample('// SANDTRAP-TEST-SUSPICIOUS'));
    clock.advance(60); // running since 30 s, for 120 s: 90 s of run and 60 s of processing left
    expect(await tokyo.status(id)).toMatchObject({ state: 'running', pollAfterSeconds: 150 });
    // Read as UTC, the start lies nine hours ahead and the hint is overstated by as much.
    expect(await connect().status(id)).toMatchObject({ state: 'running', pollAfterSeconds: 150 + 9 * 3600 });
  });
});
