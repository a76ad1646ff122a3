import { join } from 'node:path';
import { Readable } from 'node:stream';
import type { CliIo } from '../../cli/io';

// Named with its extension: `bin/sandtrap` alone resolves to the launcher `sandtrap.mjs`, which runs the CLI on import.
const { main }: typeof import('../../bin/sandtrap') = await import(
  join(import.meta.dirname, '..', '..', 'bin', 'sandtrap.ts')
);

/** What a command printed, and how it exited. */
export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * An IO that records what a command writes. The environment is empty (no vendor, no stack name)
 * unless given, and reaching a stack or starting the local pipeline fails unless a test provides it:
 * a command that touches either unexpectedly fails its test.
 */
export function fakeIo(overrides: Partial<CliIo> = {}): { io: CliIo; stdout(): string; stderr(): string } {
  const out: string[] = [];
  const err: string[] = [];
  const text = (chunk: string | Uint8Array) => (typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString());
  const io: CliIo = {
    stdout: { write: (chunk) => out.push(text(chunk)) },
    stderr: { write: (chunk) => err.push(text(chunk)), isTTY: false },
    env: {},
    // Nothing on stdin unless a test gives it; Ctrl-C never comes unless a test sends it.
    stdin: Readable.from([]),
    onInterrupt: () => () => undefined,
    now: () => Date.parse('2026-12-01T00:00:00Z'),
    connect: async () => {
      throw new Error('this test reaches no deployed stack');
    },
    startPipeline: async () => {
      throw new Error('this test starts no local pipeline');
    },
    ...overrides,
  };
  return { io, stdout: () => out.join(''), stderr: () => err.join('') };
}

/** Runs a command in-process through the `sandtrap` command line (`bin/sandtrap.ts`), as a shell would. */
export async function runCli(args: string[], overrides: Partial<CliIo> = {}): Promise<CliRun> {
  const { io, stdout, stderr } = fakeIo(overrides);
  const code = await main(['node', 'sandtrap', ...args], io);
  return { code, stdout: stdout(), stderr: stderr() };
}

/** Runs a command module's function with a {@link fakeIo}. */
export async function runCommand<O>(
  command: (options: O, io: CliIo) => Promise<number>,
  options: O,
  overrides: Partial<CliIo> = {},
): Promise<CliRun> {
  const { io, stdout, stderr } = fakeIo(overrides);
  const code = await command(options, io);
  return { code, stdout: stdout(), stderr: stderr() };
}
