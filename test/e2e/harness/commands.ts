import { spawn } from 'node:child_process';
import { appendFileSync } from 'node:fs';

/** Options of {@link runCommand}. */
export interface RunOptions {
  /** Names the step in errors and timings: `cdk deploy Sandtrap`. */
  label: string;
  /** The command is killed (its whole process group) after this long. */
  timeoutMs: number;
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /** Both output streams are appended here as they arrive, for the post-mortem. */
  logFile?: string;
  /** Added to a failure's message: e.g. the emulator log lines that explain a hung deploy. */
  explain?: () => string;
  /** Aborting kills the command: a sibling step failed and its result is no longer wanted. */
  signal?: AbortSignal;
}

/** What a finished command printed, and how long it took. */
export interface RunResult {
  stdout: string;
  stderr: string;
  ms: number;
}

/** The last lines of a text: errors quote the end of a long CDK log, where the cause is. */
export function tail(text: string, lines = 25): string {
  return text.trimEnd().split('\n').slice(-lines).join('\n');
}

/**
 * Runs a command with a hard timeout. It gets its own process group, so that a timeout also ends
 * what it spawned (the CDK CLI runs the app through a shell, npx and tsx); a hung `cdk deploy`
 * must fail the run, not stall CI.
 */
export function runCommand(command: string, args: string[], options: RunOptions): Promise<RunResult> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      cwd: options.cwd,
      env: options.env,
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    const log = (chunk: Buffer) => {
      if (options.logFile) appendFileSync(options.logFile, chunk);
    };
    if (options.logFile) appendFileSync(options.logFile, `\n$ ${command} ${args.join(' ')}\n`);
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      log(chunk);
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
      log(chunk);
    });
    const timer = setTimeout(() => {
      timedOut = true;
      killGroup(child.pid, 'SIGKILL');
    }, options.timeoutMs);
    const abort = () => killGroup(child.pid, 'SIGKILL');
    options.signal?.addEventListener('abort', abort, { once: true });
    child.on('error', (error) => {
      clearTimeout(timer);
      options.signal?.removeEventListener('abort', abort);
      reject(new Error(`${options.label}: could not start ${command}: ${error.message}`));
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      options.signal?.removeEventListener('abort', abort);
      const ms = Date.now() - started;
      if (code === 0 && !timedOut) {
        resolve({ stdout, stderr, ms });
        return;
      }
      if (options.signal?.aborted) {
        reject(new Error(`${options.label} was stopped: another step failed`));
        return;
      }
      const how = timedOut
        ? `timed out after ${Math.round(options.timeoutMs / 1000)} s`
        : `exited with ${code ?? signal} after ${(ms / 1000).toFixed(1)} s`;
      const extra = options.explain?.() ?? '';
      reject(
        new Error(
          `${options.label} ${how}${options.logFile ? ` (log: ${options.logFile})` : ''}\n${tail(`${stdout}\n${stderr}`)}${extra ? `\n${extra}` : ''}`,
        ),
      );
    });
  });
}

/** Signals a whole process group; a group that has already exited is not an error. */
export function killGroup(pid: number | undefined, signal: NodeJS.Signals): void {
  if (!pid) return;
  try {
    process.kill(-pid, signal);
  } catch {
    // Already gone.
  }
}
