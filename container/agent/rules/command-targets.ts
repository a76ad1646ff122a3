import { posix } from 'node:path';
import type { ExecObservation } from '../observations';

/**
 * The files a command line says it will change. A tool run without the rights to change a file
 * never opens it for writing: `sed -i` first creates its temporary copy beside the file (refused
 * in /etc), `cp` and `tee` are refused on the open. The attempt is still the technique ("add a
 * line to journald.conf"), and its argv names the file, so path rules match these targets as
 * they match writes. Each tool's options are parsed as far as they decide which operand is the
 * file; what cannot be decided yields no target.
 */

/** Options, by tool, whose value is the next argument (so the value is not a file). */
const VALUED: Record<string, ReadonlySet<string>> = {
  sed: new Set(['-e', '-f', '-l', '--expression', '--file', '--line-length']),
  tee: new Set([]),
  truncate: new Set(['-s', '-r', '--size', '--reference']),
  cp: new Set(['-t', '-S', '--target-directory', '--suffix']),
  mv: new Set(['-t', '-S', '--target-directory', '--suffix']),
  install: new Set(['-t', '-m', '-o', '-g', '-S', '--target-directory', '--mode', '--owner', '--group', '--suffix']),
  ln: new Set(['-t', '-S', '--target-directory', '--suffix']),
  rsync: new Set(['-e', '--rsh', '--exclude', '--include', '--filter', '-f', '--chmod', '--log-file']),
};

/** The operands of a command line (neither options nor their values), after `--` too. */
function operands(argv: readonly string[], valued: ReadonlySet<string>): string[] {
  const found: string[] = [];
  let optionsEnded = false;
  for (let i = 1; i < argv.length; i++) {
    const arg = argv[i] ?? '';
    if (optionsEnded || !arg.startsWith('-') || arg === '-') found.push(arg);
    else if (arg === '--') optionsEnded = true;
    else if (valued.has(arg)) i++;
  }
  return found;
}

/** The value of a `-t DIR` / `--target-directory=DIR` option, if any. */
function targetDirectory(argv: readonly string[]): string | null {
  for (let i = 1; i < argv.length; i++) {
    const arg = argv[i] ?? '';
    if (arg === '-t' || arg === '--target-directory') return argv[i + 1] ?? null;
    if (arg.startsWith('--target-directory=')) return arg.slice('--target-directory='.length);
  }
  return null;
}

/**
 * Where a copy, move, install or link puts its sources: the destination as named, and (since it
 * may be a directory) the destination with each source's name below it.
 */
function destinations(argv: readonly string[], valued: ReadonlySet<string>): string[] {
  const names = operands(argv, valued);
  const directory = targetDirectory(argv);
  if (directory !== null) return names.map((source) => posix.join(directory, posix.basename(source)));
  if (names.length < 2) return [];
  const destination = names[names.length - 1] as string;
  const sources = names.slice(0, -1);
  return [destination, ...sources.map((source) => posix.join(destination, posix.basename(source)))];
}

/** The in-place files of a `sed -i` (the script is the first operand unless given with -e or -f). */
function sedInPlace(argv: readonly string[]): string[] {
  const inPlace = argv.some((a) => a === '--in-place' || a.startsWith('--in-place=') || /^-[^-]*i/.test(a));
  if (!inPlace) return [];
  const names = operands(argv, VALUED.sed as ReadonlySet<string>);
  const scriptGiven = argv.some((a) => /^(-e|-f|--expression|--file)(=.*)?$/.test(a) || /^-[^-]*[ef]$/.test(a));
  return scriptGiven ? names : names.slice(1);
}

/** The in-place files of a `perl -i`/`-pi -e '...'` edit. */
function perlInPlace(argv: readonly string[]): string[] {
  // Only switch clusters of single letters (`-pi`, `-i.bak`); `-Mstrict` or `-Ilib` edit nothing.
  if (!argv.some((a) => /^-[nplaw0]*i/.test(a))) return [];
  const names: string[] = [];
  for (let i = 1; i < argv.length; i++) {
    const arg = argv[i] ?? '';
    if (/^-[^-]*[eE]$/.test(arg)) i++;
    else if (!arg.startsWith('-')) names.push(arg);
  }
  return names;
}

/** Output redirections of a shell command string (`> f`, `>> f`, `2> f`), without descriptor copies and /dev. */
const REDIRECT = /(?:^|[^<>&\d])\d?>>?\|?\s*("[^"]*"|'[^']*'|[^\s;&|<>()`]+)/g;

/**
 * The files a command string (`sh -c '...'`, `su -c '...'`) redirects output into. The string is
 * run by a shell that may never start (su refused), so its text is the only record of the target.
 */
function redirectTargets(argv: readonly string[]): string[] {
  const at = argv.findIndex((a, i) => i > 0 && (a === '-c' || a === '--command' || /^-[a-z]*c$/.test(a)));
  const command = at === -1 ? undefined : argv[at + 1];
  if (command === undefined) return [];
  return [...command.matchAll(REDIRECT)]
    .map((m) => (m[1] ?? '').replace(/^["']|["']$/g, ''))
    .filter(
      (target) => target !== '' && !target.startsWith('&') && !target.startsWith('/dev/') && !target.includes('$'),
    );
}

/** The files `argv` says it will write, as given (relative to the exec's directory when not absolute). */
function namedTargets(name: string, argv: readonly string[]): string[] {
  switch (name) {
    case 'sh':
    case 'bash':
    case 'dash':
    case 'zsh':
    case 'ksh':
    case 'su':
      return redirectTargets(argv);
    case 'sed':
    case 'gsed':
      return sedInPlace(argv);
    case 'perl':
      return perlInPlace(argv);
    case 'tee':
      return operands(argv, VALUED.tee as ReadonlySet<string>).filter((a) => a !== '-');
    case 'truncate':
      return operands(argv, VALUED.truncate as ReadonlySet<string>);
    case 'dd':
      return argv.flatMap((a) => (a.startsWith('of=') ? [a.slice(3)] : []));
    case 'cp':
    case 'mv':
    case 'install':
    case 'ln':
    case 'rsync':
      return destinations(argv, VALUED[name] as ReadonlySet<string>).filter((a) => !a.includes(':'));
    default:
      return [];
  }
}

/** Programs whose argv names the files they write; others yield nothing. */
export const TARGET_TOOLS: ReadonlySet<string> = new Set([
  'sh',
  'bash',
  'dash',
  'zsh',
  'ksh',
  'su',
  'sed',
  'gsed',
  'perl',
  'tee',
  'truncate',
  'dd',
  'cp',
  'mv',
  'install',
  'ln',
  'rsync',
]);

/** A path argument of an exec resolved against the directory it ran in (normalised when that is unknown). */
export function argumentPath(o: ExecObservation, path: string): string {
  return posix.isAbsolute(path) || o.cwd === null ? posix.normalize(path) : posix.resolve(o.cwd, path);
}

/** The absolute paths an exec's command line says it will write (empty for any other program). */
export function commandTargets(o: ExecObservation): string[] {
  const name = posix.basename(o.path);
  if (!TARGET_TOOLS.has(name)) return [];
  return namedTargets(name, o.argv).map((target) => {
    const path = argumentPath(o, target);
    // `cp x /lib/` names the directory /lib: path rules compare names without the trailing slash.
    return path.length > 1 ? path.replace(/\/+$/, '') : path;
  });
}
