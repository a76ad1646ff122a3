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
/** Tree nodes kept (a deep link costs one per component): past this, new links are counted, not kept. */
const MAX_NODES = 200_000;
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

/**
 * The sample's symlinks, as a tree of path components: a walk keeps its place in the tree as it
 * goes, so each component costs one map lookup whatever the depth, and renaming a directory moves
 * its subtree in one step. `target` is a symlink's target as written (a relative one counts from
 * the link's directory, wherever the link has moved).
 */
interface LinkNode {
  children: Map<string, LinkNode>;
  target: string | null;
}

const node = (): LinkNode => ({ children: new Map(), target: null });

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
  private readonly root = node();
  private links = 0;
  private nodes = 1;
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
    // The link-tree node of each component walked so far (null once off the tree).
    const at: (LinkNode | null)[] = [];
    const todo = components(start).reverse();
    let hops = 0;
    let steps = 0;
    while (todo.length > 0) {
      if (++steps > MAX_STEPS) return lexical([...done, ...todo.reverse()]);
      const part = todo.pop() as string;
      if (part === '.') continue;
      if (part === '..') {
        done.pop();
        at.pop();
        continue;
      }
      const parent = at.length === 0 ? this.root : (at[at.length - 1] ?? null);
      done.push(part);
      at.push(parent?.children.get(part) ?? null);
      if (!followLast && todo.length === 0) break;
      const replacement = this.replacement(pid, done, at[at.length - 1] ?? null);
      if (replacement === null) continue;
      if (++hops > MAX_HOPS) return lexical([...done, ...todo.reverse()]);
      // The walk restarts at the replacement: its own components may be links again.
      done.length = 0;
      at.length = 0;
      for (const c of components(replacement).reverse()) todo.push(c);
    }
    return join(done);
  }

  /**
   * What the path walked so far (`done`) stands for when it is a link the resolver knows: a
   * /proc entry of one of the sample's processes, a system link into /proc/self, or a symlink the
   * sample created. Null when it is a plain directory or file (as far as the trace tells).
   */
  private replacement(pid: number, done: readonly string[], here: LinkNode | null): string | null {
    if (done[0] === 'proc' && done.length >= 2 && done.length <= 6) {
      const proc = this.procLink(pid, done);
      if (proc !== null) return proc;
    }
    if (done.length === 2 && done[0] === 'dev') {
      const system = SYSTEM_LINKS.get(join(done));
      if (system !== undefined) return system;
    }
    const target = here?.target ?? null;
    if (target === null) return null;
    return target.startsWith('/') ? target : `${join(done.slice(0, -1))}/${target}`;
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

  /** The tree node at canonical `path`, created on the way when `create`; null when absent or the tree is full. */
  private nodeAt(path: string, create: boolean): LinkNode | null {
    let current = this.root;
    for (const part of components(path)) {
      let next = current.children.get(part);
      if (!next) {
        if (!create || this.nodes >= MAX_NODES) return null;
        next = node();
        this.nodes++;
        current.children.set(part, next);
      }
      current = next;
    }
    return current;
  }

  /** Takes the subtree at `path` out of the tree (its links gone from their old names). */
  private detach(path: string): LinkNode | null {
    const parts = components(path);
    const name = parts.pop();
    if (name === undefined) return null; // the root itself is never renamed
    const parent = this.nodeAt(join(parts), false);
    const found = parent?.children.get(name) ?? null;
    if (found) parent?.children.delete(name);
    return found;
  }

  /** Puts a detached subtree at `path`, replacing whatever was there. */
  private attach(path: string, subtree: LinkNode | null): void {
    this.forget(this.detach(path));
    if (!subtree) return;
    const parts = components(path);
    const name = parts.pop();
    const parent = name === undefined ? null : this.nodeAt(join(parts), true);
    if (parent && name !== undefined) parent.children.set(name, subtree);
    else this.forget(subtree);
  }

  /** Uncounts the links of a subtree that left the tree for good. */
  private forget(subtree: LinkNode | null): void {
    const stack = subtree ? [subtree] : [];
    while (stack.length > 0) {
      const current = stack.pop() as LinkNode;
      this.nodes--;
      if (current.target !== null) this.links--;
      for (const child of current.children.values()) stack.push(child);
    }
  }

  /** Records a symlink the sample created at canonical `path` (its last component unresolved). */
  symlink(path: string, target: string): void {
    if (!path.startsWith('/') || path === '/' || target.length === 0) return;
    const at = this.links < MAX_SYMLINKS ? this.nodeAt(path, true) : this.nodeAt(path, false);
    if (!at || (at.target === null && this.links >= MAX_SYMLINKS)) {
      this.overflow++;
      return;
    }
    if (at.target === null) this.links++;
    at.target = target;
  }

  /** A path was renamed: symlinks at or under `from` move to `to`; whatever was at `to` is replaced. */
  rename(from: string, to: string): void {
    if (from === to) return;
    this.attach(to, this.detach(from));
  }

  /** renameat2(RENAME_EXCHANGE): the two names swap what they hold, symlinks included. */
  exchange(a: string, b: string): void {
    if (a === b) return;
    const fromA = this.detach(a);
    const fromB = this.detach(b);
    this.attach(b, fromA);
    this.attach(a, fromB);
  }

  /** A path was unlinked: a symlink there is gone (rmdir only removes empty directories). */
  remove(path: string): void {
    const at = this.nodeAt(path, false);
    if (at?.target != null) {
      at.target = null;
      this.links--;
    }
  }
}
