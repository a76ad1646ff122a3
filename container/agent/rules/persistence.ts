import type { Observation } from '../observations';
import { argvHas, execName, rule, writes, writesInHome, type Rule, type RuleContext } from './rule';

/**
 * True for a crontab command line that installs a table: a file operand, `-` (stdin) or `-e`.
 * Listing (-l), removing (-r) and naming the user (-u <user>) install nothing.
 */
function crontabInstalls(argv: readonly string[]): boolean {
  for (let i = 1; i < argv.length; i++) {
    const arg = argv[i] ?? '';
    if (arg === '-u') i++;
    else if (arg === '-e' || arg === '-' || !arg.startsWith('-')) return true;
  }
  return false;
}

/** Shell start-up files in a home directory (bash, sh, zsh, ksh, csh, fish). */
const HOME_SHELL_INIT =
  /^(\.(bashrc|bash_profile|bash_login|bash_logout|bash_aliases|profile|shrc|zshrc|zshenv|zprofile|zlogin|zlogout|kshrc|mkshrc|cshrc|tcshrc|login)|\.config\/fish\/(config\.fish|conf\.d\/.*))$/;

/** The system-wide shell start-up files. */
const SYSTEM_SHELL_INIT =
  /^\/etc\/(profile$|profile\.d\/|bash\.bashrc$|bashrc$|zshrc$|zprofile$|zshenv$|zlogin$|zsh\/|csh\.(cshrc|login)$|environment$|fish\/)/;

/** Where systemd reads units: the system's and a user's. */
const SYSTEMD_SYSTEM_UNITS = /^\/(etc|lib|usr\/lib|usr\/local\/lib|run)\/systemd\/(system|user)\//;
const SYSTEMD_HOME_UNITS = /^\.(config|local\/share)\/systemd\/user\//;

const SYSTEM_TIMER = new RegExp(`${SYSTEMD_SYSTEM_UNITS.source}.*\\.timer$`);
const HOME_TIMER = new RegExp(`${SYSTEMD_HOME_UNITS.source}.*\\.timer$`);
const TIMER_UNIT = /\.timer$/;

/** True when the observation writes a systemd unit file, system-wide or a user's; `timer` picks timers or the rest. */
function writesUnit(o: Observation, c: RuleContext, timer: boolean): boolean {
  if (writes(o, SYSTEMD_SYSTEM_UNITS) || writesInHome(o, c, SYSTEMD_HOME_UNITS))
    return timer === (writes(o, SYSTEM_TIMER) || writesInHome(o, c, HOME_TIMER));
  return false;
}

/** systemctl verbs that make a unit start on its own later (at boot, login or on its trigger). */
const SYSTEMCTL_INSTALL = new Set(['enable', 'reenable', 'link', 'preset', 'add-wants', 'add-requires', 'edit']);

/** True for a systemctl run that installs a unit matching `unit` (or reloads units it wrote). */
function systemctlInstalls(o: Observation, unit: (arg: string) => boolean): boolean {
  if (o.type !== 'exec' || execName(o) !== 'systemctl') return false;
  const args = o.argv.slice(1).filter((a) => !a.startsWith('-'));
  const verb = args[0] ?? '';
  return SYSTEMCTL_INSTALL.has(verb) && args.slice(1).some(unit);
}

/** systemd-run options that make a transient timer (run later or on a schedule) rather than run now. */
const SYSTEMD_RUN_TIMER =
  /^--(on-(calendar|active|boot|startup|unit-active|unit-inactive|clock-change|timezone-change)|timer-property)(=|$)/;

/**
 * True for a command that adds an account to a group: `usermod -aG sudo eve`, `usermod -G wheel eve`,
 * `gpasswd -a eve docker`, `adduser eve sudo` (two operands: user and group).
 */
function addsToGroup(o: Observation): boolean {
  if (o.type !== 'exec') return false;
  const name = execName(o);
  const args = o.argv.slice(1);
  if (name === 'usermod') return args.some((a) => /^-[a-zA-Z]*G|^--(groups|append)\b/.test(a));
  if (name === 'gpasswd') return args.some((a) => /^-(a|M)$|^--(add|members)$/.test(a));
  if (name === 'adduser' || name === 'addgroup') return args.filter((a) => !a.startsWith('-')).length === 2;
  return false;
}

/** Persistence: the sample arranges to run again (cron, systemd, rc scripts, shell start-up, keys, preload, accounts). */
export const persistenceRules: Rule[] = [
  rule({
    key: 'persistence',
    id: 'persistence.cron',
    title: 'Installs a cron job',
    severity: 'high',
    attack: ['T1053.003'],
    match: (o) =>
      writes(
        o,
        /^\/(etc\/(cron(tab$|\.d\/|\.(hourly|daily|weekly|monthly)\/)|anacrontab$)|var\/spool\/cron\/(?!atjobs))/,
      ) ||
      (execName(o) === 'crontab' && o.type === 'exec' && crontabInstalls(o.argv)),
  }),
  rule({
    key: 'persistence',
    id: 'persistence.shell-init',
    title: 'Modifies a shell start-up file',
    severity: 'high',
    attack: ['T1546.004'],
    // Only the files a shell reads at start-up: a `.profile` inside a build tree is nobody's start-up file.
    match: (o, c) => writesInHome(o, c, HOME_SHELL_INIT) || writes(o, SYSTEM_SHELL_INIT),
  }),
  rule({
    key: 'persistence',
    id: 'persistence.systemd',
    title: 'Creates or enables a systemd service',
    severity: 'high',
    attack: ['T1543.002'],
    match: (o, c) =>
      writesUnit(o, c, false) ||
      systemctlInstalls(o, (unit) => !TIMER_UNIT.test(unit)) ||
      (execName(o) === 'systemctl' && o.type === 'exec' && o.argv.includes('daemon-reload')),
  }),
  rule({
    key: 'persistence',
    id: 'persistence.systemd-timer',
    title: 'Schedules a systemd timer',
    severity: 'high',
    attack: ['T1053.006'],
    match: (o, c) =>
      writesUnit(o, c, true) ||
      systemctlInstalls(o, (unit) => TIMER_UNIT.test(unit)) ||
      (execName(o) === 'systemd-run' && o.type === 'exec' && argvHas(o, SYSTEMD_RUN_TIMER)),
  }),
  rule({
    key: 'persistence',
    id: 'persistence.rc-scripts',
    title: 'Modifies boot or rc scripts',
    severity: 'high',
    attack: ['T1037.004'],
    match: (o) =>
      writes(o, /^\/etc\/(rc\.local$|rc\.common$|rc\.d\/|init\.d\/|rc[0-6S]\.d\/|inittab$|init\/[^/]+\.conf$)/) ||
      ['update-rc.d', 'chkconfig', 'rc-update'].includes(execName(o) ?? ''),
  }),
  rule({
    key: 'persistence',
    id: 'persistence.pam',
    title: 'Changes the PAM configuration or installs a PAM module',
    severity: 'high',
    // A PAM line or module sees every password typed at login and may let any password in.
    attack: ['T1556.003'],
    match: (o) =>
      writes(o, /^\/etc\/(pam\.d\/|pam\.conf$)|^\/(usr\/)?lib(64)?\/([^/]+\/)?security\/pam_[^/]+\.so$/) ||
      (o.type === 'exec' && execName(o) === 'pam-auth-update' && !o.argv.slice(1).some((a) => /^(-h|--help)$/.test(a))),
  }),
  rule({
    key: 'persistence',
    id: 'persistence.udev-rule',
    title: 'Installs a udev rule (runs a command on a device event)',
    severity: 'high',
    attack: ['T1546.017'],
    match: (o) => writes(o, /^\/(etc|lib|usr\/lib|run)\/udev\/rules\.d\//),
  }),
  rule({
    key: 'persistence',
    id: 'persistence.ssh-keys',
    title: 'Adds an SSH authorized key',
    severity: 'high',
    attack: ['T1098.004'],
    match: (o, c) => writesInHome(o, c, /^\.ssh\/authorized_keys2?$/) || writes(o, /^\/etc\/ssh\/sshd_config/),
  }),
  rule({
    key: 'persistence',
    id: 'persistence.preload',
    title: 'Registers a library for preloading into every process',
    severity: 'critical',
    attack: ['T1574.006'],
    match: (o) => writes(o, /^\/etc\/ld\.so\.(preload|conf(\.d\/.*)?)$/),
  }),
  rule({
    key: 'persistence',
    id: 'persistence.autostart',
    title: 'Adds a desktop autostart entry',
    severity: 'high',
    attack: ['T1547.013'],
    match: (o, c) => writesInHome(o, c, /^\.config\/autostart\//) || writes(o, /^\/etc\/xdg\/autostart\//),
  }),
  rule({
    key: 'persistence',
    id: 'persistence.at-job',
    title: 'Schedules an at job',
    severity: 'medium',
    attack: ['T1053.002'],
    match: (o) =>
      execName(o) === 'batch' ||
      // `at -l`/`-r`/`-d`/`-c` list, remove or print jobs: only a time spec schedules one.
      (execName(o) === 'at' && o.type === 'exec' && !argvHas(o, /^-[lrdc]$/) && o.argv.length > 1) ||
      writes(o, /^\/var\/spool\/(cron\/)?atjobs\//),
  }),
  rule({
    key: 'persistence',
    id: 'persistence.create-account',
    title: 'Creates a local account',
    severity: 'high',
    attack: ['T1136.001'],
    match: (o) => ['useradd', 'adduser', 'newusers'].includes(execName(o) ?? ''),
  }),
  rule({
    key: 'persistence',
    id: 'persistence.add-to-group',
    title: 'Adds an account to a group (sudo, wheel, docker...)',
    severity: 'medium',
    attack: ['T1098.007'],
    match: (o) => addsToGroup(o),
  }),
  rule({
    key: 'persistence',
    id: 'persistence.modify-account',
    title: "Changes an account's password or shell",
    // Admins reset passwords and shells; the account a sample creates or the group it joins is the
    // technique (T1136.001, T1098.007). No sub-technique of T1098 names a local password change.
    severity: 'low',
    attack: ['T1098'],
    match: (o) => ['usermod', 'chpasswd', 'chsh', 'passwd'].includes(execName(o) ?? '') && !addsToGroup(o),
  }),
  rule({
    key: 'persistence',
    id: 'persistence.kernel-module',
    title: 'Loads a kernel module',
    severity: 'critical',
    attack: ['T1547.006'],
    match: (o) =>
      (o.type === 'call' && (o.name === 'init_module' || o.name === 'finit_module')) ||
      // `modprobe -r` unloads; the rest load (or, with -n, pretend to).
      ['insmod'].includes(execName(o) ?? '') ||
      (execName(o) === 'modprobe' &&
        o.type === 'exec' &&
        !argvHas(o, /^(-r|--remove|-n|--dry-run|-c|--showconfig)$/)) ||
      writes(o, /^\/(etc\/modules(-load\.d\/.*)?|usr\/lib\/modules-load\.d\/.*)$/),
  }),
];
