import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { type CliIo, processIo, writeError } from '../cli/io';
import { DEFAULT_STACK_NAME, DEFAULT_WAIT_SECONDS } from '../cli/stack-options';
import { EXIT_CODES_HELP } from '../cli/exit-codes';

function wholeNumber(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n)) throw new InvalidArgumentError('expected a whole number');
  return n;
}

function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) throw new InvalidArgumentError('expected a positive whole number of seconds');
  return n;
}

/** `--stack` and `--region`, shared by every deployed-stack command. */
function withStackOptions(command: Command): Command {
  return command
    .addOption(
      new Option('--stack <name>', 'the deployed Sandtrap stack').env('SANDTRAP_STACK').default(DEFAULT_STACK_NAME),
    )
    .option('--region <region>', 'AWS region of the stack (default: AWS_REGION, then the AWS config file)');
}

/** `--wait` and `--timeout`, shared by the deployed-stack commands that can wait for a verdict. */
function withWaitOptions(command: Command, wait: string): Command {
  return command
    .option('--wait', wait)
    .option('--timeout <seconds>', `with --wait, give up after this many seconds (default ${DEFAULT_WAIT_SECONDS})`);
}

/**
 * Builds the `sandtrap` command line: each command's arguments are parsed here and handed, with
 * `io`, to its module in `cli/commands/`, loaded only when it runs so that `--help` and argument
 * errors answer at once. The command's exit code goes to `exit`.
 */
export function program(io: CliIo, exit: (code: number) => void = () => undefined): Command {
  const cli = new Command('sandtrap')
    .description('Analyse untrusted files: vendor sandboxes and Sandtrap detonation, one verdict.')
    // Commander's own messages (help, usage errors) go where the commands write (see usageOutput), and
    // end in a CommanderError that `main` turns into the exit code, rather than in process.exit: `main`
    // also runs inside tests.
    .exitOverride()
    .version('0.1.0')
    .option('--verbose', 'on an error, print its stack trace too')
    // `vendors --json` and `vendors check --json` both exist: options belong to the command they follow.
    .enablePositionalOptions();

  cli
    .command('analyze')
    .description(
      'Run files through the whole pipeline on this machine (local S3, DynamoDB and state machine) and print each verdict.',
    )
    .argument('[input...]', 'files, directories (recursively), glob patterns, or - for stdin')
    .option(
      '--language <lang>',
      'analyse the snippet on stdin (-) or in --script as this language: python, sh, perl, c, js',
    )
    .option('--script <text>', 'analyse this snippet, in --language, as a script')
    .option('--json', 'print the verdict document of each file as JSON, one per line, each with its `file`')
    .option('--fail-on <verdict>', 'exit 3 when a verdict reaches this level: suspicious or malicious')
    .option('--concurrency <n>', 'analyse this many files at once (default 2)', wholeNumber)
    .option('--timeout <seconds>', 'give up on a file after this many seconds', positiveInt)
    .option('--events <file>', 'append every published event to this JSON-lines file')
    .option(
      '--state <dir>',
      'keep local S3 and DynamoDB state in this directory (cached verdicts survive between runs)',
    )
    .option('--html <dir>', "write each file's HTML report into this directory")
    .option(
      '--pdf <dir>',
      "write each file's report as PDF into this directory (Chromium: CHROMIUM_PATH, else chromium, chromium-browser or google-chrome on PATH)",
    )
    .option(
      '--detonator <kind>',
      'how the detonation engine runs here: auto, host (root + strace), docker, none',
      'auto',
    )
    .option('-q, --quiet', 'no progress on stderr')
    .option('--verbose', 'on an error, print its stack trace too')
    .addHelpText(
      'after',
      '\nVendors are enabled by environment variables: SANDTRAP_<VENDOR>_URL, SANDTRAP_<VENDOR>_API_KEY,\n' +
        'SANDTRAP_<VENDOR>_OPTIONS (JSON). With none set, files still get triage (hashes, type, size).\n' +
        'A file that cannot be read is one failed line; the others still run. Files above the configured\n' +
        'maximum object size are refused before upload. Ctrl-C stops, prints what ended, and cleans up.\n\n' +
        EXIT_CODES_HELP,
    )
    .action(
      async (
        files: string[],
        options: {
          json?: boolean;
          failOn?: string;
          concurrency?: number;
          timeout?: number;
          events?: string;
          state?: string;
          quiet?: boolean;
          verbose?: boolean;
          detonator: string;
          html?: string;
          pdf?: string;
          language?: string;
          script?: string;
        },
      ) => {
        const { timeout, verbose: _handledByMain, ...rest } = options;
        const { analyze } = await import('../cli/commands/analyze');
        exit(await analyze({ files, timeoutSeconds: timeout, ...rest }, io));
      },
    );

  const vendors = cli
    .command('vendors')
    .description('List the vendor connectors: id, name, capabilities, configured or not.')
    .enablePositionalOptions()
    .option('--json', 'print JSON')
    .action(async (options: { json?: boolean }) => {
      const { vendors } = await import('../cli/commands/vendors');
      exit(await vendors(options, io));
    });
  vendors
    .command('check')
    .description("Run each configured vendor's availability check (or one vendor's).")
    .argument('[id]', 'vendor id')
    .option('--json', 'print JSON')
    .action(async (id: string | undefined, options: { json?: boolean }) => {
      const { vendorsCheck } = await import('../cli/commands/vendors');
      exit(await vendorsCheck({ id, ...options }, io));
    });

  cli
    .command('score')
    .description("Re-score a stored native vendor report with that vendor's normalisation.")
    .argument('<vendor>', 'vendor id')
    .argument('<report-file>', 'the native report (JSON, or XML for WildFire/FireEye)')
    .option('--json', 'print JSON')
    .action(async (vendor: string, file: string, options: { json?: boolean }) => {
      const { score } = await import('../cli/commands/score');
      exit(await score({ vendor, file, ...options }, io));
    });

  // The commands that drive a deployed stack. The stack is found by name through its CloudFormation
  // outputs; every SDK client honours `AWS_ENDPOINT_URL`, so the same commands drive MiniStack or LocalStack.
  type StackOptions = { stack: string; region?: string };
  withStackOptions(
    withWaitOptions(
      cli
        .command('submit')
        .description(
          "Upload files to a deployed stack's ingest bucket or one of its sources (the upload starts the analysis); with --wait, print each verdict.",
        )
        .argument('<file...>', 'files to submit'),
      'wait for each verdict and print it (the same table or JSON as `sandtrap analyze`)',
    )
      .option(
        '--bucket <name>',
        "one of the buckets the stack analyses (default: its ingest bucket, or without one its first source's)",
      )
      .option('--prefix <prefix>', "key prefix in the bucket, e.g. `uploads/` (default: none, or the source's first)")
      .option('--json', 'print JSON, one document per line')
      .option('-q, --quiet', 'no progress on stderr'),
  ).action(
    async (
      files: string[],
      options: StackOptions & {
        wait?: boolean;
        timeout?: string;
        prefix?: string;
        bucket?: string;
        json?: boolean;
        quiet?: boolean;
      },
    ) => {
      const { submit } = await import('../cli/commands/submit');
      exit(await submit({ files, ...options }, io));
    },
  );

  withStackOptions(
    cli
      .command('status')
      .description('Print the stored verdict of a sha256 (DynamoDB) from a deployed stack.')
      .argument('<sha256>', 'content hash of the sample')
      .option('--json', 'print the verdict document as JSON'),
  ).action(async (sha256: string, options: StackOptions & { json?: boolean }) => {
    const { status } = await import('../cli/commands/status');
    exit(await status({ sha256, ...options }, io));
  });

  withStackOptions(
    cli
      .command('report')
      .description(
        "Print a sample's verdict document: from a deployed stack's reports bucket (sha256), or by analysing a local file.",
      )
      .argument(
        '<sha256|file>',
        'content hash of a sample analysed by the deployed stack, or a local file to analyse here',
      )
      .option('--json', 'print the verdict document as JSON')
      .option('--html <out>', 'also write the self-contained HTML report to this file')
      .option('--pdf <out>', "also write the report as PDF (Chromium's print-to-PDF) to this file")
      .addOption(
        new Option(
          '--iocs <format>',
          'print the indicators of compromise instead: a STIX 2.1 bundle (stix) or CSV (csv); --html also writes both beside the report',
        ).choices(['stix', 'csv']),
      ),
  ).action(
    async (
      target: string,
      options: StackOptions & { json?: boolean; html?: string; pdf?: string; iocs?: 'stix' | 'csv' },
    ) => {
      const { report } = await import('../cli/commands/report');
      exit(await report({ target, ...options }, io));
    },
  );

  withStackOptions(
    withWaitOptions(
      cli
        .command('reanalyze')
        .description(
          'Analyse a stored sample again, bypassing the verdict cache (publishes `Sample Verdict Changed` if the verdict changes).',
        )
        .argument('<sha256>', 'content hash of the sample'),
      'wait for the new verdict and print it',
    ).option('--json', 'print JSON'),
  ).action(async (sha256: string, options: StackOptions & { wait?: boolean; timeout?: string; json?: boolean }) => {
    const { reanalyze } = await import('../cli/commands/reanalyze');
    exit(await reanalyze({ sha256, ...options }, io));
  });

  withStackOptions(
    cli
      .command('release')
      .description(
        'Release a file as an analyst: allow-list its sha256 (who, when, why), re-tag its objects benign and publish `Sample Verdict Overridden`.',
      )
      .argument('<sha256|s3-uri>', 'content hash, or s3://bucket/key of an object whose bytes are released')
      .requiredOption('--reason <text>', 'why the file is released (kept with the allow-list entry and the event)')
      .option('--json', 'print the published event detail as JSON'),
  ).action(async (target: string, options: StackOptions & { reason: string; json?: boolean }) => {
    const { release } = await import('../cli/commands/release');
    exit(await release({ target, ...options }, io));
  });

  withStackOptions(
    cli
      .command('scan')
      .description(
        'Analyse the objects already in the bucket (backfill): one analysis each, at a bounded rate, resumable after Ctrl-C.',
      )
      .argument('<s3-uri>', "s3://bucket/prefix of the objects to analyse (the stack's ingest bucket)")
      .option('--rate <n>', 'analyses started per second at most (default 10)')
      .option('--max <n>', 'start at most this many analyses in this run')
      .option('--state <file>', 'where the scan keeps its place (default sandtrap-scan-<bucket>-<hash>.json)')
      .option('--json', 'print the final state as JSON')
      .option('-q, --quiet', 'no progress on stderr'),
  ).action(
    async (
      target: string,
      options: StackOptions & { rate?: string; max?: string; state?: string; json?: boolean; quiet?: boolean },
    ) => {
      const { scan } = await import('../cli/commands/scan');
      exit(await scan({ target, ...options }, io));
    },
  );
  cli
    .command('config')
    .description('Configuration files.')
    .command('init')
    .description('Write a commented configuration file with every key and its default.')
    .option('--vendors <ids>', 'comma-separated vendors to add an entry for, e.g. cape,joe')
    .option('-o, --output <file>', 'where to write it (`-`: stdout; default sandtrap.config.jsonc)')
    .option('--force', 'overwrite an existing file')
    .action(async (options: { vendors?: string; output?: string; force?: boolean }) => {
      const { configInit } = await import('../cli/commands/config-init');
      exit(await configInit(options, io));
    });
  for (const sub of allCommands(cli)) sub.configureOutput(usageOutput(io, sub));
  return cli;
}

/** The program and every command under it. */
function allCommands(command: Command): Command[] {
  return [command, ...command.commands.flatMap(allCommands)];
}

/**
 * Where commander writes, for one command: help to stdout, and a usage error as one line naming
 * the command's own `--help`, rather than the whole help (25 lines that bury the one that matters).
 */
function usageOutput(io: CliIo, command: Command) {
  const names: string[] = [];
  for (let c: Command | null = command; c; c = c.parent) names.unshift(c.name());
  return {
    writeOut: (text: string) => io.stdout.write(text),
    writeErr: (text: string) => io.stderr.write(text),
    outputError: (text: string, write: (text: string) => void) =>
      write(`sandtrap: ${text.replace(/^error: /, '').trim()} (see \`${names.join(' ')} --help\`)\n`),
  };
}

/**
 * Runs the CLI on `argv` (as `process.argv`: node, script, arguments); returns the exit code: the
 * command's, commander's for a usage error or help, or 1 with one clear line, never a stack trace.
 */
export async function main(argv: string[], given: CliIo = processIo()): Promise<number> {
  // Read before parsing: an error in parsing itself is shown in full with --verbose too.
  const io = argv.includes('--verbose') ? { ...given, verbose: true } : given;
  let code = 0;
  try {
    await program(io, (exitCode) => {
      code = exitCode;
    }).parseAsync(argv);
    return code;
  } catch (error) {
    // Commander has already written its message (or the help) to io.
    if (error instanceof CommanderError) return error.exitCode;
    writeError(io.stderr, error, io.verbose);
    return 1;
  }
}
