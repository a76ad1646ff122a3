import type { Observation } from '../observations';
import { rule, reads, type Rule, type RuleContext } from './rule';

/** Sandbox and VM artefacts a sample reads to decide whether it is being watched. */
const ARTEFACTS =
  /^\/(\.dockerenv|run\/\.containerenv|proc\/(1|self|\d+)\/(cgroup|sched)|sys\/class\/dmi\/id\/|sys\/devices\/virtual\/dmi\/|sys\/hypervisor|proc\/scsi\/scsi|proc\/vz|proc\/xen|proc\/sys\/kernel\/osrelease$)/;

/** The dynamic linker's variables that load a library into the program being run. */
const LINKER_INJECTION = /^(LD_PRELOAD|LD_AUDIT)=(.*)$/s;

/** Where an unprivileged process can put a library of its own. */
const WRITABLE = /^\/(tmp|var\/tmp|dev\/shm|run\/user|run\/lock)\//;

/**
 * The libraries an exec's environment has the dynamic linker load that the sample could have made
 * itself: one it wrote or was given, one in a writable place or its home, or a relative path. A bare
 * name is looked up in the system's library directories, and a system library (a build preloading
 * libeatmydata, say) is nothing the sample made: neither counts.
 */
function injectedLibraries(o: Observation, c: RuleContext): string[] {
  if (o.type !== 'exec') return [];
  return o.env.flatMap((entry) => {
    const value = LINKER_INJECTION.exec(entry)?.[2];
    if (value === undefined) return [];
    // ld.so splits LD_PRELOAD on spaces and colons (LD_AUDIT on colons).
    return value
      .split(/[\s:]+/)
      .filter(
        (lib) =>
          lib.includes('/') &&
          (!lib.startsWith('/') ||
            WRITABLE.test(lib) ||
            lib.startsWith(`${c.home}/`) ||
            c.written.has(lib) ||
            c.placed.has(lib)),
      );
  });
}

/** Defence evasion: debugger and sandbox checks, self-deletion, masquerading, fileless execution, probing the agent. */
export const evasionRules: Rule[] = [
  rule({
    key: 'evasion',
    id: 'evasion.debugger-check',
    title: 'Checks for a debugger (ptrace TRACEME or TracerPid)',
    severity: 'medium',
    attack: ['T1622'],
    match: (o, c) =>
      (o.type === 'call' && o.name === 'ptrace' && o.args[0] === 'PTRACE_TRACEME') ||
      (reads(o, /^\/proc\/(self|thread-self|\d+)\/status$/) && !/^\/proc\/\d/.test(o.path)) ||
      (reads(o, /^\/proc\/\d+\/status$/) && c.samplePids.has(Number(o.path.split('/')[2]))),
  }),
  rule({
    key: 'evasion',
    id: 'evasion.sandbox-check',
    title: 'Looks for container, VM or sandbox artefacts',
    severity: 'medium',
    attack: ['T1497.001'],
    match: (o) => reads(o, ARTEFACTS),
  }),
  rule({
    key: 'evasion',
    id: 'evasion.self-deletion',
    title: 'Deletes its own file',
    severity: 'medium',
    attack: ['T1070.004'],
    match: (o, c) => o.type === 'file' && o.op === 'delete' && c.placed.has(o.path),
  }),
  rule({
    key: 'evasion',
    id: 'evasion.masquerading',
    title: 'Renames its process or poses as a kernel thread',
    severity: 'medium',
    attack: ['T1036.004'],
    match: (o) =>
      (o.type === 'call' && o.name === 'prctl' && o.args[0] === 'PR_SET_NAME') ||
      (o.type === 'exec' && /^\[.*\]$/.test(o.argv[0] ?? '')),
  }),
  rule({
    key: 'evasion',
    id: 'evasion.fileless',
    title: 'Runs code from memory (memfd, /proc/self/fd)',
    severity: 'high',
    attack: ['T1620'],
    match: (o) =>
      (o.type === 'call' && o.name === 'memfd_create') ||
      (o.type === 'exec' && /^(\/proc\/(self|\d+)\/fd\/|\/dev\/fd\/|\/memfd:)/.test(o.path)),
  }),
  rule({
    key: 'evasion',
    id: 'evasion.linker-injection',
    title: 'Runs a program with a library of its own loaded through LD_PRELOAD or LD_AUDIT',
    severity: 'high',
    attack: ['T1574.006'],
    match: (o, c) => injectedLibraries(o, c).length > 0,
  }),
  rule({
    key: 'evasion',
    id: 'evasion.agent-probe',
    title: "Probes the analysis agent's files",
    severity: 'high',
    attack: ['T1497.001'],
    match: (o, c) => o.type === 'file' && c.hidden.some((dir) => o.path === dir || o.path.startsWith(`${dir}/`)),
  }),
];
