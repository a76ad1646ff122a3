import { posix } from 'node:path';
import type { ExecObservation, Observation } from '../observations';
import { argumentPath } from './command-targets';
import { encrypts } from './provenance';
import { commandLine, execName, provenance, type RuleContext, rule, writes, type Rule } from './rule';

/** Suffixes that rotation, compression and backups append: renaming to them is housekeeping. */
const ROTATION_SUFFIX = /^(\d+(\.(gz|bz2|xz|zst))?|gz|bz2|xz|zst|old|bak|orig|prev|save|tmp|swp)$/i;

const RANSOM_NOTE = /(readme|read_me|how.?to|decrypt|restore|recover|ransom|instructions).*\.(txt|html?|hta)$/i;

/** Block devices and the memory devices: writing them destroys what is on the disk or in memory. */
const RAW_DEVICE =
  /^\/dev\/(sd[a-z]|nvme\d|vd[a-z]|xvd[a-z]|hd[a-z]|mmcblk\d|dm-\d|md\d|loop\d|mapper\/|disk\/|mem$|kmem$|port$)/;
/** Logs and shell history: clearing them hides tracks (defence evasion), it does not destroy data. */
const LOGS = /^\/var\/log\/|\/\.(bash|zsh|sh|python|mysql)_?history$/;
/** Files made to be filled from /dev/zero: disk images, swap files. */
const IMAGE_FILE = /\.(img|iso|raw|qcow2|vhdx?|bin)$|(^|\/)swap/i;

/** Services whose stop is defence evasion (logging, auditing, firewalls, MAC), not service stop. */
const SECURITY_SERVICES =
  /^(r?syslog|rsyslogd?|syslog-ng|systemd-journald|journald|auditd?|firewalld|ufw|iptables|ip6tables|nftables|apparmor|selinux|falco|osquery|clamav|wazuh|ossec)/i;
/** Daemons whose stopping denies a service (databases, web servers, containers, mail, file sharing, backups). */
const SERVICE_PROCESSES =
  /^(mysqld?|mariadb|postgres(ql)?|mongod|redis(-server)?|memcached|elasticsearch|nginx|apache2?|httpd|lighttpd|tomcat|java|php-fpm|dockerd?|containerd|kubelet|sshd?|cron|crond|postfix|exim4?|dovecot|smbd|nmbd|nfsd|vsftpd|named|bind9|squid|haproxy|rabbitmq(-server)?|zookeeper|kafka|veeam|bacula)/i;

/**
 * Scratch space and caches: what is deleted there is rebuilt or was never anyone's data (a
 * cleanup of ~/.cache or of a build's node_modules is housekeeping).
 */
const DISPOSABLE =
  /^\/(tmp|var\/tmp|dev\/shm|run\/lock)\/|\/\.cache\/|\/(__pycache__|node_modules|\.pytest_cache|\.mypy_cache)\//;

/** The value of a `dd` operand (`of=/x` → `/x`). */
function ddOperand(o: ExecObservation, name: string): string | null {
  const arg = o.argv.find((a) => a.startsWith(`${name}=`));
  return arg === undefined ? null : arg.slice(name.length + 1);
}

/** Shared temporary places. */
const TEMPORARY = /^\/(tmp|var\/tmp|dev\/shm)\//;

/** The file operands of a `shred` exec. */
function shredTargets(o: Observation): string[] {
  if (o.type !== 'exec' || execName(o) !== 'shred') return [];
  return o.argv.slice(1).filter((a) => !a.startsWith('-') && !/^\d+$/.test(a));
}

/** True when a `dd` fills a data file (not a device, not a fresh image) from /dev/zero or random bytes. */
function ddOverwritesFile(o: Observation, c: RuleContext): boolean {
  if (o.type !== 'exec' || execName(o) !== 'dd') return false;
  const from = ddOperand(o, 'if');
  const to = ddOperand(o, 'of');
  if (to === null || from === null || !/^\/dev\/(zero|u?random)$/.test(from)) return false;
  const target = argumentPath(o, to);
  if (target.startsWith('/dev/') || LOGS.test(target)) return false;
  // Known to exist (the sample wrote or read it, the agent placed it), or not a name an image would have.
  return c.written.has(target) || c.read.has(target) || c.placed.has(target) || !IMAGE_FILE.test(target);
}

/** True when a command stops, kills or disables a service (systemctl stop, service x stop, pkill mysqld). */
function stopsService(o: Observation): boolean {
  if (o.type !== 'exec') return false;
  const name = execName(o) ?? '';
  const args = o.argv.slice(1).filter((a) => !a.startsWith('-'));
  let services: string[] = [];
  if (name === 'systemctl' && /^(stop|kill|disable|mask)$/.test(args[0] ?? '')) services = args.slice(1);
  else if (name === 'service' && /^(stop|force-stop)$/.test(args[1] ?? '')) services = [args[0] ?? ''];
  else if (/^\/etc\/(init\.d|rc\.d)\//.test(o.path) && args[0] === 'stop') services = [posix.basename(o.path)];
  else if (/^(pkill|killall)$/.test(name)) services = args.filter((a) => SERVICE_PROCESSES.test(a));
  else if (name === 'docker' && /^(stop|kill)$/.test(args[0] ?? '')) services = args.slice(1);
  services = services.map((s) => s.replace(/\.service$/, '')).filter((s) => s !== '');
  return services.length > 0 && services.some((s) => !SECURITY_SERVICES.test(s));
}

/** True for a command that halts, powers off or reboots the host (shutdown, reboot, systemctl poweroff, init 0). */
function stopsSystem(o: Observation): boolean {
  if (o.type !== 'exec') return false;
  const name = execName(o) ?? '';
  const args = o.argv.slice(1);
  if (/^(reboot|poweroff|halt)$/.test(name)) return !args.some((a) => a === '--help' || a === '--version');
  // `shutdown -c` cancels a pending shutdown, `-k` only warns the users.
  if (name === 'shutdown') return !args.some((a) => /^(-c|-k|--help|--version)$/.test(a));
  if (name === 'systemctl')
    return /^(reboot|poweroff|halt|kexec|soft-reboot)$/.test(args.find((a) => !a.startsWith('-')) ?? '');
  if (name === 'init' || name === 'telinit') return /^[06]$/.test(args[0] ?? '');
  return false;
}

/** Options of passwd, usermod and chage that lock, expire or empty an account. */
const LOCKS_ACCOUNT: Record<string, RegExp> = {
  passwd: /^(-l|--lock|-d|--delete|-e|--expire|-[a-zA-Z]*[lde][a-zA-Z]*)$/,
  usermod: /^(-L|--lock|-e|--expiredate|--expiredate=.*)$/,
  chage: /^(-E|--expiredate|--expiredate=.*)$/,
};

/** True for a command that locks, expires or deletes an account, or sets another account's password. */
function removesAccountAccess(o: Observation): boolean {
  if (o.type !== 'exec') return false;
  const name = execName(o) ?? '';
  const args = o.argv.slice(1);
  if (/^(userdel|deluser|luserdel)$/.test(name)) return args.some((a) => !a.startsWith('-'));
  const locks = LOCKS_ACCOUNT[name];
  if (locks !== undefined && args.some((a) => locks.test(a))) return true;
  // `passwd bob` sets a password the owner does not know. chpasswd reads its accounts from stdin:
  // setting the password of an account just created (persistence) looks the same, so it is left out.
  return name === 'passwd' && args.some((a) => !a.startsWith('-')) && !args.some((a) => /^(-S|--status)$/.test(a));
}

/** Destruction: deletion and overwriting of data, encryption, service stops, disk wipes, resource exhaustion. */
export const destructiveRules: Rule[] = [
  rule({
    key: 'destructive',
    id: 'destructive.mass-delete',
    title: 'Deletes many files it did not create',
    severity: 'high',
    attack: ['T1485'],
    // A build or data job that tidies its own scratch files deletes what it made: not the victim's data.
    match: (o, c) =>
      o.type === 'file' &&
      (o.op === 'delete' || o.op === 'rmdir') &&
      o.ok &&
      !DISPOSABLE.test(o.path) &&
      !provenance(c).createdBySample(o.path),
    minimum: 20,
    distinct: (o) => (o.type === 'file' ? o.path : ''),
  }),
  rule({
    key: 'destructive',
    id: 'destructive.overwrite',
    title: 'Overwrites file contents with zeros or random bytes (dd, shred)',
    severity: 'medium',
    attack: ['T1485'],
    match: (o, c) =>
      ddOverwritesFile(o, c) ||
      shredTargets(o).some((t) => {
        const path = argumentPath(o as ExecObservation, t);
        if (path.startsWith('/dev/') || LOGS.test(path)) return false;
        // shred -u of its own files, or of what lies in a shared temporary place (where tools are
        // dropped), is covering tracks (file deletion), not destroying the victim's data.
        const removes = o.type === 'exec' && o.argv.some((a) => /^-[a-zA-Z]*u[a-zA-Z]*$|^--remove(=.*)?$/.test(a));
        return !(removes && (provenance(c).createdBySample(path) || TEMPORARY.test(path)));
      }),
  }),
  rule({
    key: 'destructive',
    id: 'destructive.encrypt-rename',
    title: 'Renames many files it read or rewrote to a new extension (encryption pattern)',
    severity: 'critical',
    attack: ['T1486'],
    // Ransomware reads each original (or rewrites it in place) and then gives it its mark. Log
    // rotation (`app.log.1`, `.gz`) and backups (`.bak`, `.old`) rename too, never to a new mark.
    match: (o, c) =>
      o.type === 'file' &&
      o.op === 'rename-from' &&
      o.ok &&
      o.target?.startsWith(`${o.path}.`) === true &&
      !ROTATION_SUFFIX.test(o.target.slice(o.path.length + 1)) &&
      (c.read.has(o.path) || c.written.has(o.path)),
    minimum: 5,
    distinct: (o) => (o.type === 'file' ? o.path : ''),
  }),
  rule({
    key: 'destructive',
    id: 'destructive.encrypt-tool',
    title: 'Encrypts files with a general tool (gpg, openssl enc)',
    // Encrypted backups are made the same way: context until the originals go.
    severity: 'low',
    attack: ['T1486'],
    match: encrypts,
  }),
  rule({
    key: 'destructive',
    id: 'destructive.encrypt-and-remove',
    title: 'Removes originals after encrypting them',
    severity: 'high',
    attack: ['T1486'],
    // An archive the sample itself packed (tar, gzip) and removes once encrypted is a backup.
    match: (o, c) =>
      o.type === 'file' &&
      o.op === 'delete' &&
      o.ok &&
      provenance(c).wasEncrypted(o.path) &&
      provenance(c).originOf(o.path) !== 'copied' &&
      !/\.(tar|tgz|gz|bz2|xz|zst|zip|7z)$/.test(o.path),
  }),
  rule({
    key: 'destructive',
    id: 'destructive.ransom-note',
    title: 'Drops a ransom-note-like file',
    severity: 'high',
    attack: ['T1486'],
    match: (o) =>
      o.type === 'file' &&
      o.op === 'write' &&
      /O_CREAT/.test(o.flags ?? '') &&
      RANSOM_NOTE.test(posix.basename(o.path)),
  }),
  rule({
    key: 'destructive',
    id: 'destructive.disk-wipe',
    title: 'Overwrites raw disks or devices',
    severity: 'critical',
    attack: ['T1561.001'],
    match: (o) =>
      writes(o, RAW_DEVICE) ||
      execName(o) === 'blkdiscard' ||
      shredTargets(o).some((t) => RAW_DEVICE.test(t)) ||
      (o.type === 'exec' && execName(o) === 'dd' && RAW_DEVICE.test(ddOperand(o, 'of') ?? '')),
  }),
  rule({
    key: 'destructive',
    id: 'destructive.disk-structure-wipe',
    title: 'Wipes partition tables or file-system signatures',
    severity: 'critical',
    attack: ['T1561.002'],
    match: (o) =>
      o.type === 'exec' &&
      (/^(wipefs|mkfs(\..*)?|mke2fs|mkswap)$/.test(execName(o) ?? '') ||
        (/^(sgdisk|sfdisk)$/.test(execName(o) ?? '') && o.argv.some((a) => /^(-Z|--zap-all|--delete)$/.test(a))) ||
        (execName(o) === 'parted' && o.argv.includes('mklabel')) ||
        (execName(o) === 'dd' &&
          RAW_DEVICE.test(ddOperand(o, 'of') ?? '') &&
          /^(1|2)$/.test(ddOperand(o, 'count') ?? '') &&
          /^(446|512|1024|4096)$/.test(ddOperand(o, 'bs') ?? ''))),
  }),
  rule({
    key: 'destructive',
    id: 'destructive.service-stop',
    title: 'Stops or kills services (databases, web servers, containers)',
    severity: 'medium',
    attack: ['T1489'],
    match: stopsService,
  }),
  rule({
    key: 'destructive',
    id: 'destructive.fork-bomb',
    title: 'Exhausts the process table (fork bomb)',
    severity: 'high',
    attack: ['T1499'],
    match: (o) => o.type === 'limit' && o.limit === 'processes',
    minimum: 10,
  }),
  rule({
    key: 'destructive',
    id: 'destructive.fork-bomb-code',
    title: 'Runs fork-bomb code',
    severity: 'high',
    attack: ['T1499'],
    // `:(){ :|:& };:` and its renamings: a function that pipes into itself in the background.
    match: (o) => /(\S+)\s*\(\)\s*\{\s*\1\s*\|\s*\1\s*&\s*\}/.test(commandLine(o)),
  }),
  rule({
    key: 'destructive',
    id: 'destructive.system-shutdown',
    title: 'Shuts down or reboots the host',
    severity: 'high',
    attack: ['T1529'],
    // Magic SysRq: `echo b > /proc/sysrq-trigger` reboots at once, `o` powers off.
    match: (o) => stopsSystem(o) || writes(o, /^\/proc\/sysrq-trigger$/),
  }),
  rule({
    key: 'destructive',
    id: 'destructive.account-access-removal',
    title: 'Locks, expires or deletes accounts, or changes their passwords',
    severity: 'high',
    attack: ['T1531'],
    match: removesAccountAccess,
  }),
  rule({
    key: 'destructive',
    id: 'destructive.kill-all',
    title: 'Signals every process it can (kill -1)',
    severity: 'medium',
    attack: ['T1489'],
    match: (o) => o.type === 'call' && o.name === 'kill' && o.args[0] === '-1',
  }),
];
