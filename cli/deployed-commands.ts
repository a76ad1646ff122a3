import { existsSync, writeFileSync } from 'node:fs';
import { Option, type Command } from 'commander';
import * as z from 'zod';
import type { VerdictDocument } from '../lambdas/core/contracts/pipeline';
import { AnalyzeArgsSchema, type AnalysisOutcome } from './analyze';
import type { AnalysisEnd } from '../deployed/analyses';
import type { DeployedClients } from '../deployed/clients';
import type { ProgressStream, ReportFormat } from './deployed-format';
import type { DeployedStack } from '../deployed/stack';
import type { Submission } from '../deployed/submit';
import { escapeTerminal, jsonForTerminal } from './terminal-escape';

/** CLI input of `sandtrap submit`, validated before anything is uploaded. */
export const SubmitArgsSchema = AnalyzeArgsSchema.extend({
  prefix: z
    .string()
    .max(512, 'the prefix is longer than 512 characters')
    .refine((prefix) => !prefix.startsWith('/'), 'the prefix must not start with "/" (S3 keys have no leading slash)')
    .default(''),
  wait: z.boolean().default(false),
});
export type SubmitArgs = z.infer<typeof SubmitArgsSchema>;

/** A deployed stack and the clients that reach it. */
export interface StackConnection {
  clients: DeployedClients;
  stack: DeployedStack;
  /** Closes the clients' sockets. */
  close(): void;
}

/** How the commands find a stack: by name through CloudFormation, or a fake in tests. */
export type ConnectToStack = (target: { stack: string; region?: string }) => Promise<StackConnection>;

/** What the deployed-stack commands write to and connect with; the defaults are the process's. */
export interface DeployedCommandsIo {
  connect?: ConnectToStack;
  stdout?: { write(text: string | Uint8Array): unknown };
  stderr?: ProgressStream;
}

/** The stack name when neither `--stack` nor `SANDTRAP_STACK` names one: what `bin/app.ts` deploys. */
export const DEFAULT_STACK_NAME = 'Sandtrap';

/** Longest `--wait` allowed: a day, as for `sandtrap analyze --timeout`. */
const MAX_WAIT_SECONDS = 24 * 3600;
/** `--wait` without `--timeout`: the default engine deadline, plus a margin for triage and finalize. */
export const DEFAULT_WAIT_SECONDS = 3600 + 300;

const TimeoutSchema = z
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

/** Connects by stack name: region and endpoint from the environment, outputs from CloudFormation. */
export const connectToStack: ConnectToStack = async (target) => {
  const [{ createDeployedClients, destroyDeployedClients }, { findStack }] = await Promise.all([
    import('../deployed/clients'),
    import('../deployed/stack'),
  ]);
  const clients = await createDeployedClients(target.region ? { region: target.region } : {});
  try {
    const stack = await findStack(clients, target.stack);
    return { clients, stack, close: () => destroyDeployedClients(clients) };
  } catch (error) {
    destroyDeployedClients(clients);
    throw error;
  }
};

/** `--stack` and `--region`, shared by every deployed-stack command. */
function withStackOptions(command: Command): Command {
  return command
    .addOption(
      new Option('--stack <name>', 'the deployed Sandtrap stack').env('SANDTRAP_STACK').default(DEFAULT_STACK_NAME),
    )
    .option('--region <region>', 'AWS region of the stack (default: AWS_REGION, then the AWS config file)');
}

interface StackOptions {
  stack: string;
  region?: string;
}

/**
 * Adds the commands that drive a deployed stack: `submit`, `status`, `report` and `reanalyze`. The
 * stack is found by name through its CloudFormation outputs; every SDK client honours
 * `AWS_ENDPOINT_URL`, so the same commands drive MiniStack or LocalStack. Errors are one line
 * (`main` prints them and exits 1); an analysis that ends without a verdict exits 2.
 */
export function registerDeployedCommands(cli: Command, io: DeployedCommandsIo = {}): void {
  const connect = io.connect ?? connectToStack;
  const stdout = io.stdout ?? process.stdout;
  const stderr = io.stderr ?? process.stderr;
  const withStack = async <T>(options: StackOptions, use: (connection: StackConnection) => Promise<T>): Promise<T> => {
    const connection = await connect({ stack: options.stack, ...(options.region ? { region: options.region } : {}) });
    try {
      return await use(connection);
    } finally {
      connection.close();
    }
  };

  withStackOptions(
    cli
      .command('submit')
      .description(
        "Upload files to a deployed stack's ingest bucket (the upload starts the analysis); with --wait, print each verdict.",
      )
      .argument('<file...>', 'files to submit')
      .option('--wait', 'wait for each verdict and print it (the same table or JSON as `sandtrap analyze`)')
      .option('--timeout <seconds>', `with --wait, give up after this many seconds (default ${DEFAULT_WAIT_SECONDS})`)
      .option('--prefix <prefix>', 'key prefix in the ingest bucket, e.g. `uploads/` (default: none)')
      .option('--json', 'print JSON, one document per line')
      .option('-q, --quiet', 'no progress on stderr'),
  ).action(
    async (
      files: string[],
      options: StackOptions & { wait?: boolean; timeout?: string; prefix?: string; json?: boolean; quiet?: boolean },
    ) => {
      const { submissionKeys, uploadFile } = await import('../deployed/submit');
      const args = SubmitArgsSchema.parse({ files, prefix: options.prefix, wait: options.wait ?? false });
      const timeoutSeconds = TimeoutSchema.parse(options.timeout);
      const { ProgressBar, formatSubmissions, submissionJson, formatVerdicts } = await import('./deployed-format');
      const progress = (message: string) => (options.quiet ? undefined : stderr.write(`${escapeTerminal(message)}\n`));
      await withStack(options, async ({ clients, stack }) => {
        const keys = submissionKeys(args.files, args.prefix);
        const submissions: Submission[] = [];
        for (const [i, file] of args.files.entries()) {
          const bar = options.quiet ? undefined : new ProgressBar(stderr, file);
          try {
            submissions.push(
              await uploadFile(clients, stack, file, keys[i] as string, (sent, total) => bar?.update(sent, total)),
            );
          } finally {
            bar?.finish();
          }
          const s = submissions[submissions.length - 1] as Submission;
          // Without --wait the table on stdout says this; with it, stdout only gets the verdicts.
          if (args.wait)
            progress(`${file}: s3://${s.bucket}/${s.key} version ${s.versionId ?? '-'} sha256 ${s.sha256}`);
        }
        if (!args.wait) {
          stdout.write(
            options.json
              ? submissions.map((s) => `${jsonForTerminal(submissionJson(s))}\n`).join('')
              : formatSubmissions(submissions),
          );
          return;
        }
        progress(
          `waiting for ${submissions.length === 1 ? 'the verdict' : `${submissions.length} verdicts`} (up to ${timeoutSeconds} s)`,
        );
        const outcomes = await Promise.all(
          submissions.map((s) => waitForUpload(clients, stack, s, timeoutSeconds, progress)),
        );
        stdout.write(formatVerdicts(outcomes, options.json ?? false));
        if (outcomes.some((o) => !o.ok)) process.exitCode = 2;
      });
    },
  );

  withStackOptions(
    cli
      .command('status')
      .description('Print the stored verdict of a sha256 (DynamoDB) from a deployed stack.')
      .argument('<sha256>', 'content hash of the sample')
      .option('--json', 'print the verdict document as JSON'),
  ).action(async (sha: string, options: StackOptions & { json?: boolean }) => {
    const [{ Sha256ArgSchema, readVerdictRecord, documentFromRecord }, { formatVerdicts }] = await Promise.all([
      import('../deployed/verdicts'),
      import('./deployed-format'),
    ]);
    const sha256 = Sha256ArgSchema.parse(sha);
    await withStack(options, async ({ clients, stack }) => {
      const document = documentFromRecord(await readVerdictRecord(clients, stack, sha256));
      stdout.write(
        formatVerdicts(
          [{ file: `s3://${document.bucket}/${document.key}`, ok: true, document }],
          options.json ?? false,
        ),
      );
    });
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
      .option('--pdf <out>', "also write the report as PDF (Chromium's print-to-PDF) to this file"),
  ).action(async (target: string, options: StackOptions & { json?: boolean; html?: string; pdf?: string }) => {
    const [{ Sha256ArgSchema, readVerdictDocument, readReportObject }, { REPORT_RENDERERS }, { reportKeys }] =
      await Promise.all([
        import('../deployed/verdicts'),
        import('./deployed-format'),
        import('../lambdas/core/contracts/report-keys'),
      ]);
    const format: ReportFormat = options.json ? 'json' : 'text';
    const writeOutputs = async (html: string) => {
      if (options.html) writeFileSync(options.html, html);
      if (options.pdf) await (await import('./pdf')).htmlToPdf(html, options.pdf);
    };
    if (!/^[0-9a-fA-F]{64}$/.test(target) && existsSync(target)) {
      // A local file: analysed by the local pipeline, exactly as `sandtrap analyze` does.
      const [{ analyzeFiles, storedHtmlReport }, { localConfigFromEnv }, { LocalPipeline }] = await Promise.all([
        import('./analyze'),
        import('./config'),
        import('../local/runtime'),
      ]);
      const pipeline = await LocalPipeline.start({ config: localConfigFromEnv() });
      try {
        const [outcome] = await analyzeFiles(pipeline, { files: [target], detonator: 'auto' });
        if (!outcome?.ok) throw new Error(`${target}: analysis failed: ${outcome?.failure.reason ?? 'unknown'}`);
        await writeOutputs(await storedHtmlReport(pipeline, outcome.document.sha256));
        stdout.write(
          await REPORT_RENDERERS[format]({
            document: outcome.document,
            source: target,
            read: async () => new Uint8Array(),
          }),
        );
      } finally {
        await pipeline.stop();
      }
      return;
    }
    const sha256 = Sha256ArgSchema.parse(target);
    await withStack(options, async ({ clients, stack }) => {
      const document = await readVerdictDocument(clients, stack, sha256);
      const source = `s3://${stack.reportsBucket}/${reportKeys.verdict(sha256)}`;
      const read = (key: string) => readReportObject(clients, stack, sha256, key);
      if (options.html || options.pdf)
        await writeOutputs(Buffer.from(await read(reportKeys.html(sha256))).toString('utf8'));
      stdout.write(await REPORT_RENDERERS[format]({ document, source, read }));
    });
  });

  withStackOptions(
    cli
      .command('reanalyze')
      .description(
        'Analyse a stored sample again, bypassing the verdict cache (publishes `Sample Verdict Changed` if the verdict changes).',
      )
      .argument('<sha256>', 'content hash of the sample')
      .option('--wait', 'wait for the new verdict and print it')
      .option('--timeout <seconds>', `with --wait, give up after this many seconds (default ${DEFAULT_WAIT_SECONDS})`)
      .option('--json', 'print JSON'),
  ).action(async (sha: string, options: StackOptions & { wait?: boolean; timeout?: string; json?: boolean }) => {
    const [{ Sha256ArgSchema }, { startReanalysis, waitForAnalysis }, { formatVerdicts, failureOf }] =
      await Promise.all([import('../deployed/verdicts'), import('../deployed/analyses'), import('./deployed-format')]);
    const sha256 = Sha256ArgSchema.parse(sha);
    const timeoutSeconds = TimeoutSchema.parse(options.timeout);
    await withStack(options, async ({ clients, stack }) => {
      const started = await startReanalysis(clients, stack, sha256);
      const object = { bucket: started.bucket, key: started.key, versionId: started.versionId, sha256 };
      if (!options.wait) {
        stdout.write(
          options.json
            ? `${jsonForTerminal({ ...object, executionArn: started.executionArn })}\n`
            : `reanalysis of ${sha256} started: ${escapeTerminal(started.executionArn)}\n`,
        );
        return;
      }
      stderr.write(`reanalysis started: ${escapeTerminal(started.executionArn)}\n`);
      const end = await waitForAnalysis(
        clients,
        stack,
        { ...object, uploadIds: [started.uploadId], executionArn: started.executionArn, startedAt: started.startedAt },
        { timeoutMs: timeoutSeconds * 1000 },
      );
      const file = `s3://${started.bucket}/${started.key}`;
      const outcome: AnalysisOutcome =
        end.status === 'verdict'
          ? { file, ok: true, document: await documentOf(clients, stack, end) }
          : { file, ok: false, failure: failureOf(end, object) };
      stdout.write(formatVerdicts([outcome], options.json ?? false));
      if (!outcome.ok) process.exitCode = 2;
    });
  });
}

/** Waits for one upload's analysis and turns its end into an outcome. */
async function waitForUpload(
  clients: DeployedClients,
  stack: DeployedStack,
  s: Submission,
  timeoutSeconds: number,
  progress: (message: string) => void,
): Promise<AnalysisOutcome> {
  const [{ waitForAnalysis }, { failureOf }] = await Promise.all([
    import('../deployed/analyses'),
    import('./deployed-format'),
  ]);
  const end = await waitForAnalysis(
    clients,
    stack,
    {
      bucket: s.bucket,
      key: s.key,
      versionId: s.versionId,
      ...(s.etag ? { etag: s.etag } : {}),
      uploadIds: s.versionId ? [s.versionId] : [],
      startedAt: s.startedAt,
    },
    { timeoutMs: timeoutSeconds * 1000, onNotStarted: progress },
  );
  if (end.status !== 'verdict') {
    progress(`${s.file}: ${end.status === 'failed' ? `failed (${end.reason})` : 'no verdict in time'}`);
    return { file: s.file, ok: false, failure: failureOf(end, s) };
  }
  const document = await documentOf(clients, stack, end);
  progress(`${s.file}: ${document.verdict}`);
  return { file: s.file, ok: true, document };
}

/**
 * The verdict document of an upload that ended in a verdict: `verdict.json` of its content (or the
 * DynamoDB record where the reports bucket has none), told which upload it is about and whether the
 * verdict was reused from the cache.
 */
async function documentOf(
  clients: DeployedClients,
  stack: DeployedStack,
  end: Extract<AnalysisEnd, { status: 'verdict' }>,
): Promise<VerdictDocument> {
  const { readVerdictDocument, readVerdictRecord, documentFromRecord } = await import('../deployed/verdicts');
  const { UnknownSampleError, DeployedStackError } = await import('../deployed/errors');
  const { record } = end;
  if (!record.sha256)
    throw new DeployedStackError(`the record of s3://${record.bucket}/${record.key} has a verdict but no sha256`);
  let document: VerdictDocument;
  try {
    document = await readVerdictDocument(clients, stack, record.sha256);
  } catch (error) {
    if (!(error instanceof UnknownSampleError)) throw error;
    document = documentFromRecord(await readVerdictRecord(clients, stack, record.sha256));
  }
  // verdict.json is about the content; where this upload went is the upload's own record's to say.
  const { quarantinedTo: _ofAnotherUpload, ...content } = document;
  return {
    ...content,
    bucket: record.bucket,
    key: record.key,
    versionId: record.versionId ?? null,
    cached: record.cached ?? false,
    ...(record.quarantinedTo ? { quarantinedTo: record.quarantinedTo } : {}),
  };
}
