import { Command, InvalidArgumentError } from 'commander';
import { z } from 'zod';
import { AnalyzeArgsSchema } from '../local/analyze';

function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) throw new InvalidArgumentError('expected a positive whole number of seconds');
  return n;
}

/** Builds the `sandtrap` command line. */
export function program(): Command {
  const cli = new Command('sandtrap')
    .description('Analyse untrusted files: vendor sandboxes and Sandtrap detonation, one verdict.')
    .version('0.1.0')
    .showHelpAfterError();

  cli
    .command('analyze')
    .description('Run files through the whole pipeline on this machine (local S3, DynamoDB and state machine) and print each verdict.')
    .argument('<file...>', 'files to analyse')
    .option('--json', 'print the verdict document of each file as JSON, one per line')
    .option('--timeout <seconds>', 'give up on a file after this many seconds', positiveInt)
    .option('--events <file>', 'append every published event to this JSON-lines file')
    .option('--state <dir>', 'keep local S3 and DynamoDB state in this directory (cached verdicts survive between runs)')
    .option('-q, --quiet', 'no progress on stderr')
    .addHelpText(
      'after',
      '\nVendors are enabled by environment variables: SANDTRAP_<VENDOR>_URL, SANDTRAP_<VENDOR>_API_KEY,\n' +
        'SANDTRAP_<VENDOR>_OPTIONS (JSON). With none set, files still get triage (hashes, type, size).',
    )
    .action(async (files: string[], options: { json?: boolean; timeout?: number; events?: string; state?: string; quiet?: boolean }) => {
      const args = AnalyzeArgsSchema.parse({ files, timeoutSeconds: options.timeout });
      // Loaded here so that --help and argument errors answer at once.
      const [{ analyzeFiles }, { localConfigFromEnv }, { formatOutcomes }, { LocalPipeline }] = await Promise.all([
        import('../local/analyze'),
        import('../local/cli-config'),
        import('../local/format'),
        import('../local/runtime'),
      ]);
      const config = localConfigFromEnv();
      const progress = options.quiet ? () => undefined : (message: string) => process.stderr.write(`${message}\n`);
      progress('starting the local pipeline');
      const pipeline = await LocalPipeline.start({ config, stateDir: options.state, eventsFile: options.events });
      try {
        const outcomes = await analyzeFiles(pipeline, args, progress);
        if (options.json) {
          for (const o of outcomes) process.stdout.write(`${JSON.stringify(o.ok ? o.document : { file: o.file, failed: true, ...o.failure })}\n`);
        } else process.stdout.write(formatOutcomes(outcomes));
        if (options.events) progress(`events appended to ${options.events}`);
        if (outcomes.some((o) => !o.ok)) process.exitCode = 2;
      } finally {
        await pipeline.stop();
      }
    });
  return cli;
}

/** Runs the CLI; returns the exit code. Errors are one clear line, never a stack trace. */
export async function main(argv: string[]): Promise<number> {
  process.exitCode = 0;
  try {
    await program().parseAsync(argv);
    return Number(process.exitCode ?? 0);
  } catch (error) {
    const message = error instanceof z.ZodError ? error.issues.map((issue) => issue.message).join('; ') : (error as Error).message;
    process.stderr.write(`sandtrap: ${message}\n`);
    return 1;
  }
}
