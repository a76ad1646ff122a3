import { Command, InvalidArgumentError } from 'commander';
import * as z from 'zod';
import { AnalyzeArgsSchema } from '../cli/analyze';
import { registerDeployedCommands } from '../cli/deployed-commands';
import { escapeTerminal, jsonForTerminal } from '../cli/terminal-escape';

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
    .showHelpAfterError()
    // `vendors --json` and `vendors check --json` both exist: options belong to the command they follow.
    .enablePositionalOptions();

  cli
    .command('analyze')
    .description(
      'Run files through the whole pipeline on this machine (local S3, DynamoDB and state machine) and print each verdict.',
    )
    .argument('<file...>', 'files to analyse')
    .option('--json', 'print the verdict document of each file as JSON, one per line')
    .option('--timeout <seconds>', 'give up on a file after this many seconds', positiveInt)
    .option('--events <file>', 'append every published event to this JSON-lines file')
    .option(
      '--state <dir>',
      'keep local S3 and DynamoDB state in this directory (cached verdicts survive between runs)',
    )
    .option('--html <dir>', "write each file's HTML report into this directory")
    .option('--pdf <dir>', "write each file's report as PDF (Chromium print-to-PDF) into this directory")
    .option(
      '--detonator <kind>',
      'how the detonation engine runs here: auto, host (root + strace), docker, none',
      'auto',
    )
    .option('-q, --quiet', 'no progress on stderr')
    .addHelpText(
      'after',
      '\nVendors are enabled by environment variables: SANDTRAP_<VENDOR>_URL, SANDTRAP_<VENDOR>_API_KEY,\n' +
        'SANDTRAP_<VENDOR>_OPTIONS (JSON). With none set, files still get triage (hashes, type, size).',
    )
    .action(
      async (
        files: string[],
        options: {
          json?: boolean;
          timeout?: number;
          events?: string;
          state?: string;
          quiet?: boolean;
          detonator: string;
          html?: string;
          pdf?: string;
        },
      ) => {
        const args = AnalyzeArgsSchema.parse({ files, timeoutSeconds: options.timeout, detonator: options.detonator });
        // Loaded here so that --help and argument errors answer at once.
        const [{ analyzeFiles, writeReports }, { localConfigFromEnv }, { formatOutcomes }, { LocalPipeline }] =
          await Promise.all([
            import('../cli/analyze'),
            import('../cli/config'),
            import('../cli/format'),
            import('../local/runtime'),
          ]);
        const config = localConfigFromEnv();
        const progress = options.quiet
          ? () => undefined
          : (message: string) => process.stderr.write(`${escapeTerminal(message)}\n`);
        progress('starting the local pipeline');
        const pipeline = await LocalPipeline.start({
          config,
          stateDir: options.state,
          eventsFile: options.events,
          detonator: args.detonator,
        });
        try {
          const outcomes = await analyzeFiles(pipeline, args, progress);
          if (options.json) {
            for (const o of outcomes)
              process.stdout.write(
                `${jsonForTerminal(o.ok ? o.document : { file: o.file, failed: true, ...o.failure })}\n`,
              );
          } else process.stdout.write(formatOutcomes(outcomes));
          if (options.events) progress(`events appended to ${options.events}`);
          if (options.html || options.pdf) {
            for (const path of await writeReports(pipeline, outcomes, { htmlDir: options.html, pdfDir: options.pdf }))
              progress(`wrote ${path}`);
          }
          if (outcomes.some((o) => !o.ok)) process.exitCode = 2;
        } finally {
          await pipeline.stop();
        }
      },
    );
  const vendors = cli
    .command('vendors')
    .description('List the vendor connectors: id, name, capabilities, configured or not.')
    .enablePositionalOptions()
    .option('--json', 'print JSON')
    .action(async (options: { json?: boolean }) => {
      const [{ listVendors }, { localConfigFromEnv }] = await Promise.all([
        import('../cli/vendors'),
        import('../cli/config'),
      ]);
      const listing = listVendors(localConfigFromEnv());
      if (options.json) {
        process.stdout.write(`${jsonForTerminal(listing)}\n`);
        return;
      }
      const rows = listing.map((v) =>
        escapeTerminal(
          `${v.id.padEnd(9)} ${(v.configured ? 'configured' : v.available ? '-' : 'no connector').padEnd(12)} ${v.name.padEnd(40)} ${v.capabilities.join(', ')}`,
        ),
      );
      process.stdout.write(
        `${'ID'.padEnd(9)} ${'STATUS'.padEnd(12)} ${'NAME'.padEnd(40)} CAPABILITIES\n${rows.join('\n')}\n`,
      );
    });
  vendors
    .command('check')
    .description("Run each configured vendor's availability check (or one vendor's).")
    .argument('[id]', 'vendor id')
    .option('--json', 'print JSON')
    .action(async (id: string | undefined, options: { json?: boolean }) => {
      const [{ checkVendors }, { localConfigFromEnv }] = await Promise.all([
        import('../cli/vendors'),
        import('../cli/config'),
      ]);
      const checks = await checkVendors(localConfigFromEnv(), id);
      if (checks.length === 0) throw new Error('no vendor is configured (set SANDTRAP_<VENDOR>_URL)');
      if (options.json) process.stdout.write(`${jsonForTerminal(checks)}\n`);
      else
        process.stdout.write(
          `${checks.map((c) => escapeTerminal(`${c.id.padEnd(9)} ${c.ok ? 'ok  ' : 'FAIL'} ${c.detail} (${c.ms} ms)`)).join('\n')}\n`,
        );
      if (checks.some((c) => !c.ok)) process.exitCode = 2;
    });
  cli
    .command('score')
    .description("Re-score a stored native vendor report with that vendor's normalisation.")
    .argument('<vendor>', 'vendor id')
    .argument('<report-file>', 'the native report (JSON, or XML for WildFire/FireEye)')
    .option('--json', 'print JSON')
    .action(async (vendor: string, file: string, options: { json?: boolean }) => {
      const { scoreReport } = await import('../cli/vendors');
      const scored = scoreReport(vendor, file);
      if (options.json) process.stdout.write(`${jsonForTerminal(scored)}\n`);
      else
        process.stdout.write(
          `${escapeTerminal(`${scored.vendor}: ${scored.verdict} ${scored.score ?? '-'} (native ${JSON.stringify(scored.native.value)} on ${scored.native.scale})`)}\n`,
        );
    });
  registerDeployedCommands(cli);
  return cli;
}

/** Runs the CLI; returns the exit code. Errors are one clear line, never a stack trace. */
export async function main(argv: string[]): Promise<number> {
  process.exitCode = 0;
  try {
    await program().parseAsync(argv);
    return Number(process.exitCode ?? 0);
  } catch (error) {
    const message =
      error instanceof z.ZodError ? error.issues.map((issue) => issue.message).join('; ') : (error as Error).message;
    // Messages quote file names and remote errors: one escaped line, whatever they hold.
    process.stderr.write(`sandtrap: ${escapeTerminal(message)}\n`);
    return 1;
  }
}
