import { existsSync } from 'node:fs';
import { DETONATION_ENV } from '../lib/contracts';
import { detonationImageUnavailable, dockerEngineAnswers } from './detonation-image';
import { dockerDetonator } from './docker-detonator';

export { dockerDetonator };

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

/** The agent in this process: it runs the sample as an unprivileged uid under strace, so it needs root. */
export const hostDetonator: Detonator = {
  kind: 'host',
  async run(env) {
    const { runDetonation } = await import('../container/agent/detonate');
    const config = env[DETONATION_ENV.agentConfig]
      ? (JSON.parse(env[DETONATION_ENV.agentConfig] as string) as unknown)
      : {};
    try {
      await runDetonation({
        sampleUrl: env[DETONATION_ENV.sampleUrl] ?? '',
        reportUrl: env[DETONATION_ENV.reportUrl] ?? '',
        sampleName: env[DETONATION_ENV.sampleName] ?? 'sample',
        config,
      });
      return 0;
    } catch {
      // The agent reports what it could; a missing report is the collect step's to explain.
      return 1;
    }
  },
};

function hostCanRun(): string | undefined {
  if (process.platform !== 'linux') return 'the host detonator runs on Linux only';
  if (process.getuid?.() !== 0) return 'the host detonator needs root (it runs the sample as an unprivileged uid)';
  if (!['/usr/bin/strace', '/bin/strace', '/usr/local/bin/strace'].some((p) => existsSync(p)))
    return 'the host detonator needs strace (apt-get install strace)';
  return undefined;
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
