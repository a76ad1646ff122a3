import { readdirSync, readFileSync } from 'node:fs';
import { readFile, readlink } from 'node:fs/promises';

/**
 * The sandbox's processes as /proc shows them. A process is the sandbox's when its real uid is the
 * sandbox uid: the sample cannot change that (no_new_privs, no capabilities), while it can leave
 * its process group or session, and make itself non-dumpable (which hands /proc/<pid> to root).
 * Every number read here is parsed strictly: a field that does not parse reads as absent, never
 * as NaN that would silently compare false against a limit.
 */

/** One process as its /proc/<pid>/status shows it. */
export interface ProcessEntry {
  pid: number;
  ppid: number;
  /** Real uid. */
  uid: number;
  /** The state letter (R, S, D, Z, T, ...). */
  state: string;
  /** Tasks (threads) of the process: each counts against RLIMIT_NPROC. */
  threads: number;
  /** Peak virtual size: how close it came to RLIMIT_AS. */
  vmPeakBytes: number;
  rssBytes: number;
  /** The CPUs the main thread may run on, as the kernel lists them ("0-1,3"). */
  cpusAllowed: string;
}

/** One live process of the sandbox uid. */
export interface ProcessUsage {
  pid: number;
  state: string;
  /** user + system seconds. */
  cpuSeconds: number;
  rssBytes: number;
  /** Peak virtual size: how close it came to RLIMIT_AS. */
  vmPeakBytes: number;
}

const TICKS_PER_SECOND = 100; // USER_HZ; the kernel reports /proc/<pid>/stat times in it on every architecture Linux runs here

function statusField(status: string, name: string): string | undefined {
  const at = status.indexOf(`\n${name}:`);
  if (at < 0) return undefined;
  const end = status.indexOf('\n', at + 1);
  return status.slice(at + name.length + 2, end < 0 ? undefined : end).trim();
}

/** A non-negative decimal integer, or null for anything else (empty, signed, fractional, huge). */
function natural(text: string | undefined): number | null {
  if (text === undefined || !/^\d{1,15}$/.test(text)) return null;
  return Number(text);
}

/** A "<n> kB" status field in bytes; 0 when absent (kernel threads have no memory fields). */
function kilobytes(text: string | undefined): number {
  return (natural(text?.split(/\s+/)[0]) ?? 0) * 1024;
}

function isPid(entry: string): boolean {
  return /^\d{1,10}$/.test(entry);
}

/**
 * Every process /proc shows now; processes that end during the scan are left out. The reads are
 * synchronous: /proc files are generated in memory, and a scan of a few hundred costs a third of
 * the CPU time that as many asynchronous reads cost (the runner scans four times a second).
 */
export async function scanProcesses(): Promise<ProcessEntry[]> {
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return [];
  }
  const out: ProcessEntry[] = [];
  for (const entry of entries) {
    if (!isPid(entry)) continue;
    let status: string;
    try {
      status = readFileSync(`/proc/${entry}/status`, 'latin1');
    } catch {
      continue; // gone meanwhile
    }
    const uid = natural(statusField(status, 'Uid')?.split(/\s+/)[0]);
    const ppid = natural(statusField(status, 'PPid'));
    if (uid === null || ppid === null) continue;
    out.push({
      pid: Number(entry),
      ppid,
      uid,
      state: statusField(status, 'State')?.[0] ?? '?',
      threads: natural(statusField(status, 'Threads')) ?? 1,
      vmPeakBytes: kilobytes(statusField(status, 'VmPeak')),
      rssBytes: kilobytes(statusField(status, 'VmRSS')),
      cpusAllowed: statusField(status, 'Cpus_allowed_list') ?? '',
    });
  }
  return out;
}

/** A file of /proc/<pid>, or null when the process is gone (or never let us read it). */
async function procText(pid: number, file: string): Promise<string | null> {
  try {
    return await readFile(`/proc/${pid}/${file}`, 'latin1');
  } catch {
    return null;
  }
}

/** CPU seconds of one process (all its threads, live and ended) and of its reaped children. */
export interface CpuTimes {
  own: number;
  children: number;
}

/** The CPU times in /proc/<pid>/stat, or null when the process is gone or the line does not parse. */
export async function readCpuTimes(pid: number): Promise<CpuTimes | null> {
  const stat = await procText(pid, 'stat');
  if (stat === null) return null;
  // Fields after the command name, which may itself contain spaces and parentheses.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const [utime, stime, cutime, cstime] = [fields[11], fields[12], fields[13], fields[14]].map(natural);
  if (utime == null || stime == null || cutime == null || cstime == null) return null;
  return { own: (utime + stime) / TICKS_PER_SECOND, children: (cutime + cstime) / TICKS_PER_SECOND };
}

/**
 * The proportional set size of a process (its private pages plus its share of pages it shares),
 * so that forked children sharing their parent's pages are not counted once each; null when
 * smaps_rollup cannot be read (then the caller falls back to the resident size).
 */
export async function readPssBytes(pid: number): Promise<number | null> {
  const rollup = await procText(pid, 'smaps_rollup');
  if (rollup === null) return null;
  const match = /\nPss:\s+(\d{1,15}) kB/.exec(rollup);
  return match ? Number(match[1]) * 1024 : null;
}

/** The mount namespace of a process ("mnt:[4026531841]"), or null when it is gone. */
export async function mountNamespaceOf(pid: number | 'self'): Promise<string | null> {
  try {
    return await readlink(`/proc/${pid}/ns/mnt`);
  } catch {
    return null;
  }
}

/**
 * Every process whose real uid is `uid`; zombies are left out unless asked for (they are dead and
 * only wait for their parent, often the tracer, to reap them).
 */
export async function processesOfUid(
  uid: number,
  options: { withUsage?: boolean; zombies?: boolean } = {},
): Promise<ProcessUsage[]> {
  const mine = (await scanProcesses()).filter((p) => p.uid === uid && (options.zombies || p.state !== 'Z'));
  return Promise.all(
    mine.map(async (p) => {
      const usage: ProcessUsage = { pid: p.pid, state: p.state, cpuSeconds: 0, rssBytes: 0, vmPeakBytes: 0 };
      if (options.withUsage) {
        usage.vmPeakBytes = p.vmPeakBytes;
        usage.rssBytes = p.rssBytes;
        usage.cpuSeconds = (await readCpuTimes(p.pid))?.own ?? 0;
      }
      return usage;
    }),
  );
}
