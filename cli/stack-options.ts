import * as z from 'zod';
import type { ConnectToStack, StackConnection } from '../deployed/stack';
import { type CliIo, command } from './io';

/** The stack name when neither `--stack` nor `SANDTRAP_STACK` names one: what `bin/app.ts` deploys. */
export const DEFAULT_STACK_NAME = 'Sandtrap';

/** Longest `--wait` allowed: a day, as for `sandtrap analyze --timeout`. */
const MAX_WAIT_SECONDS = 24 * 3600;
/** `--wait` without `--timeout`: the default engine deadline, plus a margin for triage and finalize. */
export const DEFAULT_WAIT_SECONDS = 3600 + 300;

/** `--timeout` of `submit --wait` and `reanalyze --wait`, as typed: seconds, {@link DEFAULT_WAIT_SECONDS} if absent. */
export const WaitTimeoutSchema = z
  .string()
  .optional()
  .transform((value, ctx) => {
    if (value === undefined) return DEFAULT_WAIT_SECONDS;
    const seconds = Number(value);
    if (!Number.isInteger(seconds) || seconds <= 0 || seconds > MAX_WAIT_SECONDS) {
      ctx.addIssue({
        code: 'custom',
        message: `--timeout must be a whole number of seconds from 1 to ${MAX_WAIT_SECONDS}, not ${JSON.stringify(value)}`,
      });
      return z.NEVER;
    }
    return seconds;
  });

/** `--stack` and `--region`, shared by every command that drives a deployed stack. */
export const StackOptionsSchema = z.object({
  stack: z.string().default(DEFAULT_STACK_NAME),
  region: z.string().optional(),
});
export type StackOptions = z.infer<typeof StackOptionsSchema>;

/**
 * Connects to the stack the options name, runs `use`, and closes the connection whatever happens,
 * so that the CLI exits as soon as it is done.
 */
export async function withStack<T>(
  connect: ConnectToStack,
  options: StackOptions,
  use: (connection: StackConnection) => Promise<T>,
): Promise<T> {
  const connection = await connect({ stack: options.stack, ...(options.region ? { region: options.region } : {}) });
  try {
    return await use(connection);
  } finally {
    connection.close();
  }
}

/** A {@link command} that drives a deployed stack: `run` gets the connection its options name. */
export function stackCommand<Input, Options extends StackOptions, Io extends Pick<CliIo, 'stderr' | 'connect'>>(
  parse: (input: Input) => Options,
  run: (options: Options, connection: StackConnection, io: Io) => Promise<number>,
): (input: Input, io: Io) => Promise<number> {
  return command(parse, (options, io: Io) =>
    withStack(io.connect, options, (connection) => run(options, connection, io)),
  );
}

/**
 * Checks the options of a command that can `--wait` with `schema`, then `--timeout` as `waitSeconds`:
 * a bad option is reported on its own before a bad timeout is looked at.
 */
export function parseWaiting<S extends z.ZodType<StackOptions, unknown>>(
  schema: S,
): (input: z.input<S> & { timeout?: string }) => z.output<S> & { waitSeconds: number } {
  return (input) => ({ ...schema.parse(input), waitSeconds: WaitTimeoutSchema.parse(input.timeout) });
}
