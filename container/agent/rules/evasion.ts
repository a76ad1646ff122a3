import { posix } from 'node:path';
import type { ExecObservation, Observation } from '../observations';
import {
  actorIs,
  argvHas,
  execName,
  isDecoder,
  provenance,
  rule,
  reads,
  writes,
  writtenPaths,
  type Rule,
  type RuleContext,
} from './rule';

/**
 * Sandbox and VM artefacts a sample reads to decide whether it is being watched. A process's own
 * cgroup is not one: Node, Java and Go read /proc/self/cgroup at start-up to size themselves to
 * their container's limits. PID 1's cgroup and sched lines, and a process's own sched line (its
 * first line shows the pid the host sees), are what container checks read.
 */
const ARTEFACTS =
  /^\/(\.dockerenv|run\/\.containerenv|proc\/1\/(cgroup|sched|mountinfo)$|proc\/\d+\/sched$|sys\/class\/dmi\/id\/|sys\/devices\/virtual\/dmi\/|sys\/hypervisor|proc\/scsi\/scsi|proc\/vz|proc\/xen|proc\/sys\/kernel\/osrelease$)/;

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

/**
 * Programs that list processes: they read every process's /proc files (status, cgroup, environ),
 * their own included. That is discovery, not a debugger or sandbox check.
 */
const PROCESS_LISTERS: ReadonlySet<string> = new Set([
  'ps',
  'pgrep',
  'pkill',
  'pidof',
  'top',
  'htop',
  'atop',
  'btop',
  'w',
  'killall',
  'pstree',
  'fuser',
  'lsof',
  'procs',
  'glances',
  'free',
  'uptime',
  'vmstat',
  'systemd-cgls',
]);

/** The process whose /proc a path names, the `self` spellings resolved to the caller. */
function procOwner(path: string, caller: number | null): number | null {
  const match = /^\/proc\/(self|thread-self|\d+)\//.exec(path);
  if (!match) return null;
  return match[1] === 'self' || match[1] === 'thread-self' ? caller : Number(match[1]);
}

/** System logs: what syslog, journald, the login accounting, the package managers and the local mail spool write. */
const SYSTEM_LOG =
  /^\/(var\/log\/|var\/adm\/|run\/log\/journal\/|var\/run\/(utmp|wtmp|btmp)$|run\/utmp$|var\/spool\/mail\/|var\/mail\/)/;

/** Shell and REPL history files, by their name below a home. */
const HISTORY_FILE =
  /\/\.(bash_history|zsh_history|zhistory|sh_history|ash_history|history|histfile|python_history|node_repl_history|mysql_history|psql_history|sqlite_history|lesshst|local\/share\/fish\/fish_history)$/;

/**
 * True when the observation empties, deletes, or links to /dev/null a file matching `pattern` that
 * the sample did not create itself (rotating or truncating its own log is housekeeping).
 */
function clears(o: Observation, c: RuleContext, pattern: RegExp): boolean {
  if (o.type !== 'file' || !pattern.test(o.path) || c.written.has(o.path)) return false;
  switch (o.op) {
    case 'delete':
    case 'truncate':
    case 'symlink':
      return true;
    case 'write':
      return /O_TRUNC/.test(o.flags ?? '');
    default:
      // Rotation renames a log aside (x.log → x.log.1): the content survives.
      return false;
  }
}

/** True for an exec whose arguments name a path matching `pattern` with a tool that empties or removes it. */
function clearsByArgv(o: Observation, pattern: RegExp): boolean {
  if (o.type !== 'exec') return false;
  const name = execName(o) ?? '';
  // `dd if=/dev/zero of=<log>`: the log's content replaced by zeros.
  if (name === 'dd')
    return (
      o.argv.some((a) => a.startsWith('of=') && pattern.test(a.slice(3))) &&
      argvHas(o, /^if=\/dev\/(zero|null|u?random)$/)
    );
  const named = o.argv.slice(1).some((a) => pattern.test(a));
  if (!named) return false;
  if (name === 'rm' || name === 'truncate' || name === 'shred' || name === 'unlink') return true;
  // `cp /dev/null <log>`: the log's content replaced by nothing.
  if (name === 'cp') return o.argv.includes('/dev/null');
  // `ln -sf /dev/null <log>`: every later write to the log goes nowhere.
  return name === 'ln' && o.argv.includes('/dev/null');
}

/** Shell commands that erase the history kept so far (in a `-c` string or a script line seen as argv). */
const HISTORY_CLEAR = /\bhistory\s+-[a-z]*c|\bhistory\s+-d\b/;

/**
 * Shell commands that stop history from being kept: no file, no size, or commands filtered out
 * (a leading space with HISTCONTROL=ignorespace, any pattern with HISTIGNORE).
 */
const HISTORY_OFF =
  /\bunset\s+(HISTFILE|HISTSIZE)\b|\bHIST(FILE|SIZE|FILESIZE)=["']?(\/dev\/null|0)?["']?(\s|;|$)|\bset\s+\+o\s+history|\bHISTCONTROL=["']?(ignorespace|ignoreboth)|\bHISTIGNORE=|\bSAVEHIST=0/;

/**
 * Environment entries with which every shell started later keeps no history, or drops commands
 * from it. Shells do not export these on their own: a sample that passes them on set them.
 */
const HISTORY_ENV =
  /^(HISTFILE=(\/dev\/null)?|HISTSIZE=0|HISTFILESIZE=0|SAVEHIST=0|HISTCONTROL=.*\b(ignorespace|ignoreboth)\b.*|HISTIGNORE=.+)$/;

/** Services that keep logs, by unit or init-script name. */
const LOGGING_SERVICES =
  /^(rsyslog|syslog|syslog-ng|syslogd|rsyslogd|systemd-journald|journald|sysklogd|metalog)(\.service|\.socket)?$/;
const AUDIT_SERVICES = /^(auditd|audit|audispd|auditbeat)(\.service)?$/;
const FIREWALL_SERVICES =
  /^(firewalld|ufw|iptables|ip6tables|nftables|netfilter-persistent|shorewall|pf|pflog|ipfw)(\.service)?$/;
/** Security agents and controls, by unit, init-script or process name (EDR sensors, AV, integrity checkers). */
const SECURITY_SERVICES =
  /^(apparmor|selinux|setroubleshootd|falco|osqueryd|clamav-daemon|clamav-freshclam|clamd|falcon-sensor|falcond|wazuh-agent|wazuh-manager|ossec|ossec-hids|aide|fail2ban|sysmon|sysmonforlinux|mdatp|wdavdaemon|sentinelone|sentinelagent|s1-agent|crowdstrike|cbdaemon|cbagentd|cb-psc-sensor|carbonblack|cylancesvc|sophos-spl|savd|elastic-agent|elastic-endpoint|auditbeat|filebeat|qualys-cloud-agent|tanium(client)?|tripwire|rkhunter|chkrootkit|lynis)(\.service)?$/;

/** True for a service manager run that stops, disables or masks a service matching `services` (systemctl, service, kill by name). */
function stopsService(o: Observation, services: RegExp): boolean {
  if (o.type !== 'exec') return false;
  const name = execName(o) ?? '';
  const args = o.argv.slice(1).filter((a) => !a.startsWith('-'));
  if (name === 'systemctl')
    return /^(stop|disable|mask|kill)$/.test(args[0] ?? '') && args.slice(1).some((a) => services.test(a));
  // `service auditd stop`, `update-rc.d rsyslog disable`, `chkconfig auditd off`: the service, then the verb.
  if (name === 'service' || name === 'update-rc.d' || name === 'chkconfig' || name === 'rc-service')
    return (
      (services.test(args[0] ?? '') && /^(stop|disable|off|remove)$/.test(args[1] ?? '')) ||
      (/^(off|disable)$/.test(args[0] ?? '') && services.test(args[1] ?? ''))
    );
  // `rc-update del auditd`: the verb, then the service.
  if (name === 'rc-update') return /^(del|delete)$/.test(args[0] ?? '') && services.test(args[1] ?? '');
  // `/etc/init.d/rsyslog stop`
  if (/^\/etc\/(rc\.d\/)?init\.d\//.test(o.path)) return services.test(name) && args[0] === 'stop';
  // pkill takes a pattern: `^cron$` names cron.
  if (name === 'pkill' || name === 'killall') return args.some((a) => services.test(a.replace(/^\^|\$$/g, '')));
  return false;
}

/** Options of shred and its kin that take a value (`-n 3`): the value is not a file. */
const SHRED_VALUED = new Set(['-n', '-s', '--iterations', '--size', '--random-source']);

/** A command's file operand as an absolute path (relative ones against the exec's directory). */
function operandPath(o: ExecObservation, operand: string): string {
  return posix.isAbsolute(operand) || o.cwd === null ? posix.normalize(operand) : posix.resolve(o.cwd, operand);
}

/**
 * True when every file operand of the exec is something the sample made or was given, or lies in
 * a shared temporary place where tools are dropped: shredding those is covering tracks.
 */
function onlyOwnFiles(o: ExecObservation, c: RuleContext, valued: ReadonlySet<string>): boolean {
  const files = fileOperands(o.argv, valued);
  return (
    files.length > 0 &&
    files.every((f) => {
      const path = operandPath(o, f);
      return provenance(c).createdBySample(path) || c.placed.has(path) || OWN_PLACES.test(path);
    })
  );
}

/** The file operands of a command line: what is neither an option nor an option's value. */
function fileOperands(argv: readonly string[], valued: ReadonlySet<string>): string[] {
  const operands: string[] = [];
  for (let i = 1; i < argv.length; i++) {
    const arg = argv[i] ?? '';
    if (valued.has(arg)) i++;
    else if (!arg.startsWith('-')) operands.push(arg);
  }
  return operands;
}

/** Names of kernel threads and system daemons: a process or program named so hides among them. */
const SYSTEM_NAMES =
  /^(\[.*\]|kworker(\/.*)?|kthreadd|ksoftirqd\/.*|kswapd\d*|migration\/.*|rcu_(sched|bh|preempt)|watchdog\/.*|jbd2\/.*|kdevtmpfs|khugepaged|sshd|systemd(-[a-z]+)?|crond?|atd|dbus-daemon|rsyslogd|syslogd|udevd|agetty|NetworkManager|polkitd|containerd|dockerd|kubelet|snapd|irqbalance|accounts-daemon)$/;

/** The firewalls' rule and configuration files (ufw, iptables-persistent, nftables, firewalld, pf). */
const FIREWALL_CONFIG =
  /^\/(etc\/ufw\/|etc\/default\/ufw$|lib\/ufw\/|usr\/lib\/ufw\/|etc\/iptables\/|etc\/sysconfig\/(ip6?tables|nftables)(-config)?$|etc\/nftables\.conf$|etc\/firewalld\/|etc\/pf\.conf$)/;

/** What a firewall command does to the firewall: turns it (or its logging) off, changes its rules, or neither. */
function firewallChange(o: Observation): 'disable' | 'modify' | null {
  if (o.type !== 'exec') return null;
  const name = execName(o) ?? '';
  const args = o.argv.slice(1);
  const verb = args.find((a) => !a.startsWith('-')) ?? '';
  if (name === 'ufw') {
    if (/^(disable|reset)$/.test(verb) || (verb === 'logging' && args.includes('off'))) return 'disable';
    if (verb === 'default' && args.includes('allow')) return 'disable';
    return /^(allow|deny|reject|limit|delete|insert|prepend|route)$/.test(verb) ? 'modify' : null;
  }
  if (/^(ip6?tables|ip6?tables-legacy|ip6?tables-nft)$/.test(name)) {
    if (args.some((a) => /^(-F|--flush|-X|--delete-chain)$/.test(a))) return 'disable';
    if (args.some((a) => a === '-P' || a === '--policy') && args.includes('ACCEPT')) return 'disable';
    return args.some((a) => /^(-D|--delete|-A|--append|-I|--insert|-R|--replace)$/.test(a)) ? 'modify' : null;
  }
  if (name === 'nft') {
    if (verb === 'flush' || (verb === 'delete' && args.includes('table'))) return 'disable';
    return /^(delete|add|insert|replace)$/.test(verb) ? 'modify' : null;
  }
  if (name === 'firewall-cmd') {
    if (args.some((a) => /^--(panic-off|set-default-zone=trusted)/.test(a))) return 'disable';
    return args.some((a) =>
      /^--(add-port|remove-service|add-service|remove-port|add-rich-rule|remove-rich-rule)/.test(a),
    )
      ? 'modify'
      : null;
  }
  // BSD pf: -d disables it, -F flushes rules, -f loads another rule set.
  if (name === 'pfctl') {
    if (args.some((a) => /^-(d|F)/.test(a))) return 'disable';
    return args.some((a) => /^-f/.test(a)) ? 'modify' : null;
  }
  return null;
}

/** Where an unprivileged process can put a program of its own. */
const OWN_PLACES = /^\/(tmp|var\/tmp|dev\/shm|run\/user|run\/lock)\//;

/**
 * Hidden entries in shared temporary directories that ordinary software makes: the X, ICE and
 * font server socket directories, Chromium's profile directories (headless browser tests), and
 * the Rust tempfile crate's `.tmpXXXXXX` names (cargo builds and tests).
 */
const ORDINARY_HIDDEN =
  /^\.(X11-unix|ICE-unix|font-unix|XIM-unix|Test-unix|X\d+-lock|org\.chromium\.Chromium\..*|com\.google\.Chrome\..*|tmp[A-Za-z0-9]{6})$/;

/** A dot-named file or directory in a shared temporary directory (where nobody looks in a listing). */
function hiddenName(path: string): boolean {
  const slash = path.lastIndexOf('/');
  const name = path.slice(slash + 1);
  if (dotsName(name)) return false;
  const parent = path.slice(0, slash);
  return name.startsWith('.') && /^\/(tmp|var\/tmp|dev\/shm)$/.test(parent) && !ORDINARY_HIDDEN.test(name);
}

/** A name made to pass for `.` or `..` in a listing: `...`, `. `, `.. `. */
function dotsName(name: string): boolean {
  return /^[. ]+$/.test(name) && name !== '.' && name !== '..';
}

/** Shells that read a script from their standard input when given no script operand. */
const SHELLS = new Set(['sh', 'bash', 'dash', 'zsh', 'ksh', 'mksh', 'ash']);
const PYTHONS = /^python(\d(\.\d+)?)?$/;

/** True for an interpreter exec with no script and no `-c` string: it runs whatever its stdin brings. */
function readsProgramFromStdin(o: Observation, names: (name: string) => boolean): boolean {
  if (o.type !== 'exec' || !o.ok || !names(execName(o) ?? '')) return false;
  const operands = o.argv.slice(1);
  if (operands.some((a) => a === '-c' || /^-[a-z]*c$/.test(a))) return false;
  return operands.every((a) => a.startsWith('-')) || operands.includes('-s') || operands.includes('-');
}

/** A decoder piped into an interpreter, written out in one command string (`sh -c "... | base64 -d | sh"`). */
const DECODE_PIPE_SHELL =
  /(base64|base32|basenc)\s+(-\w+\s+)*(-d|--decode|-D)\b.*\|\s*(sudo\s+)?(\/\S*\/)?(ba|da|z|k|mk)?sh\b|xxd\s+-r.*\|\s*(\/\S*\/)?(ba|da|z|k)?sh\b/;
const DECODE_PIPE_PYTHON =
  /(base64|base32)\s+(-\w+\s+)*(-d|--decode)\b.*\|\s*(\/\S*\/)?python\d?|exec\s*\(.*(b64decode|b32decode|a85decode|unhexlify|decompress|fromhex)|eval\s*\(\s*compile\s*\(.*(b64decode|unhexlify)/;

/** How close (seconds) a decoder and a stdin-fed interpreter must start to be one pipeline. */
const PIPELINE_WINDOW = 2;

/** Per run: when the last decoder and stdin-fed interpreters started (a pipeline's members start in any order). */
interface PipelineTimes {
  decoder: number | null;
  shell: number | null;
  python: number | null;
}
const pipelines = new WeakMap<RuleContext, PipelineTimes>();

/**
 * True when a decoder and an interpreter reading its program from stdin start together: the
 * decoded bytes are the program (`echo ... | base64 -d | sh`). The observation that completes the
 * pair matches, whichever of the two comes second.
 */
function decodedInto(o: Observation, c: RuleContext, interpreter: 'shell' | 'python'): boolean {
  if (o.type !== 'exec') return false;
  let times = pipelines.get(c);
  if (!times) {
    times = { decoder: null, shell: null, python: null };
    pipelines.set(c, times);
  }
  const near = (t: number | null) => t !== null && Math.abs(o.time - t) <= PIPELINE_WINDOW;
  const fed =
    interpreter === 'shell'
      ? readsProgramFromStdin(o, (n) => SHELLS.has(n))
      : readsProgramFromStdin(o, (n) => PYTHONS.test(n));
  if (isDecoder(o)) {
    // Each of the two rules records its own half; the decoder time is shared.
    times.decoder = o.time;
    return near(times[interpreter]);
  }
  if (fed) {
    times[interpreter] = o.time;
    return near(times.decoder);
  }
  return false;
}

/** Defence evasion: hiding traces, impairing defences, masquerading, checks for being watched, fileless and decoded code. */
export const evasionRules: Rule[] = [
  rule({
    key: 'evasion',
    id: 'evasion.root-certificate',
    title: 'Installs a root certificate into the system trust store',
    severity: 'medium',
    // A trusted root of its own lets it intercept TLS and sign what the host then trusts.
    attack: ['T1553.004'],
    match: (o) =>
      writes(
        o,
        /^\/(etc\/pki\/ca-trust\/source\/anchors\/|usr\/local\/share\/ca-certificates\/|usr\/share\/ca-certificates\/|etc\/ssl\/certs\/[^/]+\.(pem|crt)$|etc\/ca-certificates\.conf$)/,
      ) ||
      (o.type === 'exec' &&
        /^(update-ca-trust|update-ca-certificates|trust)$/.test(execName(o) ?? '') &&
        (execName(o) !== 'trust' || o.argv[1] === 'anchor')),
  }),
  rule({
    key: 'evasion',
    id: 'evasion.debugger-check',
    title: 'Checks for a debugger (ptrace TRACEME or its own TracerPid)',
    severity: 'medium',
    attack: ['T1622'],
    match: (o, c) =>
      (o.type === 'call' && o.name === 'ptrace' && o.args[0] === 'PTRACE_TRACEME') ||
      // Its own status or another of its processes' (TracerPid); ps and top read everyone's, their own included.
      (reads(o, /^\/proc\/(self|thread-self|\d+)\/(task\/\d+\/)?status$/) &&
        c.samplePids.has(procOwner(o.path, o.pid) ?? -1) &&
        !actorIs(o, PROCESS_LISTERS)),
  }),
  rule({
    key: 'evasion',
    id: 'evasion.sandbox-check',
    title: 'Looks for container, VM or sandbox artefacts',
    severity: 'medium',
    attack: ['T1497.001'],
    // A walk (`find /`, `grep -r`) passing /proc/1/cgroup did not go looking for it.
    match: (o, c) => reads(o, ARTEFACTS) && !actorIs(o, PROCESS_LISTERS) && !provenance(c).walking(o.pid),
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
    id: 'evasion.clear-system-logs',
    title: 'Clears system logs (empties, deletes or links them to /dev/null)',
    severity: 'high',
    attack: ['T1070.002'],
    match: (o, c) =>
      clears(o, c, SYSTEM_LOG) ||
      clearsByArgv(o, SYSTEM_LOG) ||
      (execName(o) === 'journalctl' && argvHas(o, /^--(vacuum-(size|time|files)|rotate)\b/)),
  }),
  rule({
    key: 'evasion',
    id: 'evasion.clear-history',
    title: 'Clears or turns off shell history',
    severity: 'high',
    attack: ['T1070.003'],
    match: (o, c) =>
      clears(o, c, HISTORY_FILE) || clearsByArgv(o, HISTORY_FILE) || (o.type === 'exec' && argvHas(o, HISTORY_CLEAR)),
  }),
  rule({
    key: 'evasion',
    id: 'evasion.impair-history',
    title: 'Stops shell history from being kept (HISTFILE, HISTSIZE, HISTCONTROL, set +o history)',
    severity: 'medium',
    // Clearing what was kept is T1070.003; keeping nothing from now on is T1562.003.
    attack: ['T1562.003'],
    match: (o) => o.type === 'exec' && (argvHas(o, HISTORY_OFF) || o.env.some((e) => HISTORY_ENV.test(e))),
  }),
  rule({
    key: 'evasion',
    id: 'evasion.secure-delete',
    title: 'Securely deletes files (shred, srm, wipe)',
    severity: 'medium',
    // Covering tracks: overwriting its own tools so they cannot be recovered. A disk (/dev/...) is
    // wiping and the victim's documents are destruction (T1485): other behaviours.
    attack: ['T1070.004'],
    match: (o, c) =>
      o.type === 'exec' &&
      /^(shred|srm|wipe|sfill|sdelete)$/.test(execName(o) ?? '') &&
      fileOperands(o.argv, SHRED_VALUED).some((a) => !a.startsWith('/dev/')) &&
      onlyOwnFiles(o, c, SHRED_VALUED),
  }),
  rule({
    key: 'evasion',
    id: 'evasion.set-clock',
    title: 'Sets the system clock (files made meanwhile carry the false time)',
    severity: 'medium',
    attack: ['T1070.006'],
    match: (o) =>
      o.type === 'exec' &&
      ((execName(o) === 'date' &&
        o.argv
          .slice(1)
          .some(
            (a, i, rest) =>
              /^(-s|--set)(=.*)?$/.test(a) ||
              (/^\d{8}(\d{2}|\d{4})?(\.\d{2})?$/.test(a) && !rest[i - 1]?.startsWith('-')),
          )) ||
        (execName(o) === 'timedatectl' && o.argv[1] === 'set-time') ||
        (execName(o) === 'hwclock' && o.argv.some((a) => /^(--set|--systohc|-w)$/.test(a)))),
  }),
  rule({
    key: 'evasion',
    id: 'evasion.timestomp',
    title: "Sets a file's times to another file's or a chosen date (timestomping)",
    severity: 'medium',
    attack: ['T1070.006'],
    // utimensat is not traced: touch's own arguments say which times it sets. Timestomping is done
    // to the attacker's own files (a dropped tool made to look as old as /bin), so files the sample
    // made count too; a script backdating its own test fixtures is flagged with them.
    match: (o) => execName(o) === 'touch' && argvHas(o, /^(-[acmh]*[rdt].*|--(reference|date)(=.*)?)$/),
  }),
  rule({
    key: 'evasion',
    id: 'evasion.disable-logging',
    title: 'Stops or reconfigures the system logger',
    severity: 'high',
    // Blocking the logs' indicators (T1562.006) by disabling a tool that records them (T1562.001):
    // ATT&CK's own examples put syslog under both.
    attack: ['T1562.006', 'T1562.001'],
    match: (o) =>
      stopsService(o, LOGGING_SERVICES) ||
      writes(o, /^\/etc\/(rsyslog\.conf$|rsyslog\.d\/|syslog\.conf$|syslog-ng\/|systemd\/journald\.conf(\.d\/.*)?$)/),
  }),
  rule({
    key: 'evasion',
    id: 'evasion.disable-audit',
    title: 'Disables or changes the Linux audit system',
    severity: 'high',
    attack: ['T1562.012'],
    match: (o) =>
      stopsService(o, AUDIT_SERVICES) ||
      // auditctl -e 0 turns auditing off, -D deletes every rule; -l and -s only list.
      (execName(o) === 'auditctl' && argvHas(o, /^(-e|-D|-d|-a|-A|-W|--backlog_wait_time)$/)) ||
      writes(o, /^\/etc\/(audit\/|audisp\/)/),
  }),
  rule({
    key: 'evasion',
    id: 'evasion.disable-security-tools',
    title: 'Disables SELinux, AppArmor or a security agent',
    severity: 'high',
    attack: ['T1562.001'],
    match: (o) =>
      stopsService(o, SECURITY_SERVICES) ||
      (execName(o) === 'setenforce' && argvHas(o, /^(0|permissive)$/i)) ||
      ['aa-teardown', 'aa-disable', 'aa-complain'].includes(execName(o) ?? '') ||
      // Defender for Endpoint's own switches: `mdatp config real-time-protection --value disabled`.
      (execName(o) === 'mdatp' && argvHas(o, /^(disabled|passive|off)$/)) ||
      // Address-space randomisation off: exploits land at known addresses.
      (execName(o) === 'sysctl' && argvHas(o, /^kernel\.randomize_va_space=0$/)) ||
      writes(
        o,
        /^\/(etc\/selinux\/config$|sys\/fs\/selinux\/(enforce|disable)$|etc\/apparmor\.d\/disable\/|proc\/sys\/kernel\/randomize_va_space$|etc\/opt\/microsoft\/mdatp\/)/,
      ),
  }),
  rule({
    key: 'evasion',
    id: 'evasion.impair-forensics',
    title: 'Drops the page cache or turns swap off (destroys memory evidence)',
    severity: 'medium',
    // What a responder would find in swap and the page cache (decrypted payloads, deleted files'
    // content) is gone: a tool of forensics impaired.
    attack: ['T1562.001'],
    match: (o) =>
      writes(o, /^\/proc\/sys\/vm\/drop_caches$/) ||
      (execName(o) === 'sysctl' && argvHas(o, /^vm\.drop_caches=/)) ||
      (execName(o) === 'swapoff' && argvHas(o, /^(-a|--all|\/.*)$/)),
  }),
  rule({
    key: 'evasion',
    id: 'evasion.disable-firewall',
    title: 'Disables or flushes the firewall, or turns its logging off',
    severity: 'high',
    attack: ['T1562.004'],
    match: (o) => stopsService(o, FIREWALL_SERVICES) || firewallChange(o) === 'disable',
  }),
  rule({
    key: 'evasion',
    id: 'evasion.modify-firewall',
    title: 'Changes firewall rules or configuration',
    severity: 'medium',
    // A rule added, deleted or replaced (a port opened for C2, a block lifted); setup scripts that
    // open a service's port do this too, so alone it is suspicious, not malicious. Listing is neither.
    attack: ['T1562.004'],
    match: (o) => writes(o, FIREWALL_CONFIG) || firewallChange(o) === 'modify',
  }),
  rule({
    key: 'evasion',
    id: 'evasion.masquerading',
    title: 'Renames its process to a kernel thread or system daemon name',
    severity: 'medium',
    attack: ['T1036.004'],
    match: (o) => {
      if (o.type === 'call')
        return (
          o.name === 'prctl' &&
          o.args[0] === 'PR_SET_NAME' &&
          SYSTEM_NAMES.test(o.args[1]?.replace(/^"|"\.*$|"$/g, '') ?? '')
        );
      if (o.type !== 'exec') return false;
      // argv[0] is the name ps shows: `exec -a '[kworker/0:1]' ./x` or `exec -a sshd ./x`.
      const shown = o.argv[0] ?? '';
      return /^\[.*\]$/.test(shown) || (SYSTEM_NAMES.test(shown) && shown !== execName(o));
    },
  }),
  rule({
    key: 'evasion',
    id: 'evasion.system-name',
    title: 'Runs a program it made under a system name (a binary posing as a daemon)',
    severity: 'medium',
    attack: ['T1036.005'],
    match: (o, c) =>
      o.type === 'exec' &&
      SYSTEM_NAMES.test(execName(o) ?? '') &&
      (OWN_PLACES.test(o.path) || o.path.startsWith(`${c.home}/`) || c.written.has(o.path)),
  }),
  rule({
    key: 'evasion',
    id: 'evasion.dot-directory',
    title: 'Makes or runs from a directory named to pass for . or .. (`...`, `.. `)',
    severity: 'medium',
    // The name matches the most legitimate entries of any listing: masquerading (T1036.005).
    attack: ['T1036.005'],
    match: (o) => {
      if (o.type === 'exec') return o.path.split('/').slice(0, -1).some(dotsName);
      return (
        o.type === 'file' &&
        (o.op === 'mkdir' || (o.op === 'write' && /O_CREAT/.test(o.flags ?? '')) || o.op === 'rename-from') &&
        writtenPaths(o).some((p) => dotsName(posix.basename(p)))
      );
    },
  }),
  rule({
    key: 'evasion',
    id: 'evasion.hidden-path',
    title: 'Creates a hidden file or directory in a shared temporary place',
    severity: 'medium',
    attack: ['T1564.001'],
    match: (o) =>
      o.type === 'file' &&
      (o.op === 'mkdir' || (o.op === 'write' && /O_CREAT/.test(o.flags ?? '')) || o.op === 'rename-from') &&
      writtenPaths(o).some(hiddenName),
  }),
  rule({
    key: 'evasion',
    id: 'evasion.decode-to-shell',
    title: 'Decodes a payload and runs it with a shell',
    severity: 'high',
    // The decoding is the evasion (T1140); the shell running it is execution's (T1059.004).
    attack: ['T1140'],
    match: (o, c) => (o.type === 'exec' && o.argv.some((a) => DECODE_PIPE_SHELL.test(a))) || decodedInto(o, c, 'shell'),
  }),
  rule({
    key: 'evasion',
    id: 'evasion.decode-to-python',
    title: 'Decodes a payload and runs it with Python',
    severity: 'high',
    attack: ['T1140'],
    match: (o, c) =>
      (o.type === 'exec' && o.argv.some((a) => DECODE_PIPE_PYTHON.test(a))) || decodedInto(o, c, 'python'),
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
    // A walk (`find /opt -name credentials`) that passes the agent's directory was not looking for it.
    match: (o, c) =>
      o.type === 'file' &&
      c.hidden.some((dir) => o.path === dir || o.path.startsWith(`${dir}/`)) &&
      !provenance(c).walking(o.pid),
  }),
];
