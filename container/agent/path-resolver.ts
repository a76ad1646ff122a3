/**
 * Canonical paths for the rules. A sample can name one file many ways: `a/../x`, `//x`,
 * `/proc/self/cwd/x`, `/proc/self/root/etc/x`, `/proc/<pid>/fd/3/x`, `/dev/fd/3/x`, or through a
 * symlink it made itself (`~/l -> .`, then `~/l/.bashrc`). Rules match the one path the kernel
 * would reach, so every spelling raises what the plain one raises.
 *
 * Resolution works as the kernel does, component by component (a symlink is replaced before a
 * later `..` applies to it), with what the trace tells: each process's working directory and open
 * files, and the symlinks the sample created, renamed and removed. Symlinks that were there before
 * the sample ran are not known and stay as they are; when strace decoded the fd a call returned
 * (`-yy`), that path is the kernel's own answer and the caller prefers it.
 */

/** What the resolver needs to know about the sample's processes. */
export interface ProcessView {
  /** The working directory of a sample process (by pid or thread id), or null when unknown. */
  cwd(pid: number): string | null;
  /** The path open on `fd` in a sample process, or null when unknown (or not a path). */
  fd(pid: number, fd: number): string | null;
  /** The thread group of a sample thread id, or null when `tid` is not one of the sample's. */
  threadGroup(tid: number): number | null;
}

/** The kernel gives up after 40 symlinks (ELOOP); so does the resolver, leaving the rest unresolved. */
const MAX_HOPS = 40;
/** Symlinks remembered; past this a new one is counted, not kept (its spelling then stays as written). */
export const MAX_SYMLINKS = 20_000;
/** Components walked per path, bounding the work a hostile path (or symlink loop) can cause. */
const MAX_STEPS = 4096;
const NUMBER = /^[1-9]\d{0,9}$/;

/** Fixed symlinks every Linux system has that point into /proc/self. */
const SYSTEM_LINKS: ReadonlyMap<string, string> = new Map([
  ['/dev/fd', '/proc/self/fd'],
  ['/dev/stdin', '/proc/self/fd/0'],
  ['/dev/stdout', '/proc/self/fd/1'],
  ['/dev/stderr', '/proc/self/fd/2'],
]);

/** A symlink the sample created: its target as written, and the directory a relative target counts from. */
interface Link {
  target: string;
  dir: string;
}

/** The directory part of an absolute canonical path (`/a/b` → `/a`, `/a` → `/`). */
export function parentOf(path: string): string {
  const slash = path.lastIndexOf('/');
  return slash <= 0 ? '/' : path.slice(0, slash);
}

function join(parts: readonly string[]): string {
  return `/${parts.join('/')}`;
}

/**
 * Where the walk gives up (a symlink loop, which the kernel refuses with ELOOP, or a path too long
 * to walk), the rest is still cleaned of `.` and `..` so that no rule sees a path it cannot read.
 */
function lexical(parts: readonly string[]): string {
  const out: string[] = [];
  for (const part of parts) {
    if (part === '..') out.pop();
    else if (part !== '.' && part !== '') out.push(part);
  }
  return join(out);
}

/** Splits a path into its non-empty components (so `//` and trailing slashes vanish). */
function components(path: string): string[] {
  return path.split('/').filter((c) => c.length > 0);
}

/** Resolves paths of one run to the file they reach. */
export class PathResolver {
  private readonly links = new Map<string, Link>();
  /** Directories with symlinks below them, and how many: a rename walks the table only for those. */
  private readonly under = new Map<string, number>();
  /** Symlinks not remembered because the table was full. */
  overflow = 0;

  constructor(private readonly processes: ProcessView) {}

  /**
   * The canonical absolute path that `path`, given by process `pid` relative to `base` (its cwd or
   * a dirfd), reaches. `followLast` false is for calls that act on a symlink itself (unlink, rename,
   * symlink, lchown, readlink, mkdir...). A relative path with an unknown base stays relative.
   */
  resolve(pid: number, base: string | null, path: string, followLast = true): string {
    let start: string;
    if (path.startsWith('/')) start = path;
    else if (base?.startsWith('/')) start = `${base}/${path}`;
    else return path;
    const done: string[] = [];
    const todo = components(start).reverse();
    let hops = 0;
    let steps = 0;
    while (todo.length > 0) {
      if (++steps > MAX_STEPS) return lexical([...done, ...todo.reverse()]);
      const part = todo.pop() as string;
      if (part === '.') continue;
      if (part === '..') {
        done.pop();
        continue;
      }
      done.push(part);
      if (!followLast && todo.length === 0) break;
      const replacement = this.replacement(pid, done);
      if (replacement === null) continue;
      if (++hops > MAX_HOPS) return lexical([...done, ...todo.reverse()]);
      // The walk restarts at the replacement: its own components may be links again.
      done.length = 0;
      for (const c of components(replacement).reverse()) todo.push(c);
    }
    return join(done);
  }

  /**
   * What the path walked so far (`done`) stands for when it is a link the resolver knows: a
   * /proc entry of one of the sample's processes, a system link into /proc/self, or a symlink the
   * sample created. Null when it is a plain directory or file (as far as the trace tells).
   */
  private replacement(pid: number, done: readonly string[]): string | null {
    if (done[0] === 'proc' && done.length >= 2 && done.length <= 6) {
      const proc = this.procLink(pid, done);
      if (proc !== null) return proc;
    }
    const path = join(done);
    const system = SYSTEM_LINKS.get(path);
    if (system !== undefined) return system;
    const link = this.links.get(path);
    if (link === undefined) return null;
    return link.target.startsWith('/') ? link.target : `${link.dir}/${link.target}`;
  }

  /**
   * `/proc/self`, `/proc/thread-self`, and the cwd, root and fd/N links of the sample's own
   * processes (also under `/proc/<pid>/task/<tid>/`). Other processes' links are not the sample's
   * to follow (it lacks the permission), so they stay as written.
   */
  private procLink(pid: number, done: readonly string[]): string | null {
    const who = done[1] as string;
    if (done.length === 2) {
      if (who === 'self') return `/proc/${this.processes.threadGroup(pid) ?? pid}`;
      if (who === 'thread-self') return `/proc/${this.processes.threadGroup(pid) ?? pid}/task/${pid}`;
      return null;
    }
    if (!NUMBER.test(who)) return null;
    let tid = Number(who);
    let at = 2;
    if (done[2] === 'task') {
      if (done.length < 5 || !NUMBER.test(done[3] as string)) return null;
      tid = Number(done[3]);
      at = 4;
    }
    if (this.processes.threadGroup(tid) === null) return null;
    const what = done[at];
    if (done.length === at + 1) {
      if (what === 'cwd') return this.processes.cwd(tid);
      // The sample cannot chroot (it has no capability), so every process's root is the root.
      if (what === 'root') return '/';
      return null;
    }
    if (done.length === at + 2 && what === 'fd' && /^\d{1,10}$/.test(done[at + 1] as string)) {
      const path = this.processes.fd(tid, Number(done[at + 1]));
      return path?.startsWith('/') ? path : null;
    }
    return null;
  }

  /** Records a symlink the sample created at canonical `path` (its last component unresolved). */
  symlink(path: string, target: string): void {
    if (!path.startsWith('/') || target.length === 0) return;
    if (!this.links.has(path) && this.links.size >= MAX_SYMLINKS) {
      this.overflow++;
      return;
    }
    this.remove(path);
    this.links.set(path, { target, dir: parentOf(path) });
    this.count(path, 1);
  }

  /** A path was renamed: symlinks at or under `from` move to `to`; a symlink at `to` is replaced. */
  rename(from: string, to: string): void {
    if (from === to) return;
    this.remove(to);
    const moved: [string, Link][] = [];
    const exact = this.links.get(from);
    if (exact) moved.push([from, exact]);
    // A directory with links somewhere below it: only then is the table walked.
    if (this.under.has(from))
      for (const [path, link] of this.links) if (path.startsWith(`${from}/`)) moved.push([path, link]);
    for (const [path] of moved) this.remove(path);
    for (const [path, link] of moved) {
      const next = to + path.slice(from.length);
      this.links.set(next, { target: link.target, dir: parentOf(next) });
      this.count(next, 1);
    }
  }

  /** renameat2(RENAME_EXCHANGE): the two names swap what they hold, symlinks included. */
  exchange(a: string, b: string): void {
    if (a === b) return;
    const take = (from: string): [string, Link][] => {
      const found: [string, Link][] = [];
      const exact = this.links.get(from);
      if (exact) found.push(['', exact]);
      if (this.under.has(from))
        for (const [path, link] of this.links)
          if (path.startsWith(`${from}/`)) found.push([path.slice(from.length), link]);
      for (const [rest] of found) this.remove(from + rest);
      return found;
    };
    const fromA = take(a);
    const fromB = take(b);
    for (const [to, found] of [
      [b, fromA],
      [a, fromB],
    ] as const) {
      for (const [rest, link] of found) {
        this.links.set(to + rest, { target: link.target, dir: parentOf(to + rest) });
        this.count(to + rest, 1);
      }
    }
  }

  /** A path was unlinked: a symlink there is gone (rmdir only removes empty directories). */
  remove(path: string): void {
    if (this.links.delete(path)) this.count(path, -1);
  }

  /** Keeps, for each directory, how many known symlinks lie below it. */
  private count(path: string, delta: number): void {
    for (let dir = parentOf(path); ; dir = parentOf(dir)) {
      const n = (this.under.get(dir) ?? 0) + delta;
      if (n > 0) this.under.set(dir, n);
      else this.under.delete(dir);
      if (dir === '/') break;
    }
  }
}
