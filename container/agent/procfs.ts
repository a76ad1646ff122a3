import { readdir, readFile } from 'node:fs/promises';

/**
 * The sandbox's processes as /proc shows them. A process is the sandbox's when its real uid is the
 * sandbox uid: the sample cannot change that (no_new_privs, no capabilities), while it can leave
 * its process group or session, and make itself non-dumpable (which hands /proc/<pid> to root).
 */

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

/**
 * Every process whose real uid is `uid`; zombies are left out unless asked for (they are dead and
 * only wait for their parent, often the tracer, to reap them).
 */
export async function processesOfUid(
  uid: number,
  options: { withUsage?: boolean; zombies?: boolean } = {},
): Promise<ProcessUsage[]> {
  let entries: string[];
  try {
    entries = await readdir('/proc');
  } catch {
    return [];
  }
  const out: ProcessUsage[] = [];
  await Promise.all(
    entries.map(async (entry) => {
      const code = entry.charCodeAt(0);
      if (code < 0x30 || code > 0x39) return;
      let status: string;
      try {
        status = await readFile(`/proc/${entry}/status`, 'latin1');
      } catch {
        return; // gone meanwhile
      }
      const realUid = Number(statusField(status, 'Uid')?.split(/\s+/)[0]);
      if (realUid !== uid) return;
      const state = statusField(status, 'State')?.[0] ?? '?';
      if (state === 'Z' && !options.zombies) return;
      const usage: ProcessUsage = { pid: Number(entry), state, cpuSeconds: 0, rssBytes: 0, vmPeakBytes: 0 };
      if (options.withUsage) {
        usage.vmPeakBytes = Number.parseInt(statusField(status, 'VmPeak') ?? '0', 10) * 1024;
        usage.rssBytes = Number.parseInt(statusField(status, 'VmRSS') ?? '0', 10) * 1024;
        try {
          const stat = await readFile(`/proc/${entry}/stat`, 'latin1');
          // Fields after the command name, which may itself contain spaces and parentheses.
          const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
          usage.cpuSeconds = (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND;
        } catch {
          // exited between the two reads
        }
      }
      out.push(usage);
    }),
  );
  return out;
}
