import { spawn } from 'node:child_process';
import { chmod, chown, copyFile, open } from 'node:fs/promises';
import { join } from 'node:path';
import type { ArchiveMember, PreparationMethod } from '../../lambdas/core/contracts/detonation-report';
import { byProgramName, detectFileType, shebangProgram } from '../../lambdas/core/triage/file-type';
import { archiveKind, extractArchive, type ExtractedMember } from './archive';
import { dropTo, sweepUid, tool } from './run';

/**
 * Turns a downloaded sample into programs to run: an ELF runs as it is, a script under the
 * interpreter its shebang or extension names (sh, bash, python3, perl), C source is compiled with
 * gcc (as the sandbox user, limited, untraced), an archive is extracted safely and each executable
 * member becomes a run. Anything else gets static triage only.
 */

/** One program to detonate. */
export interface PlannedRun {
  /** Absolute program and arguments. */
  command: string[];
  /** Working directory (inside the sandbox's home). */
  cwd: string;
  /** The archive member, for archive samples. */
  member?: string;
}

/** How the sample will run (or why it will not). */
export interface Preparation {
  fileType: string;
  mimeType: string;
  method: PreparationMethod;
  interpreter?: string;
  compiler?: string;
  members?: ArchiveMember[];
  runs: PlannedRun[];
  /** Files the agent placed for the sample (self-deletion is judged against them). */
  placed: string[];
  /** Why nothing runs, when nothing does. */
  reason?: string;
  notes: string[];
}

/** At most this many archive members are run, each with its share of the timeout. */
export const MAX_MEMBER_RUNS = 4;

const INTERPRETERS: Record<string, string> = {
  sh: '/bin/sh',
  dash: '/bin/sh',
  bash: '/bin/bash',
  python: '/usr/bin/python3',
  python3: '/usr/bin/python3',
  perl: '/usr/bin/perl',
};
const BY_TYPE: Record<string, string> = {
  'script-sh': '/bin/sh',
  'script-python': '/usr/bin/python3',
  'script-perl': '/usr/bin/perl',
};
const EXTENSION: Record<string, string> = { sh: 'sh', bash: 'sh', py: 'py', pl: 'pl', c: 'c' };
/** e_machine values of the architectures this host can run natively or in compat mode. */
const RUNNABLE_MACHINES: Record<string, number[]> = { x64: [62, 3], arm64: [183] };

/** The interpreter for a script, from its shebang (through `env`), else its detected type. */
export function interpreterFor(head: Buffer, fileType: string): string | null {
  const program = shebangProgram(head);
  const found = program === undefined ? undefined : byProgramName(INTERPRETERS, program);
  if (found) return found;
  return BY_TYPE[fileType] ?? null;
}

async function readHead(file: string): Promise<Buffer> {
  const handle = await open(file, 'r');
  try {
    const head = Buffer.alloc(8192);
    const { bytesRead } = await handle.read(head, 0, head.length, 0);
    return head.subarray(0, bytesRead);
  } finally {
    await handle.close();
  }
}

/** Why an ELF cannot run here, or null when it can. */
function elfProblem(head: Buffer): string | null {
  if (head.length < 20) return 'truncated ELF header';
  const machine = head[5] === 2 ? head.readUInt16BE(18) : head.readUInt16LE(18);
  const runnable = RUNNABLE_MACHINES[process.arch] ?? [];
  return runnable.includes(machine) ? null : `ELF for machine ${machine}, not runnable on ${process.arch}`;
}

/** The user and group the sample's files belong to. */
export interface SandboxOwner {
  uid: number;
  gid: number;
}

/** Compiles C source as the sandbox user: cc1 parsing hostile input gets no more rights than the program would. */
async function compileC(
  source: string,
  output: string,
  cwd: string,
  owner: SandboxOwner,
): Promise<{ ok: boolean; log: string }> {
  const child = spawn(
    tool('prlimit'),
    [
      '--cpu=30',
      '--as=2147483648',
      '--fsize=67108864',
      '--',
      tool('setpriv'),
      ...dropTo(owner.uid, owner.gid),
      '--',
      tool('env'),
      '-i',
      '-C',
      cwd,
      'PATH=/usr/bin:/bin',
      `HOME=${cwd}`,
      'gcc',
      '-O1',
      '-w',
      '-o',
      output,
      source,
    ],
    { stdio: ['ignore', 'pipe', 'pipe'], env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin' } },
  );
  let log = '';
  const keep = (chunk: Buffer) => {
    if (log.length < 4096) log += chunk.toString('utf8');
  };
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  const timer = setTimeout(() => void sweepUid(owner.uid), 60_000);
  const code = await new Promise<number | null>((resolve) => {
    child.on('error', () => resolve(null));
    child.on('close', (c) => resolve(c));
  });
  clearTimeout(timer);
  await sweepUid(owner.uid);
  return { ok: code === 0, log: log.trim() };
}

/** Plans the run of one runnable file, or says why it is not runnable. */
async function plan(file: string, name: string, cwd: string, owner: SandboxOwner, member?: string) {
  const head = await readHead(file);
  const type = await detectFileType(head, name);
  const at = member === undefined ? {} : { member };
  if (type.type === 'elf') {
    const problem = elfProblem(head);
    if (problem) return { type, reason: problem };
    await chmod(file, 0o700);
    return { type, method: 'executable' as const, run: { command: [file], cwd, ...at } };
  }
  if (type.type === 'source-c') {
    const binary = `${file}.bin`;
    const compiled = await compileC(file, binary, cwd, owner);
    if (!compiled.ok)
      return { type, reason: `compilation failed: ${compiled.log.split('\n').slice(0, 3).join(' | ')}`.slice(0, 600) };
    return { type, method: 'compiled' as const, compiler: 'gcc', run: { command: [binary], cwd, ...at } };
  }
  const interpreter = type.type.startsWith('script-') ? interpreterFor(head, type.type) : null;
  if (interpreter)
    return { type, method: 'script' as const, interpreter, run: { command: [interpreter, file], cwd, ...at } };
  return { type, reason: `no runner for ${type.type}` };
}

/**
 * Places the sample in the sandbox's home (owned by the sandbox user) and plans its runs.
 * `file` is the downloaded sample in the agent's private directory.
 */
export async function prepareSample(
  file: string,
  name: string,
  home: string,
  owner: SandboxOwner,
): Promise<Preparation> {
  const head = await readHead(file);
  const detected = await detectFileType(head, name);
  const notes: string[] = [];
  const kind = archiveKind(detected.type);
  if (kind) {
    const extracted = await extractArchive(file, kind, name, join(home, 'extracted'), undefined, owner);
    if (extracted.stopped) notes.push(`archive extraction stopped: ${extracted.stopped}`);
    const runs: PlannedRun[] = [];
    const members: ArchiveMember[] = [];
    const placed: string[] = [];
    for (const m of extracted.members) {
      const entry = await memberEntry(m, home, owner, runs, placed);
      members.push(entry);
    }
    return {
      fileType: detected.type,
      mimeType: detected.mime,
      method: 'archive',
      members,
      runs,
      placed,
      notes,
      ...(runs.length === 0 ? { reason: 'no executable member' } : {}),
    };
  }
  const extension = EXTENSION[name.toLowerCase().match(/\.([a-z0-9]+)$/)?.[1] ?? ''];
  const placedFile = join(home, extension ? `sample.${extension}` : 'sample');
  await copyFile(file, placedFile);
  await chown(placedFile, owner.uid, owner.gid);
  await chmod(placedFile, 0o600);
  const planned = await plan(placedFile, name, home, owner);
  if (!('run' in planned) || !planned.run) {
    return {
      fileType: detected.type,
      mimeType: detected.mime,
      method: 'static-only',
      runs: [],
      placed: [placedFile],
      reason: planned.reason,
      notes,
    };
  }
  return {
    fileType: detected.type,
    mimeType: detected.mime,
    method: planned.method,
    ...('interpreter' in planned ? { interpreter: planned.interpreter } : {}),
    ...('compiler' in planned ? { compiler: planned.compiler } : {}),
    runs: [planned.run],
    placed: [...new Set([placedFile, planned.run.command[planned.run.command.length - 1] as string])],
    notes,
  };

  async function memberEntry(
    m: ExtractedMember,
    root: string,
    who: SandboxOwner,
    runs: PlannedRun[],
    placed: string[],
  ): Promise<ArchiveMember> {
    const base = { path: m.path, size: m.size, fileType: m.fileType };
    if (m.action !== 'extracted' || !m.file)
      return {
        ...base,
        action: m.action === 'extracted' ? 'skipped' : m.action,
        ...(m.reason ? { reason: m.reason } : {}),
      };
    placed.push(m.file);
    if (runs.length >= MAX_MEMBER_RUNS)
      return { ...base, action: 'skipped', reason: `only ${MAX_MEMBER_RUNS} members are run` };
    const planned = await plan(m.file, m.path, join(root, 'extracted'), who, m.path);
    if (!('run' in planned) || !planned.run) return { ...base, action: 'skipped', reason: planned.reason };
    runs.push(planned.run);
    if (planned.run.command[0] !== m.file) placed.push(planned.run.command[0] as string);
    return { ...base, action: 'analysed' };
  }
}
