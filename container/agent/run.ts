import { spawn } from 'node:child_process';
import { accessSync, closeSync, constants, openSync } from 'node:fs';
import { lstat, readdir, rm, stat } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import type { AgentConfig, LimitsHit } from '../../lambdas/core/detonation-report';
import { guardArguments, type GuardOptions } from './guard';
import { processesOfUid } from './procfs';

/**
 * Runs one program of the sample under the notes' isolation recipe (§4.1):
 *
 *   guard (root: network policy, subreaper, private mounts when possible)
 *   → strace -f -q --seccomp-bpf -ttt -yy (root)
 *   → prlimit (CPU, AS, NPROC, FSIZE, NOFILE, CORE) → [taskset]
 *   → setpriv (sandbox uid, no_new_privs, no capabilities) → env -i → the sample
 *
 * then enforces the deadline, the idle timeout, the disk and trace caps, samples resource use, and
 * ends with a sweep that kills every process of the sandbox uid (a killed strace only detaches its
 * tracees, and daemonised children have left every process group).
 */

/** Processes (tasks) the sandbox uid may have at once: enough for shells and pools, not for a fork bomb. */
export const PROCESS_LIMIT = 64;
/** The largest trace kept (notes §7.1: about 13 s of strace's peak output). */
export const TRACE_CAP_BYTES = 256 * 1024 * 1024;
const GRACE_MS = 5000;

/** What `runSandboxed` needs to run one program. */
export interface RunSpec {
  /** The program (absolute path) and its arguments, run with the home as working directory. */
  command: string[];
  /** HOME of the sample, owned by the sandbox uid. */
  home: string;
  /** Working directory (the home, or where an archive was extracted). */
  cwd: string;
  /** Root-only directory for the trace, the guard log and the sample's output. */
  privateDir: string;
  /** File name prefix inside privateDir, one per run. */
  label: string;
  uid: number;
  config: AgentConfig;
  /** Seconds this run may take (the whole timeout, or a member's share of it). */
  timeoutSeconds: number;
  guardBinary: string;
  guard: Omit<GuardOptions, 'log'>;
  /** Epoch milliseconds of the fake network's last activity. */
  networkActivity: () => number;
}

/** One resource reading, in epoch seconds. */
export interface RawSample {
  time: number;
  processes: number;
  cpuSeconds: number;
  rssBytes: number;
  diskBytes: number;
  traceBytes: number;
}

/** How one run went, and where its trace and logs are. */
export interface RunResult {
  traceFile: string | null;
  guardLog: string;
  outputFile: string;
  /** How many wrapper programs run before the sample, for the collector. */
  wrapperExecs: number;
  startedAt: number;
  endedAt: number;
  endReason: 'exited' | 'timeout' | 'idle' | 'limit';
  limitsHit: Partial<LimitsHit>;
  samples: RawSample[];
  /** The tracer chain's exit status (the guard's, which passes strace's on). */
  exitStatus: number | null;
}

/** Applied limits, derived from the configuration. */
export function limitsFor(config: AgentConfig, timeoutSeconds: number) {
  const cpus = Math.min(config.cpuLimit, availableParallelism());
  return {
    cpus,
    // The CPU-time budget: the CPUs it may use over the whole window, at least one second.
    cpuSeconds: Math.max(1, Math.ceil(cpus * timeoutSeconds)),
    memoryBytes: config.memoryLimit,
    processes: PROCESS_LIMIT,
    fileSizeBytes: config.diskLimit,
    diskBytes: config.diskLimit,
  };
}

/** Where the tools of the chain live; absolute paths keep PATH searches (failed execs) out of the trace. */
const TOOL_DIRS = ['/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin'];

/** The absolute path of a tool, or its bare name when none is found (the exec then fails loudly). */
export function tool(name: string): string {
  for (const dir of TOOL_DIRS) {
    const path = `${dir}/${name}`;
    try {
      accessSync(path, constants.X_OK);
      return path;
    } catch {
      // not here
    }
  }
  return name;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Kills every process of `uid` until none is left: first with kill(-1) sent as that uid (it walks
 * the task list atomically, so a forking sample cannot outrun it), then pid by pid for anything
 * the first pass missed.
 */
export async function sweepUid(uid: number): Promise<void> {
  await new Promise<void>((resolve) => {
    const killer = spawn(
      tool('setpriv'),
      [`--reuid=${uid}`, `--regid=${uid}`, '--clear-groups', '--', '/bin/sh', '-c', 'kill -KILL -1 2>/dev/null; true'],
      {
        stdio: 'ignore',
        env: { PATH: '/usr/bin:/bin' },
      },
    );
    killer.on('error', () => resolve());
    killer.on('close', () => resolve());
  });
  for (let pass = 0; pass < 100; pass++) {
    const left = await processesOfUid(uid);
    if (left.length === 0) return;
    for (const { pid } of left) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    await sleep(20);
  }
}

/** Bytes under `dir` (regular files), walking at most `maxEntries` entries. */
export async function diskUsage(dir: string, maxEntries = 20000): Promise<number> {
  let total = 0;
  let seen = 0;
  const stack = [dir];
  while (stack.length > 0 && seen < maxEntries) {
    const current = stack.pop() as string;
    let names: string[];
    try {
      names = await readdir(current);
    } catch {
      continue;
    }
    for (const name of names) {
      if (++seen > maxEntries) break;
      const path = join(current, name);
      try {
        const info = await lstat(path);
        if (info.isDirectory()) stack.push(path);
        else if (info.isFile()) total += info.size;
      } catch {
        // removed meanwhile
      }
    }
  }
  return total;
}

/** Removes what the sandbox uid left in shared scratch directories (when it had no private tmpfs). */
export async function removeLeftovers(uid: number, dirs: readonly string[]): Promise<void> {
  for (const dir of dirs) {
    let names: string[];
    try {
      names = await readdir(dir);
    } catch {
      continue;
    }
    for (const name of names) {
      const path = join(dir, name);
      try {
        if ((await lstat(path)).uid === uid) await rm(path, { recursive: true, force: true });
      } catch {
        // gone, or not ours to remove
      }
    }
  }
}

/** The tracer's command line, up to and including `--` (the benchmark measures exactly this). */
export function straceArguments(config: AgentConfig, traceFile: string): string[] {
  // execve is always traced: the collector finds the sample's start by counting execs.
  const filter = [...new Set([...config.syscallFilter, 'execve'])].join(',');
  // -f even when track_children is off: without it strace prints no pid column and cannot use
  // --seccomp-bpf; the collector then keeps only the sample's own process.
  return [
    tool('strace'),
    '-f',
    '--seccomp-bpf',
    '-q',
    '-ttt',
    '-yy',
    '-s',
    '256',
    '-e',
    `trace=${filter}`,
    '-o',
    traceFile,
    '--',
  ];
}

/** Runs one program of the sample to its end, a limit, the deadline or idleness, and sweeps up. */
export async function runSandboxed(spec: RunSpec): Promise<RunResult> {
  const { config, uid, home } = spec;
  const limits = limitsFor(config, spec.timeoutSeconds);
  const traceFile = config.traceSyscalls ? join(spec.privateDir, `${spec.label}.trace`) : null;
  const guardLog = join(spec.privateDir, `${spec.label}.guard.log`);
  const outputFile = join(spec.privateDir, `${spec.label}.output`);

  const wrappers: string[][] = [
    [
      tool('prlimit'),
      `--cpu=${limits.cpuSeconds}:${limits.cpuSeconds + 2}`, // SIGXCPU at the soft limit, SIGKILL 2 s later
      `--as=${limits.memoryBytes}`,
      `--nproc=${limits.processes}`,
      `--fsize=${limits.fileSizeBytes}`,
      '--nofile=256',
      '--core=0',
      '--',
    ],
  ];
  if (limits.cpus < availableParallelism()) {
    wrappers.push([
      tool('taskset'),
      '-c',
      Array.from({ length: Math.max(1, Math.ceil(limits.cpus)) }, (_, i) => i).join(','),
    ]);
  }
  wrappers.push([
    tool('setpriv'),
    `--reuid=${uid}`,
    `--regid=${uid}`,
    '--clear-groups',
    '--no-new-privs',
    '--inh-caps=-all',
    '--bounding-set=-all',
    '--',
  ]);
  wrappers.push([
    tool('env'),
    '-i',
    '-C',
    spec.cwd,
    'PATH=/usr/local/bin:/usr/bin:/bin',
    `HOME=${home}`,
    'USER=sandbox',
    'LOGNAME=sandbox',
    'SHELL=/bin/sh',
    'LANG=C.UTF-8',
    'TERM=dumb',
  ]);
  const argv = [
    ...guardArguments({ ...spec.guard, log: guardLog }),
    ...(traceFile ? straceArguments(config, traceFile) : []),
    ...wrappers.flat(),
    ...spec.command,
  ];

  const output = openSync(outputFile, 'w', 0o600);
  const startedAt = Date.now() / 1000;
  const child = spawn(spec.guardBinary, argv, {
    stdio: ['ignore', output, output],
    cwd: '/',
    // The agent's environment holds the presigned URLs: nothing of it goes down the chain.
    env: { PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' },
    detached: true,
  });
  closeSync(output);
  const exited = new Promise<number | null>((resolve) => {
    child.on('error', () => resolve(null));
    child.on('close', (code, signal) => resolve(code ?? (signal ? 128 : null)));
  });

  const limitsHit: Partial<LimitsHit> = {};
  const samples: RawSample[] = [];
  let endReason: RunResult['endReason'] = 'exited';
  let stopping = false;
  let lastActivity = Date.now();
  let lastTrace = 0;
  let lastCpu = 0;
  const deadline = Date.now() + spec.timeoutSeconds * 1000;

  const stop = async (reason: RunResult['endReason']) => {
    if (stopping) return;
    stopping = true;
    endReason = reason;
    await sweepUid(uid);
  };

  // What the agent placed (the sample, extracted members) does not count against the sample's disk budget.
  const baselineDisk = await diskUsage(home);
  const monitor = (async () => {
    const interval = Math.min(config.sampleInterval * 1000, 1000);
    let nextSample = Date.now();
    while (!stopping) {
      const now = Date.now();
      if (now >= deadline) {
        limitsHit.timeout = true;
        await stop('timeout');
        break;
      }
      const processes = await processesOfUid(uid, { withUsage: true });
      const cpuSeconds = processes.reduce((sum, p) => sum + p.cpuSeconds, 0);
      const traceBytes = traceFile
        ? await stat(traceFile).then(
            (s) => s.size,
            () => 0,
          )
        : 0;
      const diskBytes = await diskUsage(home);
      if (processes.some((p) => p.vmPeakBytes >= limits.memoryBytes * 0.9)) limitsHit.memory = true;
      if (config.monitorPerformance && now >= nextSample) {
        samples.push({
          time: now / 1000,
          processes: processes.length,
          cpuSeconds,
          rssBytes: processes.reduce((s, p) => s + p.rssBytes, 0),
          diskBytes,
          traceBytes,
        });
        nextSample = now + config.sampleInterval * 1000;
      }
      if (traceBytes !== lastTrace || cpuSeconds - lastCpu > 0.05 || spec.networkActivity() > lastActivity)
        lastActivity = now;
      lastTrace = traceBytes;
      lastCpu = cpuSeconds;
      if (diskBytes - baselineDisk > limits.diskBytes) {
        limitsHit.disk = true;
        await stop('limit');
        break;
      }
      if (traceBytes > TRACE_CAP_BYTES) {
        limitsHit.traceSize = true;
        await stop('limit');
        break;
      }
      if (config.idleTimeout > 0 && processes.length > 0 && now - lastActivity > config.idleTimeout * 1000) {
        await stop('idle');
        break;
      }
      await Promise.race([exited, sleep(Math.min(interval, Math.max(10, deadline - Date.now())))]);
      if (child.exitCode !== null || child.signalCode !== null) break;
    }
  })();

  await monitor;
  if (child.exitCode === null && child.signalCode === null) {
    // Stopped by the monitor: strace should end once the sweep has killed its last tracee.
    const late = await Promise.race([exited, sleep(GRACE_MS).then(() => 'late' as const)]);
    if (late === 'late' && child.pid) {
      process.kill(-child.pid, 'SIGKILL');
      await sweepUid(uid);
    }
  }
  const exitStatus = await exited;
  stopping = true;
  // Whatever still runs as the sandbox uid has left the traced tree (or was never traced: no -f).
  await sweepUid(uid);
  return {
    traceFile,
    guardLog,
    outputFile,
    wrapperExecs: wrappers.length,
    startedAt,
    endedAt: Date.now() / 1000,
    endReason,
    limitsHit,
    samples,
    exitStatus,
  };
}
