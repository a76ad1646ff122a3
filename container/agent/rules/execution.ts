import { execName, numberArg, procPid, rule, writes, writtenPaths, type Rule } from './rule';

const SHELLS = new Set(['sh', 'bash', 'dash', 'zsh', 'ksh', 'busybox']);
/** ptrace requests that attach to another process or change its memory or registers. */
const PTRACE_INJECT = /^PTRACE_(ATTACH|SEIZE|POKETEXT|POKEDATA|POKEUSER|SETREGS|SETREGSET|SETFPREGS)$/;
/** A process's memory file, also through its task directory. */
const PROC_MEM = /^\/proc\/\d+\/(task\/\d+\/)?mem$/;

const DOWNLOADERS = new Set(['curl', 'wget', 'tftp', 'ftp', 'nc', 'ncat', 'netcat', 'socat', 'scp', 'rsync']);

/** Execution: running what it dropped, downloaders, decoded payloads, injection, reverse shells. */
export const executionRules: Rule[] = [
  rule({
    key: 'execution',
    id: 'execution.dropped-file',
    title: 'Executes a file it wrote',
    severity: 'high',
    attack: ['T1105', 'T1204.002'],
    match: (o, c) => o.type === 'exec' && c.written.has(o.path),
  }),
  rule({
    key: 'execution',
    id: 'execution.world-writable',
    title: 'Executes from a world-writable directory',
    severity: 'medium',
    attack: ['T1059'],
    match: (o) => o.type === 'exec' && /^\/(tmp|var\/tmp|dev\/shm)\//.test(o.path),
  }),
  rule({
    key: 'execution',
    id: 'execution.downloader',
    title: 'Runs a download or transfer tool',
    severity: 'medium',
    attack: ['T1105'],
    match: (o) => DOWNLOADERS.has(execName(o) ?? ''),
  }),
  rule({
    key: 'execution',
    id: 'execution.decoded-payload',
    title: 'Decodes and runs an encoded payload',
    severity: 'medium',
    attack: ['T1140', 'T1027'],
    match: (o) =>
      o.type === 'exec' &&
      ((execName(o) === 'base64' && o.argv.some((a) => a === '-d' || a === '--decode')) ||
        o.argv.some((a) =>
          /b64decode|base64 (-d|--decode)|decode_base64|frombase64string|exec\(.*decode|eval\s*\(.*(decode|unhexlify)/i.test(
            a,
          ),
        )),
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
        o.argv.some((a) => /\/dev\/(tcp|udp)\/|\bnc\b.*-e\s|mkfifo .*\bnc\b/.test(a))),
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
