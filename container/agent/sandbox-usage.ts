import { type ProcessEntry, readCpuTimes, readPssBytes, scanProcesses } from './procfs';

/**
 * What the whole sample uses right now: every process of the sandbox uid, however it was started
 * (forked, daemonised, reparented to the subreaper), counted together. Limits per process
 * (RLIMIT_AS, RLIMIT_CPU) let five processes of 380 MB each reach 1.9 GiB under a 512 MiB limit;
 * these sums are what the runner holds against the limits instead.
 */

/** One reading of the sandbox's processes. */
export interface SandboxUsage {
  /** The uid's processes, zombies included (they still hold a slot of RLIMIT_NPROC). */
  processes: ProcessEntry[];
  /** Tasks (threads) of those processes: what RLIMIT_NPROC counts. */
  tasks: number;
  /** Sum of the live processes' proportional set sizes (resident size where PSS cannot be read). */
  memoryBytes: number;
  /**
   * CPU seconds the sample has used since it started, ended processes included: each process's own
   * time and that of the children it reaped, plus what the root-owned chain above it (guard,
   * tracer) reaped of it. A process's time moves from it to its reaper when it is reaped, so the
   * sum does not lose ended processes, however short-lived.
   */
  cpuSeconds: number;
  /** The largest peak virtual size of one process. */
  vmPeakBytes: number;
}

/**
 * Measures the sandbox uid's processes. `chainRoot` is the pid of the root-owned process that
 * started the run (the guard); it and its root-owned descendants reap the sample's orphans and its
 * first process, and their reaped-children time is part of the sample's.
 */
export async function measureSandbox(uid: number, chainRoot: number | null): Promise<SandboxUsage> {
  const all = await scanProcesses();
  const processes = all.filter((p) => p.uid === uid);
  const chain = chainRoot === null ? [] : rootChain(all, chainRoot, uid);

  let tasks = 0;
  let vmPeakBytes = 0;
  for (const p of processes) {
    tasks += p.state === 'Z' ? 1 : Math.max(1, p.threads);
    vmPeakBytes = Math.max(vmPeakBytes, p.vmPeakBytes);
  }
  const [memory, sampleCpu, chainCpu] = await Promise.all([
    Promise.all(processes.filter((p) => p.state !== 'Z').map(async (p) => (await readPssBytes(p.pid)) ?? p.rssBytes)),
    Promise.all(processes.map(async (p) => readCpuTimes(p.pid))),
    Promise.all(chain.map(async (pid) => readCpuTimes(pid))),
  ]);
  const cpuSeconds =
    sampleCpu.reduce((sum, t) => sum + (t ? t.own + t.children : 0), 0) +
    chainCpu.reduce((sum, t) => sum + (t ? t.children : 0), 0);
  return {
    processes,
    tasks,
    memoryBytes: memory.reduce((sum, bytes) => sum + bytes, 0),
    cpuSeconds,
    vmPeakBytes,
  };
}

/** `root` and its descendants that are not the sandbox uid's (the tracer under the guard). */
function rootChain(all: readonly ProcessEntry[], root: number, uid: number): number[] {
  const chain = new Set<number>([root]);
  // Parents come before children only by accident of pid order: repeat until nothing is added.
  for (let added = true; added; ) {
    added = false;
    for (const p of all) {
      if (p.uid !== uid && !chain.has(p.pid) && chain.has(p.ppid)) {
        chain.add(p.pid);
        added = true;
      }
    }
  }
  return [...chain];
}
