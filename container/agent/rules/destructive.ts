import { posix } from 'node:path';
import { execName, rule, writes, type Rule } from './rule';

/** Suffixes that rotation, compression and backups append: renaming to them is housekeeping. */
const ROTATION_SUFFIX = /^(\d+(\.(gz|bz2|xz|zst))?|gz|bz2|xz|zst|old|bak|orig|prev|save|tmp|swp)$/i;

const RANSOM_NOTE = /(readme|read_me|how.?to|decrypt|restore|recover|ransom|instructions).*\.(txt|html?|hta)$/i;

/** Destruction: mass deletion, encryption-like renames, ransom notes, log wiping, raw disk writes, fork bombs. */
export const destructiveRules: Rule[] = [
  rule({
    key: 'destructive',
    id: 'destructive.mass-delete',
    title: 'Deletes many files',
    severity: 'high',
    attack: ['T1485'],
    match: (o) => o.type === 'file' && (o.op === 'delete' || o.op === 'rmdir') && o.ok,
    minimum: 20,
    distinct: (o) => (o.type === 'file' ? o.path : ''),
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
    id: 'destructive.log-wipe',
    title: 'Clears logs or shell history',
    severity: 'medium',
    attack: ['T1070.002', 'T1070.003'],
    match: (o) =>
      o.type === 'file' &&
      /^\/var\/log\/|\/\.(bash|zsh|sh|python|mysql)_?history$/.test(o.path) &&
      (o.op === 'delete' || o.op === 'truncate' || (o.op === 'write' && /O_TRUNC/.test(o.flags ?? ''))),
  }),
  rule({
    key: 'destructive',
    id: 'destructive.disk-wipe',
    title: 'Writes to raw disks or wipes file systems',
    severity: 'critical',
    attack: ['T1561.001', 'T1561.002'],
    match: (o) =>
      writes(o, /^\/dev\/(sd[a-z]|nvme\d|vd[a-z]|xvd[a-z]|hd[a-z]|mmcblk\d|mem$|kmem$|port$)/) ||
      /^(shred|wipefs|mkfs(\..*)?|blkdiscard)$/.test(execName(o) ?? ''),
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
    id: 'destructive.kill-all',
    title: 'Signals every process it can (kill -1)',
    severity: 'medium',
    attack: ['T1489'],
    match: (o) => o.type === 'call' && o.name === 'kill' && o.args[0] === '-1',
  }),
];
