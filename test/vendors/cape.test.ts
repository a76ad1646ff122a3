import { describe, expect, it } from 'vitest';
import { parseSettings } from '../../lambdas/core/config/runtime-config';
import { CapeConnector } from '../../lambdas/vendors/cape';
import { CapeEmulator } from '../../emulators/cape';
import { TestClock, sample as testSample, useEmulator } from './support';

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
    expect(await connector.delete(id)).toBe(true);
    await expect(connector.status(id)).rejects.toMatchObject({ name: 'ItemNotFoundError' });
  });

  it('maps error: true answers to typed errors: too large, quota, unsupported', async () => {
    for (const [fault, name] of [
      ['oversize', 'SampleTooLargeError'],
      ['quota', 'QuotaExceededError'],
      ['unsupported', 'UnsupportedFileError'],
    ] as const) {
      emulator.setFault(fault, 1);
      await expect(connector.submit(sample('x'))).rejects.toMatchObject({ name });
    }
  });

  it('scores an unknown malscore as unknown, not as zero', () => {
    expect(connector.score({ malscore: null, malstatus: 'Failed' })).toMatchObject({ score: null, verdict: 'unknown' });
    expect(connector.score({ malscore: 0 })).toMatchObject({ score: 0, verdict: 'benign' });
    expect(connector.score({ malscore: 10.0 })).toMatchObject({ score: 100, verdict: 'malicious' });
    expect(() => connector.score('not json')).toThrow(/not a CAPE JSON report/);
  });
});
