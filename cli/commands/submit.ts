import * as z from 'zod';
import { waitForAnalysis } from '../../deployed/analyses';
import type { DeployedClients } from '../../deployed/clients';
import type { DeployedStack } from '../../deployed/stack';
import { submissionKeys, uploadFile, uploadTargetOf, type Submission } from '../../deployed/submit';
import { formatVerdicts } from '../format';
import { type CliIo, progressTo } from '../io';
import { AnalyzeArgsSchema } from '../local-analysis';
import { documentOf, failureOf, uploadTarget, type AnalysisOutcome } from '../outcome';
import { parseWaiting, StackOptionsSchema, stackCommand } from '../stack-options';
import { jsonForTerminal } from '../terminal-escape';
import { formatSubmissions, ProgressBar, submissionJson } from '../upload-format';

/** CLI input of `sandtrap submit`, validated before anything is uploaded. */
export const SubmitArgsSchema = AnalyzeArgsSchema.extend({
  prefix: z
    .string()
    .max(512, 'the prefix is longer than 512 characters')
    .refine((prefix) => !prefix.startsWith('/'), 'the prefix must not start with "/" (S3 keys have no leading slash)')
    .default(''),
  /** One of the buckets the stack analyses; its ingest bucket (or its first source) by default. */
  bucket: z
    .string()
    .regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, 'not an S3 bucket name')
    .optional(),
  wait: z.boolean().default(false),
});
export type SubmitArgs = z.infer<typeof SubmitArgsSchema>;

/** Every option of `sandtrap submit` but `--timeout`, which is checked after them (see {@link parseWaiting}). */
export const SubmitOptionsSchema = SubmitArgsSchema.extend({
  ...StackOptionsSchema.shape,
  json: z.boolean().optional(),
  quiet: z.boolean().optional(),
});

/**
 * `sandtrap submit`: uploads each file to the stack's ingest bucket, or the source bucket named by
 * `--bucket` (a stack without an ingest bucket: its first source), under `--prefix` or the
 * source's first prefix (the upload starts its analysis) and prints where each went; with `--wait`, waits for the verdicts and prints them
 * instead. Exits 2 when an awaited analysis ends without a verdict.
 */
export const submit = stackCommand(
  parseWaiting(SubmitOptionsSchema),
  async (options, { clients, stack }, io: Pick<CliIo, 'stdout' | 'stderr' | 'now' | 'connect'>) => {
    const { stdout, stderr } = io;
    const progress = progressTo(stderr, options.quiet);
    const target = uploadTargetOf(stack, {
      prefix: options.prefix,
      ...(options.bucket ? { bucket: options.bucket } : {}),
    });
    const keys = submissionKeys(options.files, target.prefix);
    const submissions: Submission[] = [];
    for (const [i, file] of options.files.entries()) {
      const bar = options.quiet ? undefined : new ProgressBar(stderr, file, io.now);
      try {
        submissions.push(
          await uploadFile(clients, target.bucket, file, keys[i] as string, (sent, total) => bar?.update(sent, total)),
        );
      } finally {
        bar?.finish();
      }
      const s = submissions[submissions.length - 1] as Submission;
      // Without --wait the table on stdout says this; with it, stdout only gets the verdicts.
      if (options.wait) progress(`${file}: s3://${s.bucket}/${s.key} version ${s.versionId ?? '-'} sha256 ${s.sha256}`);
    }
    if (!options.wait) {
      stdout.write(
        options.json
          ? submissions.map((s) => `${jsonForTerminal(submissionJson(s))}\n`).join('')
          : formatSubmissions(submissions),
      );
      return 0;
    }
    progress(
      `waiting for ${submissions.length === 1 ? 'the verdict' : `${submissions.length} verdicts`} (up to ${options.waitSeconds} s)`,
    );
    const outcomes = await Promise.all(
      submissions.map((s) =>
        waitForUpload(clients, stack, s, { timeoutSeconds: options.waitSeconds, progress, now: io.now }),
      ),
    );
    stdout.write(formatVerdicts(outcomes, options.json ?? false));
    return outcomes.some((o) => !o.ok) ? 2 : 0;
  },
);

/** Waits for one upload's analysis and turns its end into an outcome. */
async function waitForUpload(
  clients: DeployedClients,
  stack: DeployedStack,
  s: Submission,
  wait: { timeoutSeconds: number; progress: (message: string) => void; now: () => number },
): Promise<AnalysisOutcome> {
  const end = await waitForAnalysis(clients, stack, uploadTarget(s), {
    timeoutMs: wait.timeoutSeconds * 1000,
    onNotStarted: wait.progress,
  });
  if (end.status !== 'verdict') {
    wait.progress(`${s.file}: ${end.status === 'failed' ? `failed (${end.reason})` : 'no verdict in time'}`);
    return { file: s.file, ok: false, failure: failureOf(end, s, wait.now()) };
  }
  const document = await documentOf(clients, stack, end);
  wait.progress(`${s.file}: ${document.verdict}`);
  return { file: s.file, ok: true, document };
}
