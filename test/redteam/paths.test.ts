import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DetonationReport } from '../../lambdas/core/contracts/detonation-report';
import { indicatorIds, PresignedStandIn } from '../detonation/harness';
import { detonateThrough, detonatorsUnderTest } from './harness';

/**
 * Path-spelling twins, detonated for real: the same persistence, credential reads, setuid bit and
 * execution of a file it wrote, written plainly, through /proc/self/cwd and /proc/self/root, and through
 * symlinks the sample makes (`l -> .`, `r -> /`) with `..` and `//` thrown in. Every twin must raise
 * the same indicators and score the same: spelling a path differently hides nothing.
 */

const PREAMBLE =
  '#!/bin/sh\n# SANDTRAP-TEST-MALICIOUS: path-spelling twin (inert: it only touches its own home)\ncd "$HOME" || exit 1\n';

const TWINS: Record<string, string> = {
  direct: `${PREAMBLE}
echo 'echo twin' >> "$HOME/.bashrc"
cat /etc/shadow > /dev/null 2>&1
cat "$HOME/.ssh/id_rsa" > /dev/null 2>&1
printf '#!/bin/sh\\necho stage2 ran\\n' > "$HOME/stage2"
chmod 4755 "$HOME/stage2"
"$HOME/stage2"
`,
  proc: `${PREAMBLE}
echo 'echo twin' >> /proc/self/cwd/.bashrc
cat /proc/self/root/etc/shadow > /dev/null 2>&1
cat /proc/self/cwd/.ssh/id_rsa > /dev/null 2>&1
printf '#!/bin/sh\\necho stage2 ran\\n' > /proc/self/cwd/stage2
chmod 4755 "/proc/self/root$HOME/stage2"
/proc/self/cwd/stage2
`,
  symlinks: `${PREAMBLE}
ln -s . l
ln -s / r
echo 'echo twin' >> l/l/.bashrc
cat r//etc/../etc/shadow > /dev/null 2>&1
cat l/.ssh/../.ssh//id_rsa > /dev/null 2>&1
printf '#!/bin/sh\\necho stage2 ran\\n' > l/stage2
chmod 4755 "r$HOME/stage2"
./l/stage2
`,
};

const s3 = new PresignedStandIn();
beforeAll(() => s3.start());
afterAll(() => s3.stop());

describe.each(detonatorsUnderTest())('path-spelling twins through the $name detonator', ({ detonator }) => {
  const reports = new Map<string, DetonationReport>();
  beforeAll(async () => {
    for (const [name, script] of Object.entries(TWINS)) {
      const { report } = await detonateThrough(detonator, s3, { name: `${name}.sh`, body: Buffer.from(script) });
      reports.set(name, report);
    }
  }, 180_000);

  const report = (name: string) => reports.get(name) as DetonationReport;

  it('the direct twin ran to its end and raises what it does', () => {
    const direct = report('direct');
    expect(direct.status).toBe('completed');
    expect(direct.output.tail).toContain('stage2 ran');
    expect(indicatorIds(direct)).toEqual(
      expect.arrayContaining([
        'persistence.shell-init',
        'dataHarvesting.password-hashes',
        'dataHarvesting.ssh-keys',
        'privilegeEscalation.setuid-bit',
        'execution.written-file',
      ]),
    );
    expect(direct.verdict).toBe('malicious');
  });

  for (const twin of ['proc', 'symlinks']) {
    it(`the ${twin} twin ran too, and raises the same indicators with the same score`, () => {
      const r = report(twin);
      expect(r.status).toBe('completed');
      expect(r.output.tail).toContain('stage2 ran');
      expect(indicatorIds(r).sort()).toEqual(indicatorIds(report('direct')).sort());
      expect({ score: r.score, verdict: r.verdict }).toEqual({
        score: report('direct').score,
        verdict: report('direct').verdict,
      });
    });
  }
});
