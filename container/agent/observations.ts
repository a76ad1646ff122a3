import type { FileOperationKind } from '../../lambdas/core/contracts/detonation-report';
import { DIRECTORY_ENTRY_SYSCALLS, RULE_SYSCALLS } from '../../lambdas/core/contracts/agent-config';
import { PathResolver } from './path-resolver';
import {
  decodeArgv,
  decodeFd,
  decodeMode,
  decodeSockaddr,
  decodeString,
  fdPath,
  splitArgs,
  structField,
} from './strace-args';
import type { ExitEvent, SignalEvent, SpawningEvent, SyscallEvent, TraceEvent } from './trace-parser';

/**
 * What the rules and the report see: trace events turned into a few typed observations (a file
 * operation with its resolved path, an exec, a connection...), attributed to a process of the
 * sample. The wrapper chain that starts the sample (prlimit, setpriv, env) is left out.
 */

interface Base {
  /** Epoch seconds. */
  time: number;
  /** Process id (the thread group), or null for records that come from the fake network. */
  pid: number | null;
  /** The line the observation comes from (trace, guard log or fake network), kept as evidence. */
  line: string;
}

/** A file system call, its path resolved. */
export interface FileObservation extends Base {
  type: 'file';
  /** The program the process was running when it made the call (context: `ps` reading /proc is discovery). */
  exe: string | null;
  op: FileOperationKind;
  /** Absolute, normalised path (relative only when the working directory was unknown). */
  path: string;
  /** The other path of a rename (its destination) or link (its target). */
  target: string | null;
  /** Open flags as strace prints them (`O_WRONLY|O_CREAT|O_TRUNC`), or renameat2 flags (`RENAME_EXCHANGE`). */
  flags: string | null;
  mode: number | null;
  ok: boolean;
  errno: string | null;
}

/** An execve/execveat, successful or not. */
export interface ExecObservation extends Base {
  type: 'exec';
  pid: number;
  path: string;
  argv: string[];
  /** The environment it was given, `NAME=value` (at most {@link MAX_ENV} entries, as strace printed them). */
  env: string[];
  uid: number | null;
  ok: boolean;
  errno: string | null;
  /** The parent's executable, for dropper chains (curl → sh). */
  parentExe: string | null;
  /** The working directory it ran in, against which its relative arguments (`sh ./stage2`) name files. */
  cwd: string | null;
}

/** How many environment entries of one exec the rules get: the sample chooses how many it passes. */
export const MAX_ENV = 64;

/** A system call the rules look at directly (ptrace, prctl, setuid, unshare, memfd_create, ...). */
export interface CallObservation extends Base {
  type: 'call';
  pid: number;
  /** The program the process was running when it made the call. */
  exe: string | null;
  name: string;
  args: string[];
  retval: number | null;
  errno: string | null;
}

/** A connection attempt, from the guard's log (IP, unix) or the trace. */
export interface ConnectObservation extends Base {
  type: 'connect';
  source: 'guard' | 'trace';
  call: 'connect' | 'sendto';
  protocol: 'tcp' | 'udp' | 'unix' | 'other';
  address: string;
  port: number | null;
  hostname: string | null;
  action: 'redirected' | 'blocked' | 'allowed' | 'observed';
  reason: string | null;
  result: string;
}

/** A DNS question the fake resolver saw. */
export interface DnsObservation extends Base {
  type: 'dns';
  name: string;
  qtype: string;
  answer: string | null;
}

/** An HTTP request the fake network saw. */
export interface HttpObservation extends Base {
  type: 'http';
  method: string;
  host: string;
  path: string;
  userAgent: string | null;
  port: number | null;
  bodyBytes: number;
  bodyPreview: string;
}

/** A TLS server name the fake network saw. */
export interface TlsObservation extends Base {
  type: 'tls';
  serverName: string;
  port: number | null;
}

/** Raw first bytes the fake network saw. */
export interface PayloadObservation extends Base {
  type: 'payload';
  protocol: 'tcp' | 'udp';
  address: string | null;
  port: number | null;
  hostname: string | null;
  bytes: number;
  preview: string;
}

/** A signal delivered, or a process killed by one. */
export interface SignalObservation extends Base {
  type: 'signal';
  pid: number;
  signal: string;
}

/** A limit the run ran into, as the runner or the trace saw it. */
export interface LimitObservation extends Base {
  type: 'limit';
  limit: 'cpu' | 'memory' | 'processes' | 'fileSize' | 'disk' | 'timeout' | 'traceSize';
}

/** How much CPU the sample used over a run, as the runner's sampling measured it (not only when a limit stopped it). */
export interface UsageObservation extends Base {
  type: 'usage';
  /** CPU seconds of the whole sample over the run. */
  cpuSeconds: number;
  /** Wall-clock seconds the run lasted. */
  wallSeconds: number;
}

/** Anything the rules and the report consume. */
export type Observation =
  | FileObservation
  | ExecObservation
  | CallObservation
  | ConnectObservation
  | DnsObservation
  | HttpObservation
  | TlsObservation
  | PayloadObservation
  | SignalObservation
  | LimitObservation
  | UsageObservation;

/** One process of the sample as the collector tracks it. */
export interface ProcessState {
  pid: number;
  ppid: number | null;
  uid: number | null;
  exe: string | null;
  argv: string[];
  cwd: string | null;
  start: number;
  end: number | null;
  exitCode: number | null;
  signal: string | null;
  member: string | undefined;
}

/** What the collector needs to know about the run it reads. */
export interface CollectorOptions {
  sandboxUid: number;
  /** Successful execs of the first traced process that belong to the wrapper chain. */
  wrapperExecs: number;
  /** The sample's working directory when it starts. */
  cwd: string;
  /** The archive member this run executes. */
  member?: string;
  /** Longest argv kept per process. */
  maxArgv: number;
  /** False: only the sample's own process is observed (track_children off). */
  followChildren: boolean;
}

/** Calls passed to the rules as they are. */
const RULE_CALLS: ReadonlySet<string> = new Set(RULE_SYSCALLS);

/**
 * Calls strace prints by number when it has no name for them (strace before 6.5 and fchmodat2):
 * numbers from 403 on are the same on every architecture, so the name is certain. Such a line has
 * raw arguments only (the path is an address), so it reaches the rules as a call, not a file.
 */
const UNNAMED: ReadonlyMap<string, string> = new Map([['syscall_0x1c4', 'fchmodat2']]);

const FORKS = new Set(['clone', 'clone3', 'fork', 'vfork']);
const FILE_CALLS = new Set(
  'open creat openat openat2 unlink rmdir unlinkat rename renameat renameat2 link symlink linkat symlinkat chmod fchmod fchmodat fchmodat2 chown fchown lchown fchownat mkdir mkdirat truncate ftruncate mknod mknodat access faccessat faccessat2 readlink readlinkat chdir mount'.split(
    ' ',
  ),
);
const MAX_STORED_LINE = 600;

/** Copies a line out of its chunk (a slice would keep the whole chunk alive) and caps its length. */
export function detach(line: string): string {
  const cut = line.length > MAX_STORED_LINE ? `${line.slice(0, MAX_STORED_LINE - 3)}...` : line;
  return ` ${cut}`.slice(1);
}

/** Open files tracked per process, for `/proc/self/fd/N` spellings; the sample's RLIMIT_NOFILE is far below. */
const MAX_FDS = 1024;

/** One open file of a process: its path, and whether exec closes it. */
interface OpenFile {
  path: string;
  cloexec: boolean;
}

/** Calls that act on the last component itself when it is a symlink, rather than on what it points to. */
const NO_FOLLOW: ReadonlySet<string> = new Set([
  ...DIRECTORY_ENTRY_SYSCALLS,
  'rmdir',
  'lchown',
  'mkdir',
  'mkdirat',
  'mknod',
  'mknodat',
  'readlink',
  'readlinkat',
]);

/** True when an open or *at call says not to follow a final symlink (O_NOFOLLOW, O_EXCL creation, AT_SYMLINK_NOFOLLOW). */
function followsNot(name: string, args: readonly string[], flags: string | null): boolean {
  if (flags !== null && (/O_NOFOLLOW/.test(flags) || (/O_CREAT/.test(flags) && /O_EXCL/.test(flags)))) return true;
  if (name === 'fchmodat2' || name === 'fchownat') return /AT_SYMLINK_NOFOLLOW/.test(args.join(','));
  return false;
}

/** Turns one run's trace events into observations, tracking the process tree as it goes. */
export class TraceCollector {
  private readonly byTid = new Map<number, ProcessState>();
  private readonly all: ProcessState[] = [];
  private root: number | null = null;
  private rootExecs = 0;
  private readonly files = new Map<ProcessState, Map<number, OpenFile>>();
  /** Fork calls entered and not yet returned, by the tid that made them: a new tid is one of their children. */
  private readonly forking = new Map<number, { parent: ProcessState; thread: boolean }>();
  /** Canonical paths: what every spelling of a path (/proc/self/cwd, symlinks, `..`) reaches. */
  private readonly paths = new PathResolver({
    cwd: (tid) => this.byTid.get(tid)?.cwd ?? null,
    fd: (tid, fd) => {
      const state = this.byTid.get(tid);
      return state ? (this.files.get(state)?.get(fd)?.path ?? null) : null;
    },
    threadGroup: (tid) => this.byTid.get(tid)?.pid ?? null,
  });

  constructor(
    private readonly sink: (observation: Observation) => void,
    private readonly options: CollectorOptions,
  ) {}

  /** True once the sample's own exec succeeded (the wrapper chain did its job). */
  get started(): boolean {
    return this.rootExecs > this.options.wrapperExecs;
  }

  /** Every process seen, in order of appearance. */
  processes(): readonly ProcessState[] {
    return this.all;
  }

  handle(event: TraceEvent): void {
    if (this.root === null) this.root = event.pid;
    if (event.pid === this.root && this.rootExecs <= this.options.wrapperExecs) {
      this.wrapper(event);
      return;
    }
    if (!this.options.followChildren && event.pid !== this.root) return;
    if (event.kind === 'syscall') this.syscall(event);
    else if (event.kind === 'exit') this.exit(event);
    else if (event.kind === 'signal') this.signal(event);
    else this.spawning(event);
  }

  private spawning(e: SpawningEvent): void {
    this.forking.set(e.pid, { parent: this.process(e.pid, e.time), thread: e.thread });
  }

  /** Events of the wrapper chain: only count its execs, so the sample's own exec is recognised. */
  private wrapper(event: TraceEvent): void {
    if (event.kind !== 'syscall' || event.name !== 'execve' || event.retval !== 0) return;
    this.rootExecs++;
    if (this.rootExecs <= this.options.wrapperExecs) return;
    const state = this.process(event.pid, event.time);
    state.uid = this.options.sandboxUid;
    state.cwd = this.options.cwd;
    this.exec(event, state);
  }

  /**
   * The process `tid` belongs to, made on its first line. A tid first seen in its own line (not as
   * a fork's return) is the child of a fork still under way: strace printed it before the parent's
   * call returned. With one such fork the parent is known and the child inherits from it now (a
   * thread joins its process); with several, the child takes only what they all agree on (their
   * cwd, their uid), and the rest waits for the fork's return.
   */
  private process(tid: number, time: number, fromFork = false): ProcessState {
    const known = this.byTid.get(tid);
    if (known) return known;
    const forks = fromFork ? [] : [...this.forking.values()];
    const [only] = forks;
    if (only?.thread && forks.length === 1) {
      this.byTid.set(tid, only.parent);
      return only.parent;
    }
    const state: ProcessState = {
      pid: tid,
      ppid: null,
      uid: null,
      exe: null,
      argv: [],
      cwd: null,
      start: time,
      end: null,
      exitCode: null,
      signal: null,
      member: this.options.member,
    };
    this.byTid.set(tid, state);
    this.all.push(state);
    if (only && forks.length === 1) this.inherit(state, only.parent);
    else if (forks.length > 1) {
      const agreed = <T>(read: (p: ProcessState) => T): T | null => {
        const values = new Set(forks.map((f) => read(f.parent)));
        return values.size === 1 ? (values.values().next().value as T) : null;
      };
      state.cwd = agreed((p) => p.cwd);
      state.uid = agreed((p) => p.uid);
    }
    return state;
  }

  /** A forked child starts with its parent's uid, cwd, program and open files, unless it has its own already. */
  private inherit(child: ProcessState, parent: ProcessState): void {
    child.ppid = parent.pid;
    child.uid ??= parent.uid;
    child.cwd ??= parent.cwd;
    const open = this.files.get(parent);
    if (open && !this.files.has(child)) this.files.set(child, new Map(open));
    if (child.exe === null) {
      child.exe = parent.exe;
      child.argv = parent.argv;
    }
  }

  private syscall(e: SyscallEvent): void {
    const state = this.process(e.pid, e.time);
    const name = UNNAMED.get(e.name) ?? e.name;
    if (FORKS.has(name)) {
      this.forking.delete(e.pid);
      this.fork(e, state);
      return;
    }
    if (name === 'execve' || name === 'execveat') {
      this.exec(e, state);
      return;
    }
    if (name === 'connect' || name === 'sendto') this.connect(e, state);
    if (RULE_CALLS.has(name) || name !== e.name) {
      if (e.retval === 0 && (name === 'setuid' || name === 'setresuid' || name === 'setreuid')) {
        const uid = Number(splitArgs(e.args)[0]);
        if (uid >= 0) state.uid = uid;
      }
      this.sink({
        type: 'call',
        time: e.time,
        pid: state.pid,
        exe: state.exe,
        line: detach(e.line),
        name,
        args: splitArgs(e.args),
        retval: e.retval,
        errno: e.errno,
      });
    }
    if (name === e.name) this.file(e, state);
    // Only now does the working directory move: a relative chdir names its directory from the old
    // one, so moving first resolved `cd lib` from /var to /var/lib/lib in the file activity.
    if (name === 'chdir' || name === 'fchdir') this.chdir(e, state);
  }

  private fork(e: SyscallEvent, parent: ProcessState): void {
    if (e.retval === null || e.retval < 0) {
      if (e.errno === 'EAGAIN') {
        this.sink({ type: 'limit', limit: 'processes', time: e.time, pid: parent.pid, line: detach(e.line) });
      }
      return;
    }
    if (e.retval === 0 || !this.options.followChildren) return;
    const child = e.retval;
    if (/CLONE_THREAD/.test(e.args)) {
      // The thread may already have printed lines of its own, under a provisional process entry.
      const provisional = this.byTid.get(child);
      if (provisional && provisional !== parent) {
        const index = this.all.indexOf(provisional);
        if (index >= 0) this.all.splice(index, 1);
      }
      this.byTid.set(child, parent);
      return;
    }
    this.inherit(this.process(child, e.time, true), parent);
    if (/CLONE_NEW/.test(e.args)) {
      this.sink({
        type: 'call',
        time: e.time,
        pid: parent.pid,
        exe: parent.exe,
        line: detach(e.line),
        name: e.name,
        args: splitArgs(e.args),
        retval: e.retval,
        errno: e.errno,
      });
    }
  }

  private exec(e: SyscallEvent, state: ProcessState): void {
    const args = splitArgs(e.args);
    const at = e.name === 'execveat' ? 1 : 0;
    const dir = at === 1 ? (fdPath(args[0]) ?? state.cwd) : state.cwd;
    const raw = decodeString(args[at])?.value ?? args[at] ?? '';
    const path =
      raw === '' && at === 1
        ? (fdPath(args[0]) ?? decodeFd(args[0]).target ?? '')
        : this.paths.resolve(e.pid, dir, raw);
    const argv = decodeArgv(args[at + 1], this.options.maxArgv);
    const env = decodeArgv(args[at + 2], MAX_ENV);
    const ok = e.retval === 0;
    const parent = state.ppid === null ? undefined : this.byTid.get(state.ppid);
    if (ok) {
      state.exe = path;
      state.argv = argv;
      const open = this.files.get(state);
      if (open) for (const [fd, file] of open) if (file.cloexec) open.delete(fd);
    }
    this.sink({
      type: 'exec',
      time: e.time,
      pid: state.pid,
      line: detach(e.line),
      path,
      argv,
      env,
      // Under load strace may print a child's first lines before its parent's clone returns, so the
      // child's uid is not inherited yet: every traced process descends from the sample, which runs as
      // the sandbox uid, and a uid change (setuid) is recorded when it happens.
      uid: state.uid ?? parent?.uid ?? this.options.sandboxUid,
      ok,
      errno: e.errno,
      parentExe: parent?.exe ?? null,
      cwd: state.cwd,
    });
  }

  private chdir(e: SyscallEvent, state: ProcessState): void {
    if (e.retval !== 0) return;
    const arg = splitArgs(e.args)[0];
    if (e.name === 'fchdir') {
      state.cwd = fdPath(arg) ?? state.cwd;
      return;
    }
    const target = decodeString(arg)?.value;
    if (target) state.cwd = this.paths.resolve(e.pid, state.cwd, target);
  }

  private connect(e: SyscallEvent, state: ProcessState): void {
    const args = splitArgs(e.args);
    const sockaddr = decodeSockaddr(e.name === 'connect' ? args[1] : args[4]);
    if (!sockaddr?.address) return;
    const fd = decodeFd(args[0]).target ?? '';
    const protocol =
      sockaddr.family === 'AF_UNIX' ? 'unix' : fd.startsWith('UDP') ? 'udp' : fd.startsWith('TCP') ? 'tcp' : 'other';
    // A unix socket is a file: `/proc/self/root/run/docker.sock` is the Docker socket. Abstract names (`@`) are not paths.
    const address =
      protocol === 'unix' && !sockaddr.address.startsWith('@')
        ? this.paths.resolve(e.pid, state.cwd, sockaddr.address)
        : sockaddr.address;
    this.sink({
      type: 'connect',
      source: 'trace',
      call: e.name as 'connect' | 'sendto',
      time: e.time,
      pid: state.pid,
      line: detach(e.line),
      protocol,
      address,
      port: sockaddr.port,
      hostname: null,
      action: 'observed',
      reason: null,
      result: e.errno ?? (e.retval !== null && e.retval >= 0 ? 'ok' : 'unknown'),
    });
  }

  /** File system calls, their paths resolved against the dirfd annotation or the process's cwd. */
  private file(e: SyscallEvent, state: ProcessState): void {
    const name = e.name;
    if (!FILE_CALLS.has(name)) return;
    let op: FileOperationKind | null = null;
    let pathArg: string | undefined;
    let dirArg: string | undefined;
    let targetArg: string | undefined;
    let targetDirArg: string | undefined;
    let flags: string | null = null;
    let mode: number | null = null;
    const args = splitArgs(e.args);
    switch (name) {
      case 'open':
      case 'creat':
      case 'openat':
      case 'openat2': {
        const at = name === 'openat' || name === 'openat2' ? 1 : 0;
        dirArg = at ? args[0] : undefined;
        pathArg = args[at];
        flags =
          name === 'creat'
            ? 'O_WRONLY|O_CREAT|O_TRUNC'
            : name === 'openat2'
              ? (structField(args[2], 'flags') ?? '')
              : (args[at + 1] ?? '');
        mode = decodeMode(
          name === 'creat' ? args[1] : name === 'openat2' ? structField(args[2], 'mode') : args[at + 2],
        );
        op = /O_WRONLY|O_RDWR/.test(flags) ? 'write' : 'read';
        break;
      }
      case 'unlink':
      case 'rmdir':
        pathArg = args[0];
        op = name === 'unlink' ? 'delete' : 'rmdir';
        break;
      case 'unlinkat':
        dirArg = args[0];
        pathArg = args[1];
        op = /AT_REMOVEDIR/.test(args[2] ?? '') ? 'rmdir' : 'delete';
        break;
      case 'rename':
        pathArg = args[0];
        targetArg = args[1];
        op = 'rename-from';
        break;
      case 'renameat':
      case 'renameat2':
        dirArg = args[0];
        pathArg = args[1];
        targetDirArg = args[2];
        targetArg = args[3];
        // RENAME_EXCHANGE swaps the two names: both are written (see writtenPaths).
        if (name === 'renameat2') flags = args[4] ?? null;
        op = 'rename-from';
        break;
      case 'link':
      case 'symlink':
        pathArg = args[1];
        targetArg = args[0];
        op = name === 'link' ? 'link' : 'symlink';
        break;
      case 'linkat':
        dirArg = args[2];
        pathArg = args[3];
        targetDirArg = args[0];
        targetArg = args[1];
        op = 'link';
        break;
      case 'symlinkat':
        dirArg = args[1];
        pathArg = args[2];
        targetArg = args[0];
        op = 'symlink';
        break;
      case 'chmod':
      case 'fchmod':
      case 'fchmodat':
      case 'fchmodat2': {
        const at = name.startsWith('fchmodat') ? 1 : 0;
        if (at) dirArg = args[0];
        pathArg = args[at];
        mode = decodeMode(args[at + 1]);
        op = 'chmod';
        break;
      }
      case 'chown':
      case 'fchown':
      case 'lchown':
      case 'fchownat':
        if (name === 'fchownat') dirArg = args[0];
        pathArg = name === 'fchownat' ? args[1] : args[0];
        op = 'chown';
        break;
      case 'mkdir':
      case 'mkdirat':
        if (name === 'mkdirat') dirArg = args[0];
        pathArg = name === 'mkdirat' ? args[1] : args[0];
        mode = decodeMode(name === 'mkdirat' ? args[2] : args[1]);
        op = 'mkdir';
        break;
      case 'truncate':
      case 'ftruncate':
        pathArg = args[0];
        op = 'truncate';
        break;
      case 'mknod':
      case 'mknodat':
        if (name === 'mknodat') dirArg = args[0];
        pathArg = name === 'mknodat' ? args[1] : args[0];
        op = 'mknod';
        break;
      case 'access':
      case 'faccessat':
      case 'faccessat2':
        if (name !== 'access') dirArg = args[0];
        pathArg = name === 'access' ? args[0] : args[1];
        op = 'access';
        break;
      case 'readlink':
      case 'readlinkat':
        if (name === 'readlinkat') dirArg = args[0];
        pathArg = name === 'readlinkat' ? args[1] : args[0];
        op = 'readlink';
        break;
      case 'chdir':
        pathArg = args[0];
        op = 'chdir';
        break;
      case 'mount':
        pathArg = args[1];
        op = 'mount';
        break;
      default:
        return;
    }
    // A successful *at call shows the kernel's working directory in its AT_FDCWD annotation.
    if (dirArg?.startsWith('AT_FDCWD<')) state.cwd = fdPath(dirArg) ?? state.cwd;
    // fchmod/fchown/ftruncate name an fd: its annotation is the path.
    const literal = decodeString(pathArg)?.value;
    const direct = literal ?? fdPath(pathArg) ?? decodeFd(pathArg).target;
    if (direct === null || direct === undefined) return;
    const base = dirArg === undefined ? state.cwd : this.directory(state, dirArg);
    const follow = !NO_FOLLOW.has(name) && !followsNot(name, args, flags);
    const ok = e.errno === null && e.retval !== null && e.retval >= 0;
    // The fd an open returned is decoded by strace from the kernel's own record (-yy): when there is
    // one, it is the canonical path whatever the spelling; the resolver covers failed calls.
    const opened =
      ok && op !== null && (name === 'open' || name === 'openat' || name === 'openat2' || name === 'creat');
    const kernelPath = opened ? fdPath(e.ret) : null;
    const path = kernelPath ?? (literal === undefined ? direct : this.paths.resolve(e.pid, base, direct, follow));
    let target: string | null = null;
    if (targetArg !== undefined) {
      const raw = decodeString(targetArg)?.value ?? null;
      const targetBase = targetDirArg === undefined ? state.cwd : this.directory(state, targetDirArg);
      target = raw === null ? null : op === 'symlink' ? raw : this.paths.resolve(e.pid, targetBase, raw, false);
    }
    if (ok) this.track(e, state, op, path, target, flags);
    this.sink({
      type: 'file',
      time: e.time,
      pid: state.pid,
      exe: state.exe,
      line: detach(e.line),
      op,
      path,
      target,
      flags,
      mode,
      ok,
      errno: e.errno,
    });
  }

  /** The directory a dirfd argument stands for: its annotation, else the cwd or the fd table; null when unknown. */
  private directory(state: ProcessState, dirArg: string): string | null {
    const annotated = fdPath(dirArg);
    if (annotated !== null) return annotated;
    const fd = decodeFd(dirArg).fd;
    if (fd === 'AT_FDCWD') return state.cwd;
    return /^\d+$/.test(fd) ? (this.files.get(state)?.get(Number(fd))?.path ?? null) : null;
  }

  /** Keeps the fd table and the symlink table in step with a successful call. */
  private track(
    e: SyscallEvent,
    state: ProcessState,
    op: FileOperationKind,
    path: string,
    target: string | null,
    flags: string | null,
  ): void {
    if ((op === 'read' || op === 'write') && e.retval !== null && e.retval >= 0) {
      let open = this.files.get(state);
      if (!open) {
        open = new Map();
        this.files.set(state, open);
      }
      if (open.size < MAX_FDS || open.has(e.retval))
        open.set(e.retval, { path, cloexec: /O_CLOEXEC/.test(flags ?? '') });
    } else if (op === 'symlink' && target !== null) this.paths.symlink(path, target);
    else if (op === 'rename-from' && target !== null) {
      if (/RENAME_EXCHANGE/.test(flags ?? '')) this.paths.exchange(path, target);
      else this.paths.rename(path, target);
    } else if (op === 'delete') this.paths.remove(path);
  }

  private exit(e: ExitEvent): void {
    // Killed inside a fork call: that fork returns no child.
    this.forking.delete(e.pid);
    const state = this.process(e.pid, e.time);
    if (state.pid !== e.pid) return; // a thread of a live process
    state.end = e.time;
    state.exitCode = e.code;
    state.signal = e.signal;
    if (e.signal) this.sink({ type: 'signal', time: e.time, pid: state.pid, line: detach(e.line), signal: e.signal });
    if (e.signal === 'SIGXCPU')
      this.sink({ type: 'limit', limit: 'cpu', time: e.time, pid: state.pid, line: detach(e.line) });
    if (e.signal === 'SIGXFSZ')
      this.sink({ type: 'limit', limit: 'fileSize', time: e.time, pid: state.pid, line: detach(e.line) });
  }

  private signal(e: SignalEvent): void {
    const state = this.process(e.pid, e.time);
    this.sink({ type: 'signal', time: e.time, pid: state.pid, line: detach(e.line), signal: e.signal });
    // Delivered even when the sample ignores them (Python ignores SIGXFSZ), because it is traced.
    if (e.signal === 'SIGXCPU')
      this.sink({ type: 'limit', limit: 'cpu', time: e.time, pid: state.pid, line: detach(e.line) });
    if (e.signal === 'SIGXFSZ')
      this.sink({ type: 'limit', limit: 'fileSize', time: e.time, pid: state.pid, line: detach(e.line) });
  }
}
