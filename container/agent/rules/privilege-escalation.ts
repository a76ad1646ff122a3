import { execName, numberArg, rule, writes, type Rule } from './rule';

const SETUID_CALLS = new Set(['setuid', 'setgid', 'setreuid', 'setregid', 'setresuid', 'setresgid']);

/** Privilege escalation: setuid bits, sudo and friends, account files, root uid, kernel exploit surface, container escape. */
export const privilegeEscalationRules: Rule[] = [
  rule({
    key: 'privilegeEscalation',
    id: 'privilegeEscalation.setuid-bit',
    title: 'Sets the setuid or setgid bit on a file',
    severity: 'high',
    attack: ['T1548.001'],
    match: (o) =>
      (o.type === 'file' && o.op === 'chmod' && o.mode !== null && (o.mode & 0o6000) !== 0) ||
      // fchmodat2 as an strace without its name prints it: raw arguments, the mode third.
      (o.type === 'call' && o.name === 'fchmodat2' && ((numberArg(o.args[2]) ?? 0) & 0o6000) !== 0),
  }),
  rule({
    key: 'privilegeEscalation',
    id: 'privilegeEscalation.sudo',
    title: 'Runs sudo, su, pkexec or doas',
    severity: 'medium',
    attack: ['T1548.003'],
    match: (o) => ['sudo', 'su', 'pkexec', 'doas', 'sudoedit'].includes(execName(o) ?? ''),
  }),
  rule({
    key: 'privilegeEscalation',
    id: 'privilegeEscalation.account-files',
    title: 'Modifies accounts or sudo rules',
    severity: 'high',
    attack: ['T1548.003', 'T1136.001'],
    match: (o) => writes(o, /^\/etc\/(sudoers(\.d\/.*)?|passwd|shadow|group|gshadow)$/),
  }),
  rule({
    key: 'privilegeEscalation',
    id: 'privilegeEscalation.root-uid',
    title: 'Tries to switch to uid or gid 0',
    severity: 'medium',
    attack: ['T1548'],
    match: (o) => o.type === 'call' && SETUID_CALLS.has(o.name) && o.args.slice(0, 3).some((a) => a === '0'),
  }),
  rule({
    key: 'privilegeEscalation',
    id: 'privilegeEscalation.kernel-module',
    title: 'Loads or unloads a kernel module',
    severity: 'critical',
    attack: ['T1547.006', 'T1014'],
    match: (o) =>
      (o.type === 'call' && ['init_module', 'finit_module', 'delete_module'].includes(o.name)) ||
      ['insmod', 'modprobe', 'rmmod'].includes(execName(o) ?? ''),
  }),
  rule({
    key: 'privilegeEscalation',
    id: 'privilegeEscalation.kernel-surface',
    title: 'Reaches for kernel exploit surface (user namespaces, BPF)',
    severity: 'medium',
    attack: ['T1068'],
    match: (o) =>
      o.type === 'call' &&
      (o.name === 'bpf' ||
        ((o.name === 'unshare' || o.name.startsWith('clone')) && o.args.some((a) => /CLONE_NEWUSER/.test(a)))),
  }),
  rule({
    key: 'privilegeEscalation',
    id: 'privilegeEscalation.container-socket',
    title: 'Connects to a container runtime socket',
    severity: 'high',
    attack: ['T1611'],
    match: (o) =>
      o.type === 'connect' && o.protocol === 'unix' && /(docker|containerd|crio|podman)\.sock$/.test(o.address),
  }),
];
