import type { ExecObservation, Observation } from '../observations';
import { DOWNLOADERS, SHELLS } from './provenance';
import {
  commandLine,
  execName,
  isDecoder,
  numberArg,
  procPid,
  provenance,
  type RuleContext,
  rule,
  scriptArgument,
  writes,
  writtenPaths,
  type Rule,
} from './rule';

/** `python`, `python3`, `python3.11`. */
const PYTHON = /^python(\d+(\.\d+)?)?$/;
/** ptrace requests that attach to another process or change its memory or registers. */
const PTRACE_INJECT = /^PTRACE_(ATTACH|SEIZE|POKETEXT|POKEDATA|POKEUSER|SETREGS|SETREGSET|SETFPREGS)$/;
/** A process's memory file, also through its task directory. */
const PROC_MEM = /^\/proc\/\d+\/(task\/\d+\/)?mem$/;

/** Decoding an encoded blob inside a command line. */
const DECODES =
  /b64decode|base64 (-d|--decode|-D)|decode_base64|frombase64string|unhexlify|xxd -r|openssl (enc )?(-d )?-?base64 -d/i;
/** A pipe into a shell or a shell's `eval` of what a command printed. */
const INTO_SHELL = /\|\s*(\/\S*\/)?(ba|da|z|k)?sh\b|\beval\s+["'`$]/;
/** A pipe into Python, or Python running decoded text. */
const INTO_PYTHON = /\|\s*(\/\S*\/)?python(\d(\.\d+)?)?\b|exec\s*\(.*(decode|unhexlify)/;

/**
 * Scripts a build generates and runs as it goes (autoconf's config.status, libtool, configure's
 * probes): a configure run writes them with the shell and runs them with the shell.
 */
const BUILD_SCRIPTS = /(^|\/)(config\.status|libtool|config\.lt|conftest(\.sh)?|depcomp|ltmain\.sh)$/;

/** Where droppers stage a payload: shared temporary places and dot-named files or directories. */
const STAGING = /^\/(tmp|var\/tmp|dev\/shm|run\/user|run\/lock)\/|\/\.[^/.][^/]*(\/|$)|\/\.\.\.(\/|$)/;

/** True for an exec of a file whose content the sample wrote itself (not built, copied or downloaded). */
function runsOwnWrittenFile(o: Observation, c: RuleContext): boolean {
  return o.type === 'exec' && provenance(c).originOf(o.path) === 'written' && !BUILD_SCRIPTS.test(o.path);
}

/** The file an exec runs: the program itself, or the script an interpreter was given. */
function executedFiles(o: Observation): string[] {
  if (o.type !== 'exec') return [];
  const name = execName(o) ?? '';
  const script = SHELLS.has(name) || PYTHON.test(name) || name === 'perl' ? scriptArgument(o) : null;
  return script ? [o.path, script] : [o.path];
}

/** True when the exec runs a file the sample wrote itself, from content of this origin. */
function runsWritten(o: Observation, c: RuleContext, origins: readonly string[]): boolean {
  return executedFiles(o).some((path) => origins.includes(provenance(c).originOf(path) ?? ''));
}

/**
 * True when an interpreter runs, as its script argument, a file the sample wrote itself (an
 * installer running a script it copied out of its own payload is not writing one).
 */
function runsWrittenScript(o: Observation, c: RuleContext, interpreter: (name: string) => boolean): boolean {
  if (o.type !== 'exec' || !interpreter(execName(o) ?? '')) return false;
  const script = scriptArgument(o);
  return script !== null && !BUILD_SCRIPTS.test(script) && provenance(c).originOf(script) === 'written';
}

/** Decoding calls of the scripting languages (Python, Perl, PHP, Ruby, Node, PowerShell). */
const INLINE_DECODE =
  /\b(b64decode|b32decode|b85decode|a85decode|unhexlify|decode_base64|base64_decode|decode64|unpack1?\s*\(?\s*["']m0?["']|frombase64string)\b|Buffer\.from\s*\([^)]*["'](base64|hex)["']/i;
const INLINE_INTERPRETERS = /^(python(\d+(\.\d+)?)?|perl|php(\d+(\.\d+)?)?|ruby|node|nodejs|pwsh|powershell)$/;

/** True for an interpreter given a one-liner (`python3 -c`, `perl -e`, `php -r`) that decodes a blob. */
function decodesInline(o: Observation): boolean {
  if (o.type !== 'exec' || !INLINE_INTERPRETERS.test(execName(o) ?? '')) return false;
  return o.argv.some(
    (a, i) =>
      i > 0 && /^-[a-zA-Z]*[ceEr]$|^-(Command|EncodedCommand)$/i.test(o.argv[i - 1] ?? '') && INLINE_DECODE.test(a),
  );
}

/** A program's own code spawning a bare shell: awk's `system("/bin/sh")`, perl's `exec "/bin/sh"`, vim's `:!/bin/sh`. */
const SHELL_SPAWN =
  /\b(system|exec|spawn|popen|execl?p?)\s*\(?\s*["'](\/usr)?(\/bin\/)?(ba|da|z|k|c|tc)?sh( -[ip])?\s*&?\s*["']|:!\s*(\/usr)?(\/bin\/)?(ba|da|z|k)?sh\b/;

/**
 * True for a program that is no shell made to open one (the GTFOBins escapes): a shell spawn in
 * its code, `find -exec /bin/sh \;`, or busybox's shell applet started bare.
 */
function escapesToShell(o: Observation): boolean {
  if (o.type !== 'exec') return false;
  const name = execName(o) ?? '';
  const args = o.argv.slice(1);
  const bareShell = (a: string | undefined) => /^(\/usr)?(\/bin\/)?(ba|da|z|k)?sh$/.test(a ?? '');
  if (name === 'busybox') return bareShell(args[0]) && !args.includes('-c');
  if (name === 'find')
    return args.some((a, i) => /^-exec(dir)?$/.test(a) && bareShell(args[i + 1]) && /^(;|\+)$/.test(args[i + 2] ?? ''));
  if (SHELLS.has(name)) return false;
  return args.some((a) => SHELL_SPAWN.test(a));
}

/** Execution: running what it downloaded or wrote, decoded payloads, injection, reverse shells. */
export const executionRules: Rule[] = [
  rule({
    key: 'execution',
    id: 'execution.downloaded-file',
    title: 'Runs a file written from downloaded bytes',
    severity: 'high',
    attack: ['T1105'],
    match: (o, c) => runsWritten(o, c, ['downloaded']),
  }),
  rule({
    key: 'execution',
    id: 'execution.dropped-file',
    title: 'Executes a file it wrote into a temporary or hidden place (a staged payload)',
    severity: 'high',
    // No ATT&CK technique is "runs a file it wrote" (T1204.002 is a user opening one); the
    // indicator is the behaviour, and how the file got there (download, decode) raises its own.
    attack: [],
    // A compiler's output run by the build, or a file copied out of the sample's own payload, is
    // not a dropped payload; content the sample itself wrote (printf, a decoder, Python) is, where
    // droppers stage it: /tmp, /dev/shm, a dot-named file or directory.
    match: (o, c) => runsOwnWrittenFile(o, c) && STAGING.test((o as ExecObservation).path),
  }),
  rule({
    key: 'execution',
    id: 'execution.written-file',
    title: 'Executes a file it wrote in its own tree',
    // Installers and provisioning scripts write a script or tool into their tree and run it: context.
    severity: 'low',
    attack: [],
    match: (o, c) => runsOwnWrittenFile(o, c) && !STAGING.test((o as ExecObservation).path),
  }),
  rule({
    key: 'execution',
    id: 'execution.written-shell-script',
    title: 'Runs a shell script it wrote (sh ./stage2)',
    severity: 'medium',
    attack: ['T1059.004'],
    match: (o, c) =>
      runsWrittenScript(o, c, (name) => SHELLS.has(name)) ||
      (o.type === 'exec' && /\.(sh|bash)$/.test(o.path) && provenance(c).originOf(o.path) === 'written'),
  }),
  rule({
    key: 'execution',
    id: 'execution.written-python-script',
    title: 'Runs a Python script it wrote',
    severity: 'medium',
    attack: ['T1059.006'],
    match: (o, c) =>
      runsWrittenScript(o, c, (name) => PYTHON.test(name)) ||
      (o.type === 'exec' && /\.py$/.test(o.path) && provenance(c).originOf(o.path) === 'written'),
  }),
  rule({
    key: 'execution',
    id: 'execution.world-writable',
    title: 'Executes from a world-writable directory',
    severity: 'low',
    // Where a program lies says nothing of a technique; what put it there does (the rules above).
    attack: [],
    match: (o) => o.type === 'exec' && /^\/(tmp|var\/tmp|dev\/shm)\//.test(o.path),
  }),
  rule({
    key: 'execution',
    id: 'execution.shell-escape',
    title: 'Opens a shell from inside another program (awk, perl, find, vim, busybox)',
    severity: 'medium',
    attack: ['T1059.004'],
    match: escapesToShell,
  }),
  rule({
    key: 'execution',
    id: 'execution.downloader',
    title: 'Runs a download or transfer tool',
    severity: 'low',
    attack: ['T1105'],
    match: (o) => DOWNLOADERS.has(execName(o) ?? ''),
  }),
  rule({
    key: 'execution',
    id: 'execution.download-into-shell',
    title: 'Pipes a download into a shell (curl ... | sh)',
    severity: 'high',
    attack: ['T1105', 'T1059.004'],
    match: (o, c) =>
      /\b(curl|wget)\b[^|]*\|\s*(\/\S*\/)?(ba|da|z)?sh\b/.test(commandLine(o)) || pipedIntoShell(o, c, 'downloader'),
  }),
  rule({
    key: 'execution',
    id: 'execution.decoder',
    title: 'Decodes an encoded blob (base64 -d, xxd -r, openssl enc -d, an interpreter one-liner)',
    severity: 'low',
    attack: ['T1140'],
    match: (o) => isDecoder(o) || decodesInline(o),
  }),
  rule({
    key: 'execution',
    id: 'execution.decoded-shell',
    title: 'Decodes a payload and runs it in a shell',
    severity: 'medium',
    // What runs the decoded text is the execution; the decoding itself is evasion's (T1140).
    attack: ['T1059.004'],
    match: (o, c) =>
      (DECODES.test(commandLine(o)) && INTO_SHELL.test(commandLine(o))) || pipedIntoShell(o, c, 'decoder'),
  }),
  rule({
    key: 'execution',
    id: 'execution.decoded-python',
    title: 'Decodes a payload and runs it in Python',
    severity: 'medium',
    // What runs the decoded text is the execution; the decoding itself is evasion's (T1140).
    attack: ['T1059.006'],
    match: (o) =>
      o.type === 'exec' &&
      ((PYTHON.test(execName(o) ?? '') && o.argv.some((a) => /exec\s*\(|eval\s*\(/.test(a) && DECODES.test(a))) ||
        (DECODES.test(commandLine(o)) && INTO_PYTHON.test(commandLine(o)))),
  }),
  rule({
    key: 'execution',
    id: 'execution.injection',
    title: 'Attaches to or writes into another process (ptrace)',
    severity: 'high',
    attack: ['T1055.008'],
    match: (o) =>
      o.type === 'call' && o.name === 'ptrace' && PTRACE_INJECT.test(o.args[0] ?? '') && numberArg(o.args[1]) !== o.pid,
  }),
  rule({
    key: 'execution',
    id: 'execution.injection-proc-mem',
    title: "Writes into another process's memory through /proc/<pid>/mem",
    severity: 'high',
    attack: ['T1055.009'],
    // Paths are canonical, so /proc/self/mem is the process's own pid: self-modification, not injection.
    match: (o) => writes(o, PROC_MEM) && writtenPaths(o).some((p) => PROC_MEM.test(p) && procPid(p) !== o.pid),
  }),
  rule({
    key: 'execution',
    id: 'execution.injection-vm-write',
    title: "Writes into another process's memory (process_vm_writev)",
    severity: 'high',
    // No sub-technique of T1055 names process_vm_writev.
    attack: ['T1055'],
    match: (o) => o.type === 'call' && o.name === 'process_vm_writev' && numberArg(o.args[0]) !== o.pid,
  }),
  rule({
    key: 'execution',
    id: 'execution.reverse-shell',
    title: 'Starts an interactive or network-connected shell',
    severity: 'high',
    attack: ['T1059.004'],
    match: (o) =>
      o.type === 'exec' &&
      ((SHELLS.has(execName(o) ?? '') && o.argv.includes('-i')) ||
        o.argv.some((a) => /\/dev\/(tcp|udp)\/|\bnc\b.*\s-[ec]\s|mkfifo .*\b(nc|ncat|netcat)\b/.test(a)) ||
        (/^(nc|ncat|netcat)$/.test(execName(o) ?? '') && o.argv.some((a) => a === '-e' || a === '-c')) ||
        (execName(o) === 'socat' && o.argv.some((a) => /^exec:.*(sh|bash)/i.test(a)))),
  }),
  rule({
    key: 'execution',
    id: 'execution.python-shell',
    title: 'Spawns a shell from Python on a socket or pseudo-terminal (pty.spawn)',
    severity: 'high',
    attack: ['T1059.006'],
    match: (o) =>
      o.type === 'exec' &&
      PYTHON.test(execName(o) ?? '') &&
      o.argv.some(
        (a) =>
          /pty\.spawn\s*\(/.test(a) ||
          (/socket/.test(a) && /dup2/.test(a) && /(subprocess|os\.system|os\.exec|pty)/.test(a)),
      ),
  }),
  rule({
    key: 'execution',
    id: 'execution.daemonize',
    title: 'Detaches into a session of its own (daemonises)',
    severity: 'low',
    attack: [],
    match: (o) =>
      (o.type === 'call' && o.name === 'setsid' && o.retval !== null && o.retval > 0) ||
      execName(o) === 'setsid' ||
      execName(o) === 'nohup',
  }),
];

/**
 * `echo ... | base64 -d | sh` and `curl URL | sh` run from a script: its shell forks the producer
 * and a shell that reads its commands from the pipe within moments of each other, in either
 * order. A shell given neither a script nor `-c` reads stdin.
 */
const PIPELINE_SECONDS = 2;
interface PipelineTimes {
  decoder: number;
  downloader: number;
  stdinShell: number;
}
const pipelines = new WeakMap<RuleContext, PipelineTimes>();

/** Times the last decoder, downloader and stdin shell started; `o`'s kind of exec, or null for others. */
function pipelineStep(o: Observation, c: RuleContext): { seen: PipelineTimes; kind: keyof PipelineTimes } | null {
  if (o.type !== 'exec' || !o.ok) return null;
  const name = execName(o) ?? '';
  const kind: keyof PipelineTimes | null =
    (name === 'base64' && o.argv.some((a) => a === '-d' || a === '--decode')) ||
    (name === 'xxd' && o.argv.includes('-r'))
      ? 'decoder'
      : name === 'curl' || name === 'wget'
        ? 'downloader'
        : SHELLS.has(name) && o.argv.length === 1
          ? 'stdinShell'
          : null;
  if (kind === null) return null;
  let seen = pipelines.get(c);
  if (!seen) {
    seen = {
      decoder: Number.NEGATIVE_INFINITY,
      downloader: Number.NEGATIVE_INFINITY,
      stdinShell: Number.NEGATIVE_INFINITY,
    };
    pipelines.set(c, seen);
  }
  // Each rule asks once per observation: recording the same time twice changes nothing.
  seen[kind] = o.time;
  return { seen, kind };
}

/** True when `o` completes a producer → stdin shell pair whose producer is of `producer`'s kind. */
function pipedIntoShell(o: Observation, c: RuleContext, producer: 'decoder' | 'downloader'): boolean {
  const step = pipelineStep(o, c);
  if (step === null || (step.kind !== producer && step.kind !== 'stdinShell')) return false;
  return Math.abs(step.seen[producer] - step.seen.stdinShell) <= PIPELINE_SECONDS;
}
