import * as z from 'zod';
import { localConfigFromEnv } from '../config';
import { formatVerdicts } from '../format';
import { type CliIo, command, progressTo } from '../io';
import { AnalyzeArgsSchema, analyzeFiles, writeReports } from '../local-analysis';

/** Every option of `sandtrap analyze`: the files and how to analyse them, then where the results go. */
export const AnalyzeOptionsSchema = AnalyzeArgsSchema.extend({
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
});
/** As typed: `--detonator` is any word until the schema has checked it. */
export type AnalyzeOptions = Omit<z.input<typeof AnalyzeOptionsSchema>, 'detonator'> & { detonator?: string };

/**
 * `sandtrap analyze`: runs the files through the whole pipeline on this machine and prints each
 * verdict (the table, or one JSON document per line), progress on stderr. Exits 2 when a file's
 * analysis ends without a verdict.
 */
export const analyze = command(
  (input: AnalyzeOptions) => AnalyzeOptionsSchema.parse(input),
  async (options, io: Pick<CliIo, 'stdout' | 'stderr' | 'env' | 'startPipeline'>) => {
    const config = localConfigFromEnv(io.env);
    const progress = progressTo(io.stderr, options.quiet);
    progress('starting the local pipeline');
    const pipeline = await io.startPipeline({
      config,
      env: io.env,
      stateDir: options.state,
      eventsFile: options.events,
      detonator: options.detonator,
    });
    try {
      const outcomes = await analyzeFiles(pipeline, options, progress);
      io.stdout.write(formatVerdicts(outcomes, options.json ?? false));
      if (options.events) progress(`events appended to ${options.events}`);
      if (options.html || options.pdf) {
        for (const path of await writeReports(pipeline, outcomes, { htmlDir: options.html, pdfDir: options.pdf }))
          progress(`wrote ${path}`);
      }
      return outcomes.some((o) => !o.ok) ? 2 : 0;
    } finally {
      await pipeline.stop();
    }
  },
);
