import { rmSync } from 'node:fs';
import * as z from 'zod';
import { parseSandtrapConfig } from '../../lib/config';
import { batchProgress } from '../batch-progress';
import { localConfigFromEnv } from '../config';
import { exitCodeOf as batchExitCode, EXIT, FailOnSchema } from '../exit-codes';
import { formatVerdicts } from '../format';
import { type CliIo, command } from '../io';
import { resolveInputs, SNIPPET_LANGUAGES, type SnippetLanguage } from '../inputs';
import { AnalysisSettingsSchema, analyzeInputs, keepHtmlReports, writeReports } from '../local-analysis';

/** Every option of `sandtrap analyze`: the inputs and how to analyse them, then where the results go. */
export const AnalyzeOptionsSchema = AnalysisSettingsSchema.extend({
  /** Files, directories, glob patterns and `-` (stdin); what cannot be read becomes a failed line. */
  files: z.array(z.string().min(1, 'an empty file name')).default([]),
  /** The language of the snippet on stdin (`-`) or in `--script`: it is analysed (and detonated) as a script of it. */
  language: z
    .enum(Object.keys(SNIPPET_LANGUAGES) as [SnippetLanguage, ...SnippetLanguage[]], {
      error: `--language takes one of ${Object.keys(SNIPPET_LANGUAGES).join(', ')}`,
    })
    .optional(),
  /** A snippet given inline, analysed as a script of `--language`. */
  script: z.string().min(1, '--script takes the text of a snippet').optional(),
  /** How many files are analysed at once. */
  concurrency: z
    .number()
    .int()
    .min(1, '--concurrency takes a whole number from 1 to 32')
    .max(32, '--concurrency takes a whole number from 1 to 32')
    .default(2),
  /** Exit with {@link EXIT.failOn} when a verdict reaches this level. */
  failOn: FailOnSchema.optional(),
  json: z.boolean().optional(),
  /** Appends every published event to this JSON-lines file. */
  events: z.string().optional(),
  /** Keeps local S3 and DynamoDB state in this directory. */
  state: z.string().optional(),
  /** Writes each file's HTML report into this directory. */
  html: z.string().optional(),
  /** Writes each file's report as PDF into this directory. */
  pdf: z.string().optional(),
  quiet: z.boolean().optional(),
})
  .refine((o) => o.files.length > 0 || o.script !== undefined, {
    error: 'name at least one file (or - for stdin, or --script)',
    path: ['files'],
  })
  .refine((o) => o.script === undefined || o.language !== undefined, {
    error: '--script needs --language: the language its text is in',
    path: ['language'],
  })
  .refine((o) => o.language === undefined || o.script !== undefined || o.files.includes('-'), {
    error: '--language is the language of a snippet: give it with - (stdin) or --script',
    path: ['language'],
  });
/** As typed: `--detonator`, `--fail-on` and `--language` are any word until the schema has checked them. */
export type AnalyzeOptions = Omit<z.input<typeof AnalyzeOptionsSchema>, 'detonator' | 'failOn' | 'language'> & {
  detonator?: string;
  failOn?: string;
  language?: string;
};

/**
 * `sandtrap analyze`: resolves the inputs (files, directories, globs, stdin), runs them through the
 * whole pipeline on this machine a few at a time and prints each verdict (the table, or one JSON
 * document per line, each with its `file`), progress on stderr. The exit code is in cli/exit-codes.ts.
 * Ctrl-C stops the analyses under way, prints what ended, and removes stdin's temporary copy.
 */
export const analyze = command(
  (input: AnalyzeOptions) => AnalyzeOptionsSchema.parse(input),
  async (options, io: Pick<CliIo, 'stdout' | 'stderr' | 'stdin' | 'env' | 'startPipeline' | 'onInterrupt'>) => {
    const config = localConfigFromEnv(io.env);
    const interrupted = new AbortController();
    // Temporary copies (stdin's) are removed at the end, or at once on Ctrl-C, even mid-read.
    const temporaries: string[] = [];
    const removeTemporaries = () => {
      for (const dir of temporaries.splice(0)) rmSync(dir, { recursive: true, force: true });
    };
    const stopListening = io.onInterrupt(() => {
      interrupted.abort();
      removeTemporaries();
    });
    try {
      const inputs = await resolveInputs(options.files, {
        stdin: io.stdin,
        maxBytes: parseSandtrapConfig(config).settings.maxObjectBytes,
        onTemporary: (dir) => temporaries.push(dir),
        signal: interrupted.signal,
        ...(options.language ? { language: options.language } : {}),
        ...(options.script !== undefined ? { script: options.script } : {}),
      });
      if (interrupted.signal.aborted) return EXIT.interrupted;
      const progress = batchProgress(io.stderr, inputs.length, options.quiet);
      progress.note('starting the local pipeline');
      const pipeline = await io.startPipeline({
        config,
        env: io.env,
        stateDir: options.state,
        eventsFile: options.events,
        detonator: options.detonator,
      });
      try {
        const outcomes = await analyzeInputs(
          pipeline,
          inputs,
          { concurrency: options.concurrency, timeoutSeconds: options.timeoutSeconds, signal: interrupted.signal },
          progress,
        );
        progress.stop();
        // Before printing: each verdict's reportUrl then names the report written to disk.
        const kept = interrupted.signal.aborted ? [] : await keepHtmlReports(pipeline, outcomes, options.html);
        // A table fits the terminal it is printed on; piped, it keeps its natural width.
        const width = io.stdout.isTTY ? io.stdout.columns : undefined;
        io.stdout.write(formatVerdicts(outcomes, options.json ?? false, width));
        if (options.events) progress.note(`events appended to ${options.events}`);
        if (options.html) for (const path of kept) progress.note(`wrote ${path}`);
        if (options.pdf && !interrupted.signal.aborted) {
          const written = await writeReports(pipeline, outcomes, { pdfDir: options.pdf, env: io.env });
          for (const path of written.paths) progress.note(`wrote ${path}`);
          for (const problem of written.problems) progress.note(`sandtrap: ${problem}`);
        }
        return batchExitCode(outcomes, { failOn: options.failOn, interrupted: interrupted.signal.aborted });
      } finally {
        progress.stop();
        await pipeline.stop();
      }
    } finally {
      stopListening();
      removeTemporaries();
    }
  },
);
