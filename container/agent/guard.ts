import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, mkdir, readFile, rename } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);

/**
 * The network guard (`container/guard/sandtrap-guard.c`): where its binary is, what the kernel lets
 * it do, its command line and its log. The image ships a prebuilt binary; elsewhere (a developer
 * host, the tests) it is compiled once with gcc into a root-only cache.
 */

/** What the kernel lets the guard do here. */
export interface GuardProbe {
  userNotification: boolean;
  pidfdGetfd: boolean;
  mountNamespace: boolean;
}

/** The prebuilt binary's place in the image. */
const IMAGE_BINARY = '/opt/sandtrap/bin/sandtrap-guard';

function sourcePath(): string {
  return fileURLToPath(new URL('../guard/sandtrap-guard.c', import.meta.url));
}

/** The headers the guard's source includes from its own directory (part of what names a build). */
const GUARD_HEADERS = ['guard-address.h'];

/**
 * How the guard is compiled: it runs as root and parses bytes the sample chose, so with the
 * hardening a distribution build would have (the image's build must use the same flags).
 */
export const GUARD_CFLAGS = ['-O2', '-Wall', '-D_FORTIFY_SOURCE=2', '-fstack-protector-strong'];

/** One build per process, however many detonations ask for it at once. */
const builds = new Map<string, Promise<string>>();

/**
 * The guard binary: `$SANDTRAP_GUARD`, the image's, or one compiled from the source next to this
 * module into `cacheDir` (named by the source's hash, so an edited source is rebuilt).
 */
export async function ensureGuard(cacheDir: string): Promise<string> {
  const configured = process.env.SANDTRAP_GUARD;
  if (configured && existsSync(configured)) return configured;
  if (existsSync(IMAGE_BINARY)) return IMAGE_BINARY;
  let build = builds.get(cacheDir);
  if (!build) {
    build = compileGuard(cacheDir);
    builds.set(cacheDir, build);
    build.catch(() => builds.delete(cacheDir));
  }
  return build;
}

async function compileGuard(cacheDir: string): Promise<string> {
  const hash = createHash('sha256').update(await readFile(sourcePath()));
  for (const header of GUARD_HEADERS) hash.update(await readFile(join(dirname(sourcePath()), header)));
  hash.update(GUARD_CFLAGS.join(' '));
  const binary = join(cacheDir, `sandtrap-guard-${hash.digest('hex').slice(0, 16)}`);
  if (existsSync(binary)) return binary;
  await mkdir(cacheDir, { recursive: true, mode: 0o700 });
  await chmod(cacheDir, 0o700);
  // Compile beside the target and rename: other agents (processes) never run a half-written binary.
  const partial = `${binary}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  await run('gcc', [...GUARD_CFLAGS, '-o', partial, sourcePath(), '-lpthread'], {
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin' },
  });
  await rename(partial, binary);
  return binary;
}

/** Asks the guard what the kernel allows (seccomp user notification, pidfd_getfd, mount namespaces). */
export async function probeGuard(binary: string): Promise<GuardProbe> {
  try {
    const { stdout } = await run(binary, ['--probe'], { env: {} });
    return JSON.parse(stdout) as GuardProbe;
  } catch (error) {
    const stdout = (error as { stdout?: string }).stdout;
    if (stdout) return JSON.parse(stdout) as GuardProbe;
    return { userNotification: false, pidfdGetfd: false, mountNamespace: false };
  }
}

/** How the guard treats IP connections. */
export type GuardMode = 'redirect' | 'pass' | 'block';

/** The guard's policy for one run (its command line). */
export interface GuardOptions {
  log: string;
  mode: GuardMode;
  ports: { dns: number; tcp: number; udp: number };
  allowedPorts: readonly number[];
  blockedPorts: readonly number[];
  /** Directories to cover with an empty, unreadable tmpfs in the sample's mount namespace. */
  hide: readonly string[];
  /** Directories to replace with a fresh tmpfs of the given size. */
  tmpfs: readonly { dir: string; bytes: number }[];
  /** A file to bind over /etc/resolv.conf. */
  resolv: string | null;
}

/** The guard's arguments, up to and including the `--` before the command it runs. */
export function guardArguments(options: GuardOptions): string[] {
  const args = ['--log', options.log, '--mode', options.mode];
  if (options.mode === 'redirect')
    args.push(
      '--dns',
      String(options.ports.dns),
      '--tcp',
      String(options.ports.tcp),
      '--udp',
      String(options.ports.udp),
    );
  for (const port of options.allowedPorts) args.push('--allow', String(port));
  for (const port of options.blockedPorts) args.push('--deny', String(port));
  for (const dir of options.hide) args.push('--hide', dir);
  for (const { dir, bytes } of options.tmpfs) args.push('--tmpfs', `${dir}:${bytes}`);
  if (options.resolv) args.push('--resolv', options.resolv);
  args.push('--');
  return args;
}

/** One connection decision from the guard's log. */
export interface GuardConnection {
  time: number;
  pid: number;
  call: 'connect' | 'sendto';
  family: 'inet' | 'inet6' | 'unix' | 'other';
  proto: 'tcp' | 'udp' | 'other' | null;
  addr: string;
  port: number | null;
  action: 'redirect' | 'pass' | 'block' | 'continue';
  reason: string;
  localPort: number;
  /** The call's return value, or -errno. */
  result: number | null;
  line: string;
}

/** What the guard's log says about one run. */
export interface GuardLog {
  started: boolean;
  /** null when no private mount namespace was asked for. */
  mountNamespace: boolean | null;
  connections: GuardConnection[];
  /** Lines beyond the cap are counted, not kept. */
  dropped: number;
}

/** The calls the guard logs a destination decision for. */
const SEND_CALLS = new Set(['connect', 'sendto', 'sendmsg', 'sendmmsg']);
const FAMILIES = new Set<string>(['inet', 'inet6', 'unix', 'other']);

/** Reads a guard log; a missing or damaged log reads as a guard that never started. */
export async function readGuardLog(path: string, max = 5000): Promise<GuardLog> {
  const log: GuardLog = { started: false, mountNamespace: null, connections: [], dropped: 0 };
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch {
    return log;
  }
  for (const line of text.split('\n')) {
    if (!line.startsWith('{')) continue;
    let entry: Record<string, unknown>;
    try {
      entry = JSON.parse(line) as Record<string, unknown>;
    } catch {
      continue;
    }
    if (entry.event === 'start') log.started = entry.ok === true;
    else if (entry.event === 'mountns') log.mountNamespace = entry.ok === true;
    else if (typeof entry.call === 'string' && SEND_CALLS.has(entry.call)) {
      if (log.connections.length >= max) {
        log.dropped++;
        continue;
      }
      log.connections.push({
        time: Number(entry.ts),
        pid: Number(entry.pid),
        // sendmsg and sendmmsg name a destination as sendto does.
        call: entry.call === 'connect' ? 'connect' : 'sendto',
        family: FAMILIES.has(entry.family as string) ? (entry.family as GuardConnection['family']) : 'other',
        proto: (entry.proto as GuardConnection['proto']) ?? null,
        addr: String(entry.addr ?? ''),
        port: typeof entry.port === 'number' ? entry.port : null,
        action: entry.action as GuardConnection['action'],
        reason: String(entry.reason ?? ''),
        localPort: Number(entry.localPort ?? 0),
        result: typeof entry.result === 'number' ? entry.result : null,
        line: line.length > 600 ? `${line.slice(0, 597)}...` : line,
      });
    }
  }
  return log;
}

/** The directory this module lives in (hidden from the sample on hosts where that is possible). */
export function agentDirectory(): string {
  return dirname(fileURLToPath(import.meta.url));
}
