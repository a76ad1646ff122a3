import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { runCommand, type RunResult } from './commands';

/** Where and how the CDK CLI runs. */
export interface CdkRun {
  /** Repository root: `node_modules/aws-cdk` and `cdk.json` live there. */
  root: string;
  env: NodeJS.ProcessEnv;
  logFile: string;
  /** Added to failures (MiniStack's diagnostics). */
  explain?: () => string;
  /** Kills a running command when another step of the setup failed. */
  signal?: AbortSignal;
}

/**
 * The pinned CLI from node_modules, without npx's resolution on every call. Notices, the version
 * check and telemetry are off: each would reach the internet, and the run talks to loopback only.
 */
function cdk(run: CdkRun, label: string, args: string[], timeoutMs: number): Promise<RunResult> {
  return runCommand(
    process.execPath,
    [join(run.root, 'node_modules', 'aws-cdk', 'bin', 'cdk'), ...args, '--no-notices'],
    {
      label,
      timeoutMs,
      cwd: run.root,
      env: { ...run.env, CDK_DISABLE_VERSION_CHECK: 'true', CDK_DISABLE_CLI_TELEMETRY: 'true' },
      logFile: run.logFile,
      ...(run.explain ? { explain: run.explain } : {}),
      ...(run.signal ? { signal: run.signal } : {}),
    },
  );
}

/**
 * Synthesizes an app into `outDir` once, so that bootstrap and deploy read the assembly instead of
 * each running the app (and esbuild for every function) again.
 */
export function synth(
  run: CdkRun,
  options: { app?: string; outDir: string; context?: Record<string, string>; timeoutMs: number; label: string },
): Promise<RunResult> {
  const context = Object.entries(options.context ?? {}).flatMap(([key, value]) => ['-c', `${key}=${value}`]);
  return cdk(
    run,
    options.label,
    ['synth', '--quiet', ...(options.app ? ['--app', options.app] : []), '--output', options.outDir, ...context],
    options.timeoutMs,
  );
}

/** `cdk bootstrap` of MiniStack's account, reading an already synthesized assembly. */
export function bootstrap(run: CdkRun, options: { assembly: string; timeoutMs: number }): Promise<RunResult> {
  return cdk(
    run,
    'cdk bootstrap',
    ['bootstrap', '--app', options.assembly, 'aws://000000000000/us-east-1'],
    options.timeoutMs,
  );
}

/** Deploys one stack of a synthesized assembly and returns its outputs. */
export async function deploy(
  run: CdkRun,
  options: { assembly: string; stack: string; outputsFile: string; timeoutMs: number },
): Promise<Record<string, string>> {
  await cdk(
    run,
    `cdk deploy ${options.stack}`,
    [
      'deploy',
      '--app',
      options.assembly,
      '--require-approval',
      'never',
      '--outputs-file',
      options.outputsFile,
      options.stack,
    ],
    options.timeoutMs,
  );
  const outputs = JSON.parse(readFileSync(options.outputsFile, 'utf8')) as Record<string, Record<string, string>>;
  const mine = outputs[options.stack];
  if (!mine) throw new Error(`cdk deploy ${options.stack} wrote no outputs for it to ${options.outputsFile}`);
  return mine;
}
