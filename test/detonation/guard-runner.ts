import { execFile, spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { chmod, mkdtemp } from 'node:fs/promises';
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
