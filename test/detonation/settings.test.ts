import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { detonate, indicatorIds, PresignedStandIn } from './harness';

/** Configuration settings that change what is run, observed or reported. */

const s3 = new PresignedStandIn();
beforeAll(() => s3.start());
afterAll(() => s3.stop());

describe('types the agent cannot run', () => {
  it('gives them static triage only: status unsupported, verdict unknown, their URLs and addresses listed', async () => {
    const body = Buffer.from('%PDF-1.4\n1 0 obj << /URI (http://c2.example.test/invoice) >> endobj\n% 203.0.113.10\n');
    const r = await detonate(s3, { name: 'invoice.pdf', body });
    expect(r).toMatchObject({ status: 'unsupported', verdict: 'unknown', score: null, endReason: 'not-run' });
    expect(r.sample).toMatchObject({ fileType: 'pdf', preparation: { method: 'static-only' } });
    expect(r.staticStrings.urls.items).toEqual(['http://c2.example.test/invoice']);
    expect(r.staticStrings.ipAddresses.items).toEqual(['203.0.113.10']);
    expect(r.processes.count).toBe(0);
  });
});

describe('configuration settings', () => {
  it('ends a sample that goes quiet at idle_timeout, long before the deadline', async () => {
    const start = Date.now();
    const r = await detonate(
      s3,
      { file: 'limits/sleeper.sh' },
      { timeout: 30, idle_timeout: 1.5, sample_interval: 0.25 },
    );
    expect(r).toMatchObject({ status: 'completed', endReason: 'idle', timedOut: false });
    expect(r.output.tail).toContain('awake');
    expect(indicatorIds(r)).toEqual([]);
    expect((Date.now() - start) / 1000).toBeLessThan(10);
  });

  it('leaves processes, files and network out of the report when told to, and still judges the behaviour', async () => {
    const r = await detonate(
      s3,
      { file: 'behaviors/network.py' },
      { timeout: 10, idle_timeout: 4, monitor_processes: false, monitor_files: false, capture_network: false },
    );
    expect(r.processes.count + r.executions.count + r.fileOperations.count).toBe(0);
    expect(Object.values(r.network).every((list) => list.count === 0)).toBe(true);
    expect(indicatorIds(r)).toEqual(expect.arrayContaining(['network.http', 'network.upload']));
  });

  it('lists file operations only under watched_directories', async () => {
    const r = await detonate(
      s3,
      { file: 'behaviors/persistence.sh' },
      { timeout: 10, idle_timeout: 4, watched_directories: ['~'] },
    );
    expect(r.fileOperations.count).toBeGreaterThan(0);
    const home = r.fileOperations.items.find((f) => f.path.endsWith('/.bashrc'))?.path.replace(/\/\.bashrc$/, '');
    expect(r.fileOperations.items.every((f) => f.path === home || f.path.startsWith(`${home}/`))).toBe(true);
    // Rules see every path regardless: the refused /etc/cron.d write is still an indicator.
    expect(indicatorIds(r)).toContain('persistence.cron');
  });

  it('runs without the tracer when trace_syscalls is off, and still captures the traffic', async () => {
    const r = await detonate(
      s3,
      { file: 'behaviors/network.py' },
      { timeout: 10, idle_timeout: 4, trace_syscalls: false, pcap: true },
    );
    expect(r.status).toBe('completed');
    expect(r.capabilities).toMatchObject({
      tracer: 'none',
      seccompBpf: false,
      networkGuard: true,
      pcap: 'captured',
      pcapFile: { truncated: false },
    });
    expect(r.capabilities.pcapFile?.packets).toBeGreaterThan(10);
    expect(r.processes.count).toBe(0);
    // The guard and the fake network still see the traffic.
    expect(r.network.httpRequests.count).toBe(2);
  });

  it("observes only the sample's own process when track_children is off", async () => {
    const r = await detonate(
      s3,
      { file: 'behaviors/execution.sh' },
      { timeout: 10, idle_timeout: 4, track_children: false },
    );
    expect(r.processes.items.map((p) => p.exe)).toEqual(['/bin/sh']);
    expect(r.executions.items.map((e) => e.path)).toEqual(['/bin/sh']);
    // stage2.sh ran in a child: not judged.
    expect(indicatorIds(r)).not.toContain('execution.dropped-file');
    expect(r.notes.items.some((n) => /track_children/.test(n))).toBe(true);
  });
});
