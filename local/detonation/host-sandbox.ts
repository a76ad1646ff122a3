import { spawn, spawnSync } from 'node:child_process';
import { constants, existsSync, readFileSync, realpathSync } from 'node:fs';
import { chmod, copyFile, mkdir, mkdtemp, open, readdir, readlink, rm, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FIRST_SANDBOX_UID, SANDBOX_UID_SPAN } from '../../container/agent/sandbox-user';
import { throwIfAborted } from './detonator';

/**
 * The box the host detonator runs the agent in: fresh network (loopback only), pid, ipc, uts and
 * mount namespaces made with util-linux `unshare`, and a new root that is an empty tmpfs into which
 * only what the agent and the sample need is mounted. The root is an allow-list, so every host path
 * not named here (the checkout, .sandtrap/ and --state directories, /root, /home, /work, /var, /srv,
 * /mnt, /sys ...) does not exist in the box; nothing has to be remembered to be hidden.
 *
 * Inside the box, mirroring the detonation image:
 *   /usr /bin /sbin /lib* /etc   read-only binds of the host's (nosuid, nodev)
 *   /usr/local/bin, /usr/local/sbin   the victim's stand-in tools (container/victim/), read-only, as
 *                                 the image has them (the host's own /usr/local tools are not seen)
 *   /etc/passwd, /etc/group       the host's, plus the `sandbox` account of every sandbox uid (the
 *                                 image's user), so tools that look up their user find one
 *   /opt/sandtrap                 the bundled agent (agent/) and the guard (bin/), read-only, 0700 root
 *   /run/detonation               the agent's work root (run directories, uid home), on host disk
 *   /run/transport                the sample in, the report out (0700 root, noexec)
 *   /tmp /var/tmp /dev/shm /run/lock   private tmpfs
 *   /dev                          tmpfs with null, zero, full, random, urandom, tty and a private devpts
 *   /proc                         the box's own pid namespace
 * The agent is pid 1; when it exits the kernel kills whatever is left in the pid namespace.
 *
 * The agent runs from an esbuild bundle, as in the image, rather than from the checkout under tsx:
 * binding the checkout (and node_modules) into the box would show the sample far more than the
 * agent needs, and the bundle is one root-only file.
 */

/**
 * Where the host side keeps its per-run state directories (root only, 0700). Fixed, not taken from
 * the environment: a root process making and chmod-ing a directory someone else chose invites
 * symlink games.
 */
export const HOST_STATE_ROOT = '/var/lib/sandtrap-host';

/** Paths inside the box. */
export const BOX = {
  // One level below /opt/sandtrap: the agent hides its own directory's parent from the sample, and
  // that must be /opt/sandtrap itself (hiding /opt first would leave /opt/sandtrap unmountable).
  agent: '/opt/sandtrap/agent/agent.mjs',
  workRoot: '/run/detonation',
  transport: '/run/transport',
  hostname: 'sandtrap-box',
} as const;

const TOOL_DIRS = ['/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin'];
const TOOL_PATH = TOOL_DIRS.join(':');
/** Host directories bound read-only when they exist (symlinks, as on merged-/usr systems, are copied). */
const SYSTEM_DIRS = ['usr', 'bin', 'sbin', 'lib', 'lib32', 'lib64', 'libx32', 'etc'];
/**
 * The victim's stand-in tools (sudo, crontab, systemctl, useradd...): one source for the image,
 * which copies them to /usr/local/{bin,sbin}, and for the box, which binds a copy of them there.
 */
const VICTIM_SOURCE = fileURLToPath(new URL('../../container/victim/', import.meta.url));
const VICTIM_DIRS = ['bin', 'sbin'];
/** The account databases the box shows with the sandbox user added. */
const ACCOUNT_FILES = ['passwd', 'group'];
/** Exit status of the set-up script when a step fails (the agent never starts then). */
export const SETUP_FAILED = 97;

/**
 * `--fork` makes the set-up script pid 1 of the new pid namespace; `--kill-child` takes it (and so
 * the whole namespace) down if unshare dies. No `--mount-proc`: the script mounts the box's /proc
 * itself, inside the new root. Private propagation keeps every mount of the box off the host.
 */
const UNSHARE_ARGS = [
  '--net',
  '--pid',
  '--ipc',
  '--uts',
  '--mount',
  '--propagation',
  'private',
  '--fork',
  '--kill-child',
];

/**
 * The script that builds the box and execs the command. Positional parameters carry the paths (no
 * quoting of paths into the script text). `set -eu`: a failed mount stops it before the command
 * runs, so the agent never starts half-boxed.
 */
const SETUP_SCRIPT = `
set -eu
R=$1 OPT=$2 WORK=$3 XFER=$4 NODE=$5 NAME=$6 VICTIM=$7
shift 7
fail() { echo "sandtrap-box: $*" >&2; exit ${SETUP_FAILED}; }
trap 'fail "set-up step failed"' EXIT
mount -t tmpfs -o mode=0755,nosuid,nodev,size=8m sandtrap-root "$R"
for d in ${SYSTEM_DIRS.join(' ')}; do
  if [ -L "/$d" ]; then ln -s "$(readlink "/$d")" "$R/$d"
  elif [ -d "/$d" ]; then mkdir "$R/$d"; mount --bind -o ro,nosuid,nodev "/$d" "$R/$d"
  fi
done
for d in ${VICTIM_DIRS.join(' ')}; do
  [ -d "$R/usr/local/$d" ] || fail "the host has no /usr/local/$d to hold the stand-in tools"
  mount --bind -o ro,nosuid,nodev "$VICTIM/$d" "$R/usr/local/$d"
done
for f in ${ACCOUNT_FILES.join(' ')}; do
  if [ -f "$VICTIM/$f" ]; then mount --bind -o ro,nosuid,nodev "$VICTIM/$f" "$R/etc/$f"; fi
done
case "$NODE" in
  /usr/local/bin/*|/usr/local/sbin/*) mount --bind -o ro,nosuid,nodev "$NODE" "$R$NODE" ;;
  /usr/*|/bin/*|/sbin/*|/lib/*|/lib64/*) ;;
  *) mkdir -p "$R\${NODE%/*}"; : > "$R$NODE"; mount --bind -o ro,nosuid,nodev "$NODE" "$R$NODE" ;;
esac
mkdir -p "$R/proc" "$R/dev" "$R/tmp" "$R/var/tmp" "$R/run/lock" "$R/run/detonation" "$R/run/transport" \\
  "$R/opt/sandtrap" "$R/root" "$R/home" "$R/.old-root"
chmod 0700 "$R/root"
mount -t proc -o nosuid,nodev,noexec proc "$R/proc"
mount -t tmpfs -o mode=0755,nosuid,size=1m sandtrap-dev "$R/dev"
for n in null zero full random urandom tty; do : > "$R/dev/$n"; mount --bind "/dev/$n" "$R/dev/$n"; done
mkdir "$R/dev/pts" "$R/dev/shm"
mount -t devpts -o newinstance,ptmxmode=0666,mode=0620,nosuid,noexec devpts "$R/dev/pts"
ln -s pts/ptmx "$R/dev/ptmx"; ln -s /proc/self/fd "$R/dev/fd"
ln -s /proc/self/fd/0 "$R/dev/stdin"; ln -s /proc/self/fd/1 "$R/dev/stdout"; ln -s /proc/self/fd/2 "$R/dev/stderr"
for d in tmp var/tmp dev/shm run/lock; do mount -t tmpfs -o mode=1777,nosuid,nodev,size=256m sandtrap-tmp "$R/$d"; done
mount --bind -o ro,nosuid,nodev "$OPT" "$R/opt/sandtrap"
mount --bind -o nosuid,nodev "$WORK" "$R/run/detonation"
mount --bind -o nosuid,nodev,noexec "$XFER" "$R/run/transport"
hostname "$NAME"
ip link set lo up
cd "$R"
pivot_root . .old-root
cd /
umount -l /.old-root
rmdir /.old-root
mount -o remount,bind,ro,nosuid,nodev /
trap - EXIT
exec "$@"
`;

/** Why the box cannot be made here, or undefined when it can (probed once per process). */
let support: string | undefined | null = null;
export function boxUnavailable(): string | undefined {
  if (support === null) support = probeBoxSupport();
  return support;
}

/**
 * Why the box cannot be made with the tools in `toolDirs`, or undefined when it can. Exported for
 * the tests, which point it at directories of missing or failing tools; the detonator only ever
 * probes the system directories.
 */
export function probeBoxSupport(toolDirs: readonly string[] = TOOL_DIRS): string | undefined {
  if (process.platform !== 'linux') return 'the host detonator runs on Linux only';
  if (process.getuid?.() !== 0)
    return 'the host detonator needs root (it makes namespaces and drops the sample to a sandbox uid)';
  for (const tool of ['unshare', 'pivot_root', 'mount', 'umount', 'ip', 'hostname'])
    if (!toolPath(tool, toolDirs)) return `the host detonator needs ${tool} (util-linux, iproute2) to box the agent`;
  // The real thing, with a trivial command: every namespace, and a loopback that comes up.
  const probe = spawnSync(
    toolPath('unshare', toolDirs) as string,
    [...UNSHARE_ARGS, '--', '/bin/sh', '-c', 'ip link set lo up && hostname sandtrap-probe'],
    { stdio: ['ignore', 'ignore', 'pipe'], timeout: 10_000, env: { PATH: toolDirs.join(':') } },
  );
  if (probe.status !== 0) {
    const why = probe.stderr?.toString().trim().slice(0, 200) || `status ${probe.status ?? probe.signal}`;
    return `the host detonator cannot make its namespaces here (${why}); it refuses to run the sample unboxed`;
  }
  return undefined;
}

function toolPath(name: string, toolDirs: readonly string[] = TOOL_DIRS): string | undefined {
  return toolDirs.map((dir) => `${dir}/${name}`).find((p) => existsSync(p));
}

/** The agent bundled once per process (esbuild, as the image's build does). */
let bundle: Promise<Buffer> | null = null;
export function agentBundle(): Promise<Buffer> {
  bundle ??= buildBundle();
  bundle.catch(() => {
    bundle = null;
  });
  return bundle;
}

async function buildBundle(): Promise<Buffer> {
  const { build } = await import('esbuild');
  const result = await build({
    entryPoints: [fileURLToPath(new URL('../../container/agent/main.ts', import.meta.url))],
    bundle: true,
    platform: 'node',
    target: `node${process.versions.node.split('.')[0]}`,
    format: 'esm',
    write: false,
    logLevel: 'silent',
    banner: { js: "import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);" },
  });
  const file = result.outputFiles[0];
  if (!file) throw new Error('esbuild produced no agent bundle');
  return Buffer.from(file.contents);
}

/** One box's directories on the host, all under a 0700 run directory. */
export interface BoxDirs {
  /** The run directory (0700); removed by {@link BoxDirs.remove}. */
  run: string;
  /** Mount point of the box's new root. */
  root: string;
  /** Bound at /opt/sandtrap: the bundle and the guard. */
  opt: string;
  /** Bound at /run/detonation: the agent's work root. */
  work: string;
  /** Bound at /run/transport: sample in, report out. */
  transport: string;
  /** Its bin/ and sbin/ are bound at /usr/local/bin and /usr/local/sbin: the stand-in tools. */
  victim: string;
  remove(): Promise<void>;
}

/** Makes a run directory with the box's parts, the agent bundle and the guard binary in place. */
export async function prepareBox(guardBinary: string): Promise<BoxDirs> {
  await mkdir(HOST_STATE_ROOT, { recursive: true, mode: 0o700 });
  await chmod(HOST_STATE_ROOT, 0o700);
  const run = await mkdtemp(join(HOST_STATE_ROOT, 'box-'));
  await chmod(run, 0o700);
  const dirs: BoxDirs = {
    run,
    root: join(run, 'root'),
    opt: join(run, 'opt'),
    work: join(run, 'work'),
    transport: join(run, 'transport'),
    victim: join(run, 'victim'),
    remove: () => rm(run, { recursive: true, force: true }),
  };
  try {
    await mkdir(dirs.root, { mode: 0o700 });
    await mkdir(join(dirs.opt, 'bin'), { recursive: true, mode: 0o700 });
    await mkdir(join(dirs.opt, 'agent'), { mode: 0o700 });
    // The sample's home is below the work root: the sandbox uid passes through, and sees nothing else.
    await mkdir(dirs.work, { mode: 0o711 });
    await chmod(dirs.work, 0o711);
    await mkdir(dirs.transport, { mode: 0o700 });
    await writeFile(join(dirs.opt, 'agent', 'agent.mjs'), await agentBundle(), { mode: 0o600 });
    // At the image's path, so the agent's ensureGuard takes it and compiles nothing in the box.
    await copyFile(guardBinary, join(dirs.opt, 'bin', 'sandtrap-guard'));
    await chmod(join(dirs.opt, 'bin', 'sandtrap-guard'), 0o700);
    await prepareVictim(dirs.victim);
  } catch (error) {
    await dirs.remove();
    throw error;
  }
  return dirs;
}

/**
 * Copies the stand-in tools for the box (a root-owned copy: the checkout may belong to anyone),
 * and writes the host's passwd and group with the `sandbox` account added for every sandbox uid
 * (the image has it for the first; the box may lease any). When node itself lives in
 * /usr/local/bin or /usr/local/sbin, which the stand-ins cover, an empty file at its name is the
 * mount point the set-up script binds it on.
 */
async function prepareVictim(victim: string): Promise<void> {
  await mkdir(victim, { mode: 0o755 });
  for (const dir of VICTIM_DIRS) {
    await mkdir(join(victim, dir), { mode: 0o755 });
    await chmod(join(victim, dir), 0o755);
    const entries = await readdir(join(VICTIM_SOURCE, dir), { withFileTypes: true });
    await Promise.all(
      entries.map(async (entry) => {
        const from = join(VICTIM_SOURCE, dir, entry.name);
        const to = join(victim, dir, entry.name);
        if (entry.isSymbolicLink()) await symlink(await readlink(from), to);
        else if (entry.isFile()) {
          await copyFile(from, to);
          // Readable and executable by the sample's uid whatever the checkout's umask was.
          await chmod(to, 0o755);
        }
      }),
    );
  }
  for (const file of ACCOUNT_FILES) {
    const host = await readBounded(`/etc/${file}`, 4 * 1024 * 1024);
    if (host === null) continue;
    const known = new Set(
      host
        .toString('utf8')
        .split('\n')
        .map((line) => line.split(':')[2]),
    );
    const added = Array.from({ length: SANDBOX_UID_SPAN }, (_, i) => FIRST_SANDBOX_UID + i)
      .filter((id) => !known.has(String(id)))
      .map((id) =>
        file === 'passwd' ? `sandbox:x:${id}:${id}::/nonexistent:/usr/sbin/nologin\n` : `sandbox:x:${id}:\n`,
      );
    const text = host.toString('utf8');
    await writeFile(join(victim, file), `${text}${text.endsWith('\n') || text === '' ? '' : '\n'}${added.join('')}`, {
      mode: 0o644,
    });
    await chmod(join(victim, file), 0o644);
  }
  const node = boxNode();
  const covered = VICTIM_DIRS.find((dir) => node.startsWith(`/usr/local/${dir}/`));
  if (covered) await writeFile(join(victim, covered, node.slice(`/usr/local/${covered}/`.length)), '');
}

/** How a boxed command ended. */
export interface BoxExit {
  /** The command's exit status; SETUP_FAILED when the box could not be made; null when killed. */
  code: number | null;
  /** The last few KiB of its stderr and stdout, for messages. */
  output: string;
}

/**
 * Runs `command` (paths as seen inside the box) as pid 1 of a fresh box built on `dirs`, with
 * exactly `env` as its environment. Refuses when namespaces are unavailable. After `deadlineMs` the
 * box is killed (unshare --kill-child takes the pid namespace down with it); when `signal` aborts it
 * is killed at once, and the promise rejects with the signal's reason once the box has ended.
 */
export async function runInBox(
  dirs: BoxDirs,
  command: string[],
  env: Record<string, string>,
  deadlineMs: number,
  signal?: AbortSignal,
): Promise<BoxExit> {
  const unavailable = boxUnavailable();
  if (unavailable) throw new Error(unavailable);
  throwIfAborted(signal);
  const node = boxNode();
  const child = spawn(
    toolPath('unshare') as string,
    [
      ...UNSHARE_ARGS,
      '--',
      '/bin/sh',
      '-c',
      SETUP_SCRIPT,
      'sandtrap-box',
      dirs.root,
      dirs.opt,
      dirs.work,
      dirs.transport,
      node,
      BOX.hostname,
      dirs.victim,
      ...command,
    ],
    { stdio: ['ignore', 'pipe', 'pipe'], env: { ...env, PATH: TOOL_PATH }, detached: true },
  );
  let output = '';
  const keep = (chunk: Buffer) => {
    output = `${output}${chunk.toString('utf8')}`.slice(-4096);
  };
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  // The box's pid 1 first: its pid namespace's other processes (the sample) die with it, and
  // unshare, still its parent, reaps it and exits, so no zombie is left to the host's init (which
  // may never reap it) and `close` comes once the namespace is empty. The whole process group
  // (unshare included) only when pid 1 cannot be found or unshare has not gone a second later.
  const killGroup = () => {
    try {
      if (child.pid) process.kill(-child.pid, 'SIGKILL');
    } catch {
      // already gone
    }
  };
  let fallback: NodeJS.Timeout | undefined;
  const kill = () => {
    const init = child.pid ? childrenOf(child.pid)[0] : undefined;
    if (init === undefined) return killGroup();
    try {
      process.kill(init, 'SIGKILL');
    } catch {
      // already gone
    }
    fallback = setTimeout(killGroup, 1_000);
  };
  const timer = setTimeout(kill, deadlineMs);
  signal?.addEventListener('abort', kill, { once: true });
  try {
    const code = await new Promise<number | null>((resolve, reject) => {
      child.on('error', reject);
      child.on('close', (status) => resolve(status));
    });
    throwIfAborted(signal);
    return { code, output };
  } finally {
    clearTimeout(timer);
    clearTimeout(fallback);
    signal?.removeEventListener('abort', kill);
  }
}

/** The pids of a process's children (empty when it has gone or the kernel does not list them). */
function childrenOf(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').split(' ').filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

/** The node binary, bound at its real path inside the box when it is not under /usr. */
export function boxNode(): string {
  return realpathSync(process.execPath);
}

/**
 * Reads at most `maxBytes` of a regular file, or null when it is missing, larger, or not a regular
 * file. It does not follow a final symlink: only the agent writes where this reads, but a file from
 * inside the box is read as if anything could have put it there.
 */
export async function readBounded(path: string, maxBytes: number): Promise<Buffer | null> {
  let handle: Awaited<ReturnType<typeof open>>;
  try {
    handle = await open(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch {
    return null;
  }
  try {
    const info = await handle.stat();
    if (!info.isFile() || info.size > maxBytes) return null;
    const buffer = Buffer.alloc(info.size);
    const { bytesRead } = await handle.read(buffer, 0, info.size, 0);
    return buffer.subarray(0, bytesRead);
  } finally {
    await handle.close();
  }
}
