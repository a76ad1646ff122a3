/**
 * The detonation container's runtime settings, in one place for both places that run it: the Fargate
 * task definition (`lib/detonation.ts`) and the local Docker detonator (`local/detonation/docker-detonator.ts`,
 * which turns them into `docker run` flags). No CDK imports: the CLI loads this without aws-cdk-lib.
 */

/** Name of the detonation container: `EcsRunTask` container overrides address it by this name. */
export const DETONATION_CONTAINER_NAME = 'detonation';

/** Writable directory of the agent (trace output and the sandbox's home); the rest of the root file system is read-only. */
export const DETONATION_WORK_DIR = '/run/detonation';

/** Linux capabilities by their names without `CAP_` (as ECS and Docker spell them). */
export type CapabilityName =
  | 'AUDIT_WRITE'
  | 'CHOWN'
  | 'DAC_OVERRIDE'
  | 'FOWNER'
  | 'FSETID'
  | 'KILL'
  | 'MKNOD'
  | 'NET_BIND_SERVICE'
  | 'NET_RAW'
  | 'SETFCAP'
  | 'SETGID'
  | 'SETPCAP'
  | 'SETUID'
  | 'SYS_CHROOT'
  | 'SYS_PTRACE';

/** A writable scratch volume: on Fargate a task volume on ephemeral storage, locally an anonymous volume. */
export interface ScratchVolume {
  readonly name: string;
  readonly containerPath: string;
}

/** What the detonation container runs with, wherever it runs. */
export interface DetonationTaskSettings {
  /** Task CPU units (1024 per vCPU): one vCPU for the sample, one for strace and the agent. */
  readonly cpu: number;
  /** Task memory in MiB (a valid Fargate combination with {@link cpu}). */
  readonly memoryLimitMiB: number;
  /**
   * The container's user: root, because the agent starts each sample under its own unprivileged uid
   * (setpriv) and traces it; the sample itself never has a capability.
   */
  readonly user: string;
  /** Only the scratch volumes are writable. */
  readonly readonlyRootFilesystem: boolean;
  /** An init process reaps the orphans the sample leaves behind (daemonized children the agent kills). */
  readonly initProcessEnabled: boolean;
  /**
   * Capabilities added to the runtime's default set. Fargate accepts only SYS_PTRACE here: strace's
   * `-yy`, `pidfd_getfd` and `/proc/<pid>/mem` of the sandbox uid need it.
   */
  readonly addCapabilities: readonly CapabilityName[];
  /**
   * Capabilities removed from the runtime's default set (Docker's and Fargate's are the same): what the
   * agent never uses, so a sample that became root in the container could not use them either. The
   * agent keeps CHOWN (the sample's home), DAC_OVERRIDE and FOWNER (measuring and removing the sample's
   * files), SETUID, SETGID and SETPCAP (setpriv to the sandbox uid with an empty bounding set) and KILL
   * (the sweep of the sandbox uid).
   */
  readonly dropCapabilities: readonly CapabilityName[];
  /** Writable scratch volumes: `/tmp` and the agent's work root. */
  readonly scratchVolumes: readonly ScratchVolume[];
  /** Seconds between SIGTERM and SIGKILL, for the agent to kill the sandbox and upload a partial report. */
  readonly stopTimeoutSeconds: number;
}

/** The settings of the detonation task definition and of every local detonation container. */
export const DETONATION_TASK_SETTINGS: DetonationTaskSettings = {
  cpu: 2048,
  memoryLimitMiB: 4096,
  user: '0',
  readonlyRootFilesystem: true,
  initProcessEnabled: true,
  addCapabilities: ['SYS_PTRACE'],
  dropCapabilities: ['AUDIT_WRITE', 'FSETID', 'MKNOD', 'NET_BIND_SERVICE', 'NET_RAW', 'SETFCAP', 'SYS_CHROOT'],
  scratchVolumes: [
    { name: 'tmp', containerPath: '/tmp' },
    { name: 'work', containerPath: DETONATION_WORK_DIR },
  ],
  stopTimeoutSeconds: 30,
};
