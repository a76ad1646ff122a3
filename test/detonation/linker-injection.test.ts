import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseAgentConfig } from '../../lambdas/core/contracts/agent-config';
import { MAX_ENV } from '../../container/agent/observations';
import { straceArguments } from '../../container/agent/run';
import { JUDGED_HOME, judgeTrace } from './judge';

/**
 * The environment of every exec reaches the rules, so a sample that runs a program with a library
 * of its own preloaded (T1574.006, dynamic linker hijacking) is seen, and a build that preloads a
 * system library is not.
 */

const SAMPLE = 900;
const HOME = JUDGED_HOME;
const RULE = 'evasion.linker-injection';
const judge = judgeTrace;

const start = `${SAMPLE} 1795370910.000001 execve("/run/home/s", ["s"], 0x7ffd /* 7 vars */) = 0\n`;
const execWith = (env: string[], path = '/usr/bin/id') =>
  `${SAMPLE} 1795370910.5 execve("${path}", ["${path.split('/').pop()}"], [${env.map((e) => JSON.stringify(e)).join(', ')}]) = 0\n`;

describe('dynamic linker injection through the environment', () => {
  it.each([
    ['a library in /tmp', 'LD_PRELOAD=/tmp/.cache/libhook.so'],
    ['a library in /dev/shm through LD_AUDIT', 'LD_AUDIT=/dev/shm/a.so'],
    ['a library in its home', `LD_PRELOAD=${HOME}/.local/lib/libx.so`],
    ['a relative path', 'LD_PRELOAD=./hook.so'],
    ['one of several, space- and colon-separated', 'LD_PRELOAD=libc.so.6 /usr/lib/libm.so.6:/var/tmp/h.so'],
  ])('raises T1574.006 for %s', (_, entry) => {
    const { ids, execs } = judge(start + execWith(['PATH=/usr/bin:/bin', entry]));
    expect(ids.get(RULE)).toEqual(['T1574.006']);
    expect(execs.at(-1)?.env).toEqual(['PATH=/usr/bin:/bin', entry]);
  });

  it('raises it for a library the sample wrote itself, wherever it put it', () => {
    const wrote = `${SAMPLE} 1795370910.2 openat(AT_FDCWD, "/opt/vendor/libfast.so", O_WRONLY|O_CREAT|O_TRUNC, 0755) = 3\n`;
    expect(judge(start + wrote + execWith(['LD_PRELOAD=/opt/vendor/libfast.so'])).ids.get(RULE)).toEqual(['T1574.006']);
  });

  it.each([
    ['a system library a build preloads', 'LD_PRELOAD=/usr/lib/x86_64-linux-gnu/libeatmydata.so'],
    ['a bare library name, looked up in the system directories', 'LD_PRELOAD=libfakeroot-sysv.so'],
    ['a library path, which only adds directories to search', 'LD_LIBRARY_PATH=/tmp/build/lib'],
    ['a variable merely named like one', 'MY_LD_PRELOAD=/tmp/x.so'],
    ['an empty preload', 'LD_PRELOAD='],
  ])('stays silent for %s', (_, entry) => {
    expect(judge(start + execWith(['PATH=/usr/bin:/bin', entry])).ids.has(RULE)).toBe(false);
  });

  it('keeps at most MAX_ENV entries of an environment the sample chose to make huge', () => {
    const env = Array.from({ length: 300 }, (_, i) => `V${i}=x`);
    expect(judge(start + execWith(env)).execs.at(-1)?.env).toHaveLength(MAX_ENV);
  });

  it('reads nothing into an environment strace abbreviated', () => {
    const line = `${SAMPLE} 1795370910.5 execve("/usr/bin/id", ["id"], 0x7ffe /* 12 vars */) = 0\n`;
    expect(judge(start + line).execs.at(-1)?.env).toEqual([]);
  });
});

describe("the agent's strace command line", () => {
  const dir = mkdtempSync(join(tmpdir(), 'sandtrap-linker-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('prints each exec with its whole environment, so the rule sees a real preload', () => {
    const trace = join(dir, 'trace');
    const [strace, ...args] = straceArguments(parseAgentConfig({}, { allowInternet: false }), trace);
    // ld.so only warns about a preload it cannot open: the program still runs, as a sample's would.
    const run = spawnSync(strace as string, [...args, 'env', '-i', 'LD_PRELOAD=/tmp/absent-hook.so', '/bin/true']);
    expect(run.status).toBe(0);
    const text = readFileSync(trace, 'utf8');
    const pid = Number(/^(\d+)\s/.exec(text)?.[1]);
    // The first exec is strace's own child becoming `env`: it stands for the sample here.
    const { ids, execs } = judge(text.replaceAll(new RegExp(`^${pid}\\b`, 'gm'), String(SAMPLE)));
    expect(execs.map((e) => e.path)).toContain('/bin/true');
    expect(execs.find((e) => e.path === '/bin/true')?.env).toEqual(['LD_PRELOAD=/tmp/absent-hook.so']);
    expect(ids.get(RULE)).toEqual(['T1574.006']);
  });
});
