import type { ExecObservation } from '../observations';
import { argumentPath } from './command-targets';

/**
 * The command a wrapper was asked to run: `sudo -u root mdatp ...`, `timeout 4 tcpdump ...`,
 * `nohup ./x &`, `env -i PATH=... sh`. A shell looks a missing program up with stat and never
 * calls exec, so when the wrapped program is absent from the victim the wrapper's argv is the only
 * record of what the sample set out to run; the rules judge it as that program's exec.
 */

/** Options, by wrapper, whose value is the next argument. */
const VALUED: Record<string, ReadonlySet<string>> = {
  sudo: new Set([
    '-u',
    '-g',
    '-h',
    '-p',
    '-C',
    '-D',
    '-r',
    '-t',
    '-T',
    '-U',
    '--user',
    '--group',
    '--host',
    '--prompt',
  ]),
  doas: new Set(['-u', '-C']),
  timeout: new Set(['-s', '-k', '--signal', '--kill-after']),
  nice: new Set(['-n', '--adjustment']),
  env: new Set(['-u', '-C', '-S', '--unset', '--chdir', '--split-string']),
  stdbuf: new Set(['-i', '-o', '-e']),
  nohup: new Set(),
  setsid: new Set(),
};

/** Wrapper options after which nothing is run (`sudo -l`, `sudo -v`, `env --help`). */
const NOTHING_RUN = /^(-l|-v|-k|-K|-V|-h|--list|--validate|--version|--help|-e|--edit)$/;

/** The argv a wrapper exec runs, or null when it runs nothing or is no wrapper. */
export function wrappedCommand(o: ExecObservation): string[] | null {
  const name = o.path.slice(o.path.lastIndexOf('/') + 1);
  const valued = VALUED[name];
  if (valued === undefined) return null;
  let i = 1;
  for (; i < o.argv.length; i++) {
    const arg = o.argv[i] ?? '';
    if (arg === '--') {
      i++;
      break;
    }
    if (name !== 'env' && name !== 'nohup' && NOTHING_RUN.test(arg)) return null;
    if (valued.has(arg)) i++;
    else if (arg.startsWith('-') && arg !== '-') continue;
    else if (name === 'env' && /^[A-Za-z_][A-Za-z0-9_]*=/.test(arg)) continue;
    else break;
  }
  // timeout's first operand is its duration.
  if (name === 'timeout' && i < o.argv.length) i++;
  const command = o.argv.slice(i);
  return command.length > 0 && (command[0] ?? '') !== '' ? command : null;
}

/** The exec a wrapper asked for, as the rules see an exec: same process and time, the wrapper as parent. */
export function wrappedExec(o: ExecObservation): ExecObservation | null {
  const argv = wrappedCommand(o);
  if (argv === null) return null;
  const program = argv[0] as string;
  // A bare name is taken as found in /usr/bin: only its name and argv matter to the rules.
  const path = program.includes('/') ? argumentPath(o, program) : `/usr/bin/${program}`;
  return { ...o, path, argv, parentExe: o.path };
}
