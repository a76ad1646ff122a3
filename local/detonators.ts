import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { DETONATION_ENV } from '../lib/contracts';
import { boxUnavailable } from './host-sandbox';

/** Which detonator to use: the first that can run (`auto`), one in particular, or none. */
export type DetonatorChoice = 'auto' | 'host' | 'docker' | 'none';

/** Runs the detonation agent with a task's environment, as the Fargate task would; returns its exit code. */
export interface Detonator {
  readonly kind: 'host' | 'docker';
  run(env: Record<string, string>): Promise<number>;
}

/** The detonator to use, or why there is none. */
export type DetonatorSelection =
  | { detonator: Detonator; reason?: undefined }
  | { detonator?: undefined; reason: string };

/** The image builds from the repository root (the agent imports the shared core). */
const BUILD_CONTEXT = fileURLToPath(new URL('..', import.meta.url));
const LOCAL_IMAGE = 'sandtrap-detonation:local';

/**
 * The agent in a box of its own namespaces (network with loopback only, pid, ipc, uts, mount over an
 * allow-listed root; see host-sandbox.ts), run as root because it drops the sample to an
 * unprivileged uid under strace. The host side fetches the sample and uploads the report, so
 * neither the agent nor the sample can reach any host process or port. It refuses, never runs
 * unboxed, where the namespaces cannot be made.
 */
export const hostDetonator: Detonator = {
  kind: 'host',
  async run(env) {
    const { detonateInBox } = await import('./boxed-agent');
    return detonateInBox(env);
  },
};

/**
 * The agent in the detonation image under a local Docker engine, with the task's isolation: SYS_PTRACE,
 * read-only root, scratch tmpfs. The presigned URLs point at the local S3 on 127.0.0.1, hence the host
 * network. Values go through the environment, never argv.
 */
export const dockerDetonator: Detonator = {
  kind: 'docker',
  async run(env) {
    if (spawnSync('docker', ['image', 'inspect', LOCAL_IMAGE], { stdio: 'ignore' }).status !== 0) {
      const built = spawnSync('docker', ['build', '-t', LOCAL_IMAGE, '-f', 'container/Dockerfile', BUILD_CONTEXT], {
        stdio: 'inherit',
      });
      if (built.status !== 0) throw new Error('docker build -f container/Dockerfile failed');
    }
    const names = Object.values(DETONATION_ENV);
    const args = [
      'run',
      '--rm',
      '--network',
      'host',
      '--cap-add',
      'SYS_PTRACE',
      '--read-only',
      '--tmpfs',
      '/tmp:exec',
      '--tmpfs',
      '/run/detonation:exec',
      ...names.flatMap((n) => ['-e', n]),
      LOCAL_IMAGE,
    ];
    return new Promise<number>((resolve, reject) => {
      const child = spawn('docker', args, { stdio: 'ignore', env: { ...process.env, ...env } });
      child.on('error', reject);
      child.on('exit', (code) => resolve(code ?? 1));
    });
  },
};

function hostCanRun(): string | undefined {
  if (process.platform !== 'linux') return 'the host detonator runs on Linux only';
  if (process.getuid?.() !== 0) return 'the host detonator needs root (it runs the sample as an unprivileged uid)';
  if (!['/usr/bin/strace', '/bin/strace', '/usr/local/bin/strace'].some((p) => existsSync(p)))
    return 'the host detonator needs strace (apt-get install strace)';
  return boxUnavailable();
}

function dockerCanRun(): string | undefined {
  const info = spawnSync('docker', ['info'], { stdio: 'ignore', timeout: 5_000 });
  return info.status === 0 ? undefined : 'no Docker engine answers (`docker info` failed)';
}

/** Picks the detonator: `auto` prefers the host, then Docker; a clear reason when neither can run. */
export function selectDetonator(choice: DetonatorChoice = 'auto'): DetonatorSelection {
  if (choice === 'none') return { reason: 'detonation is switched off (--detonator none)' };
  const host = choice === 'docker' ? 'not chosen' : hostCanRun();
  if (!host) return { detonator: hostDetonator };
  const docker = choice === 'host' ? 'not chosen' : dockerCanRun();
  if (!docker) return { detonator: dockerDetonator };
  return {
    reason: `no detonator can run here: ${choice === 'docker' ? docker : host}${choice === 'auto' ? `; ${docker}` : ''}`,
  };
}
