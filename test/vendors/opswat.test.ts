import { describe, expect, it } from 'vitest';
import { parseSettings } from '../../lambdas/core/config/runtime-config';
import { OpswatConnector } from '../../lambdas/vendors/opswat';
import { OpswatEmulator } from '../../emulators/opswat';
import {
  TestClock,
  expectPolls,
  fixture,
  standaloneConnector,
  sample as testSample,
  readJson as json,
  useEmulator,
} from './support';

const sample = (content: string, fileName = 'bad_file.exe') => testSample(content, fileName);

const config = (baseUrl: string, extra: Record<string, unknown> = {}) =>
  parseSettings({ vendors: [{ id: 'opswat', baseUrl, requestTimeoutMs: 500, ...extra }] }).vendors[0]!;

describe('OpswatConnector against the MetaDefender Sandbox emulator', () => {
  const clock = new TestClock(Date.parse('2026-11-22T12:00:00Z'));
  const emulator = new OpswatEmulator({
    clock,
    apiKey: 'md-key',
    pollPause: 7,
    queueSeconds: 5,
    runSeconds: 60,
    processingSeconds: 15,
  });
  let connector: OpswatConnector;
  useEmulator(emulator, (baseUrl) => {
    connector = new OpswatConnector({ config: config(baseUrl), credentials: 'md-key', clock: clock });
  });

  it('submits privately, follows pollPause while the scan runs, then scores the finished report', async () => {
    const id = await connector.submit(sample('SANDTRAP-TEST-SUSPICIOUS'));
    expect(id).toMatch(/^[0-9a-f]{24}$/);
    expect(emulator.isPrivate(id)).toBe(true);
    expect(connector.initialWaitSeconds()).toBeUndefined();
    await expectPolls(connector, clock, id, [
      [0, { done: false, failed: false, state: 'in_progress', pollAfterSeconds: 7 }],
      [40, { done: false, failed: false, state: 'in_progress', pollAfterSeconds: 7 }],
      [40, { done: true, failed: false, state: 'finished' }],
    ]);

    const report = await connector.report(id);
    expect(report).toMatchObject({ contentType: 'application/json', extension: 'json' });
    const document = (await json(report)) as { allFinished: boolean; reports: Record<string, Record<string, unknown>> };
    expect(document.allFinished).toBe(true);
    const [entry] = Object.values(document.reports);
    expect(Object.keys(entry!)).toEqual(
      expect.arrayContaining([
        'finalVerdict',
        'allTags',
        'overallState',
        'taskReference',
        'allSignalGroups',
        'iocs',
        'file',
      ]),
    );
    expect(connector.score(document)).toEqual({
      score: 50,
      verdict: 'suspicious',
      native: { value: 0.5, scale: 'threatLevel -1..1' },
    });
    expect(await connector.delete()).toBe(false);
  });

  it('shares the sample when told to', async () => {
    const shared = new OpswatConnector({
      config: config(emulator.baseUrl, { options: { isPrivate: false } }),
      credentials: 'md-key',
      clock: clock,
    });
    expect(emulator.isPrivate(await shared.submit(sample('public')))).toBe(false);
  });

  it('throws ItemNotFoundError for an unknown scan', async () => {
    await expect(connector.status('0'.repeat(24))).rejects.toMatchObject({ name: 'ItemNotFoundError' });
  });
});

describe('OpswatConnector.score', () => {
  const connector = standaloneConnector(OpswatConnector, config('https://www.filescan.io/api/'), 'key');
  const scale = 'threatLevel -1..1';

  it.each([
    ['opswat_submissions_result_benign.json', -1, 0, 'benign'],
    ['opswat_submissions_result_suspicious.json', 0.5, 50, 'suspicious'],
    ['opswat_submissions_result_likely_malicious.json', 0.75, 75, 'malicious'],
    ['opswat_submissions_result_malicious.json', 1, 100, 'malicious'],
  ] as const)('scores sandboxapi fixture %s: threatLevel %d → %d (%s)', (name, native, score, verdict) => {
    expect(connector.score(fixture(name))).toEqual({ score, verdict, native: { value: native, scale } });
  });

  it('scores the unfinished fixture (threatLevel 0, Undetermined) as unknown, where sandboxapi said 0', () => {
    expect(connector.score(fixture('opswat_submissions_result_not_finished.json'))).toEqual({
      score: null,
      verdict: 'unknown',
      native: { value: 0, scale },
    });
  });

  it('ignores undetermined files next to determined ones, and keeps No Threat levels benign', () => {
    const flow = (...levels: number[]) => ({
      allFinished: true,
      reports: Object.fromEntries(levels.map((threatLevel, i) => [`r${i}`, { finalVerdict: { threatLevel } }])),
    });
    expect(connector.score(flow(0, -1))).toMatchObject({ score: 0, verdict: 'benign', native: { value: -1 } });
    expect(connector.score(flow(0, 0.25))).toMatchObject({ score: 25, verdict: 'benign' });
    expect(connector.score(flow(0.1, 0.75, -1))).toMatchObject({
      score: 75,
      verdict: 'malicious',
      native: { value: 0.75 },
    });
    expect(connector.score(flow())).toEqual({ score: null, verdict: 'unknown', native: { value: null, scale } });
  });

  it('refuses what is not a scan report', () => {
    expect(() => connector.score({ flow_id: '6531567f966b1cca70e9fce5' })).toThrow(
      /not a MetaDefender Sandbox scan report/,
    );
  });
});
