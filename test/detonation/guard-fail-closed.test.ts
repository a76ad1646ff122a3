import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { constants } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Canaries } from '../redteam/harness';
import { NET_PROBE_SOURCE, probeResult, spawnGuarded, useGuardBench } from './guard-runner';

/**
 * When the guard dies (a crash, an OOM kill), the sample's filter stays in place and its listener
 * is gone: the kernel then fails every call the filter hands to the guard, those already waiting
 * and those made later, with ENOSYS. Nothing is let through. The probe's grandchild outlives the
 * guard's own child (which dies with the guard by PDEATHSIG) and connects when told to.
 */

const { ENOSYS } = constants.errno;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const canaries = new Canaries();
const bench = useGuardBench('sandtrap-guard-death-', NET_PROBE_SOURCE, ['-O1']);
const { fake } = bench;

beforeAll(async () => {
  await canaries.start();
}, 60_000);

afterAll(async () => {
  await canaries.stop();
});

/** Starts the probe's waiting grandchild under the guard; resolves once the guard has started it. */
async function startWaitingProbe(
  log: string,
): Promise<{ child: ChildProcessWithoutNullStreams; output: Promise<string> }> {
  const child = spawnGuarded(bench.guard, fake, log, [
    bench.probe,
    'after-stdin',
    'x86_64',
    'v4',
    String(canaries.ports.tcp4),
  ]);
  let stdout = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  // The grandchild holds the pipe: its end is the probe's end, whatever happened to the guard.
  const output = new Promise<string>((resolve) => child.stdout.on('end', () => resolve(stdout)));
  await expect
    .poll(async () => (await readFile(log, 'utf8').catch(() => '')).includes('"ok":true'), { timeout: 10_000 })
    .toBe(true);
  await sleep(300); // the probe forks its waiting grandchild
  return { child, output };
}

describe('the guard failing closed', () => {
  it('fails a call that was waiting for the guard when the guard died', async () => {
    const { child, output } = await startWaitingProbe(join(bench.dir, 'pending.log'));
    const pid = child.pid as number;
    process.kill(pid, 'SIGSTOP');
    child.stdin.end('go\n');
    await sleep(400); // the connect is now queued on the stopped guard's listener
    expect(fake.hits).toEqual([]);
    process.kill(pid, 'SIGKILL');
    expect(probeResult(await output)).toMatchObject({ what: 'after-stdin', rc: -1, errno: ENOSYS });
    await sleep(100);
    expect(canaries.hits).toEqual([]);
    expect(fake.hits).toEqual([]);
  }, 30_000);

  it('fails every call made after the guard died', async () => {
    const { child, output } = await startWaitingProbe(join(bench.dir, 'after.log'));
    // The probe waits 800 ms after "late" before it connects: by then the guard is long gone.
    child.stdin.end('late\n');
    process.kill(child.pid as number, 'SIGKILL');
    await new Promise((resolve) => child.on('exit', resolve));
    expect(await readFile(join(bench.dir, 'after.log'), 'utf8')).not.toMatch(/"family":"inet/);
    expect(probeResult(await output)).toMatchObject({ what: 'after-stdin', rc: -1, errno: ENOSYS });
    await sleep(100);
    expect(canaries.hits).toEqual([]);
    expect(fake.hits).toEqual([]);
  }, 30_000);
});
