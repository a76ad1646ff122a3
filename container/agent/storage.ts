import type { Stats } from 'node:fs';
import { lstat, opendir, readdir, readlink, stat, statfs } from 'node:fs/promises';
import { join } from 'node:path';
import { mountNamespaceOf } from './procfs';

/**
 * What the sample has stored, by ownership: every file, directory and link the sandbox uid owns in
 * the places it can write (its home, /tmp, /var/tmp, /dev/shm, /run/lock), seen from each mount
 * namespace its processes live in, plus files it holds open (deleted ones and memfds included,
 * which no directory walk sees). Bytes on memory-backed file systems (tmpfs, memfd) are memory,
 * the rest is disk.
 *
 * The walk is bounded, and the bound fails closed: a walk that reaches its entry cap reports
 * `capped`, and the caller treats that as over the limit. Sorting or nesting cannot hide bytes
 * behind a cap that is counted instead of trusted.
 */

/** What the sample has stored. */
export interface StorageUse {
  /** Bytes allocated on disk-backed file systems. */
  diskBytes: number;
  /** Bytes held by memory-backed file systems (tmpfs, ramfs, memfd). */
  memoryBytes: number;
  /** Entries of the uid the walk counted. */
  entries: number;
  /** The walk stopped at a cap: the use is unknown and must count as over the limit. */
  capped: boolean;
}

/** Where and how far to look. */
export interface StorageScope {
  uid: number;
  /** Directories the sample can write to, as absolute paths of its mount namespace. */
  dirs: readonly string[];
  /**
   * The uid's live processes: the walk runs once in each of their mount namespaces, and their
   * open files are counted. With none, `dirs` are walked as this process sees them.
   */
  pids: readonly number[];
  /** The uid's entries the walk may count before it stops (and reports `capped`). */
  maxEntries?: number;
}

/** How many of the uid's entries a walk counts: a directory of 20,000 empty files is over it. */
export const MAX_STORAGE_ENTRIES = 20_000;
/** Entries of others examined per entry of the uid allowed (a shared /tmp holds other users' files). */
const FOREIGN_ENTRY_FACTOR = 4;
/** Mount namespaces walked: a sample needs user namespaces to make more, and gets the limit. */
const MAX_NAMESPACES = 8;
/** Open files examined per process (RLIMIT_NOFILE of the sample is lower). */
const MAX_FDS_PER_PROCESS = 1024;

const MEMORY_BACKED = new Set([
  0x01021994, // tmpfs (and the shmem behind memfd and SysV shm)
  0x858458f6, // ramfs
  0x958458f6, // hugetlbfs
]);

/** One measurement: a cache of file system types by device, and the inodes already counted. */
class Tally {
  readonly use: StorageUse = { diskBytes: 0, memoryBytes: 0, entries: 0, capped: false };
  private readonly seen = new Set<string>();
  private readonly memoryDevices = new Map<number, boolean>();
  private examined = 0;

  constructor(
    readonly uid: number,
    private readonly maxEntries: number,
  ) {}

  /** Counts one examined entry; false once a cap is reached. */
  examine(): boolean {
    if (this.use.capped) return false;
    if (++this.examined > this.maxEntries * FOREIGN_ENTRY_FACTOR) this.use.capped = true;
    return !this.use.capped;
  }

  /** Whether the device of `info` is memory-backed; `path` is on it (statfs follows it). */
  async memoryBacked(info: Stats, path: string): Promise<boolean> {
    const known = this.memoryDevices.get(info.dev);
    if (known !== undefined) return known;
    let memory = false;
    try {
      memory = MEMORY_BACKED.has((await statfs(path)).type);
    } catch {
      // unknown file system: counted as disk, where the limit is usually the lower one
    }
    this.memoryDevices.set(info.dev, memory);
    return memory;
  }

  /** Adds an entry of the uid once (hard links and several views of one file count once). */
  async add(info: Stats, pathOnDevice: string): Promise<void> {
    const key = `${info.dev}:${info.ino}`;
    // On a private file system already counted whole, a file (an open, deleted one) is inside it.
    if (this.seen.has(key) || this.seen.has(`fs:${info.dev}`)) return;
    this.seen.add(key);
    if (++this.use.entries > this.maxEntries) {
      this.use.capped = true;
      return;
    }
    // Allocated blocks, not the size: a sparse file holds little, a file's size cannot undercount it.
    const bytes = Math.max(info.blocks * 512, 0);
    if (await this.memoryBacked(info, pathOnDevice)) this.use.memoryBytes += bytes;
    else this.use.diskBytes += bytes;
  }

  /** Adds a whole file system the sample had to itself (its private tmpfs), once. */
  addFileSystem(dev: number, bytes: number): void {
    const key = `fs:${dev}`;
    if (this.seen.has(key)) return;
    this.seen.add(key);
    this.use.memoryBytes += bytes;
  }
}

/** Measures what the uid has stored. */
export async function storageOfUid(scope: StorageScope): Promise<StorageUse> {
  const tally = new Tally(scope.uid, scope.maxEntries ?? MAX_STORAGE_ENTRIES);
  const roots = await namespaceRoots(scope.pids);
  if (roots === null) {
    tally.use.capped = true;
    return tally.use;
  }
  for (const root of roots) {
    for (const dir of scope.dirs) {
      if (tally.use.capped) return tally.use;
      await measureDir(tally, root, dir);
    }
  }
  for (const pid of scope.pids) {
    if (tally.use.capped) return tally.use;
    await measureOpenFiles(tally, pid);
  }
  return tally.use;
}

/**
 * A path prefix per mount namespace of `pids` ('' for this process's own), or null when there are
 * more than can be walked.
 */
async function namespaceRoots(pids: readonly number[]): Promise<string[] | null> {
  if (pids.length === 0) return [''];
  const own = await mountNamespaceOf('self');
  const roots = new Map<string, string>();
  for (const pid of pids) {
    const ns = await mountNamespaceOf(pid);
    if (ns === null || roots.has(ns)) continue;
    roots.set(ns, ns === own ? '' : `/proc/${pid}/root`);
  }
  if (roots.size > MAX_NAMESPACES) return null;
  return roots.size === 0 ? [''] : [...roots.values()];
}

/**
 * One scope directory as seen from `root`. A memory-backed file system there that this process
 * does not see at the same place is the run's private tmpfs: all of it is the sample's, and statfs
 * gives its use exactly, whatever the file count. Anything else is walked by ownership.
 */
async function measureDir(tally: Tally, root: string, dir: string): Promise<void> {
  const path = `${root}${dir}`;
  let info: Stats;
  try {
    info = await stat(path);
  } catch (error) {
    if (!vanished(error)) tally.use.capped = true;
    return;
  }
  if (!info.isDirectory()) return;
  if (root !== '') {
    const ours = await stat(dir).catch(() => null);
    if (ours?.dev !== info.dev && (await tally.memoryBacked(info, path))) {
      try {
        const fs = await statfs(path);
        tally.addFileSystem(info.dev, Math.max(0, (fs.blocks - fs.bfree) * fs.bsize));
        return;
      } catch {
        // fall through to the walk
      }
    }
  }
  await walk(tally, path);
}

/** Errors that mean "gone meanwhile"; any other leaves part of the tree unmeasured. */
function vanished(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException).code;
  return code === 'ENOENT' || code === 'ENOTDIR';
}

/**
 * Walks `top` without following links, counting the uid's entries. An entry that cannot be read
 * for any reason but its removal (a path nested past PATH_MAX, say) makes the walk `capped`:
 * what cannot be measured is not taken to be small.
 */
async function walk(tally: Tally, top: string): Promise<void> {
  const stack = [top];
  while (stack.length > 0) {
    const current = stack.pop() as string;
    let dir: Awaited<ReturnType<typeof opendir>>;
    try {
      // Streamed, not read whole: a directory of millions of names costs the agent no memory.
      dir = await opendir(current, { bufferSize: 256 });
    } catch (error) {
      if (!vanished(error)) tally.use.capped = true;
      if (tally.use.capped) return;
      continue;
    }
    try {
      for await (const entry of dir) {
        if (!tally.examine()) return;
        const path = join(current, entry.name);
        let info: Stats;
        try {
          info = await lstat(path);
        } catch (error) {
          if (vanished(error)) continue;
          tally.use.capped = true;
          return;
        }
        if (info.uid === tally.uid) {
          await tally.add(info, info.isDirectory() || info.isFile() ? path : current);
          if (tally.use.capped) return;
        }
        // Every directory is entered: the sample may write in a world-writable one anywhere below.
        if (info.isDirectory()) stack.push(path);
      }
    } catch (error) {
      // The directory went away while it was read.
      if (!vanished(error)) tally.use.capped = true;
    } finally {
      await dir.close().catch(() => undefined);
    }
  }
}

/**
 * Files a process holds open that the uid owns: a file unlinked after opening, or a memfd, keeps
 * its bytes where no directory walk finds them.
 */
async function measureOpenFiles(tally: Tally, pid: number): Promise<void> {
  let fds: string[];
  try {
    fds = await readdir(`/proc/${pid}/fd`);
  } catch {
    return;
  }
  for (const fd of fds.slice(0, MAX_FDS_PER_PROCESS)) {
    const link = `/proc/${pid}/fd/${fd}`;
    try {
      const target = await readlink(link);
      // Sockets, pipes and anonymous inodes hold no file bytes.
      if (!target.startsWith('/')) continue;
      const info = await stat(link);
      if (info.isFile() && info.uid === tally.uid) await tally.add(info, link);
    } catch {
      // closed meanwhile
    }
    if (tally.use.capped) return;
  }
}
