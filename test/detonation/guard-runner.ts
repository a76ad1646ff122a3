import { execFile, spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { afterAll, beforeAll } from 'vitest';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { dropTo } from '../../container/agent/run';
import { LoopbackRecorder } from './loopback-recorder';
import { ensureGuard, type GuardMode, guardArguments } from '../../container/agent/guard';

/**
 * Runs programs under the network guard as the agent does (the guard, then setpriv to an
 * unprivileged uid, then the program), with a stand-in for the fake network, so a test can tell a
 * refused call from one redirected there. Used by the guard's matrix and fail-closed tests.
 */

const run = promisify(execFile);

/** The unprivileged uid the probes run as (nobody), as the sample runs as the sandbox uid. */
export const PROBE_UID = 65534;

/** The network probe's source. */
export const NET_PROBE_SOURCE = fileURLToPath(new URL('../redteam/probes/net-probe.c', import.meta.url));

/** A scratch directory the probe's uid can enter (mkdtemp makes it root-only). */
export async function scratchDirectory(prefix: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  await chmod(dir, 0o755);
  return dir;
}

/** What {@link useGuardBench} prepares; the paths are set once its `beforeAll` has run. */
export interface GuardBench {
  dir: string;
  guard: string;
  probe: string;
  fake: FakeNetwork;
}

/**
 * For the calling test file or describe block: a scratch directory with the guard built into it, a
 * probe compiled from C (`source`: a file, or `{ code }` written into the directory first) and the
 * fake network started; all of it stopped and removed after the tests.
 */
export function useGuardBench(prefix: string, source: string | { code: string }, flags: string[] = []): GuardBench {
  const bench: GuardBench = { dir: '', guard: '', probe: '', fake: new FakeNetwork() };
  beforeAll(async () => {
    bench.dir = await scratchDirectory(prefix);
    const file = typeof source === 'string' ? source : join(bench.dir, 'probe.c');
    if (typeof source !== 'string') await writeFile(file, source.code);
    [bench.guard, bench.probe] = await Promise.all([
      buildGuard(bench.dir),
      compileC(file, join(bench.dir, 'probe'), flags),
    ]);
    await bench.fake.start();
  }, 60_000);
  afterAll(async () => {
    await bench.fake.stop();
    if (bench.dir) await rm(bench.dir, { recursive: true, force: true });
  });
  return bench;
}

/** Compiles one C file with gcc; throws with the compiler's output when it fails. */
export async function compileC(source: string, output: string, flags: readonly string[] = []): Promise<string> {
  await run('gcc', [...flags, '-o', output, source, '-lpthread'], {
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin' },
  });
  return output;
}

/** The guard built from this checkout, into `dir`. */
export function buildGuard(dir: string): Promise<string> {
  return ensureGuard(join(dir, 'bin'));
}

/** What reached the stand-in for the fake network. */
export interface FakeHit {
  proto: 'tcp' | 'udp';
  bytes: number;
  first: string;
}

/** TCP and UDP listeners on 127.0.0.1 standing in for the fake network the guard redirects to. */
export class FakeNetwork extends LoopbackRecorder<FakeHit> {
  tcpPort = 0;
  udpPort = 0;

  constructor() {
    super((proto, bytes, first) => ({ proto: proto as FakeHit['proto'], bytes, first }));
  }

  async start(): Promise<void> {
    this.tcpPort = await this.listenTcp('tcp', '127.0.0.1');
    this.udpPort = await this.bindUdp('udp', 'udp4', '127.0.0.1');
  }
}

/** The guard's command line (redirecting to `fake` unless told otherwise), then setpriv to the probe uid. */
export function guardedCommand(
  fake: FakeNetwork,
  log: string,
  command: readonly string[],
  mode: GuardMode = 'redirect',
  tmpfs: readonly string[] = [],
): string[] {
  return [
    ...guardArguments({
      log,
      mode,
      ports: { dns: fake.udpPort, tcp: fake.tcpPort, udp: fake.udpPort },
      allowedPorts: [],
      blockedPorts: [],
      hide: [],
      tmpfs: tmpfs.map((d) => ({ dir: d, bytes: 1 << 20 })),
      resolv: null,
    }),
    'setpriv',
    ...dropTo(PROBE_UID),
    '--',
    ...command,
  ];
}

/** Runs a command under the guard to its end; returns its standard output. */
export async function runGuarded(
  guard: string,
  fake: FakeNetwork,
  log: string,
  command: readonly string[],
  mode: GuardMode = 'redirect',
  tmpfs: readonly string[] = [],
): Promise<string> {
  const { stdout } = await run(guard, guardedCommand(fake, log, command, mode, tmpfs), {
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin' },
    timeout: 20_000,
  });
  return stdout;
}

/** Starts a command under the guard with a stdin pipe, for tests that stop or kill the guard mid-run. */
export function spawnGuarded(
  guard: string,
  fake: FakeNetwork,
  log: string,
  command: readonly string[],
): ChildProcessWithoutNullStreams {
  return spawn(guard, guardedCommand(fake, log, command), {
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin' },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
}

/** What the probe printed: the call's return value and errno. */
export interface ProbeResult {
  what: string;
  rc: number;
  errno: number;
  error: string;
}

/** The probe's last JSON line. */
export function probeResult(stdout: string): ProbeResult {
  const line = stdout.trim().split('\n').pop() ?? '';
  return JSON.parse(line) as ProbeResult;
}
