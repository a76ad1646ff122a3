import type { Readable } from 'node:stream';
import * as z from 'zod';
import type { ConnectToStack } from '../deployed/stack';
import type { LocalPipeline, LocalPipelineOptions } from '../local/runtime';
import { escapeTerminal, escapeTerminalLines } from './terminal-escape';

/** Where a command writes: the process's stdout or stderr, or a fake in tests. */
export interface Output {
  write(chunk: string | Uint8Array): unknown;
  /** On a terminal the upload progress bar redraws one line; elsewhere it writes only start and end. */
  isTTY?: boolean;
  /** A terminal's width: tables fit it. */
  columns?: number;
}

/** Starts the local pipeline: S3, DynamoDB and the state machine on this machine. */
export type StartPipeline = (options: LocalPipelineOptions) => Promise<LocalPipeline>;

/**
 * Everything a command reaches outside its arguments. Each command takes the part it uses, so a
 * test passes fakes (or real local services) for just that part; `bin/sandtrap.ts` passes
 * {@link processIo}.
 */
export interface CliIo {
  stdout: Output;
  /** Progress and error lines. */
  stderr: Output;
  /** What `-` names: `sandtrap analyze -` reads a sample from it. */
  stdin: Readable;
  /**
   * Calls `handler` on Ctrl-C (SIGINT) instead of the default of dying at once, so a command can stop
   * its work and remove its temporary files; returns the function that stops listening. A second
   * Ctrl-C while the first is handled ends the process (see {@link processIo}).
   */
  onInterrupt(handler: () => void): () => void;
  /** `SANDTRAP_CONFIG_FILE`, `SANDTRAP_<VENDOR>_*` and the vendors' credentials. */
  env: NodeJS.ProcessEnv;
  /** Milliseconds since the epoch: progress redraws, the time a wait gave up. */
  now: () => number;
  /** Reaches a deployed stack by name (`submit`, `status`, `report`, `reanalyze`). */
  connect: ConnectToStack;
  /** Starts the local pipeline (`analyze`, and `report` of a local file). */
  startPipeline: StartPipeline;
  /** `--verbose`: an error is followed by its stack trace (escaped like any line). */
  verbose?: boolean;
}

/** The process's streams and environment, the deployed stack through AWS, the local pipeline. */
export function processIo(): CliIo {
  return {
    stdout: process.stdout,
    stderr: process.stderr,
    stdin: process.stdin,
    env: process.env,
    onInterrupt(handler) {
      let interrupts = 0;
      const listener = () => {
        interrupts += 1;
        // The first Ctrl-C asks the command to stop; a second one, while it stops, is the analyst's "now".
        if (interrupts > 1) process.exit(130);
        handler();
      };
      process.on('SIGINT', listener);
      return () => process.off('SIGINT', listener);
    },
    now: Date.now,
    // Loaded on first use: `--help` and argument errors answer without loading the AWS SDK or the runtime.
    connect: async (target) => (await import('../deployed/stack')).connectToStack(target),
    startPipeline: async (options) => (await import('../local/runtime')).LocalPipeline.start(options),
  };
}

/** An error as the one line the CLI prints: a validation error is its issues' messages. */
export function errorMessage(error: unknown): string {
  return error instanceof z.ZodError
    ? error.issues.map((issue) => issue.message).join('; ')
    : error instanceof Error
      ? error.message
      : String(error);
}

/** `sandtrap: <message>`, escaped: messages quote file names and remote errors, whatever they hold. */
export function writeError(stderr: Output, error: unknown, verbose = false): void {
  stderr.write(`sandtrap: ${escapeTerminal(errorMessage(error))}\n`);
  if (verbose && error instanceof Error && error.stack) stderr.write(`${escapeTerminalLines(error.stack)}\n`);
}

/**
 * Runs a command's body: its exit code, or 1 with the error as one line on stderr (never a stack
 * trace). Bad input, a missing stack or a refused call all end here.
 */
export async function exitCodeOf(
  io: Pick<CliIo, 'stderr'> & { verbose?: boolean },
  body: () => Promise<number>,
): Promise<number> {
  try {
    return await body();
  } catch (error) {
    writeError(io.stderr, error, io.verbose);
    return 1;
  }
}

/**
 * A command of cli/commands: `parse` checks what commander handed over, then `run` does the work;
 * whatever either throws ends as one line and exit 1 (see {@link exitCodeOf}).
 */
export function command<Input, Options, Io extends Pick<CliIo, 'stderr'>>(
  parse: (input: Input) => Options,
  run: (options: Options, io: Io) => Promise<number>,
): (input: Input, io: Io) => Promise<number> {
  return (input, io) => exitCodeOf(io, () => run(parse(input), io));
}

/** The progress lines a command writes on stderr, escaped; none with `--quiet`. */
export function progressTo(stderr: Output, quiet = false): (message: string) => void {
  return quiet ? () => undefined : (message) => stderr.write(`${escapeTerminal(message)}\n`);
}
