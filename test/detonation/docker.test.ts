import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import type { DetonationReport } from '../../lambdas/core/contracts/detonation-report';
import { DETONATION_ENV } from '../../lib/contracts';
import { DETONATION_TASK_SETTINGS, type DetonationTaskSettings } from '../../lib/detonation-task';
import { dockerEngineAnswers, ensureDetonationImage } from '../../local/detonation/image';
import { DEFAULT_WORK_ROOT } from '../../container/agent/detonate';
import { processesOfUid } from '../../container/agent/procfs';
import { dropTo, PROCESS_LIMIT, sweepUid } from '../../container/agent/run';
import { leaseSandboxUser } from '../../container/agent/sandbox-user';
import { BOX_PATHS, dockerDetonator, dockerRunArgs, SANDBOX_UID_ENV } from '../../local/detonation/docker-detonator';
import { hostDetonator, selectDetonator } from '../../local/detonation/select';
import { detonationEnvOf } from '../e2e/harness/ecs-data-plane';
import { Canaries, detonateThrough } from '../redteam/harness';
import { indicatorIds, PresignedStandIn, SAMPLES } from './harness';

const TARGET = {
  image: 'sandtrap-detonation:test',
  name: 'sandtrap-detonation-test',
  inputDir: '/tmp/box/in',
  outputDir: '/tmp/box/out',
  hostCpus: 8,
};

/** Every value of a repeatable flag, in order (`--flag value` pairs). */
function values(args: readonly string[], flag: string): string[] {
  return args.flatMap((arg, i) => (arg === flag ? [args[i + 1] ?? ''] : []));
}

describe('dockerRunArgs: the task definition settings as docker run flags', () => {
  it('turns DETONATION_TASK_SETTINGS into the same isolation: no network, read-only root, user, capabilities, init, limits, scratch volumes', () => {
    const args = dockerRunArgs(DETONATION_TASK_SETTINGS, TARGET);
    const s = DETONATION_TASK_SETTINGS;
    expect(args[0]).toBe('run');
    expect(args.at(-1)).toBe(TARGET.image);
    expect(values(args, '--network')).toEqual(['none']);
    expect(args).toContain('--read-only');
    expect(values(args, '--user')).toEqual([s.user]);
    expect(args.includes('--init')).toBe(s.initProcessEnabled);
    expect(values(args, '--cap-add')).toEqual(s.addCapabilities);
    expect(values(args, '--cap-drop')).toEqual(s.dropCapabilities);
    expect(values(args, '--cpus')).toEqual([String(s.cpu / 1024)]);
    expect(values(args, '--memory')).toEqual([`${s.memoryLimitMiB}m`]);
    // No swap beyond the memory limit, as on Fargate.
    expect(values(args, '--memory-swap')).toEqual([`${s.memoryLimitMiB}m`]);
    expect(values(args, '--stop-timeout')).toEqual([String(s.stopTimeoutSeconds)]);
    expect(values(args, '--mount')).toEqual([
      ...s.scratchVolumes.map((v) => `type=volume,destination=${v.containerPath}`),
      `type=bind,source=${TARGET.inputDir},destination=${BOX_PATHS.input},readonly`,
      `type=bind,source=${TARGET.outputDir},destination=${BOX_PATHS.output}`,
    ]);
    expect(args).toContain('--rm');
    for (const forbidden of ['--privileged', '--pid', '--ipc', '--userns', '--security-opt', '-v', '--volume', '-p'])
      expect(args, forbidden).not.toContain(forbidden);
  });

  it('passes the per-run values by name only, never their contents', () => {
    const args = dockerRunArgs(DETONATION_TASK_SETTINGS, TARGET);
    expect(values(args, '-e').sort()).toEqual([...Object.values(DETONATION_ENV), SANDBOX_UID_ENV].sort());
    for (const value of values(args, '-e')) expect(value).not.toContain('=');
  });

  it('follows the settings object rather than constants of its own', () => {
    const other: DetonationTaskSettings = {
      ...DETONATION_TASK_SETTINGS,
      cpu: 1024,
      memoryLimitMiB: 2048,
      user: '0:0',
      readonlyRootFilesystem: false,
      initProcessEnabled: false,
      dropCapabilities: ['NET_RAW'],
      scratchVolumes: [{ name: 'scratch', containerPath: '/scratch' }],
      stopTimeoutSeconds: 5,
    };
    const args = dockerRunArgs(other, TARGET);
    expect(values(args, '--cpus')).toEqual(['1']);
    expect(values(args, '--memory')).toEqual(['2048m']);
    expect(values(args, '--user')).toEqual(['0:0']);
    expect(args).not.toContain('--read-only');
    expect(args).not.toContain('--init');
    expect(values(args, '--cap-drop')).toEqual(['NET_RAW']);
    expect(values(args, '--stop-timeout')).toEqual(['5']);
    expect(values(args, '--mount')[0]).toBe('type=volume,destination=/scratch');
    expect(values(args, '--network')).toEqual(['none']);
  });

  it("caps the task's vCPUs to the machine's CPUs (docker refuses more)", () => {
    expect(values(dockerRunArgs(DETONATION_TASK_SETTINGS, { ...TARGET, hostCpus: 1 }), '--cpus')).toEqual(['1']);
  });
});

describe('the e2e ECS data plane', () => {
  it("hands the task's container overrides to the Docker detonator as the container's environment", () => {
    const request = {
      cluster: 'c',
      taskArn: 'arn:task/1',
      sampleUrl: 'http://127.0.0.1:4566/ingest/x?X-Amz-Signature=s',
      reportUrl: 'http://127.0.0.1:4566/reports/x?X-Amz-Signature=r',
      pcapUrl: 'http://127.0.0.1:4566/reports/x.pcap?X-Amz-Signature=p',
      sampleName: 'x.sh',
    };
    expect(detonationEnvOf({ ...request, config: { timeout: 20 } })).toEqual({
      [DETONATION_ENV.sampleUrl]: request.sampleUrl,
      [DETONATION_ENV.reportUrl]: request.reportUrl,
      [DETONATION_ENV.pcapUrl]: request.pcapUrl,
      [DETONATION_ENV.sampleName]: 'x.sh',
      [DETONATION_ENV.agentConfig]: '{"timeout":20}',
    });
    // Not JSON: passed as it came, so the agent reports the invalid configuration itself.
    expect(detonationEnvOf({ ...request, config: 'not json' })[DETONATION_ENV.agentConfig]).toBe('not json');
    expect(detonationEnvOf({ ...request, config: undefined })).not.toHaveProperty(DETONATION_ENV.agentConfig);
  });
});

describe('selectDetonator', () => {
  async function selectionWith(engine: boolean, imageProblem: string | undefined) {
    vi.resetModules();
    vi.doMock('../../local/detonation/image', async (importOriginal) => ({
      ...(await importOriginal<typeof import('../../local/detonation/image')>()),
      dockerEngineAnswers: () => engine,
      detonationImageUnavailable: () => imageProblem,
    }));
    try {
      const { selectDetonator: select } = await import('../../local/detonation/select');
      return { auto: select('auto'), docker: select('docker'), host: select('host') };
    } finally {
      vi.doUnmock('../../local/detonation/image');
      vi.resetModules();
    }
  }

  it('prefers Docker under auto when an engine answers and the image exists or can be built', async () => {
    const { auto, host } = await selectionWith(true, undefined);
    expect(auto.detonator?.kind).toBe('docker');
    expect(host.detonator?.kind ?? host.reason).not.toBe('docker');
  });

  it('falls back to the host without an engine or an image, and says why when Docker was asked for', async () => {
    for (const [engine, problem] of [
      [false, undefined],
      [true, 'container/Dockerfile is missing'],
    ] as const) {
      const { auto, docker } = await selectionWith(engine, problem);
      if (process.getuid?.() === 0) expect(auto.detonator?.kind).toBe('host');
      expect(docker.detonator).toBeUndefined();
      expect(docker.reason).toMatch(engine ? /cannot be built: container\/Dockerfile is missing/ : /no Docker engine/);
    }
  });
});

const engine = dockerEngineAnswers();
const required = process.env.SANDTRAP_DOCKER_TESTS === '1';
const hostCanDetonate = selectDetonator('host').detonator !== undefined;

describe.skipIf(!engine && !required)('the Docker detonator with the detonation image', () => {
  const s3 = new PresignedStandIn();
  const canaries = new Canaries();
  let image = '';
  let emptyDir = '';

  beforeAll(async () => {
    await Promise.all([s3.start(), canaries.start()]);
    emptyDir = await mkdtemp(join(tmpdir(), 'sandtrap-docker-test-'));
    // Built once per content (CI builds it before the tests; a missing one is built here).
    image = await ensureDetonationImage();
  }, 600_000);
  // Each test judges only the hits during its own run.
  beforeEach(() => {
    canaries.hits.length = 0;
  });
  afterAll(async () => {
    await Promise.all([s3.stop(), canaries.stop()]);
    if (emptyDir) await rm(emptyDir, { recursive: true, force: true });
  });

  async function sample(file: string): Promise<{ name: string; body: Buffer }> {
    return { name: file.split('/').pop() ?? file, body: await readFile(`${SAMPLES}${file}`) };
  }

  /** Runs the image with the detonator's flags but another program, to look at the box itself. */
  function inBox(program: string): Promise<{ code: number; stdout: string }> {
    const args = dockerRunArgs(DETONATION_TASK_SETTINGS, {
      image,
      name: `sandtrap-detonation-probe-${process.pid}`,
      inputDir: emptyDir,
      outputDir: emptyDir,
      hostCpus: 1,
    });
    args.splice(args.length - 1, 0, '--entrypoint', 'python3');
    args.push('-c', program);
    return new Promise((resolve, reject) => {
      const child = spawn('docker', args, { stdio: ['ignore', 'pipe', 'ignore'] });
      let stdout = '';
      child.stdout.on('data', (chunk: Buffer) => {
        stdout += chunk.toString('utf8');
      });
      child.on('error', reject);
      child.on('close', (code) => resolve({ code: code ?? 1, stdout }));
    });
  }

  const reports: Record<string, { docker: DetonationReport; host?: DetonationReport }> = {};
  // These samples end on their own within seconds; without an idle cut-off a loaded machine (two
  // cores, shared) cannot end one run early and make the two detonators' reports differ.
  const COMPARABLE = { timeout: 30, idle_timeout: 0, sample_interval: 0.25 };
  const SAMPLE_FILES = ['behaviors/persistence.sh', 'behaviors/network.py', 'benign/report.py'];

  it('detonates behaviour and benign samples: a report comes back through the presigned URLs', async () => {
    for (const file of SAMPLE_FILES) {
      const { report, exitCode, capture } = await detonateThrough(dockerDetonator, s3, await sample(file), COMPARABLE);
      expect(exitCode, file).toBe(0);
      expect(report.status, file).toBe('completed');
      // The capture came out of the container and was put beside the report, as the report says.
      expect(report.capabilities.pcap, file).toBe('captured');
      expect(capture?.readUInt32LE(0), file).toBe(0xa1b2c3d4);
      expect(capture?.length, file).toBe(report.capabilities.pcapFile?.bytes);
      // The image's guard and tracer really ran: this is the agent in the container, not a stub.
      expect(report.capabilities, file).toMatchObject({ tracer: 'strace', networkGuard: true, seccompBpf: true });
      reports[file] = { docker: report };
    }
    expect(indicatorIds(reports['behaviors/persistence.sh']!.docker)).toContain('persistence.shell-init');
    expect(indicatorIds(reports['behaviors/network.py']!.docker).some((id) => id.startsWith('network.'))).toBe(true);
    expect(indicatorIds(reports['benign/report.py']!.docker)).toEqual([]);
    // The presigned URLs were used on the host side: the sample was fetched, the report and the capture put once each.
    expect(s3.requests.filter((r) => r.method === 'GET')).toHaveLength(SAMPLE_FILES.length);
    const puts = s3.requests.filter((r) => r.method === 'PUT');
    expect(puts.filter((r) => r.path.startsWith('/report/'))).toHaveLength(SAMPLE_FILES.length);
    expect(puts.filter((r) => r.path.startsWith('/pcap/'))).toHaveLength(SAMPLE_FILES.length);
    expect(puts).toHaveLength(2 * SAMPLE_FILES.length);
  }, 240_000);

  it.skipIf(!hostCanDetonate)(
    'finds the same indicators as the host detonator',
    async () => {
      for (const file of SAMPLE_FILES) {
        const docker = reports[file]?.docker;
        expect(docker, `${file} was detonated in Docker first`).toBeDefined();
        const { report: host } = await detonateThrough(hostDetonator, s3, await sample(file), COMPARABLE);
        expect(indicatorIds(docker!).sort(), `${file}: ${host.output.tail}`).toEqual(indicatorIds(host).sort());
        expect(docker!.sample.sha256, file).toBe(host.sample.sha256);
      }
    },
    240_000,
  );

  // After the comparison: the holder leaves its uid's process count to the kernel's lazy reaping of
  // orphans, and a host run leasing that uid at once can find it still at the limit.
  it.skipIf(process.getuid?.() !== 0)(
    "gives each container a sandbox uid of its own: another detonation's processes do not use up its sample's process limit",
    async () => {
      // Another detonation holds the first free sandbox uid, its sample at the process limit: the
      // kernel counts a uid's processes across containers, so a container on the same uid could not
      // even start its sample (setpriv's exec refused with EAGAIN).
      const other = await leaseSandboxUser(join(DEFAULT_WORK_ROOT, 'uids'));
      const holder = spawn(
        'setpriv',
        [...dropTo(other.uid), '--', '/bin/sh', '-c', `for i in $(seq ${PROCESS_LIMIT}); do sleep 120 & done; wait`],
        { stdio: 'ignore', detached: true },
      );
      try {
        // The holder is at the limit before the detonation starts (else this would prove nothing).
        for (let i = 0; i < 100 && (await processesOfUid(other.uid)).length < PROCESS_LIMIT; i++)
          await new Promise((resolve) => setTimeout(resolve, 50));
        expect((await processesOfUid(other.uid)).length).toBeGreaterThanOrEqual(PROCESS_LIMIT);
        const body = Buffer.from('#!/bin/sh\necho "sample ran as $(id -u)"\n');
        const { report } = await detonateThrough(
          dockerDetonator,
          s3,
          { name: 'whoami.sh', body },
          { timeout: 20, idle_timeout: 0 },
        );
        expect(report).toMatchObject({ status: 'completed', endReason: 'exited' });
        expect(report.output.tail).toMatch(/^sample ran as \d+$/m);
        expect(report.output.tail).not.toContain(`sample ran as ${other.uid}`);
      } finally {
        if (holder.pid) process.kill(-holder.pid, 'SIGKILL');
        // Gone, not just signalled, before the uid goes back to the pool: the next detonation on it
        // would otherwise find them holding its process limit.
        await sweepUid(other.uid);
        for (let i = 0; i < 100 && (await processesOfUid(other.uid, { zombies: true })).length > 0; i++) {
          await sweepUid(other.uid);
          await new Promise((resolve) => setTimeout(resolve, 50));
        }
        await other.release();
      }
    },
    120_000,
  );

  it('gives the container no network: only loopback, and the host’s loopback canaries are unreachable without the guard', async () => {
    const program = `
import os, socket
print(','.join(sorted(os.listdir('/sys/class/net'))))
for family, host, port in ((socket.AF_INET, '127.0.0.1', ${canaries.ports.tcp4}), (socket.AF_INET6, '::1', ${canaries.ports.tcp6})):
    s = socket.socket(family, socket.SOCK_STREAM)
    s.settimeout(2)
    try:
        s.connect((host, port)); s.sendall(b'box-escape'); print('connected')
    except OSError as e:
        print('refused', e.errno)
for family, host, port in ((socket.AF_INET, '127.0.0.1', ${canaries.ports.udp4}), (socket.AF_INET6, '::1', ${canaries.ports.udp6})):
    try:
        socket.socket(family, socket.SOCK_DGRAM).sendto(b'box-escape', (host, port))
    except OSError as e:
        print('unsent', e.errno)
try:
    socket.create_connection(('1.1.1.1', 53), timeout=2); print('internet')
except OSError as e:
    print('no route', e.errno)
`;
    const { code, stdout } = await inBox(program);
    expect(code).toBe(0);
    const lines = stdout.trim().split('\n');
    expect(lines[0]).toBe('lo');
    expect(stdout).not.toContain('connected');
    expect(stdout).not.toContain('internet');
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(canaries.hits).toEqual([]);
  }, 60_000);

  it('a probe sample that tries to reach the canaries or the task metadata endpoint gets nothing, and the agent records the attempts', async () => {
    const probe = Buffer.from(`#!/usr/bin/env python3
import socket
for family, host, port in ((socket.AF_INET, '127.0.0.1', ${canaries.ports.tcp4}), (socket.AF_INET6, '::1', ${canaries.ports.tcp6})):
    try:
        s = socket.socket(family, socket.SOCK_STREAM); s.settimeout(2); s.connect((host, port)); s.sendall(b'probe')
    except OSError:
        pass
for family, host, port in ((socket.AF_INET, '127.0.0.1', ${canaries.ports.udp4}), (socket.AF_INET6, '::1', ${canaries.ports.udp6})):
    try:
        socket.socket(family, socket.SOCK_DGRAM).sendto(b'probe', (host, port))
    except OSError:
        pass
# The ECS task metadata endpoint (credentials of a task role) and EC2 IMDS.
for host in ('169.254.170.2', '169.254.169.254'):
    try:
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM); s.settimeout(2); s.connect((host, 80))
    except OSError:
        pass
`);
    const { report, exitCode } = await detonateThrough(dockerDetonator, s3, { name: 'probe.py', body: probe });
    expect(exitCode).toBe(0);
    expect(report.status).toBe('completed');
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(canaries.hits).toEqual([]);
    // The connects happened and were seen (redirected or refused inside the box), not silently lost.
    const ports = report.network.connections.items.map((c) => c.port);
    expect(ports).toContain(canaries.ports.tcp4);
    expect(ports).toContain(canaries.ports.udp4);
    // The sample uid never reaches the task metadata endpoint: the guard refuses link-local outright.
    const metadata = report.network.connections.items.filter((c) => c.address.startsWith('169.254.'));
    expect(metadata.map((c) => c.address).sort()).toEqual(['169.254.169.254', '169.254.170.2']);
    for (const connection of metadata) expect(connection.action, connection.address).toBe('blocked');
  }, 120_000);
});
