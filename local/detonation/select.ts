import { existsSync } from 'node:fs';
import { detonationImageUnavailable, dockerEngineAnswers } from './image';
import type { Detonator } from './detonator';
import { dockerDetonator } from './docker-detonator';
import { boxUnavailable } from './host-sandbox';

export { dockerDetonator };

/** Which detonator to use: the first that can run (`auto`), one in particular, or none. */
export type DetonatorChoice = 'auto' | 'host' | 'docker' | 'none';

export type { Detonator };

/** The detonator to use, or why there is none. */
export type DetonatorSelection =
  | { detonator: Detonator; reason?: undefined }
  | { detonator?: undefined; reason: string };

/**
 * The agent in a box of its own namespaces (network with loopback only, pid, ipc, uts, mount over an
 * allow-listed root; see host-sandbox.ts), run as root because it drops the sample to an
 * unprivileged uid under strace. The host side fetches the sample and uploads the report, so
 * neither the agent nor the sample can reach any host process or port. It refuses, never runs
 * unboxed, where the namespaces cannot be made.
 */
export const hostDetonator: Detonator = {
  kind: 'host',
  async run(env, options) {
    const { detonateInBox } = await import('./boxed-agent');
    return detonateInBox(env, options);
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
  if (!dockerEngineAnswers()) return 'no Docker engine answers (`docker info` failed)';
  const image = detonationImageUnavailable();
  return image ? `the detonation image cannot be built: ${image}` : undefined;
}

/**
 * Picks the detonator: `auto` prefers Docker (the detonation image with the task's settings and no
 * network), then the host; a clear reason when neither can run.
 */
export function selectDetonator(choice: DetonatorChoice = 'auto'): DetonatorSelection {
  if (choice === 'none') return { reason: 'detonation is switched off (--detonator none)' };
  const docker = choice === 'host' ? 'not chosen' : dockerCanRun();
  if (!docker) return { detonator: dockerDetonator };
  const host = choice === 'docker' ? 'not chosen' : hostCanRun();
  if (!host) return { detonator: hostDetonator };
  return {
    reason: `no detonator can run here: ${choice === 'host' ? host : docker}${choice === 'auto' ? `; ${host}` : ''}`,
  };
}
