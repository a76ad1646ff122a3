import { execFile, spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { mkdir, mkdtemp, open, rm } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_WORK_ROOT } from '../../container/agent/detonate';
import { downloadSample, MAX_PCAP_UPLOAD_BYTES, uploadCapture, uploadReport } from '../../container/agent/fetch';
import { leaseSandboxUser, type SandboxUser } from '../../container/agent/sandbox-user';
import { DetonationReportSchema } from '../../lambdas/core/contracts/detonation-report';
import { parseAgentConfig } from '../../lambdas/core/contracts/agent-config';
import { DETONATION_ENV } from '../../lib/contracts';
import { DETONATION_TASK_SETTINGS, type DetonationTaskSettings } from '../../lib/detonation-task';
import { ensureDetonationImage } from './image';
import { abortReason, type DetonationOptions, type Detonator, throwIfAborted } from './detonator';

/**
 * The agent in the detonation image under a local Docker engine, with the Fargate task's settings
 * (`DETONATION_TASK_SETTINGS`) and no network at all. The presigned URLs stay on the host: the host
 * fetches the sample and hands it in through a read-only bind mount, and PUTs the report the agent
 * wrote to a bind-mounted output directory. So the sample never shares a network with anything on
 * the host (the local S3 and DynamoDB emulators of a running pipeline included).
 */

/** Where the container finds the sample and leaves the report. */
export const BOX_PATHS = {
  input: '/in',
  output: '/out',
  sample: '/in/sample',
  report: '/out/report.json',
  pcap: '/out/capture.pcap',
} as const;

/** The agent's variable for a sandbox uid leased outside the container (read by `container/agent/main.ts`). */
export const SANDBOX_UID_ENV = 'SANDTRAP_SANDBOX_UID';

/** Time for the container to start and the agent to fetch, prepare and report, beyond the sample's own deadline. */
const OVERHEAD_SECONDS = 120;
/** A report larger than this is refused rather than read (the agent caps every list it reports). */
const MAX_REPORT_BYTES = 64 * 1024 * 1024;
/** The agent's own cap on the sample when its configuration sets none. */
const DEFAULT_SAMPLE_LIMIT = 256 * 1024 * 1024;

/** What one `docker run` of the detonation image needs besides the task settings. */
export interface DockerRunTarget {
  image: string;
  /** The container's name, to stop it at the deadline. */
  name: string;
  /** Host directory with the sample, mounted read-only at {@link BOX_PATHS.input}. */
  inputDir: string;
  /** Host directory for the report, mounted at {@link BOX_PATHS.output}. */
  outputDir: string;
  /** CPUs of this machine: a task's vCPUs beyond them are capped to them. */
  hostCpus: number;
}

/**
 * The `docker run` arguments that give the container the task definition's settings: no network (the
 * task's subnets have no route out; here nothing is shared with the host), read-only root, the same
 * user, capabilities added and dropped, the init process, scratch volumes (anonymous volumes, disk
 * like Fargate's, removed with the container), CPU and memory limits without swap, the stop timeout.
 * Per-run values are passed by name (`-e NAME`) from the client's environment, never in argv.
 */
export function dockerRunArgs(settings: DetonationTaskSettings, target: DockerRunTarget): string[] {
  const cpus = Math.min(settings.cpu / 1024, target.hostCpus);
  return [
    'run',
    '--rm',
    '--name',
    target.name,
    '--network',
    'none',
    ...(settings.readonlyRootFilesystem ? ['--read-only'] : []),
    '--user',
    settings.user,
    ...(settings.initProcessEnabled ? ['--init'] : []),
    ...settings.dropCapabilities.flatMap((c) => ['--cap-drop', c]),
    ...settings.addCapabilities.flatMap((c) => ['--cap-add', c]),
    '--cpus',
    String(cpus),
    '--memory',
    `${settings.memoryLimitMiB}m`,
    '--memory-swap',
    `${settings.memoryLimitMiB}m`,
    '--stop-timeout',
    String(settings.stopTimeoutSeconds),
    ...settings.scratchVolumes.flatMap((v) => ['--mount', `type=volume,destination=${v.containerPath}`]),
    '--mount',
    `type=bind,source=${target.inputDir},destination=${BOX_PATHS.input},readonly`,
    '--mount',
    `type=bind,source=${target.outputDir},destination=${BOX_PATHS.output}`,
    // The agent's output is not evidence (the report is); the sample must not fill the host's disk with it.
    '--log-driver',
    'none',
    ...[...Object.values(DETONATION_ENV), SANDBOX_UID_ENV].flatMap((name) => ['-e', name]),
    target.image,
  ];
}

/** The agent configuration's deadline and sample cap, or the agent's defaults when it is invalid (the agent reports that). */
function limitsOf(rawConfig: string | undefined): { timeoutSeconds: number; sampleLimit: number } {
  try {
    const config = parseAgentConfig(rawConfig ? JSON.parse(rawConfig) : {}, { allowInternet: false });
    return { timeoutSeconds: config.timeout, sampleLimit: config.diskLimit ?? DEFAULT_SAMPLE_LIMIT };
  } catch {
    return { timeoutSeconds: 60, sampleLimit: DEFAULT_SAMPLE_LIMIT };
  }
}

/**
 * Where sandbox uids are leased: the host detonator's locks when this process may write them
 * (root), otherwise a lock directory of this user (a user without root runs no host detonation,
 * so only its own containers lease there).
 */
function sandboxUidLocks(): string {
  const uid = typeof process.getuid === 'function' ? process.getuid() : 0;
  return uid === 0 ? join(DEFAULT_WORK_ROOT, 'uids') : join(tmpdir(), `sandtrap-uids-${uid}`);
}

/** Reads the report the container left, refusing links, special files and oversized files. */
async function readReport(path: string): Promise<unknown> {
  return JSON.parse((await readOutput(path, MAX_REPORT_BYTES)).toString('utf8'));
}

/** A regular file the container wrote (never a link it planted), refused over `maxBytes`. */
async function readOutput(path: string, maxBytes: number): Promise<Buffer> {
  const file = await open(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  try {
    const stat = await file.stat();
    if (!stat.isFile()) throw new Error(`${path} is not a regular file`);
    if (stat.size > maxBytes) throw new Error(`${path} is larger than ${maxBytes} bytes`);
    const buffer = Buffer.alloc(stat.size);
    const { bytesRead } = await file.read(buffer, 0, stat.size, 0);
    return buffer.subarray(0, bytesRead);
  } finally {
    await file.close();
  }
}

/** Removes the container whatever its state (killing it first), bounded; a missing one is no error. */
function removeContainer(name: string): Promise<void> {
  return new Promise((resolve) => {
    execFile('docker', ['rm', '--force', name], { timeout: 10_000 }, () => resolve());
  });
}

/** Runs a docker command to its end, resolving with its exit code (bounded by `timeoutMs`). */
function docker(args: string[], env: Record<string, string>, timeoutMs: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = execFile('docker', args, { env: { ...process.env, ...env }, timeout: timeoutMs }, (error) =>
      resolve(error ? (typeof error.code === 'number' ? error.code : 1) : 0),
    );
    child.on('error', reject);
  });
}

/**
 * Runs the container to its end, stopping it (SIGTERM, then SIGKILL after the stop timeout) at the
 * deadline, and removing it at once when `signal` aborts. It is created first, then started: a name
 * that exists before anything runs is what an abort can always remove (killing a `docker run` client
 * that is still creating its container would leave that container to start and run unattended).
 */
async function runContainer(
  args: string[],
  name: string,
  env: Record<string, string>,
  deadlineMs: number,
  signal?: AbortSignal,
): Promise<number> {
  const [command, ...rest] = args;
  if (command !== 'run') throw new Error(`expected docker run arguments, not ${command}`);
  throwIfAborted(signal);
  const created = await docker(['create', ...rest], env, 60_000);
  if (created !== 0) return created;
  if (signal?.aborted) {
    await removeContainer(name);
    throw abortReason(signal);
  }
  return new Promise<number>((resolve, reject) => {
    const child = spawn('docker', ['start', '--attach', name], { stdio: 'ignore' });
    let aborted = false;
    const timer = setTimeout(() => {
      spawnSync('docker', ['stop', '--time', String(DETONATION_TASK_SETTINGS.stopTimeoutSeconds), name], {
        stdio: 'ignore',
        timeout: (DETONATION_TASK_SETTINGS.stopTimeoutSeconds + 10) * 1000,
      });
      spawnSync('docker', ['kill', name], { stdio: 'ignore', timeout: 10_000 });
    }, deadlineMs);
    const onAbort = () => {
      aborted = true;
      clearTimeout(timer);
      // No stop timeout: the analysis is over and nobody will read this report.
      void removeContainer(name).then(() => {
        child.kill('SIGKILL');
        reject(abortReason(signal as AbortSignal));
      });
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    const settle = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
    };
    child.on('error', (error) => {
      settle();
      if (!aborted) reject(error);
    });
    child.on('exit', (code) => {
      settle();
      if (!aborted) resolve(code ?? 1);
    });
  });
}

/**
 * One detonation in a container, with the presigned URLs used on the host side only. Returns the
 * container's exit code, or 1 when its report is missing or invalid or the upload failed (the collect
 * step then explains the missing report).
 */
export async function detonateInContainer(
  env: Record<string, string>,
  image: string,
  settings: DetonationTaskSettings = DETONATION_TASK_SETTINGS,
  options: DetonationOptions = {},
): Promise<number> {
  const { signal } = options;
  throwIfAborted(signal);
  const sampleUrl = env[DETONATION_ENV.sampleUrl];
  const reportUrl = env[DETONATION_ENV.reportUrl];
  if (!sampleUrl || !reportUrl) return 2;
  const { timeoutSeconds, sampleLimit } = limitsOf(env[DETONATION_ENV.agentConfig]);
  const box = await mkdtemp(join(tmpdir(), 'sandtrap-box-'));
  try {
    const inputDir = join(box, 'in');
    const outputDir = join(box, 'out');
    // Root-only: a sample that ran as the sandbox uid in the container can write neither.
    await mkdir(inputDir, { mode: 0o700 });
    await mkdir(outputDir, { mode: 0o700 });
    try {
      await downloadSample(sampleUrl, join(inputDir, 'sample'), sampleLimit);
    } catch {
      // Nothing to detonate; the collect step explains the missing report.
      return 1;
    }
    throwIfAborted(signal);
    const name = `sandtrap-detonation-${randomBytes(6).toString('hex')}`;
    const args = dockerRunArgs(settings, { image, name, inputDir, outputDir, hostCpus: availableParallelism() });
    // The uid is leased on this machine, from the same locks as the host detonator's: containers
    // share the kernel, and to it a uid's processes are one set across pid namespaces. Each
    // container leasing for itself would take the first uid in every one, and RLIMIT_NPROC, which
    // counts all of that uid's processes, would then refuse one detonation's sample its start
    // (setpriv's exec fails with EAGAIN) because another detonation's sample holds the processes.
    let user: SandboxUser;
    try {
      user = await leaseSandboxUser(sandboxUidLocks());
    } catch {
      // No uid of its own: running anyway would share one with another detonation.
      return 1;
    }
    let exitCode: number;
    try {
      exitCode = await runContainer(
        args,
        name,
        {
          [DETONATION_ENV.sampleUrl]: `file://${BOX_PATHS.sample}`,
          [DETONATION_ENV.reportUrl]: `file://${BOX_PATHS.report}`,
          ...(env[DETONATION_ENV.pcapUrl] ? { [DETONATION_ENV.pcapUrl]: `file://${BOX_PATHS.pcap}` } : {}),
          [DETONATION_ENV.sampleName]: env[DETONATION_ENV.sampleName] ?? 'sample',
          [DETONATION_ENV.agentConfig]: env[DETONATION_ENV.agentConfig] ?? '{}',
          [SANDBOX_UID_ENV]: String(user.uid),
        },
        (timeoutSeconds + OVERHEAD_SECONDS) * 1000,
        signal,
      );
    } finally {
      await user.release();
    }
    let report: ReturnType<typeof DetonationReportSchema.parse>;
    try {
      report = DetonationReportSchema.parse(await readReport(join(outputDir, 'report.json')));
    } catch {
      return exitCode === 0 ? 1 : exitCode;
    }
    // The capture first: the report that says it was captured must not arrive before it.
    const pcapUrl = env[DETONATION_ENV.pcapUrl];
    if (pcapUrl && report.capabilities.pcap === 'captured') {
      try {
        await uploadCapture(pcapUrl, await readOutput(join(outputDir, 'capture.pcap'), MAX_PCAP_UPLOAD_BYTES));
      } catch {
        // The report still goes out; its link to a missing capture is what the reader sees.
      }
    }
    try {
      await uploadReport(reportUrl, report);
    } catch {
      return 1;
    }
    return exitCode;
  } finally {
    await rm(box, { recursive: true, force: true });
  }
}

/** The Docker detonator: builds the image when it is missing, then detonates in it. */
export const dockerDetonator: Detonator = {
  kind: 'docker',
  async run(env, options) {
    const image = await ensureDetonationImage();
    return detonateInContainer(env, image, DETONATION_TASK_SETTINGS, options);
  },
};
