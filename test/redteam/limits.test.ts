import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DetonationReport } from '../../lambdas/core/contracts/detonation-report';
import type { AgentConfigInput } from '../../lambdas/core/contracts/agent-config';
import { PresignedStandIn, SAMPLES } from '../detonation/harness';
import { detonateThrough, detonatorsUnderTest } from './harness';

/**
 * Probes that stay under every per-process limit and break the limit for the whole sample: several
 * processes that together hold too much memory, a directory of many empty files in front of bytes
 * written elsewhere, and a sample that widens its CPU affinity and burns CPU in two processes. Each
 * must end at the limit, named in `limitsHit`, well before its deadline. The probes touch only
 * their own memory and home, and talk to nothing.
 */

/** Common settings: idle detection off (the probes sleep once they hold their bytes). */
const BASE = { idle_timeout: 0, sample_interval: 0.25 };
const MEMORY = { ...BASE, timeout: 30, memory_limit: '128m' };
// Generous deadlines: the limit, not the deadline, must end each probe, even on a loaded machine.
const DISK = { ...BASE, timeout: 60, disk_limit: '16m' };
/** A tenth of a CPU for 30 s: a 3 CPU-second budget, however many CPUs the sample grabs. */
const CPU = { ...BASE, timeout: 30, cpu_limit: 0.1 };
const CPU_BUDGET = 3;

async function probe(file: string): Promise<{ name: string; body: Buffer }> {
  return { name: file, body: await readFile(`${SAMPLES}limits/${file}`) };
}

for (const { name, detonator } of detonatorsUnderTest()) {
  describe(`whole-sample limits (${name} detonator)`, () => {
    const s3 = new PresignedStandIn();
    const reports: Record<string, DetonationReport> = {};

    beforeAll(async () => {
      await s3.start();
      const run = async (key: string, file: string, config: AgentConfigInput) => {
        reports[key] = (await detonateThrough(detonator, s3, await probe(file), config)).report;
      };
      // Two at a time: the machine has two cores, and the CPU probe needs them to mean anything.
      await Promise.all([run('memory', 'aggregate_memory.py', MEMORY), run('disk', 'many_small_files.py', DISK)]);
      await run('cpu', 'affinity_widen.py', CPU);
    }, 240_000);

    afterAll(() => s3.stop());

    it('stops five processes that each stay under the memory limit and together exceed it', () => {
      const report = reports.memory as DetonationReport;
      expect(report).toMatchObject({ status: 'completed', endReason: 'limit', timedOut: false });
      expect(report.limitsHit.memory).toBe(true);
      expect(report.limits.memoryBytes).toBe(128 * 1024 * 1024);
      // No single process was refused its allocation: only the sum broke the limit.
      expect(report.output.tail).not.toContain('MemoryError');
      expect(report.output.tail).toMatch(/child \d holds \d+ MiB/);
    });

    it('stops a sample hiding its writes behind 20,005 empty files, at the disk limit', () => {
      const report = reports.disk as DetonationReport;
      expect(report).toMatchObject({ status: 'completed', endReason: 'limit', timedOut: false });
      expect(report.limitsHit.disk).toBe(true);
      expect(report.output.tail).toContain('small files written');
    });

    it('holds a sample that widens its CPU affinity to its CPU budget', () => {
      const report = reports.cpu as DetonationReport;
      // The probe did undo the pinning (otherwise this would prove nothing).
      expect(report.output.tail).toMatch(/widened to \[0, 1(, \d+)*\]/);
      expect(report).toMatchObject({ status: 'completed', timedOut: false });
      expect(report.limitsHit.cpu).toBe(true);
      expect(report.limits).toMatchObject({ cpus: 0.1, cpuSeconds: CPU_BUDGET });
      // Summed over the tree, readings stop within one interval's worth of two CPUs past the budget.
      const used = Math.max(...report.resourceUsage.items.map((s) => s.cpuSeconds));
      expect(used).toBeGreaterThanOrEqual(CPU_BUDGET);
      expect(used).toBeLessThan(CPU_BUDGET + 1);
      // Its widened processes were put back on the one CPU it was given.
      expect(report.output.tail).toMatch(/burner \d now on \[0\]/);
    });
  });
}
