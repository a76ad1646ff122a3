import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runGuarded, useGuardBench } from './guard-runner';

/**
 * A system call newer than the tracer knows would leave no trace: the guard answers "not
 * implemented" for fchmodat2 and everything after it, as an older kernel would, and the sample's
 * fallback (fchmodat) is traced like any other call.
 */
const PROBE = `
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <unistd.h>
int main(void) {
  long r = syscall(452 /* fchmodat2 */, AT_FDCWD, "/nonexistent-probe", 0644, 0);
  printf("fchmodat2=%ld errno=%d\\n", r, r < 0 ? errno : 0);
  r = syscall(SYS_fchmodat, AT_FDCWD, "/nonexistent-probe", 0644);
  printf("fchmodat=%ld errno=%d\\n", r, r < 0 ? errno : 0);
  return 0;
}
`;

describe('the guard and system calls the tracer cannot name', () => {
  const bench = useGuardBench('sandtrap-guard-untraced-', { code: PROBE });

  it('answers ENOSYS for fchmodat2 and leaves fchmodat to the kernel', async () => {
    const out = await runGuarded(bench.guard, bench.fake, join(bench.dir, 'guard.log'), [bench.probe]);
    // ENOSYS is 38 on x86_64; the older call reaches the kernel, which says ENOENT (2).
    expect(out).toContain('fchmodat2=-1 errno=38');
    expect(out).toContain('fchmodat=-1 errno=2');
  });
});
