import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DetonationReport } from '../../lambdas/core/detonation-report';
import { processesOfUid } from '../../container/agent/procfs';
import { FIRST_SANDBOX_UID } from '../../container/agent/sandbox-user';
import { detonate, PresignedStandIn } from './harness';

/**
 * Samples that misbehave against the limits: each is contained, and the analysis still ends with a
 * report (status completed, the limit named) within the time it was given.
 */

const s3 = new PresignedStandIn();
let forkStorm: DetonationReport;
let endlessLoop: DetonationReport;
let oversizeWrite: DetonationReport;
let memoryHog: DetonationReport;
let elapsed: Record<string, number> = {};

beforeAll(async () => {
  await s3.start();
  const timed = async (name: string, run: () => Promise<DetonationReport>) => {
    const start = Date.now();
    const r = await run();
    elapsed = { ...elapsed, [name]: (Date.now() - start) / 1000 };
    return r;
  };
  [forkStorm, endlessLoop, oversizeWrite, memoryHog] = await Promise.all([
    // Idle detection off: the sleeping children must be ended by the deadline and the sweep.
    timed('fork', () =>
      detonate(s3, { file: 'limits/fork_storm.py' }, { timeout: 4, idle_timeout: 0, sample_interval: 0.25 }),
    ),
    // A tenth of a CPU over 10 s is a 1 s CPU budget: RLIMIT_CPU ends the loop long before the
    // deadline, even on a busy machine.
    timed('loop', () =>
      detonate(
        s3,
        { file: 'limits/endless_loop.sh' },
        { timeout: 10, cpu_limit: 0.1, idle_timeout: 0, sample_interval: 0.25 },
      ),
    ),
    timed('write', () => detonate(s3, { file: 'limits/oversize_write.py' }, { timeout: 8, disk_limit: '8m' })),
    timed('memory', () => detonate(s3, { file: 'limits/memory_hog.py' }, { timeout: 8, memory_limit: '256m' })),
  ]);
}, 120_000);

afterAll(() => s3.stop());

describe('limits', () => {
  it('contains a fork storm with the process limit, ends it at the deadline and sweeps every child', async () => {
    expect(forkStorm).toMatchObject({ status: 'completed', timedOut: true, endReason: 'timeout' });
    expect(forkStorm.limitsHit).toMatchObject({ processes: true, timeout: true });
    expect(forkStorm.output.tail).toMatch(/forks refused: [1-9]\d*/);
    expect(forkStorm.behavior.destructive.map((i) => i.id)).toContain('destructive.fork-bomb');
    expect(elapsed.fork).toBeLessThan(4 + 8);
  });

  it('stops an endless loop at its CPU budget, well before the deadline', () => {
    expect(endlessLoop).toMatchObject({ status: 'completed', timedOut: false });
    expect(endlessLoop.limitsHit.cpu).toBe(true);
    expect(endlessLoop.limits).toMatchObject({ cpuSeconds: 1, cpus: 0.1 });
    expect(endlessLoop.processes.items[0]?.signal).toMatch(/SIGXCPU|SIGKILL/);
    expect(elapsed.loop).toBeLessThan(9);
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
    for (const r of [forkStorm, endlessLoop, oversizeWrite, memoryHog]) {
      const uid = r.processes.items[0]?.uid ?? FIRST_SANDBOX_UID;
      const pids = new Set(r.processes.items.map((p) => p.pid));
      expect(pids.size).toBeGreaterThan(0);
      // Other test files may run samples as the same uid by now; none may be one of these.
      expect((await processesOfUid(uid)).filter((p) => pids.has(p.pid))).toEqual([]);
    }
    expect(forkStorm.processes.count).toBeGreaterThan(10);
  });
});
