import { createHash } from 'node:crypto';
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import * as z from 'zod';
import { backfill, BackfillCursorSchema, type BackfillCursor } from '../../deployed/backfill';
import { DeployedStackError } from '../../deployed/errors';
import { StepFunctionsStarter } from '../../lambdas/core/sweep/execution-starter';
import { type CliIo, progressTo } from '../io';
import { StackOptionsSchema, stackCommand } from '../stack-options';

/** StartExecution's default quota is far above this; a backfill must leave room for live uploads. */
const MAX_RATE = 100;

/** `s3://bucket/prefix` as typed: the prefix may be empty (the whole bucket). */
const ScanTargetSchema = z.string().transform((value, ctx) => {
  const uri = /^s3:\/\/([a-z0-9][a-z0-9.-]{1,61}[a-z0-9])(?:\/(.*))?$/.exec(value.trim());
  if (!uri) {
    ctx.addIssue({ code: 'custom', message: `${JSON.stringify(value)} is not an s3://bucket/prefix URI` });
    return z.NEVER;
  }
  return { bucket: uri[1] as string, prefix: uri[2] ?? '' };
});

/** `sandtrap scan s3://bucket/prefix [--rate N] [--max N] [--state file]`. */
export const ScanOptionsSchema = StackOptionsSchema.extend({
  target: ScanTargetSchema,
  rate: z.coerce
    .number()
    .positive({ error: '--rate must be above 0' })
    .max(MAX_RATE, { error: `--rate is at most ${MAX_RATE} analyses a second` })
    .default(10),
  max: z.coerce.number().int().positive({ error: '--max must be a whole number above 0' }).optional(),
  state: z.string().min(1).optional(),
  json: z.boolean().optional(),
  quiet: z.boolean().optional(),
});
export type ScanOptions = z.input<typeof ScanOptionsSchema>;

/** The default state file: one per bucket and prefix, in the current directory. */
export function defaultStateFile(bucket: string, prefix: string): string {
  return `sandtrap-scan-${bucket}-${createHash('sha256').update(prefix).digest('hex').slice(0, 8)}.json`;
}

function readCursor(file: string): BackfillCursor | undefined {
  if (!existsSync(file)) return undefined;
  const cursor = BackfillCursorSchema.safeParse(JSON.parse(readFileSync(file, 'utf8')));
  if (!cursor.success) throw new DeployedStackError(`${file} is not a saved scan: remove it or pass another --state`);
  // A finished scan is not resumed: a new one lists again (objects already started are found so).
  return cursor.data.done ? undefined : cursor.data;
}

/** Written whole to a temporary file, then renamed: an interrupted write never leaves half a cursor. */
function writeCursor(file: string, cursor: BackfillCursor): void {
  writeFileSync(`${file}.tmp`, `${JSON.stringify(cursor)}\n`);
  renameSync(`${file}.tmp`, file);
}

/**
 * `sandtrap scan`: analyses objects that were in the stack's bucket before Sandtrap watched it
 * (backfill). Starts one execution per object at `--rate` a second, named after the object so that
 * no object is started twice, and keeps where it stands in `--state` (default
 * `sandtrap-scan-<bucket>-<hash>.json`), from which a run stopped by Ctrl-C or `--max` resumes.
 */
export const scan = stackCommand(
  (input: ScanOptions) => ScanOptionsSchema.parse(input),
  async (options, { clients, stack }, io: Pick<CliIo, 'stdout' | 'stderr' | 'connect' | 'now'>) => {
    const { bucket, prefix } = options.target;
    const source = stack.sources.find((s) => s.bucket === bucket);
    if (!source)
      throw new DeployedStackError(
        `s3://${bucket} is not watched by stack ${stack.name} (its buckets: ${stack.sources.map((s) => s.bucket).join(', ')})`,
      );
    // Only keys under a source's prefixes are analysed: a wider scan would start analyses no upload would.
    if (!source.prefixes.some((p) => prefix.startsWith(p)))
      throw new DeployedStackError(
        `s3://${bucket}/${prefix} is outside what stack ${stack.name} analyses there: scan under ${source.prefixes.map((p) => `s3://${bucket}/${p}`).join(' or ')}`,
      );
    const file = options.state ?? defaultStateFile(bucket, prefix);
    const resume = readCursor(file);
    const say = progressTo(io.stderr, options.quiet);
    say(
      resume
        ? `resuming the scan of s3://${bucket}/${prefix} after ${resume.after ?? 'the start'} (${file})`
        : `scanning s3://${bucket}/${prefix} at ${options.rate} a second (state in ${file})`,
    );
    const stop = new AbortController();
    const onInterrupt = () => stop.abort();
    process.once('SIGINT', onInterrupt);
    let lastSaid = 0;
    try {
      const cursor = await backfill(
        {
          s3: clients.s3,
          executions: new StepFunctionsStarter(stack.stateMachineArn, clients.sfn),
          now: io.now,
          sleep: (ms) => sleep(ms),
          signal: stop.signal,
          progress: (at) => {
            writeCursor(file, at);
            if (io.now() - lastSaid >= 2000 || at.done) {
              lastSaid = io.now();
              say(`listed ${at.listed}, started ${at.started}, started before ${at.existing}, skipped ${at.skipped}`);
            }
          },
        },
        {
          bucket,
          prefix,
          ratePerSecond: options.rate,
          ...(options.max ? { maxObjects: options.max } : {}),
          ...(resume ? { resume } : {}),
        },
      );
      io.stdout.write(
        options.json
          ? `${JSON.stringify(cursor)}\n`
          : `${cursor.done ? 'scanned' : 'stopped scanning'} s3://${bucket}/${prefix}: ${cursor.started} analyses started, ${cursor.existing} started before, ${cursor.skipped} skipped${cursor.done ? '' : ` (resume with the same command; state in ${file})`}\n`,
      );
      return stop.signal.aborted ? 130 : 0;
    } finally {
      process.off('SIGINT', onInterrupt);
    }
  },
);
