import { posix } from 'node:path';
import type { ExecObservation, Observation } from '../observations';
import { argumentPath } from './command-targets';
import { commandLine, execName, type Rule, type RuleContext, rule } from './rule';

/**
 * Defence evasion on files: copies of system tools under other names, names that end in a space,
 * packed and padded binaries, and files locked or opened up by their attributes. Each judges the
 * command line (what a refused tool set out to do is the attempt) or the file operation itself.
 */

/** Where the system's own programs live. */
const SYSTEM_BINARIES = /^\/(usr\/)?s?bin\/[^/]+$/;

/** System places whose files a sample has no business changing the owner or mode of. */
const SYSTEM_PLACES = /^\/(etc|bin|sbin|lib|lib64|lib32|boot|root|usr\/(?!local\/)|var\/(log|spool|lib)\/)/;

/** Disk images and swap files: growing them is what they are for, not padding. */
const IMAGE_FILE = /\.(img|iso|raw|qcow2|vhdx?|vmdk)$|(^|\/)swap/i;

/** The operands of an exec (arguments that are not options), resolved. */
function fileOperands(o: ExecObservation): string[] {
  return o.argv.slice(1).flatMap((a) => (a.startsWith('-') || a.startsWith('+') ? [] : [argumentPath(o, a)]));
}

/**
 * True when one name is the other with a version or suffix (`python3` and `python`, `vim` and
 * `vim.basic`): installers link such names, and that is no disguise.
 */
function sameTool(a: string, b: string): boolean {
  const stem = (n: string) => n.replace(/[-._]?\d+(\.\d+)*$/, '').replace(/\.[a-z]+$/, '');
  return stem(a) === stem(b) || a.startsWith(b) || b.startsWith(a);
}

/** True for `cp /bin/sh /tmp/crond`: a copy of a system program under another name. */
function copiesUtilityUnderOtherName(o: Observation): boolean {
  if (o.type !== 'exec' || !['cp', 'install', 'rsync'].includes(execName(o) ?? '')) return false;
  const operands = fileOperands(o);
  if (operands.length !== 2) return false;
  const [source = '', destination = ''] = operands;
  if (!SYSTEM_BINARIES.test(source) || destination.endsWith('/')) return false;
  const from = posix.basename(source);
  const to = posix.basename(destination);
  // A destination that is a directory keeps the name; only a file name differing from the source is a rename.
  return /\./.test(to) === false && to !== from && !sameTool(from, to);
}

/** True for `truncate -s +N file` (grown in place) or a dd appending zeros or random bytes to a file. */
function padsFile(o: Observation): boolean {
  if (o.type !== 'exec') return false;
  const name = execName(o);
  if (name === 'truncate') {
    const size = o.argv.findIndex((a) => a === '-s' || a === '--size');
    const value = size === -1 ? o.argv.find((a) => a.startsWith('--size='))?.slice(7) : o.argv[size + 1];
    return value !== undefined && /^\+\d/.test(value) && !fileOperands(o).some((f) => IMAGE_FILE.test(f));
  }
  if (name === 'dd') {
    const from = o.argv.find((a) => a.startsWith('if='))?.slice(3);
    const to = o.argv.find((a) => a.startsWith('of='))?.slice(3);
    return (
      from !== undefined &&
      /^\/dev\/(zero|u?random)$/.test(from) &&
      o.argv.includes('oflag=append') &&
      to !== undefined &&
      !IMAGE_FILE.test(to)
    );
  }
  // The shell's `>>` is not dd's argv: the command string shows it.
  return /\bdd\b[^|;&]*\bif=\/dev\/(zero|u?random)\b[^|;&]*>>\s*\S+/.test(commandLine(o));
}

/** True for chattr setting or clearing the immutable or append-only attribute. */
function changesLockAttributes(o: Observation): boolean {
  return o.type === 'exec' && execName(o) === 'chattr' && o.argv.slice(1).some((a) => /^[-+=][a-zA-Z]*[ia]/.test(a));
}

/** True for chmod, chown, chgrp or setfacl aimed at a system file the sample did not write itself. */
function changesSystemPermissions(o: Observation, c: RuleContext): boolean {
  const foreign = (path: string) => SYSTEM_PLACES.test(path) && !c.written.has(path);
  if (o.type === 'file') return (o.op === 'chmod' || o.op === 'chown') && foreign(o.path);
  if (o.type !== 'exec' || !['chmod', 'chown', 'chgrp', 'setfacl'].includes(execName(o) ?? '')) return false;
  // The first operand of chmod, chown and chgrp is the mode or owner.
  const operands = fileOperands(o);
  return (execName(o) === 'setfacl' ? operands : operands.slice(1)).some(foreign);
}

/** A decoy document or media extension followed by the real, executable one (`report.pdf.sh`). */
const DOUBLE_EXTENSION =
  /\.(pdf|docx?|xlsx?|pptx?|odt|ods|rtf|txt|csv|jpe?g|png|gif|bmp|mp[34]|avi|mov|wav|zip)\.(sh|bash|zsh|py|pl|rb|php|js|jar|elf|bin|run|out|exe|scr|com|bat|cmd|ps1|vbs)$/i;

/** Extensions of data formats: a file named so is not a program. */
const DATA_EXTENSION = /\.(pdf|docx?|xlsx?|pptx?|odt|ods|rtf|jpe?g|png|gif|bmp|ico|webp|mp[34]|avi|mov|mkv|wav|flac)$/i;

/** Interpreters that run a script file given as their first operand. */
const SCRIPT_RUNNERS = /^((ba|da|z|k|c|tc)?sh|python[\d.]*|perl|ruby|php[\d.]*|node|busybox)$/;

/** The file an exec runs: the program, or the script file an interpreter was given first. */
function runFiles(o: ExecObservation): string[] {
  if (!SCRIPT_RUNNERS.test(execName(o) ?? '')) return [o.path];
  const operands = o.argv.slice(1);
  // `sh -c '...'`, `python -m x`: no script file.
  if (operands.some((a) => /^-[a-zA-Z]*[cme]$/.test(a))) return [o.path];
  const script = operands.find((a) => !a.startsWith('-'));
  return script === undefined ? [o.path] : [o.path, argumentPath(o, script)];
}

/** Obfuscation and masquerading of files, and changes to their permissions. */
export const obfuscationRules: Rule[] = [
  rule({
    key: 'evasion',
    id: 'evasion.renamed-utility',
    title: 'Copies a system program under another name',
    severity: 'medium',
    attack: ['T1036.003'],
    match: copiesUtilityUnderOtherName,
  }),
  rule({
    key: 'evasion',
    id: 'evasion.trailing-space',
    title: 'Makes or runs a file whose name ends in a space',
    severity: 'medium',
    // `evil.txt ` opens with its real type's handler while a listing shows the decoy extension.
    attack: ['T1036.006'],
    match: (o) =>
      (o.type === 'exec' && / $/.test(posix.basename(o.path))) ||
      (o.type === 'file' &&
        ['write', 'create', 'rename-to', 'mkdir'].includes(o.op) &&
        / $/.test(posix.basename(o.path)) &&
        !/^\.+ $/.test(posix.basename(o.path))),
  }),
  rule({
    key: 'evasion',
    id: 'evasion.double-extension',
    title: 'Makes or runs a program named like a document (report.pdf.sh)',
    severity: 'medium',
    attack: ['T1036.007'],
    match: (o) =>
      (o.type === 'exec' && runFiles(o).some((f) => DOUBLE_EXTENSION.test(f))) ||
      (o.type === 'file' && ['create', 'rename-to'].includes(o.op) && DOUBLE_EXTENSION.test(o.path)) ||
      (o.type === 'file' && o.op === 'write' && /O_CREAT/.test(o.flags ?? '') && DOUBLE_EXTENSION.test(o.path)),
  }),
  rule({
    key: 'evasion',
    id: 'evasion.type-masquerading',
    title: 'Runs a program or script whose name says it is a picture or a document',
    severity: 'medium',
    attack: ['T1036.008'],
    match: (o) => o.type === 'exec' && runFiles(o).some((f) => DATA_EXTENSION.test(f)),
  }),
  rule({
    key: 'evasion',
    id: 'evasion.packer',
    title: 'Packs an executable (UPX)',
    severity: 'medium',
    attack: ['T1027.002'],
    match: (o) =>
      o.type === 'exec' &&
      /^upx(-ucl)?$/.test(execName(o) ?? '') &&
      !o.argv
        .slice(1)
        .some((a) => /^(-d|--decompress|-t|--test|-l|--list|-V|--version|-h|--help|-L|--license)$/.test(a)),
  }),
  rule({
    key: 'evasion',
    id: 'evasion.binary-padding',
    title: 'Pads a file with zeros or random bytes (a new hash for the same program)',
    severity: 'medium',
    attack: ['T1027.001'],
    match: padsFile,
  }),
  rule({
    key: 'evasion',
    id: 'evasion.permission-change',
    title: 'Changes the owner, or the mode of files it did not make',
    // Installers set modes and owners too: context, unless it is a system file or a lock (above).
    // Judged on the call, whose path is resolved however argv spelt it (/proc/self/root, links).
    severity: 'low',
    attack: ['T1222.002'],
    match: (o, c) =>
      o.type === 'file' &&
      (o.op === 'chown' || o.op === 'chmod') &&
      !c.written.has(o.path) &&
      !c.placed.has(o.path) &&
      !c.hidden.some((h) => o.path.startsWith(h)),
  }),
  rule({
    key: 'evasion',
    id: 'evasion.file-permissions',
    title: 'Locks or unlocks files (chattr) or changes the mode or owner of system files',
    severity: 'medium',
    attack: ['T1222.002'],
    match: (o, c) => changesLockAttributes(o) || changesSystemPermissions(o, c),
  }),
];
