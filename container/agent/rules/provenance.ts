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
      ((args[0] === 'enc' || /^-?(aes|des|bf|camellia|chacha|rc4|seed|sm4)/i.test(args[0] ?? '')) &&
        !args.includes('-d')) ||
      // Public-key encryption of a file (`rsautl -encrypt -pubin -in data`), as ransomware wraps its keys.
      (/^(rsautl|pkeyutl|smime|cms)$/.test(args[0] ?? '') && args.includes('-encrypt'))
    );
  return name === 'age' || name === 'ccrypt' || name === 'mcrypt';
}

/** Paths an encryption tool reads that are not data: its own configuration, libraries, keys, devices. */
const NOT_DATA = /^\/(usr|lib|lib64|etc|proc|sys|dev|run\/user)\/|\/\.gnupg\/|\.(so(\.\d+)*|cnf|conf)$/;

/** Paths and processes remembered per run: enough for any real sample, bounded against a flooding one. */
const MAX_PATHS = 20_000;
const MAX_PIDS = 4_096;
/**
 * How long before an exec a shell's open counts as the exec's redirection. dash opens a
 * redirection in itself and then forks the child that execs; bash forks first and opens in the
 * child: either way the open comes moments before the exec.
 */
const REDIRECT_SECONDS = 1;
/** Shells (busybox among them, as its `sh` applet). */
export const SHELLS: ReadonlySet<string> = new Set(['sh', 'bash', 'dash', 'zsh', 'ksh', 'mksh', 'ash', 'busybox']);
/** Downloader options that name an output file (then stdout is not where the bytes go). */
const OUTPUT_OPTION = /^(-o|-O|--output(=.*)?|--output-document(=.*)?|-o\S+|-O\S+|--remote-name(-all)?)$/;

/** Programs that walk directory trees reading (or opening) whatever they meet. */
const TREE_WALKERS = new Set(['find', 'du', 'tree', 'rg', 'ag', 'ack', 'fd', 'fdfind', 'updatedb']);

/**
 * True for an exec that walks a tree and opens everything it meets: `grep -r`, `rg`, `find`, `du`,
 * `ls -R`. Its opens of credential files are a search (which rules of its own judge by the
 * command line), not a targeted read of each file it happened to pass.
 */
function walksTree(o: Observation): boolean {
  if (o.type !== 'exec') return false;
  const name = posix.basename(o.path);
  const args = o.argv.slice(1);
  if (TREE_WALKERS.has(name)) return true;
  if (name === 'grep' || name === 'egrep' || name === 'fgrep')
    return args.some((a) => /^-[a-zA-Z]*[rR]|^--(recursive|dereference-recursive)$/.test(a));
  if (name === 'git') return args[0] === 'grep';
  if (name === 'ls') return args.some((a) => /^-[a-zA-Z]*R|^--recursive$/.test(a));
  return false;
}

/** A file a shell just opened, a candidate redirection of the next exec. */
interface Redirect {
  path: string;
  time: number;
}

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
  /** The file a shell last opened for writing, and for reading: redirections of the command it runs next. */
  private output: Redirect | null = null;
  private input: Redirect | null = null;
  /** Processes that talked to the network, or read downloaded bytes: what they write is downloaded. */
  private readonly networked = new Set<number>();
  /** Processes running a tree walk (`grep -r`, `find`, `du`). */
  private readonly walkers = new Set<number>();
  /** Interactive shells (`bash -i`): they load their own history when they start. */
  private readonly interactive = new Set<number>();

  /** True while the process runs a tree walk: what it opens it passed, rather than went for. */
  walking(pid: number | null): boolean {
    return pid !== null && this.walkers.has(pid);
  }

  /** True for an interactive shell (which reads its history file as it starts). */
  interactiveShell(pid: number | null): boolean {
    return pid !== null && this.interactive.has(pid);
  }

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

  /** The file a shell opened for reading just before this exec: its input redirection (`nc host port < file`). */
  inputRedirect(o: Observation): string | null {
    return this.input !== null && o.time - this.input.time <= REDIRECT_SECONDS ? this.input.path : null;
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
      if (walksTree(o)) boundedAdd(this.walkers, o.pid, MAX_PIDS);
      else this.walkers.delete(o.pid);
      const shell = SHELLS.has(posix.basename(o.path));
      if (shell && o.argv.slice(1).some((a) => /^-[a-zA-Z]*i[a-zA-Z]*$/.test(a)))
        boundedAdd(this.interactive, o.pid, MAX_PIDS);
      else this.interactive.delete(o.pid);
      // `curl URL > file`: curl writes to the stdout the shell redirected just before.
      const output = this.output;
      if (
        output !== null &&
        o.time - output.time <= REDIRECT_SECONDS &&
        DOWNLOADERS.has(posix.basename(o.path)) &&
        !o.argv.some((a) => OUTPUT_OPTION.test(a)) &&
        this.origins.has(output.path)
      )
        this.origins.set(output.path, 'downloaded');
      return;
    }
    if (o.type !== 'file' || !o.ok) return;
    const program = o.exe === null ? '' : posix.basename(o.exe);
    switch (o.op) {
      case 'read':
        if (SHELLS.has(program)) this.input = { path: o.path, time: o.time };
        if (this.origins.get(o.path) === 'downloaded' && o.pid !== null) boundedAdd(this.networked, o.pid, MAX_PIDS);
        if (o.pid !== null && this.encrypting.has(o.pid) && !NOT_DATA.test(o.path))
          boundedAdd(this.encryptedInputs, o.path, MAX_PATHS);
        return;
      case 'write': {
        this.setOrigin(o.path, this.originFor(program, o.pid));
        if (SHELLS.has(program) && /O_TRUNC|O_APPEND/.test(o.flags ?? '')) this.output = { path: o.path, time: o.time };
        if (/O_CREAT/.test(o.flags ?? '') && !read.has(o.path)) boundedAdd(this.created, o.path, MAX_PATHS);
        return;
      }
      case 'mkdir':
      case 'link':
      case 'symlink':
        // A new name the sample made (gpg's lock files are hard links it makes and removes).
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
