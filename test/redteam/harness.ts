import { randomBytes } from 'node:crypto';
import type { DetonationReport } from '../../lambdas/core/contracts/detonation-report';
import type { AgentConfigInput } from '../../lambdas/core/contracts/agent-config';
import { DETONATION_ENV } from '../../lib/contracts';
import { type Detonator, dockerDetonator, hostDetonator, selectDetonator } from '../../local/detonation/select';
import { FAST, type PresignedStandIn } from '../detonation/harness';
import { LoopbackRecorder } from '../detonation/loopback-recorder';

/**
 * The red-team suite's harness: canary listeners a probe must never reach, and detonation through
 * the same `Detonator` the CLI uses, so every probe runs against the host detonator and, where a
 * Docker engine answers (always in CI, which sets SANDTRAP_DOCKER_TESTS=1), the detonation image.
 */

/** What one canary saw: every connection or datagram, with the first bytes. */
export interface CanaryHit {
  canary: string;
  bytes: number;
  first: string;
}

/** TCP and UDP listeners on 127.0.0.1 and ::1 that record anything reaching them. */
export class Canaries extends LoopbackRecorder<CanaryHit> {
  /** Ports by name: tcp4, tcp6, udp4, udp6. */
  readonly ports: Record<'tcp4' | 'tcp6' | 'udp4' | 'udp6', number> = { tcp4: 0, tcp6: 0, udp4: 0, udp6: 0 };

  constructor() {
    super((canary, bytes, first) => ({ canary, bytes, first }));
  }

  async start(): Promise<void> {
    this.ports.tcp4 = await this.listenTcp('tcp4', '127.0.0.1');
    this.ports.tcp6 = await this.listenTcp('tcp6', '::1');
    this.ports.udp4 = await this.bindUdp('udp4', 'udp4', '127.0.0.1');
    this.ports.udp6 = await this.bindUdp('udp6', 'udp6', '::1');
  }
}

/** A detonator to run the suite against. */
export interface DetonatorUnderTest {
  name: 'host' | 'docker';
  detonator: Detonator;
}

/**
 * The detonators this machine can run: the host one where it can (root and strace), the Docker one
 * where an engine answers. With SANDTRAP_DOCKER_TESTS=1 (CI) Docker is required, not optional.
 */
export function detonatorsUnderTest(): DetonatorUnderTest[] {
  const list: DetonatorUnderTest[] = [];
  if (selectDetonator('host').detonator) list.push({ name: 'host', detonator: hostDetonator });
  const docker = selectDetonator('docker');
  if (docker.detonator || process.env.SANDTRAP_DOCKER_TESTS === '1')
    list.push({ name: 'docker', detonator: dockerDetonator });
  return list;
}

/** Detonates one sample through a detonator with presigned-style URLs, and returns the uploaded report. */
export async function detonateThrough(
  detonator: Detonator,
  s3: PresignedStandIn,
  sample: { name: string; body: Buffer },
  config: AgentConfigInput = FAST,
): Promise<{ report: DetonationReport; exitCode: number; capture: Buffer | undefined }> {
  const id = `${sample.name.replace(/[^A-Za-z0-9._-]/g, '_')}-${randomBytes(4).toString('hex')}`;
  const urls = s3.presign(id, sample.body);
  const exitCode = await detonator.run({
    [DETONATION_ENV.sampleUrl]: urls.sampleUrl,
    [DETONATION_ENV.reportUrl]: urls.reportUrl,
    [DETONATION_ENV.pcapUrl]: urls.pcapUrl,
    [DETONATION_ENV.sampleName]: sample.name,
    [DETONATION_ENV.agentConfig]: JSON.stringify(config),
  });
  const report = s3.reports.get(id);
  if (!report) throw new Error(`no report uploaded for ${id} (detonator exit code ${exitCode})`);
  return { report, exitCode, capture: s3.captures.get(id) };
}
