import { posix } from 'node:path';
import type { BehaviorKey, Severity } from '../../../lambdas/core/contracts/detonation-report';
import type { ExecObservation, FileObservation, Observation } from '../observations';
import { commandTargets } from './command-targets';
import { Provenance } from './provenance';

/**
 * What a behaviour rule is. Rules are matched as observations stream past (no rule sees a capped
 * list, so flooding the trace with noise cannot push an event out of reach), and an indicator is
 * raised when a rule matched often enough, with its first matching lines as evidence.
 */

/** What the rules know besides the observations. */
export interface RuleContext {
  /** The sandbox's home. */
  home: string;
  /** Files the agent placed for the sample (the sample itself, extracted members, compiled binaries). */
  placed: ReadonlySet<string>;
  /** The agent's own paths: the sample has no business there. */
  hidden: readonly string[];
  /** Paths the sample created or wrote so far, for "executes what it wrote". */
  written: Set<string>;
  /** Paths the sample opened for reading so far, for "renames what it read" (encryption). */
  read: Set<string>;
  /** Processes of the sample. */
  samplePids: Set<number>;
  /** Where the files the sample wrote came from; see {@link provenance}. */
  provenance?: Provenance;
}

/** One behaviour rule: a predicate over observations and the indicator it raises. */
export interface Rule {
  key: BehaviorKey;
  /** `<key>.<name>` */
  id: string;
  title: string;
  severity: Severity;
  attack: string[];
  /** True when the observation is an instance of the behaviour. */
  match(observation: Observation, context: RuleContext): boolean;
  /**
   * Counting rules: how many matches (or distinct `distinct` values) make the behaviour; default 1.
   * Below it the matches stay unreported (a few deletions are housekeeping, thirty are not).
   */
  minimum?: number;
  distinct?(observation: Observation): string;
}

/** Declares a rule (a typed identity, so each rules file reads as a table). */
export function rule(definition: Rule): Rule {
  return definition;
}

/** The paths an observation writes to: the file of a write open, a rename's destination, a link's name. */
export function writtenPaths(o: Observation): string[] {
  if (o.type !== 'file') return [];
  switch (o.op) {
    case 'write':
    case 'truncate':
    case 'link':
    case 'symlink':
    case 'mkdir':
    case 'mknod':
    case 'chmod':
    case 'chown':
      return [o.path];
    case 'rename-from':
      // An exchange (renameat2 RENAME_EXCHANGE) puts new content under both names.
      if (/RENAME_EXCHANGE/.test(o.flags ?? '')) return o.target ? [o.target, o.path] : [o.path];
      return o.target ? [o.target] : [];
    default:
      return [];
  }
}

/** True for a file open for reading (or an access/readlink probe) of a path matching `pattern`. */
export function reads(o: Observation, pattern: RegExp): o is FileObservation {
  return o.type === 'file' && (o.op === 'read' || o.op === 'access' || o.op === 'readlink') && pattern.test(o.path);
}

/**
 * The paths an observation writes or sets out to write: {@link writtenPaths}, and for an exec of a
 * file tool the files its command line names (see {@link commandTargets}), refused or not.
 */
export function targetPaths(o: Observation): string[] {
  return o.type === 'exec' ? commandTargets(o) : writtenPaths(o);
}

/** True when the observation writes, or a command sets out to write, a path matching `pattern`. */
export function writes(o: Observation, pattern: RegExp): boolean {
  return targetPaths(o).some((p) => pattern.test(p));
}

/** The program name of an exec (`/usr/bin/sudo` → `sudo`). */
export function execName(o: Observation): string | null {
  return o.type === 'exec' ? posix.basename(o.path) : null;
}

/**
 * The part of `path` below a home directory (the sandbox's, root's or one in /home), or null.
 * `~/.bashrc` of any user is `.bashrc`.
 */
export function homeRelative(path: string, context: RuleContext): string | null {
  if (path.startsWith(`${context.home}/`)) return path.slice(context.home.length + 1);
  if (path.startsWith('/root/')) return path.slice(6);
  const user = /^\/home\/[^/]+\//.exec(path);
  return user ? path.slice(user[0].length) : null;
}

/** True when the observation writes a path whose home-relative part matches `pattern`. */
export function writesInHome(o: Observation, context: RuleContext, pattern: RegExp): boolean {
  return targetPaths(o).some((p) => {
    const rest = homeRelative(p, context);
    return rest !== null && pattern.test(rest);
  });
}

/** True when the observation reads a path whose home-relative part matches `pattern`. */
export function readsInHome(o: Observation, context: RuleContext, pattern: RegExp): boolean {
  if (!reads(o, /./)) return false;
  const rest = homeRelative(o.path, context);
  return rest !== null && pattern.test(rest);
}

/** The lowest-level IP form of an address string for comparisons (`::ffff:1.2.3.4` → `1.2.3.4`). */
export function plainAddress(address: string): string {
  return address.startsWith('::ffff:') ? address.slice(7) : address;
}

/** True for the fake resolver's answers and other loopback addresses. */
export function isLoopback(address: string): boolean {
  const a = plainAddress(address);
  return a.startsWith('127.') || a === '::1';
}

/** A numeric argument as strace prints it (`1234`, `-1`, `0x9ed`, `04755`); null when it is not a number. */
export function numberArg(arg: string | undefined): number | null {
  if (arg === undefined) return null;
  const text = arg.trim();
  if (/^0x[0-9a-f]{1,16}$/i.test(text)) return Number.parseInt(text.slice(2), 16);
  if (/^0[0-7]{1,22}$/.test(text)) return Number.parseInt(text, 8);
  if (/^-?\d{1,19}$/.test(text)) return Number(text);
  return null;
}

/** The pid a /proc path names (`/proc/42/mem` → 42), null for anything else. */
export function procPid(path: string): number | null {
  const match = /^\/proc\/(\d{1,10})\//.exec(path);
  return match ? Number(match[1]) : null;
}

/**
 * Where the sample's files came from (downloaded, built, copied, written), kept in the context so
 * every rule sees the same record; created on first use, so contexts built elsewhere need not know it.
 */
export function provenance(context: RuleContext): Provenance {
  context.provenance ??= new Provenance();
  return context.provenance;
}

/**
 * The script an interpreter exec runs (`sh ./stage2` → `<cwd>/stage2`): its first argument that is
 * not an option, resolved against the exec's working directory; null for `-c`, `-m` and stdin.
 */
export function scriptArgument(o: ExecObservation): string | null {
  for (const arg of o.argv.slice(1)) {
    if (/^-[a-zA-Z]*[cm]/.test(arg) || arg === '-') return null;
    if (arg.startsWith('-')) continue;
    return posix.isAbsolute(arg) ? posix.normalize(arg) : o.cwd === null ? null : posix.resolve(o.cwd, arg);
  }
  return null;
}

/** Every argument of an exec joined, for patterns that span arguments (`curl -T f https://...`). */
export function commandLine(o: Observation): string {
  return o.type === 'exec' ? o.argv.join(' ') : '';
}

/** True for an exec with an argument (after the program name) matching `pattern`. */
export function argvHas(o: Observation, pattern: RegExp): boolean {
  return o.type === 'exec' && o.argv.slice(1).some((a) => pattern.test(a));
}

/** True when the program making a file or call observation is one of `names` (by basename). */
export function actorIs(o: Observation, names: ReadonlySet<string>): boolean {
  if (o.type !== 'file' && o.type !== 'call') return false;
  return o.exe !== null && names.has(posix.basename(o.exe));
}

/** A decoder run on data (base64 -d, xxd -r, openssl base64 -d / enc -d, basenc -d). */
export function isDecoder(o: Observation): boolean {
  if (o.type !== 'exec') return false;
  const name = execName(o) ?? '';
  const args = o.argv.slice(1);
  if (/^(base64|base32|basenc|uudecode)$/.test(name))
    return name === 'uudecode' || args.some((a) => /^(-d|--decode|-[a-z]*d[a-z]*|-D)$/.test(a));
  if (name === 'xxd') return args.some((a) => /^-r/.test(a) || a === '-revert');
  if (name === 'openssl') return (args[0] === 'base64' || args[0] === 'enc') && args.includes('-d');
  return false;
}
