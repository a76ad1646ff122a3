import {
  DescribeTasksCommand,
  ListClustersCommand,
  ListTasksCommand,
  StopTaskCommand,
  type ECSClient,
  type Task,
} from '@aws-sdk/client-ecs';
import { DETONATION_ENV } from '../../../lib/contracts';
import { dockerDetonator } from '../../../local/detonation/docker-detonator';

/** One detonation task as the data plane hands it to the host: what the container would have read from its environment. */
export interface DetonationTaskRequest {
  cluster: string;
  taskArn: string;
  /** Presigned GET of the sample. */
  sampleUrl: string;
  /** Presigned PUT of the report. */
  reportUrl: string;
  /** Presigned PUT of the packet capture, beside the report. */
  pcapUrl?: string;
  sampleName: string;
  /** `AGENT_CONFIG`, parsed when it is JSON (the agent validates it). */
  config: unknown;
}

/** Runs one detonation in place of the Fargate container. */
export type DetonationRunner = (request: DetonationTaskRequest) => Promise<void>;

/** The container's environment for a request: the task's overrides, as the Fargate container would read them. */
export function detonationEnvOf(request: DetonationTaskRequest): Record<string, string> {
  const env: Record<string, string> = {
    [DETONATION_ENV.sampleUrl]: request.sampleUrl,
    [DETONATION_ENV.reportUrl]: request.reportUrl,
    ...(request.pcapUrl ? { [DETONATION_ENV.pcapUrl]: request.pcapUrl } : {}),
    [DETONATION_ENV.sampleName]: request.sampleName,
  };
  // A configuration that was not JSON goes in as it came, for the agent to report as invalid.
  if (request.config !== undefined)
    env[DETONATION_ENV.agentConfig] =
      typeof request.config === 'string' ? request.config : JSON.stringify(request.config);
  return env;
}

/**
 * Plays the ECS data plane's container: the detonation image runs under the local Docker engine with
 * the task's container overrides and the task definition's settings (`DETONATION_TASK_SETTINGS`:
 * no network, read-only root, SYS_PTRACE, limits), through the same Docker detonator as the CLI.
 * The presigned URLs point at MiniStack on 127.0.0.1, which a container without a network cannot
 * reach, so the host side fetches the sample and PUTs the report, as the Docker detonator always
 * does. The agent must finish well within MiniStack's `.sync` poll limit (600 polls × 1 s ×
 * SFN_WAIT_SCALE ≈ 30 s): the e2e configuration caps its timeout, and the image should be built
 * before the run (`npx tsx scripts/build-detonation-image.ts`, as .ci/run does), or the first task
 * waits for the build.
 */
export const playDetonation: DetonationRunner = async (request) => {
  const exitCode = await dockerDetonator.run(detonationEnvOf(request));
  if (exitCode !== 0) throw new Error(`the detonation container exited with ${exitCode}`);
};

/** What happened to one task the data plane handled. */
export interface HandledTask {
  taskArn: string;
  sampleName: string;
  ok: boolean;
  error?: string;
  ms: number;
}

/** Reads a task's detonation request from its container overrides; `undefined` for any other task. */
export function detonationRequestOf(cluster: string, task: Task): DetonationTaskRequest | undefined {
  for (const container of task.overrides?.containerOverrides ?? []) {
    const env = new Map((container.environment ?? []).map((e) => [e.name, e.value ?? '']));
    const sampleUrl = env.get(DETONATION_ENV.sampleUrl);
    const reportUrl = env.get(DETONATION_ENV.reportUrl);
    const pcapUrl = env.get(DETONATION_ENV.pcapUrl);
    if (!sampleUrl || !reportUrl || !task.taskArn) continue;
    const rawConfig = env.get(DETONATION_ENV.agentConfig);
    let config: unknown = rawConfig;
    try {
      config = rawConfig ? JSON.parse(rawConfig) : undefined;
    } catch {
      // Not JSON: the agent reports the invalid configuration itself.
    }
    return {
      cluster,
      taskArn: task.taskArn,
      sampleUrl,
      reportUrl,
      ...(pcapUrl ? { pcapUrl } : {}),
      sampleName: env.get(DETONATION_ENV.sampleName) ?? 'sample',
      config,
    };
  }
  return undefined;
}

/**
 * Plays the ECS data plane for detonation tasks: polls `ListTasks`/`DescribeTasks` on every cluster,
 * hands each new detonation task to the runner, then calls `StopTask` — whether the runner succeeded
 * or not, because MiniStack cannot end a task with a chosen exit code and a task left RUNNING only
 * turns into a `States.Timeout` later. Tasks without detonation overrides are left alone.
 */
export class EcsDataPlane {
  /** Every task handled so far. */
  readonly handled: HandledTask[] = [];
  private readonly seen = new Set<string>();
  private readonly inFlight = new Set<Promise<void>>();
  private running = false;
  private loop?: Promise<void>;

  constructor(
    private readonly ecs: ECSClient,
    private readonly run: DetonationRunner = playDetonation,
    private readonly log: (message: string) => void = () => undefined,
    private readonly pollMs = 250,
  ) {}

  start(): void {
    if (this.running) return;
    this.running = true;
    this.loop = this.watch();
  }

  /** Stops watching and waits for the detonations in flight. */
  async stop(): Promise<void> {
    this.running = false;
    await this.loop;
    await Promise.allSettled([...this.inFlight]);
  }

  private async watch(): Promise<void> {
    while (this.running) {
      try {
        await this.scan();
      } catch (error) {
        this.log(`ecs data plane: ${(error as Error).message}`);
      }
      await new Promise((resolve) => setTimeout(resolve, this.pollMs));
    }
  }

  /** One look at every cluster's running tasks. */
  async scan(): Promise<void> {
    const { clusterArns = [] } = await this.ecs.send(new ListClustersCommand({}));
    for (const cluster of clusterArns) {
      const { taskArns = [] } = await this.ecs.send(new ListTasksCommand({ cluster, desiredStatus: 'RUNNING' }));
      const fresh = taskArns.filter((arn) => !this.seen.has(arn));
      if (fresh.length === 0) continue;
      const { tasks = [] } = await this.ecs.send(new DescribeTasksCommand({ cluster, tasks: fresh }));
      for (const task of tasks) {
        if (!task.taskArn) continue;
        this.seen.add(task.taskArn);
        const request = detonationRequestOf(cluster, task);
        if (!request) continue;
        const work = this.handle(request).finally(() => this.inFlight.delete(work));
        this.inFlight.add(work);
      }
    }
  }

  private async handle(request: DetonationTaskRequest): Promise<void> {
    const started = Date.now();
    let error: string | undefined;
    try {
      await this.run(request);
    } catch (e) {
      error = (e as Error).message;
      this.log(`ecs data plane: detonation of ${request.sampleName} failed: ${error}`);
    }
    await this.ecs.send(
      new StopTaskCommand({
        cluster: request.cluster,
        task: request.taskArn,
        reason: error ? `e2e detonation failed: ${error}`.slice(0, 255) : 'e2e detonation finished',
      }),
    );
    this.handled.push({
      taskArn: request.taskArn,
      sampleName: request.sampleName,
      ok: !error,
      ...(error ? { error } : {}),
      ms: Date.now() - started,
    });
  }
}
