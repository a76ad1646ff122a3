import type { Observation } from '../observations';
import { actorIs, argvHas, execName, numberArg, reads, rule, writes, type Rule } from './rule';

const SETUID_CALLS = new Set(['setuid', 'setgid', 'setreuid', 'setregid', 'setresuid', 'setresgid']);

/** Programs that run a command as another user. */
const SWITCH_USER: ReadonlySet<string> = new Set(['sudo', 'su', 'pkexec', 'doas', 'sudoedit', 'run0']);
/** sudo and its editor: they read the sudo rules themselves. */
const SUDO_PROGRAMS: ReadonlySet<string> = new Set(['sudo', 'sudoedit', 'visudo']);

/** A chmod mode argument that sets setuid or setgid: symbolic (`u+s`, `+s`, `g=s`) or octal (`4755`, `2755`). */
const CHMOD_SETID = /^([ugoa]*[+=][rwxXt]*s[rwxXst]*(,.*)?|.*,[ugoa]*[+=][rwxXt]*s.*|0*[2-7][0-7]{3})$/;

/** True for a chmod exec that asks for a setuid or setgid bit (seen even when the tool then fails). */
function chmodSetsId(o: Observation): boolean {
  return execName(o) === 'chmod' && o.type === 'exec' && o.argv.slice(1).some((a) => CHMOD_SETID.test(a));
}

/**
 * sudo used only to learn or refresh whether credentials are cached: `-v` extends the timestamp,
 * `-n` with `true` (or nothing) asks without prompting whether sudo would run something now.
 */
function sudoCacheProbe(o: Observation): boolean {
  if (o.type !== 'exec' || execName(o) !== 'sudo') return false;
  const args = o.argv.slice(1);
  if (args.some((a) => a === '-v' || a === '--validate')) return true;
  const command = args.filter((a) => !a.startsWith('-'));
  return (
    args.some((a) => a === '-n' || a === '--non-interactive' || /^-[a-zA-Z]*n[a-zA-Z]*$/.test(a)) &&
    (command.length === 0 || (command.length === 1 && /^(\/usr)?(\/bin\/)?(true|id|whoami)$/.test(command[0] ?? '')))
  );
}

/** A find `-perm` value that selects setuid or setgid files: `-4000`, `/6000`, `-u=s`, `/g=s`. */
const PERM_SETID = /^[-/+]?(0*[2-7][0-7]{3}|[ugoa]*=s|[ugoa]*\+s)$/;

/** True for `find ... -perm -4000`: a search for setuid or setgid programs to abuse. */
function searchesSetidFiles(o: Observation): boolean {
  if (o.type !== 'exec' || execName(o) !== 'find') return false;
  return o.argv.some((a, i) => a === '-perm' && PERM_SETID.test(o.argv[i + 1] ?? ''));
}

/** The shadow-utils account tools: each has a rule of its own for what it is asked to do. */
const ACCOUNT_TOOLS: ReadonlySet<string> = new Set([
  'useradd',
  'adduser',
  'usermod',
  'userdel',
  'deluser',
  'passwd',
  'chpasswd',
  'chage',
  'groupadd',
  'groupmod',
  'groupdel',
  'gpasswd',
  'newusers',
  'chsh',
  'chfn',
]);

/** sudo's own help and version output: nothing is run as anyone. */
const SUDO_INFO = /^(-h|--help|-V|--version|-K|-k|--remove-timestamp|--reset-timestamp)$/;

/** Privilege escalation: setuid bits, sudo and its cache, sudoers and account files, root uid, kernel exploit surface, container escape. */
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
      (o.type === 'call' && o.name === 'fchmodat2' && ((numberArg(o.args[2]) ?? 0) & 0o6000) !== 0) ||
      chmodSetsId(o),
  }),
  rule({
    key: 'privilegeEscalation',
    id: 'privilegeEscalation.setuid-search',
    title: 'Searches for setuid or setgid programs',
    // The reconnaissance step of abusing a setuid program; ATT&CK files it under the technique.
    severity: 'medium',
    attack: ['T1548.001'],
    match: searchesSetidFiles,
  }),
  rule({
    key: 'privilegeEscalation',
    id: 'privilegeEscalation.capabilities',
    // File capabilities are the setuid bit in parts: a program gains root's powers when it is run.
    // ATT&CK has no sub-technique of its own for them; they are the setuid/setgid mechanism.
    title: 'Gives a file capabilities (setcap)',
    severity: 'high',
    attack: ['T1548.001'],
    match: (o) => execName(o) === 'setcap' && o.type === 'exec' && !argvHas(o, /^(-r|-v|-h|--help)$/),
  }),
  rule({
    key: 'privilegeEscalation',
    id: 'privilegeEscalation.sudo',
    title: 'Runs a command as another user (sudo, su, pkexec, doas)',
    // Admin scripts and installers run commands through sudo all day: context. What the command
    // does (a sudoers edit, a unit written, a service stopped) is judged by the rules for that.
    severity: 'low',
    attack: ['T1548.003'],
    match: (o) =>
      SWITCH_USER.has(execName(o) ?? '') && !sudoCacheProbe(o) && !(o.type === 'exec' && argvHas(o, SUDO_INFO)),
  }),
  rule({
    key: 'privilegeEscalation',
    id: 'privilegeEscalation.sudo-caching',
    title: "Probes or refreshes sudo's cached credentials",
    // Installers ask the same question before they start (`sudo -n true`, `sudo -v`): context, not
    // a verdict. Running something through the cache is the sudo rule.
    severity: 'low',
    attack: ['T1548.003'],
    match: (o) => sudoCacheProbe(o),
  }),
  rule({
    key: 'privilegeEscalation',
    id: 'privilegeEscalation.sudo-timestamp',
    title: "Touches sudo's timestamp files (reuses or forges cached credentials)",
    severity: 'high',
    attack: ['T1548.003'],
    // The timestamp files sudo keeps per user and terminal; sudo itself reads them, nothing else should.
    match: (o) =>
      o.type === 'file' &&
      /^\/(var\/)?(run|lib|db)\/sudo\/(ts|lectured)(\/|$)/.test(o.path) &&
      !actorIs(o, SWITCH_USER),
  }),
  rule({
    key: 'privilegeEscalation',
    id: 'privilegeEscalation.sudoers',
    title: 'Changes the sudo rules',
    severity: 'high',
    attack: ['T1548.003'],
    match: (o) => writes(o, /^\/etc\/sudoers(\.d\/.*)?$/) || execName(o) === 'visudo',
  }),
  rule({
    key: 'privilegeEscalation',
    id: 'privilegeEscalation.sudoers-read',
    title: 'Reads the sudo rules (or tries to) to learn what it may run as root',
    severity: 'medium',
    // The sudoers files are root's (0440): nothing an unprivileged program reads in passing, and a
    // refused open is the attempt. sudo itself reads them as root, not as the sample.
    attack: ['T1548.003'],
    match: (o) => reads(o, /^\/etc\/sudoers(\.d\/.*)?$/) && !actorIs(o, SUDO_PROGRAMS),
  }),
  rule({
    key: 'privilegeEscalation',
    id: 'privilegeEscalation.account-files',
    title: 'Writes the account files (passwd, shadow, group)',
    severity: 'high',
    // Writing /etc/passwd adds or changes a local account (a uid 0 entry is the classic use).
    attack: ['T1136.001'],
    // A mode or owner change is no new entry (the file-permissions rule judges it), and the account
    // tools' own writes are judged by what they were asked to do (create, lock, delete).
    match: (o) =>
      writes(o, /^\/etc\/(passwd|shadow|group|gshadow)$/) &&
      !(o.type === 'file' && (o.op === 'chmod' || o.op === 'chown')) &&
      !actorIs(o, ACCOUNT_TOOLS),
  }),
  rule({
    key: 'privilegeEscalation',
    id: 'privilegeEscalation.root-uid',
    title: 'Tries to switch to uid or gid 0',
    severity: 'medium',
    // A setuid(0) only succeeds in a program that already has the privilege (a setuid file, a
    // capability): it shows the attempt, not which mechanism, so the parent technique is all it proves.
    attack: ['T1548'],
    match: (o) => o.type === 'call' && SETUID_CALLS.has(o.name) && o.args.slice(0, 3).some((a) => a === '0'),
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
