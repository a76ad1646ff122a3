import type { LimitsHit } from '../../lambdas/core/contracts/detonation-report';
import { sysvObjectsOfUid } from './kernel-objects';
import { measureSandbox } from './sandbox-usage';
import { type StorageUse, storageOfUid } from './storage';

/**
 * The runner's view of the whole sample while it runs: processes, tasks, CPU time, memory (its
 * processes, the files it keeps in memory-backed file systems, its detached SysV segments) and
 * disk, each summed over every process of the sandbox uid, and which limit a reading breaks.
 */

/** Places the sample can write to besides its home (when it has no private tmpfs there). */
export const SCRATCH_DIRS = ['/tmp', '/var/tmp', '/dev/shm', '/run/lock'] as const;
/** Storage walks at most this often, and take at most a fifth of the time between them. */
const STORAGE_MIN_INTERVAL_MS = 1000;
const STORAGE_DUTY = 5;

/** What the runner holds against the limits. */
export interface MeterLimits {
  cpuSeconds: number;
  memoryBytes: number;
  processes: number;
  diskBytes: number;
}

/** One reading of the whole sample. */
export interface MeterReading {
  /** Live (not zombie) pids of the uid. */
  pids: number[];
  /** Processes of the uid, zombies included. */
  processes: number;
  /** Tasks (threads) of the uid: what RLIMIT_NPROC counts. */
  tasks: number;
  /** CPU seconds of the whole tree since the start (never decreases from one reading to the next). */
  cpuSeconds: number;
  /** Sum of the processes' proportional set sizes. */
  processMemoryBytes: number;
  /** Everything in memory: processes, memory-backed files, detached SysV shared memory. */
  memoryBytes: number;
  /** Disk bytes written since the start. */
  diskBytes: number;
  /** The storage walk reached its cap: disk use unknown, so over the limit. */
  storageCapped: boolean;
  /** The largest peak virtual size of one process. */
  vmPeakBytes: number;
  /** The CPU lists of the uid's live processes, by pid. */
  cpusAllowed: Map<number, string>;
}

/** The limits a reading breaks. */
export function limitsBroken(reading: MeterReading, limits: MeterLimits): (keyof LimitsHit)[] {
  const broken: (keyof LimitsHit)[] = [];
  if (reading.memoryBytes > limits.memoryBytes) broken.push('memory');
  if (reading.tasks >= limits.processes) broken.push('processes');
  if (reading.storageCapped || reading.diskBytes > limits.diskBytes) broken.push('disk');
  if (reading.cpuSeconds >= limits.cpuSeconds) broken.push('cpu');
  return broken;
}

/**
 * Reads the sandbox uid's use. Storage is walked at a slower pace and beside the readings (a walk
 * of many entries takes longer than the interval in which memory and CPU must be checked).
 */
export class SandboxMeter {
  private baseline: StorageUse = { diskBytes: 0, memoryBytes: 0, entries: 0, capped: false };
  private storage: StorageUse = { diskBytes: 0, memoryBytes: 0, entries: 0, capped: false };
  private nextStorage = 0;
  private cpuSeconds = 0;
  /** The storage walk under way: it runs beside the readings, which use the last finished one. */
  private walking: Promise<void> | null = null;

  constructor(
    private readonly uid: number,
    private readonly home: string,
    private readonly maxStorageEntries?: number,
  ) {}

  /** What the agent placed in the home before the run (the sample, extracted members): not the sample's doing. */
  async takeBaseline(): Promise<void> {
    this.baseline = await storageOfUid({ uid: this.uid, dirs: [this.home], pids: [], ...this.entryCap() });
    // A home the agent filled beyond the cap cannot be measured against; the first reading says so.
    this.storage = this.baseline;
  }

  /** One reading; `chainRoot` is the guard's pid. */
  async read(chainRoot: number | null, now = Date.now()): Promise<MeterReading> {
    const usage = await measureSandbox(this.uid, chainRoot);
    const live = usage.processes.filter((p) => p.state !== 'Z');
    const pids = live.map((p) => p.pid);
    if (now >= this.nextStorage && pids.length > 0 && !this.walking) this.walking = this.walk(pids);
    const detachedShm = (await sysvObjectsOfUid(this.uid))
      // An attached segment's resident pages are in its processes' PSS already.
      .filter((o) => o.kind === 'shm' && o.attached === 0)
      .reduce((sum, o) => sum + o.bytes, 0);
    // Time only moves from a process to its reaper; a reading taken mid-move may miss some.
    this.cpuSeconds = Math.max(this.cpuSeconds, usage.cpuSeconds);
    return {
      pids,
      processes: usage.processes.length,
      tasks: usage.tasks,
      cpuSeconds: this.cpuSeconds,
      processMemoryBytes: usage.memoryBytes,
      memoryBytes: usage.memoryBytes + Math.max(0, this.storage.memoryBytes - this.baseline.memoryBytes) + detachedShm,
      diskBytes: Math.max(0, this.storage.diskBytes - this.baseline.diskBytes),
      storageCapped: this.storage.capped,
      vmPeakBytes: usage.vmPeakBytes,
      cpusAllowed: new Map(live.map((p) => [p.pid, p.cpusAllowed])),
    };
  }

  /** Waits for a storage walk under way (the run is over; nothing may touch its files after). */
  async settle(): Promise<void> {
    await this.walking;
  }

  private async walk(pids: number[]): Promise<void> {
    const started = Date.now();
    try {
      this.storage = await storageOfUid({
        uid: this.uid,
        dirs: [this.home, ...SCRATCH_DIRS],
        pids,
        ...this.entryCap(),
      });
    } catch {
      // Not measured is not small.
      this.storage = { ...this.storage, capped: true };
    } finally {
      this.nextStorage = Date.now() + Math.max(STORAGE_MIN_INTERVAL_MS, (Date.now() - started) * STORAGE_DUTY);
      this.walking = null;
    }
  }

  private entryCap(): { maxEntries?: number } {
    return this.maxStorageEntries === undefined ? {} : { maxEntries: this.maxStorageEntries };
  }
}
