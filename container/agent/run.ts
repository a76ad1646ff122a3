import { spawn } from 'node:child_process';
import { accessSync, closeSync, constants, openSync } from 'node:fs';
import { lstat, opendir, stat } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import type { AppliedLimits, LimitsHit } from '../../lambdas/core/contracts/detonation-report';
import type { AgentConfig } from '../../lambdas/core/contracts/agent-config';
import { guardArguments, type GuardOptions } from './guard';
import { clearKeyrings, removeSysvObjects } from './kernel-objects';
import { processesOfUid } from './procfs';
import { limitsBroken, SandboxMeter } from './sandbox-meter';

/**
 * Runs one program of the sample under this isolation chain:
 *
 *   guard (root: network policy, subreaper, private mounts when possible)
 *   → strace -f -q --seccomp-bpf -ttt -yy (root)
 *   → prlimit (CPU, AS, NPROC, FSIZE, NOFILE, CORE, MSGQUEUE) → [taskset]
 *   → setpriv (sandbox uid, no_new_privs, no capabilities) → env -i → the sample
 *
 * then enforces the deadline, the idle timeout and the trace cap, and holds the whole sample (every
 * process of the sandbox uid together) to its CPU, memory, process and disk limits by sampling;
 * the per-process rlimits stay as a first line. It ends with a sweep that kills every process of
 * the sandbox uid (a killed strace only detaches its tracees, and daemonised children have left
 * every process group), and removes the kernel objects the run left (SysV IPC, lock files, keys).
 */

/** Processes (tasks) the sandbox uid may have at once: enough for shells and pools, not for a fork bomb. */
export const PROCESS_LIMIT = 64;
/** The largest trace kept: about 13 s of strace's peak output (some 20,000 lines a second). */
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
  /** CPU seconds of the whole tree so far, ended processes included. */
  cpuSeconds: number;
  /** Sum of the processes' proportional set sizes. */
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
  /** CPU seconds of the whole sample at the last reading (what the rules hold against the run's length). */
  cpuSeconds: number;
  /** The tracer chain's exit status (the guard's, which passes strace's on). */
  exitStatus: number | null;
}

/**
 * setpriv's options that run what follows as `uid` (and `gid`) with nothing left of root: no
 * supplementary groups, no capabilities inherited or obtainable, and no gaining privileges by exec.
 */
export function dropTo(uid: number, gid: number = uid): string[] {
  return [
    `--reuid=${uid}`,
    `--regid=${gid}`,
    '--clear-groups',
    '--no-new-privs',
    '--inh-caps=-all',
    '--bounding-set=-all',
  ];
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

/**
 * The limits a report states: the configuration's, or, when there is no valid configuration (a
 * report of a run that failed before it had one), the limits of a default one-minute run.
 */
export function appliedLimits(config: AgentConfig | null): AppliedLimits {
  const timeout = config?.timeout ?? 60;
  const limits = config
    ? limitsFor(config, timeout)
    : {
        cpus: 1,
        cpuSeconds: timeout,
        memoryBytes: 512 * 1024 ** 2,
        processes: 64,
        fileSizeBytes: 256 * 1024 ** 2,
        diskBytes: 256 * 1024 ** 2,
      };
  return { ...limits, timeoutSeconds: timeout, idleTimeoutSeconds: config?.idleTimeout ?? 0 };
}

/** How often the runner reads the sample's use and holds it against the limits. */
const ENFORCEMENT_INTERVAL_MS = 250;
/** Processes whose affinity is put back per reading: a sample widening it in a loop gets its CPU budget, not the agent's time. */
const MAX_REPINS_PER_READING = 8;

/** The CPUs 0..count-1, as taskset takes them. */
function cpuList(count: number): string {
  return Array.from({ length: count }, (_, i) => i).join(',');
}

/** Whether a kernel CPU list ("0-1,3") names a CPU at or beyond `count`, or does not parse. */
export function widerThan(list: string, count: number): boolean {
  if (!/^\d+(-\d+)?(,\d+(-\d+)?)*$/.test(list)) return true;
  return list.split(',').some((range) => Math.max(...range.split('-').map(Number)) >= count);
}

/**
 * Puts back the affinity of processes that widened theirs (sched_setaffinity is theirs to call).
 * The CPU budget holds without this, summed over the tree; this keeps the sample to the CPUs it
 * was given while it runs.
 *
 * taskset runs as the sandbox uid: setting another user's affinity takes CAP_SYS_NICE, which the
 * container does not have (neither Docker's default set nor Fargate, which adds only SYS_PTRACE,
 * grants it), while a process may always set the affinity of processes of its own uid. As root
 * the call would fail with EPERM in the container and the widened processes would stay widened.
 */
async function repin(uid: number, cpusAllowed: ReadonlyMap<number, string>, count: number): Promise<void> {
  const widened = [...cpusAllowed].filter(([, list]) => widerThan(list, count)).slice(0, MAX_REPINS_PER_READING);
  await Promise.all(
    widened.map(
      ([pid]) =>
        new Promise<void>((resolve) => {
          const taskset = spawn(
            tool('setpriv'),
            [
              `--reuid=${uid}`,
              `--regid=${uid}`,
              '--clear-groups',
              '--',
              tool('taskset'),
              '-a',
              '-p',
              '-c',
              cpuList(count),
              String(pid),
            ],
            { stdio: 'ignore', env: { PATH: '/usr/bin:/bin' } },
          );
          taskset.on('error', () => resolve());
          taskset.on('close', () => resolve());
        }),
    ),
  );
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

/**
 * Removes a tree the sample may have shaped; never throws. GNU rm walks it by directory handle,
 * so nesting past PATH_MAX (where Node's recursive rm fails with ENAMETOOLONG) does not stop it;
 * it stays on the tree's own file system.
 */
export async function removeTree(path: string): Promise<void> {
  await new Promise<void>((resolve) => {
    const remover = spawn(tool('rm'), ['-rf', '--one-file-system', '--', path], {
      stdio: 'ignore',
      env: { PATH: '/usr/bin:/bin' },
    });
    remover.on('error', () => resolve());
    remover.on('close', () => resolve());
  });
}

/**
 * Removes what the sandbox uid left in shared directories: its entries at the top, and its entries
 * in directories of others that anyone may write to (the only other places it could create one).
 */
export async function removeLeftovers(uid: number, dirs: readonly string[], maxEntries = 100_000): Promise<void> {
  const stack = [...dirs];
  let seen = 0;
  while (stack.length > 0 && seen < maxEntries) {
    const dir = stack.pop() as string;
    const owned: string[] = [];
    try {
      const listing = await opendir(dir, { bufferSize: 256 });
      for await (const entry of listing) {
        if (++seen > maxEntries) break;
        const path = join(dir, entry.name);
        try {
          const info = await lstat(path);
          if (info.uid === uid) owned.push(path);
          else if (info.isDirectory() && (info.mode & 0o002) !== 0) stack.push(path);
        } catch {
          // gone meanwhile
        }
      }
    } catch {
      continue;
    }
    for (const path of owned) await removeTree(path);
  }
}

/** Shared places where a run can leave files for the next one (lock files, POSIX message queues). */
export const SHARED_LEFTOVER_DIRS = ['/run/lock', '/var/lock', '/dev/mqueue'] as const;

/**
 * Removes what a run of `uid` left outside its processes: SysV IPC objects, lock files and message
 * queues, and the keys in its keyrings. Runs after the sweep (an attached SysV segment goes with
 * its last process) and before a run (an agent that died mid-run left them). A sweep rather than
 * an IPC namespace: there is none on Fargate, and one would hide the sample's detached SysV
 * segments from the memory accounting, which reads /proc/sysvipc in the agent's namespace.
 */
export async function removeKernelLeftovers(uid: number): Promise<void> {
  await removeSysvObjects(uid, tool('ipcrm'));
  await removeLeftovers(uid, SHARED_LEFTOVER_DIRS);
  await clearKeyrings(uid, tool('setpriv'), tool('perl'));
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
    // The environment of every exec in full (strace abbreviates it by default): the rules read the
    // dynamic linker's variables (LD_PRELOAD, LD_AUDIT) a sample hands to the programs it runs.
    '-e',
    'abbrev=!execve,execveat',
    '-o',
    traceFile,
    '--',
  ];
}

/** The sample's user name: the image's `sandbox` account (the host box's uids may have no name). */
export const SAMPLE_USER = 'sandbox';

/**
 * The environment a sample starts with: a login user's on an ordinary Linux host, with the system
 * PATH (admin tools in the sbin directories are found, and a missing one is looked up in all of
 * them, as anywhere else). Nothing of the agent's environment is passed on.
 */
export function sampleEnvironment(home: string): string[] {
  return [
    'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
    `HOME=${home}`,
    `USER=${SAMPLE_USER}`,
    `LOGNAME=${SAMPLE_USER}`,
    'SHELL=/bin/bash',
    `MAIL=/var/mail/${SAMPLE_USER}`,
    'LANG=C.UTF-8',
    'TERM=xterm-256color',
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
      // No POSIX message queues: they outlive the run, and where /dev/mqueue is not mounted
      // (Docker, Fargate) the agent could not even list them to remove them.
      '--msgqueue=0',
      '--',
    ],
  ];
  const pinned = limits.cpus < availableParallelism() ? Math.max(1, Math.ceil(limits.cpus)) : null;
  if (pinned) wrappers.push([tool('taskset'), '-c', cpuList(pinned)]);
  wrappers.push([tool('setpriv'), ...dropTo(uid), '--']);
  wrappers.push([tool('env'), '-i', '-C', spec.cwd, ...sampleEnvironment(home)]);
  const argv = [
    ...guardArguments({ ...spec.guard, log: guardLog }),
    ...(traceFile ? straceArguments(config, traceFile) : []),
    ...wrappers.flat(),
    ...spec.command,
  ];

  // Objects an earlier run of this uid may have left (its agent died before cleaning up).
  await removeKernelLeftovers(uid);
  const meter = new SandboxMeter(uid, home);
  await meter.takeBaseline();

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

  const monitor = (async () => {
    // Limits are enforced by sampling (there is no cgroup on Fargate): often enough that a
    // sample cannot go far past one between two readings.
    const interval = Math.min(config.sampleInterval * 1000, ENFORCEMENT_INTERVAL_MS);
    let nextSample = Date.now();
    while (!stopping) {
      const now = Date.now();
      if (now >= deadline) {
        limitsHit.timeout = true;
        await stop('timeout');
        break;
      }
      const reading = await meter.read(child.pid ?? null, now);
      const traceBytes = traceFile
        ? await stat(traceFile).then(
            (s) => s.size,
            () => 0,
          )
        : 0;
      // Close to RLIMIT_AS in one process: its allocations are being refused.
      if (reading.vmPeakBytes >= limits.memoryBytes * 0.9) limitsHit.memory = true;
      if (config.monitorPerformance && now >= nextSample) {
        samples.push({
          time: now / 1000,
          processes: reading.processes,
          cpuSeconds: reading.cpuSeconds,
          rssBytes: reading.processMemoryBytes,
          diskBytes: reading.diskBytes,
          traceBytes,
        });
        nextSample = now + config.sampleInterval * 1000;
      }
      if (traceBytes !== lastTrace || reading.cpuSeconds - lastCpu > 0.05 || spec.networkActivity() > lastActivity)
        lastActivity = now;
      lastTrace = traceBytes;
      lastCpu = reading.cpuSeconds;
      const broken = limitsBroken(reading, limits);
      if (traceBytes > TRACE_CAP_BYTES) broken.push('traceSize');
      if (broken.length > 0) {
        for (const limit of broken) limitsHit[limit] = true;
        await stop('limit');
        break;
      }
      if (config.idleTimeout > 0 && reading.pids.length > 0 && now - lastActivity > config.idleTimeout * 1000) {
        await stop('idle');
        break;
      }
      if (pinned) await repin(uid, reading.cpusAllowed, pinned);
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
  await meter.settle();
  // Whatever still runs as the sandbox uid has left the traced tree (or was never traced: no -f).
  await sweepUid(uid);
  await removeKernelLeftovers(uid);
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
    cpuSeconds: lastCpu,
    exitStatus,
  };
}
