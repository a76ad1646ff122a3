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
    timed('fork', () => detonate(s3, { file: 'limits/fork_storm.py' }, { timeout: 4, idle_timeout: 0, sample_interval: 0.25 })),
    // A quarter CPU over 8 s is a 2 s CPU budget: RLIMIT_CPU ends the loop long before the deadline.
    timed('loop', () => detonate(s3, { file: 'limits/endless_loop.sh' }, { timeout: 8, cpu_limit: 0.25, idle_timeout: 0, sample_interval: 0.25 })),
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
    expect(elapsed.fork).toBeLessThan(4 + 6);
  });

  it('stops an endless loop at its CPU budget, well before the deadline', () => {
    expect(endlessLoop).toMatchObject({ status: 'completed', timedOut: false });
    expect(endlessLoop.limitsHit.cpu).toBe(true);
    expect(endlessLoop.limits).toMatchObject({ cpuSeconds: 2, cpus: 0.25 });
    expect(endlessLoop.processes.items[0]?.signal).toMatch(/SIGXCPU|SIGKILL/);
    expect(elapsed.loop).toBeLessThan(7);
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

  it('leaves no process of any sandbox uid behind', async () => {
    for (let uid = FIRST_SANDBOX_UID; uid < FIRST_SANDBOX_UID + 8; uid++) expect(await processesOfUid(uid)).toEqual([]);
  });
});
