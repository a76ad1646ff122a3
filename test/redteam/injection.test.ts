import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DetonationReport } from '../../lambdas/core/contracts/detonation-report';
import { PresignedStandIn } from '../detonation/harness';
import { detonateThrough, detonatorsUnderTest } from './harness';

/**
 * Injection into another process is seen and named: an inert C probe forks a child of its own and
 * writes a marker into it with process_vm_writev and through /proc/<child>/mem. The child prints
 * its buffers, so the test knows both writes really landed (the probe is live, not a no-op) and
 * that the report still names each technique with its ATT&CK id.
 */

const PROBE = readFileSync(new URL('./probes/inject.c', import.meta.url));

const s3 = new PresignedStandIn();
beforeAll(() => s3.start());
afterAll(() => s3.stop());

function indicator(report: DetonationReport, id: string) {
  return Object.values(report.behavior)
    .flat()
    .find((i) => i.id === id);
}

describe.each(detonatorsUnderTest())('injection into a child through the $name detonator', ({ detonator }) => {
  let report: DetonationReport;
  beforeAll(async () => {
    ({ report } = await detonateThrough(detonator, s3, { name: 'inject.c', body: PROBE }));
  }, 120_000);

  it('ran the probe and both writes landed in the child', () => {
    expect(report.status).toBe('completed');
    expect(report.output.tail).toContain('parent vm_writev=12 proc_mem=13');
    expect(report.output.tail).toContain('child vm_writev=INJECTED-VM proc_mem=INJECTED-MEM');
  });

  it('names process_vm_writev injection (T1055) with the trace line as evidence', () => {
    const found = indicator(report, 'execution.injection-vm-write');
    expect(found?.attack).toEqual(['T1055']);
    expect(found?.evidence.some((e) => /process_vm_writev\(\d+, \[\{iov_base="INJECTED-VM/.test(e))).toBe(true);
  });

  it('names the /proc/<pid>/mem write (T1055.009)', () => {
    const found = indicator(report, 'execution.injection-proc-mem');
    expect(found?.attack).toEqual(['T1055.009']);
    expect(found?.evidence.some((e) => /openat\(.*"\/proc\/\d+\/mem", O_RDWR/.test(e))).toBe(true);
  });

  it('scores the run malicious', () => {
    expect(report.verdict).toBe('malicious');
  });
});
