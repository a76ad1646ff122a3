import { randomBytes, randomInt } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DetonationReport } from '../../lambdas/core/contracts/detonation-report';
import { processesOfUid } from '../../container/agent/procfs';
import { PROCESS_LIMIT } from '../../container/agent/run';
import { FIRST_SANDBOX_UID } from '../../container/agent/sandbox-user';
import { detonate, FAST, PresignedStandIn, SAMPLES } from './harness';

/**
 * The key and lock file of samples/limits/ipc_leave.py and ipc_find.py, made unique per test run so
 * that two runs of this file at once do not find each other's.
 */
const PROBE_KEY = 0x5a000000 + randomInt(0xffffff);
const PROBE_LOCK = `/run/lock/sandtrap-limits-probe-${randomBytes(4).toString('hex')}.lock`;

/** One of the IPC probes with this run's key and lock file. */
async function ipcProbe(file: string): Promise<{ name: string; body: Buffer }> {
  const text = (await readFile(`${SAMPLES}limits/${file}`, 'utf8'))
    .replaceAll('0x5A4D0001', `0x${PROBE_KEY.toString(16)}`)
    .replaceAll('/run/lock/sandtrap-limits-probe.lock', PROBE_LOCK);
  return { name: file, body: Buffer.from(text) };
}

/** Nests a file past PATH_MAX in its home, where no walk or rm by path reaches it, then waits. */
const DEEP_TREE = `import os, time
os.mkdir("deep"); os.chdir("deep")
for _ in range(20):
    os.mkdir("d" * 250); os.chdir("d" * 250)
open("hidden", "wb").write(b"z" * (1 << 20))
print("nested", flush=True)
time.sleep(30)
`;

/** Ids of the SysV shared-memory segments with `key`, whoever owns them. */
async function segmentsWithKey(key: number): Promise<string[]> {
  const rows = (await readFile('/proc/sysvipc/shm', 'latin1')).split('\n').slice(1);
  return rows
    .map((row) => row.trim().split(/\s+/))
    .filter((fields) => Number(fields[0]) === key)
    .map((fields) => fields[1] as string);
}

/**
 * Samples that misbehave against the limits: each is contained, and the analysis still ends with a
 * report (status completed, the limit named) within the time it was given.
 */

const s3 = new PresignedStandIn();
let forkStorm: DetonationReport;
let endlessLoop: DetonationReport;
let oversizeWrite: DetonationReport;
let memoryHog: DetonationReport;
let deepTree: DetonationReport;
let tmpfsFill: DetonationReport;
let ipcLeave: DetonationReport;
let ipcFind: DetonationReport;
/** What /proc/sysvipc and /run/lock held right after the leaving run. */
let afterLeave: { segments: string[]; lockFile: boolean };

beforeAll(async () => {
  await s3.start();
  // One run leaves a SysV segment and a lock file, the next looks for them.
  const leaveThenFind = async (): Promise<[DetonationReport, DetonationReport]> => {
    const left = await detonate(s3, await ipcProbe('ipc_leave.py'), FAST);
    afterLeave = { segments: await segmentsWithKey(PROBE_KEY), lockFile: existsSync(PROBE_LOCK) };
    return [left, await detonate(s3, await ipcProbe('ipc_find.py'), FAST)];
  };
  let ipc: [DetonationReport, DetonationReport];
  [forkStorm, endlessLoop, oversizeWrite, memoryHog] = await Promise.all([
    // Idle detection off, and a deadline far away: the process limit must be what ends it.
    detonate(s3, { file: 'limits/fork_storm.py' }, { timeout: 20, idle_timeout: 0, sample_interval: 0.25 }),
    // 3% of a CPU over 30 s is a 1 s CPU budget: RLIMIT_CPU ends the loop long before the deadline.
    // The deadline is far away so that a machine busy with other suites, which gives the loop a
    // small share of a core, still cannot make the deadline what ends it.
    detonate(
      s3,
      { file: 'limits/endless_loop.sh' },
      { timeout: 30, cpu_limit: 0.03, idle_timeout: 0, sample_interval: 0.25 },
    ),
    detonate(s3, { file: 'limits/oversize_write.py' }, { timeout: 8, disk_limit: '8m' }),
    detonate(s3, { file: 'limits/memory_hog.py' }, { timeout: 8, memory_limit: '256m' }),
  ]);
  // A second wave, so the runs above share the machine only with each other.
  [ipc, deepTree, tmpfsFill] = await Promise.all([
    leaveThenFind(),
    detonate(
      s3,
      { name: 'deep_tree.py', body: Buffer.from(DEEP_TREE) },
      { timeout: 10, idle_timeout: 0, sample_interval: 0.25 },
    ),
    // 48 MiB in /tmp and /dev/shm against 32 MiB of memory: files in a tmpfs are memory.
    detonate(
      s3,
      {
        name: 'tmpfs_fill.sh',
        body: Buffer.from(
          '#!/bin/sh\ndd if=/dev/zero of=/tmp/fill bs=1M count=24 2>/dev/null\ndd if=/dev/zero of=/dev/shm/fill bs=1M count=24 2>/dev/null\necho filled\nsleep 30\n',
        ),
      },
      { timeout: 15, idle_timeout: 0, sample_interval: 0.25, memory_limit: '32m' },
    ),
  ]);
  [ipcLeave, ipcFind] = ipc;
}, 180_000);

afterAll(() => s3.stop());

describe('limits', () => {
  it('stops a fork storm once the uid holds as many tasks as the process limit, and sweeps every child', async () => {
    expect(forkStorm).toMatchObject({ status: 'completed', timedOut: false, endReason: 'limit' });
    expect(forkStorm.limitsHit).toMatchObject({ processes: true, timeout: false });
    expect(forkStorm.limits.processes).toBe(PROCESS_LIMIT);
    // Stopped or not, the refused forks are in the trace: the storm is still judged as one.
    expect(forkStorm.behavior.destructive.map((i) => i.id)).toContain('destructive.fork-bomb');
  });

  it('stops an endless loop at its CPU budget, well before the deadline', () => {
    expect(endlessLoop).toMatchObject({ status: 'completed', timedOut: false });
    expect(endlessLoop.limitsHit.cpu).toBe(true);
    expect(endlessLoop.limits).toMatchObject({ cpuSeconds: 1, cpus: 0.03 });
    expect(endlessLoop.processes.items[0]?.signal).toMatch(/SIGXCPU|SIGKILL/);
    expect(endlessLoop.limits).toMatchObject({ cpuSeconds: 1, timeoutSeconds: 30 });
    // Measured by the monitor from the sample's start, so container start-up on a loaded machine
    // does not count: one CPU second of looping ends the run well inside the 30 s deadline.
    expect(endlessLoop.durationMs).toBeLessThan(20_000);
  });

  it('cuts an oversize write at the file size limit', () => {
    expect(oversizeWrite).toMatchObject({ status: 'completed', endReason: 'exited' });
    expect(oversizeWrite.limitsHit.fileSize).toBe(true);
    expect(oversizeWrite.limits.fileSizeBytes).toBe(8 * 1024 * 1024);
    expect(oversizeWrite.output.tail).toContain('File too large');
  });

  it('refuses an allocation beyond the memory limit', () => {
    expect(memoryHog).toMatchObject({ status: 'completed' });
    expect(memoryHog.limitsHit.memory).toBe(true);
    expect(memoryHog.output.tail).toContain('MemoryError');
  });

  it('leaves none of the sample processes behind', async () => {
    for (const r of [forkStorm, endlessLoop, oversizeWrite, memoryHog, ipcLeave, ipcFind]) {
      const uid = r.processes.items[0]?.uid ?? FIRST_SANDBOX_UID;
      const pids = new Set(r.processes.items.map((p) => p.pid));
      expect(pids.size).toBeGreaterThan(0);
      // Other test files may run samples as the same uid by now; none may be one of these.
      expect((await processesOfUid(uid)).filter((p) => pids.has(p.pid))).toEqual([]);
    }
    expect(forkStorm.processes.count).toBeGreaterThan(10);
  });

  it('removes the SysV segment and the lock file a run left, so the next run finds neither', () => {
    // The leaving run did create both (else the rest proves nothing).
    expect(ipcLeave.status).toBe('completed');
    expect(ipcLeave.output.tail).toMatch(/shm created \d+/);
    expect(ipcLeave.output.tail).toContain('lock written');
    // POSIX message queues are refused outright (RLIMIT_MSGQUEUE 0): nothing could list them to remove.
    expect(ipcLeave.output.tail).toContain('mqueue refused');
    expect(afterLeave).toEqual({ segments: [], lockFile: false });
    expect(ipcFind.status).toBe('completed');
    expect(ipcFind.output.tail).toContain('shm: absent');
    expect(ipcFind.output.tail).toContain('lock: absent');
    expect(ipcFind.output.tail).not.toContain('sandtrap-limits-ipc-marker');
  });

  it('stops a sample that nests its files past PATH_MAX, and still delivers the report', () => {
    expect(deepTree.output.tail).toContain('nested');
    expect(deepTree).toMatchObject({ status: 'completed', endReason: 'limit', timedOut: false });
    expect(deepTree.limitsHit.disk).toBe(true);
  });

  it('counts what a sample keeps in /tmp and /dev/shm against its memory', () => {
    expect(tmpfsFill.output.tail).toContain('filled');
    expect(tmpfsFill).toMatchObject({ status: 'completed', endReason: 'limit', timedOut: false });
    expect(tmpfsFill.limitsHit.memory).toBe(true);
  });
});
