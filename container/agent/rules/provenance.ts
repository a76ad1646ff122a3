import { posix } from 'node:path';
import type { Observation } from '../observations';

/**
 * Where the files the sample wrote came from, for the rules that tell a dropper from a build: a
 * binary written from downloaded bytes and then run is a payload; one a compiler produced or `cp`
 * copied out of the sample's own archive is a build running its tests or an installer. Also which
 * files the sample created itself (deleting its own scratch files is housekeeping, deleting what
 * was there before is destruction) and which files an encryption tool read.
 */

/** How a file the sample wrote got its content. */
export type Origin = 'downloaded' | 'built' | 'copied' | 'written';

/** Programs that fetch bytes from the network into files. */
export const DOWNLOADERS: ReadonlySet<string> = new Set([
  'curl',
  'wget',
  'tftp',
  'ftp',
  'nc',
  'ncat',
  'netcat',
  'socat',
  'scp',
  'sftp',
  'rsync',
  'aria2c',
]);

/** Compilers, linkers and build tools: what they write is the build's output. */
const BUILDERS = new Set([
  'cc',
  'gcc',
  'g++',
  'c++',
  'clang',
  'clang++',
  'ld',
  'ld.bfd',
  'ld.gold',
  'ld.lld',
  'collect2',
  'as',
  'tcc',
  'rustc',
  'cargo',
  'go',
  'link',
  'compile',
  'javac',
  'zig',
  'strip',
  'objcopy',
  'make',
  'ninja',
  'cmake',
]);

/** Programs that copy or unpack existing bytes: their output is what they read. */
const COPIERS = new Set(['cp', 'install', 'mv', 'ln', 'tar', 'cpio', 'unzip', 'gzip', 'gunzip', 'bzip2', 'xz', 'zstd']);

/** True for an exec that encrypts with a general tool (gpg -c/-e, openssl enc, age, ccrypt). */
export function encrypts(o: Observation): boolean {
  if (o.type !== 'exec') return false;
  const name = posix.basename(o.path);
  const args = o.argv.slice(1);
  if (name === 'gpg' || name === 'gpg2')
    return args.some((a) => /^(-[a-zA-Z]*[ce][a-zA-Z]*|--symmetric|--encrypt)$/.test(a)) && !args.includes('--decrypt');
  if (name === 'openssl')
    return (
      (args[0] === 'enc' || /^-?(aes|des|bf|camellia|chacha|rc4|seed|sm4)/i.test(args[0] ?? '')) && !args.includes('-d')
    );
  return name === 'age' || name === 'ccrypt' || name === 'mcrypt';
}

/** Paths an encryption tool reads that are not data: its own configuration, libraries, keys, devices. */
const NOT_DATA = /^\/(usr|lib|lib64|etc|proc|sys|dev|run\/user)\/|\/\.gnupg\/|\.(so(\.\d+)*|cnf|conf)$/;

/** Paths and processes remembered per run: enough for any real sample, bounded against a flooding one. */
const MAX_PATHS = 20_000;
const MAX_PIDS = 4_096;
/** Redirections remembered per process until its exec: a shell opens at most a few before one. */
const MAX_REDIRECTS = 8;

function boundedAdd<T>(set: Set<T>, value: T, max: number): void {
  if (set.size < max || set.has(value)) set.add(value);
}

/** The provenance of what the sample wrote, kept up to date as observations stream past. */
export class Provenance {
  private readonly origins = new Map<string, Origin>();
  /** Files and directories the sample created (written with O_CREAT before it ever read them, made, renamed from its own). */
  private readonly created = new Set<string>();
  /** Files an encryption tool read as data. */
  private readonly encryptedInputs = new Set<string>();
  /** Processes running an encryption command: the data files they read are what they encrypt. */
  private readonly encrypting = new Set<number>();
  /** Files each process opened for writing since its last exec (a redirection before the exec). */
  private readonly opened = new Map<number, string[]>();
  /** Files each process opened for reading since its last exec (`nc host port < file`). */
  private readonly openedForReading = new Map<number, string[]>();
  /** Processes that talked to the network, or read downloaded bytes: what they write is downloaded. */
  private readonly networked = new Set<number>();

  /** How a path the sample wrote got its content; null when the sample never wrote it. */
  originOf(path: string): Origin | null {
    return this.origins.get(path) ?? null;
  }

  /** True for a file or directory the sample made itself. */
  createdBySample(path: string): boolean {
    return this.created.has(path);
  }

  /** True for a file an encryption tool read as data. */
  wasEncrypted(path: string): boolean {
    return this.encryptedInputs.has(path);
  }

  /**
   * The files a process opened for reading before the exec now being observed (its input
   * redirections; rules see the exec before {@link note} resets them).
   */
  inputsBeforeExec(pid: number): readonly string[] {
    return this.openedForReading.get(pid) ?? [];
  }

  /** Takes one observation into account; `read` is the set of paths read before it. */
  note(o: Observation, read: ReadonlySet<string>): void {
    if (o.type === 'connect' && o.pid !== null && (o.protocol === 'tcp' || (o.protocol === 'udp' && o.port !== 53))) {
      boundedAdd(this.networked, o.pid, MAX_PIDS);
      return;
    }
    if (o.type === 'exec' && o.ok) {
      if (encrypts(o)) boundedAdd(this.encrypting, o.pid, MAX_PIDS);
      else this.encrypting.delete(o.pid);
      // `curl URL > file`: the shell's child opens the file, then becomes curl, which writes to it.
      const redirected = this.opened.get(o.pid) ?? [];
      this.opened.delete(o.pid);
      this.openedForReading.delete(o.pid);
      if (DOWNLOADERS.has(posix.basename(o.path)))
        for (const path of redirected) if (this.origins.has(path)) this.origins.set(path, 'downloaded');
      return;
    }
    if (o.type !== 'file' || !o.ok) return;
    const program = o.exe === null ? '' : posix.basename(o.exe);
    switch (o.op) {
      case 'read':
        if (o.pid !== null) this.noteOpened(this.openedForReading, o.pid, o.path);
        if (this.origins.get(o.path) === 'downloaded' && o.pid !== null) boundedAdd(this.networked, o.pid, MAX_PIDS);
        if (o.pid !== null && this.encrypting.has(o.pid) && !NOT_DATA.test(o.path))
          boundedAdd(this.encryptedInputs, o.path, MAX_PATHS);
        return;
      case 'write': {
        this.setOrigin(o.path, this.originFor(program, o.pid));
        if (o.pid !== null) this.noteOpened(this.opened, o.pid, o.path);
        if (/O_CREAT/.test(o.flags ?? '') && !read.has(o.path)) boundedAdd(this.created, o.path, MAX_PATHS);
        return;
      }
      case 'mkdir':
        boundedAdd(this.created, o.path, MAX_PATHS);
        return;
      case 'rename-from': {
        if (o.target === null) return;
        const origin = this.origins.get(o.path);
        if (origin) this.setOrigin(o.target, origin);
        if (this.created.has(o.path)) boundedAdd(this.created, o.target, MAX_PATHS);
        return;
      }
      default:
    }
  }

  private noteOpened(table: Map<number, string[]>, pid: number, path: string): void {
    const paths = table.get(pid);
    if (paths) {
      if (paths.length < MAX_REDIRECTS) paths.push(path);
    } else if (table.size < MAX_PIDS) table.set(pid, [path]);
  }

  private originFor(program: string, pid: number | null): Origin {
    if (DOWNLOADERS.has(program) || (pid !== null && this.networked.has(pid))) return 'downloaded';
    if (BUILDERS.has(program)) return 'built';
    if (COPIERS.has(program)) return 'copied';
    return 'written';
  }

  private setOrigin(path: string, origin: Origin): void {
    // Downloaded bytes stay downloaded when the file is later appended to or chmod'ed by another program.
    if (this.origins.get(path) === 'downloaded') return;
    if (this.origins.size < MAX_PATHS || this.origins.has(path)) this.origins.set(path, origin);
  }
}
