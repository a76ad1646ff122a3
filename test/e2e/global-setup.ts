import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CreateBucketCommand } from '@aws-sdk/client-s3';
import type { TestProject } from 'vitest/node';
import type { SandtrapConfigInput } from '../../lib/config';
import { type DeployedStack, stackFromOutputs } from '../../deployed/stack';
import { createE2eClients, destroyE2eClients, putVendorSecrets } from './harness/aws';
import { bootstrap, deploy, synth, type CdkRun } from './harness/cdk';
import type { E2eContext } from './harness/context';
import { EcsDataPlane, playDetonation } from './harness/ecs-data-plane';
import {
  ministackAwsEnv,
  ministackPythonVersion,
  processEnvFor,
  startMiniStack,
  type MiniStack,
} from './harness/ministack';
import { createTestTls, trustEnv } from './harness/tls';
import { SINK_OUTPUTS, SINK_STACK } from './harness/sink';
import {
  AcceleratedClock,
  startControlServer,
  startVendors,
  type ControlServer,
  type E2eVendors,
} from './harness/vendors';

/** The stack, which the e2e apps deploy with their own ingest bucket: the tests upload there. */
function withIngestBucket(stack: DeployedStack): DeployedStack & { ingestBucket: string } {
  if (!stack.ingestBucket) throw new Error(`stack ${stack.name} has no ingest bucket output`);
  return { ...stack, ingestBucket: stack.ingestBucket };
}

const ROOT = join(import.meta.dirname, '..', '..');
/** Everything of one run lives here (git-ignored): logs, the configuration, assemblies, outputs. */
const WORK_DIR = join(ROOT, '.sandtrap', 'e2e');
const STACK = 'Sandtrap';
/** Where the IAM-enforcing MiniStack of the guarded stack listens. */
const GUARDED_PORT = 4567;
/** A second deployment of the same app that acts on verdicts: quarantine and read-blocking on. */
const GUARDED_STACK = 'SandtrapGuarded';

/**
 * A bucket the stack does not make: created before the deploy, as a team's existing bucket would be,
 * and attached through the configuration's `sources` (issue #16). Only keys under its prefix count.
 */
const OUTSIDE_BUCKET = { name: 'team-existing-uploads', prefix: 'incoming/' } as const;

/** Hard limits per step: a hung step fails the run instead of stalling CI. */
const LIMITS = { synth: 180_000, bootstrap: 120_000, deploy: 180_000 };

/** The stack configuration of the run: both emulators, polled every 10 (scaled) seconds. */
function e2eConfig(vendors: E2eVendors): SandtrapConfigInput {
  return {
    sources: [{ bucket: OUTSIDE_BUCKET.name, prefixes: [OUTSIDE_BUCKET.prefix] }],
    // MiniStack's Node workers cannot resolve an external @aws-sdk/* from a function's code directory.
    bundleAwsSdk: true,
    // Crashes and DynamoDB throttling for the fault test's uploads, named in their keys (faults.e2e.test.ts).
    faultInjection: { keyPrefix: 'e2e/faults/' },
    // MiniStack 1.5.33's CloudFormation rejects AWS::EC2::FlowLog, SecurityGroupIngress and
    // SecurityGroupEgress ("Unrecognized resource types"); no Docker engine builds the image, and none
    // pulls it (the data plane is played on the host), so any literal URI serves.
    detonationTask: { imageUri: 'public.ecr.aws/sandtrap/detonation:e2e', emulatorCompatible: true },
    // MiniStack runs Python functions on its own interpreter (x86_64 here), not Lambda's arm64 3.12.
    staticEngine: { emulatorPython: ministackPythonVersion(ROOT) },
    settings: {
      // The functions run on the wall clock and the emulators on an accelerated one, so a vendor's own
      // time estimate would be read on the wrong clock: poll on a fixed schedule instead.
      poll: {
        scheduleSeconds: [10],
        useVendorHints: false,
        elapsedFraction: 0,
        minWaitSeconds: 5,
        maxWaitSeconds: 900,
      },
      // The host plays the Fargate task (harness/ecs-data-plane.ts): it must end within MiniStack's
      // scaled `.sync` poll limit (about 30 s), hence a short agent deadline.
      detonation: { enabled: true, agent: { timeout: 12, idle_timeout: 4 } },
      vendors: vendors.vendorConfigs,
    },
  };
}

/** The guarded stack's configuration: the vendors only, and the verdict actions on. */
function guardedConfig(vendors: E2eVendors): SandtrapConfigInput {
  const base = e2eConfig(vendors);
  return {
    ...base,
    // The outside bucket lives on the other MiniStack.
    sources: [],
    busName: 'sandtrap-guarded',
    actions: {
      quarantine: { enabled: true },
      readBlocking: { enabled: true, adminRoleArns: ['arn:aws:iam::000000000000:role/e2e-admin'] },
    },
    settings: { ...base.settings, detonation: { enabled: false } },
  };
}

const log = (message: string) => process.stderr.write(`[e2e] ${message}\n`);

/**
 * Brings up a deployed Sandtrap for the e2e tests: MiniStack on 127.0.0.1:4566 (fresh state), the
 * CAPE and VMRay emulators on loopback, `cdk bootstrap`, `cdk deploy` of the real stack and of a
 * sink stack (a rule on the `sandtrap` bus into a queue), the vendor secret, the ECS data plane.
 * Returns the teardown, which stops everything it started.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const started = Date.now();
  const timings: Record<string, number> = {};
  const time = async <T>(label: string, step: () => Promise<T>): Promise<T> => {
    const t = Date.now();
    try {
      return await step();
    } finally {
      timings[label] = Date.now() - t;
    }
  };
  rmSync(WORK_DIR, { recursive: true, force: true });
  mkdirSync(WORK_DIR, { recursive: true });
  const ministackLog = join(WORK_DIR, 'ministack.log');
  const guardedMinistackLog = join(WORK_DIR, 'ministack-guarded.log');

  let ministack: MiniStack | undefined;
  let guardedMinistack: MiniStack | undefined;
  let guardedClients: ReturnType<typeof createE2eClients> | undefined;
  let vendors: E2eVendors | undefined;
  let control: ControlServer | undefined;
  let dataPlane: EcsDataPlane | undefined;
  let clients: ReturnType<typeof createE2eClients> | undefined;
  const abort = new AbortController();
  const teardown = async () => {
    abort.abort();
    await dataPlane?.stop();
    await control?.stop();
    await vendors?.stop();
    if (clients) destroyE2eClients(clients);
    if (guardedClients) destroyE2eClients(guardedClients);
    await Promise.all([ministack?.stop(), guardedMinistack?.stop()]);
  };

  try {
    // The guarded stack gets a MiniStack of its own that enforces IAM (over TLS, see startMiniStack):
    // read-blocking is a bucket policy, which only an IAM-enforcing endpoint applies.
    const tls = createTestTls(join(WORK_DIR, 'tls'));
    [ministack, guardedMinistack] = await time('MiniStack start', () =>
      Promise.all([
        startMiniStack({ root: ROOT, logFile: ministackLog }),
        startMiniStack({ root: ROOT, logFile: guardedMinistackLog, port: GUARDED_PORT, enforceIam: tls }),
      ]),
    );
    await ministack.reset();
    const server = ministack;
    const guardedServer = guardedMinistack;
    vendors = await startVendors(new AcceleratedClock());
    const configFile = join(WORK_DIR, 'config.json');
    writeFileSync(configFile, JSON.stringify(e2eConfig(vendors), null, 2));
    const guardedConfigFile = join(WORK_DIR, 'config-guarded.json');
    writeFileSync(guardedConfigFile, JSON.stringify(guardedConfig(vendors), null, 2));

    const run: CdkRun = {
      root: ROOT,
      env: processEnvFor(server.endpoint, { SANDTRAP_CONFIG_FILE: configFile }),
      logFile: join(WORK_DIR, 'cdk.log'),
      explain: () => server.diagnostics(),
      signal: abort.signal,
    };
    const sandtrapAssembly = join(WORK_DIR, 'cdk.out', 'sandtrap');
    const sinkAssembly = join(WORK_DIR, 'cdk.out', 'sink');
    const guardedAssembly = join(WORK_DIR, 'cdk.out', 'guarded');
    const guardedEnv = { ...ministackAwsEnv(guardedServer.endpoint), ...trustEnv(tls) };
    const guardedRun: CdkRun = {
      ...run,
      env: processEnvFor(guardedServer.endpoint, { SANDTRAP_CONFIG_FILE: guardedConfigFile, ...trustEnv(tls) }),
      logFile: join(WORK_DIR, 'cdk-guarded.log'),
      explain: () => guardedServer.diagnostics(),
    };
    // esbuild bundling the functions dominates; bootstrap only needs some assembly, so it runs meanwhile.
    await Promise.all([
      ...(
        [
          [run, STACK, sandtrapAssembly],
          [guardedRun, GUARDED_STACK, guardedAssembly],
        ] as const
      ).map(([cdk, stackName, outDir]) =>
        time(`synth ${stackName}`, () =>
          synth(cdk, {
            label: `cdk synth ${stackName}`,
            outDir,
            context: { nag: 'off', stackName },
            timeoutMs: LIMITS.synth,
          }),
        ),
      ),
      time('synth sink + bootstraps', async () => {
        await synth(run, {
          label: 'cdk synth sink',
          app: `${process.execPath} --import tsx ${join('test', 'e2e', 'sink-app.ts')}`,
          outDir: sinkAssembly,
          timeoutMs: LIMITS.synth,
        });
        await Promise.all([
          bootstrap(run, { assembly: sinkAssembly, timeoutMs: LIMITS.bootstrap }),
          bootstrap(guardedRun, { assembly: sinkAssembly, timeoutMs: LIMITS.bootstrap }),
        ]);
      }),
    ]).catch((error: unknown) => {
      abort.abort();
      throw error;
    });
    // The team's bucket exists before Sandtrap is deployed, with notifications of its own (none here:
    // MiniStack has no queue yet), and must be attached as it is.
    await time('outside bucket', async () => {
      const s3 = createE2eClients(server.endpoint);
      try {
        await s3.s3.send(new CreateBucketCommand({ Bucket: OUTSIDE_BUCKET.name }));
      } finally {
        destroyE2eClients(s3);
      }
    });
    const outputs = await time('deploy Sandtrap', () =>
      deploy(run, {
        assembly: sandtrapAssembly,
        stack: STACK,
        outputsFile: join(WORK_DIR, 'outputs-sandtrap.json'),
        timeoutMs: LIMITS.deploy,
      }),
    );
    clients = createE2eClients(server.endpoint);
    const e2eClients = clients;
    const [sink, guardedOutputs] = await Promise.all([
      time('deploy sink', () =>
        deploy(run, {
          assembly: sinkAssembly,
          stack: SINK_STACK,
          outputsFile: join(WORK_DIR, 'outputs-sink.json'),
          timeoutMs: LIMITS.deploy,
        }),
      ),
      time('deploy SandtrapGuarded', () =>
        deploy(guardedRun, {
          assembly: guardedAssembly,
          stack: GUARDED_STACK,
          outputsFile: join(WORK_DIR, 'outputs-guarded.json'),
          timeoutMs: LIMITS.deploy,
        }),
      ),
      putVendorSecrets(e2eClients, STACK, vendors.secretValues),
    ]);
    guardedClients = createE2eClients(guardedServer.endpoint, { caFile: tls.caFile });
    await putVendorSecrets(guardedClients, GUARDED_STACK, vendors.secretValues);
    control = await startControlServer(vendors);
    dataPlane = new EcsDataPlane(e2eClients.ecs, playDetonation, log);
    dataPlane.start();

    const context: E2eContext = {
      endpoint: server.endpoint,
      env: ministackAwsEnv(server.endpoint),
      stackName: STACK,
      stack: withIngestBucket(
        stackFromOutputs(
          STACK,
          'CREATE_COMPLETE',
          Object.entries(outputs).map(([OutputKey, OutputValue]) => ({ OutputKey, OutputValue })),
        ),
      ),
      guardedEndpoint: guardedServer.endpoint,
      guardedEnv,
      guardedCaFile: tls.caFile,
      guardedStackName: GUARDED_STACK,
      guardedStack: withIngestBucket(
        stackFromOutputs(
          GUARDED_STACK,
          'CREATE_COMPLETE',
          Object.entries(guardedOutputs).map(([OutputKey, OutputValue]) => ({ OutputKey, OutputValue })),
        ),
      ),
      outsideBucket: OUTSIDE_BUCKET,
      queueUrl: required(sink, SINK_OUTPUTS.queueUrl),
      controlUrl: control.url,
      logDir: WORK_DIR,
      ministackLog,
    };
    project.provide('e2e', context);
    timings['setup total'] = Date.now() - started;
    log(
      `ready in ${(timings['setup total'] / 1000).toFixed(1)} s: ${Object.entries(timings)
        .map(([k, v]) => `${k} ${(v / 1000).toFixed(1)} s`)
        .join(', ')}`,
    );
  } catch (error) {
    const diagnostics = [ministack?.diagnostics() ?? '', guardedMinistack?.diagnostics() ?? '']
      .filter(Boolean)
      .join('\n');
    await teardown();
    const message = (error as Error).message;
    throw new Error(diagnostics && !message.includes(diagnostics) ? `${message}\n${diagnostics}` : message);
  }

  return async () => {
    const handled = dataPlane?.handled ?? [];
    await teardown();
    timings['whole run'] = Date.now() - started;
    writeFileSync(join(WORK_DIR, 'timings.json'), `${JSON.stringify(timings, null, 2)}\n`);
    log(
      `${handled.length} detonation task(s) played; whole run ${(timings['whole run'] / 1000).toFixed(1)} s; logs in ${WORK_DIR}`,
    );
  };
}

function required(outputs: Record<string, string>, key: string): string {
  const value = outputs[key];
  if (!value) throw new Error(`stack outputs lack ${key}: ${JSON.stringify(outputs)}`);
  return value;
}
