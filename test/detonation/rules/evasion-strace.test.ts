import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseAgentConfig } from '../../../lambdas/core/contracts/agent-config';
import { straceArguments } from '../../../container/agent/run';
import { judgeTrace } from '../judge';

/**
 * The trickiest evasion shapes under the agent's real strace command line: a pipeline whose
 * members start in any order, a history file replaced by a link to /dev/null, and `ps` reading
 * every process's /proc files. Each runs a small inert shell script in a temporary directory.
 */

const dir = mkdtempSync(join(tmpdir(), 'sandtrap-evasion-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Runs `script` with sh under the agent's strace and judges the trace (the script's sh is the sample). */
function traced(name: string, script: string): Map<string, string[]> {
  const file = join(dir, `${name}.sh`);
  const trace = join(dir, `${name}.trace`);
  writeFileSync(file, script);
  const [strace, ...args] = straceArguments(parseAgentConfig({}, { allowInternet: false }), trace);
  const run = spawnSync(strace as string, [...args, '/bin/sh', file], { cwd: dir, encoding: 'utf8' });
  expect(run.status).toBe(0);
  return judgeTrace(readFileSync(trace, 'utf8'), { home: dir }).ids;
}

describe('evasion rules on real traces', () => {
  it('sees base64 -d piped into a shell as decoding (T1140) for evasion, the shell run (T1059.004) for execution', () => {
    // `echo SANDTRAP-TEST` encoded: the decoded program only prints a line.
    const ids = traced('decode', 'echo ZWNobyBTQU5EVFJBUC1URVNUCg== | base64 -d | sh\n');
    expect(ids.get('evasion.decode-to-shell')).toEqual(['T1140']);
    expect(ids.get('execution.decoded-shell')).toEqual(['T1059.004']);
  });

  it('sees the shell history linked to /dev/null (T1070.003)', () => {
    const ids = traced('history', `: > .bash_history\nln -sf /dev/null "${dir}/.bash_history"\n`);
    expect(ids.get('evasion.clear-history')).toEqual(['T1070.003']);
  });

  it('raises no evasion indicator when ps lists processes (no debugger or sandbox check)', () => {
    const ids = traced('ps', 'ps -ef > /dev/null\n');
    // Process listing itself is discovery, the data-harvesting rules' concern.
    expect([...ids.keys()].filter((id) => id.startsWith('evasion.'))).toEqual([]);
  });

  it('raises no evasion indicator when Node starts (it reads its own cgroup for its limits)', () => {
    const ids = traced('node', 'node -e "console.log(1)" > /dev/null\n');
    expect([...ids.keys()].filter((id) => id.startsWith('evasion.'))).toEqual([]);
  });
});
