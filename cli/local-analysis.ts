import { mkdirSync, statSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { reportKeys } from '../lambdas/core/contracts/report-keys';
import * as z from 'zod';
import {
  DETAIL_TYPE_FAILED,
  DETAIL_TYPE_VERDICT,
  SampleAnalysisFailedDetailSchema,
  SampleVerdictDetailSchema,
  VerdictDocumentSchema,
  type VerdictDocument,
} from '../lambdas/core/contracts/pipeline';
import { detonationReportOf } from '../lambdas/core/engines/detonation/detonation-runs';
import { staticSummaryOf } from '../lambdas/core/engines/static/static-reports';
import type { LocalPipeline } from '../local/runtime';
import type { AnalysisOutcome } from './outcome';
import { escapeTerminal } from './terminal-escape';

/** Files to analyse and how (`sandtrap analyze`; `submit` extends it), validated before anything starts. */
export const AnalyzeArgsSchema = z.object({
  files: z
    .array(z.string().min(1))
    .min(1, 'name at least one file')
    .superRefine((files, ctx) => {
      for (const file of files) {
        let ok = false;
        try {
          ok = statSync(file).isFile();
        } catch {
          ok = false;
        }
        if (!ok) ctx.addIssue({ code: 'custom', message: `${file}: not a readable file` });
      }
    }),
  timeoutSeconds: z
    .number()
    .int()
    .positive()
    .max(24 * 3600)
    .optional(),
  detonator: z
    .enum(['auto', 'host', 'docker', 'none'], { message: '--detonator takes auto, host, docker or none' })
    .default('auto'),
});
export type AnalyzeArgs = z.infer<typeof AnalyzeArgsSchema>;

/** Object keys for the files, unique even when two files share a name. */
function keysFor(files: string[]): string[] {
  const seen = new Map<string, number>();
  return files.map((file) => {
    const name = basename(file);
    const count = (seen.get(name) ?? 0) + 1;
    seen.set(name, count);
    return count === 1 ? `local/${name}` : `local/${count}/${name}`;
  });
}

/**
 * Uploads each file to the local ingest bucket, runs the state machine on its `Object Created` event,
 * and returns the verdict document (or the failure) of each, in the order given.
 */
export async function analyzeFiles(
  pipeline: LocalPipeline,
  args: AnalyzeArgs,
  progress: (message: string) => void = () => undefined,
): Promise<AnalysisOutcome[]> {
  const keys = keysFor(args.files);
  const outcomes: AnalysisOutcome[] = [];
  for (const [i, file] of args.files.entries()) {
    const key = keys[i] as string;
    // Progress lines go to a terminal: the file name (which the file's author chose) is escaped.
    const label = `[${i + 1}/${args.files.length}] ${escapeTerminal(file)}`;
    progress(`${label}: uploading`);
    const event = await pipeline.upload({ path: file, key });
    progress(`${label}: analysing`);
    const run = await pipeline.run(event, { timeoutMs: args.timeoutSeconds ? args.timeoutSeconds * 1000 : undefined });
    const verdictEvent = pipeline.events(DETAIL_TYPE_VERDICT).findLast((e) => e.detail.key === key);
    if (run.status === 'SUCCEEDED' && verdictEvent) {
      outcomes.push({
        file,
        ok: true,
        document: await verdictDocument(pipeline, SampleVerdictDetailSchema.parse(verdictEvent.detail)),
      });
      progress(`${label}: ${escapeTerminal(String(verdictEvent.detail.verdict))}`);
      continue;
    }
    const failedEvent = pipeline.events(DETAIL_TYPE_FAILED).findLast((e) => e.detail.key === key);
    const failure = failedEvent
      ? SampleAnalysisFailedDetailSchema.parse(failedEvent.detail)
      : {
          reason: run.error ?? 'Unknown',
          error: run.cause ?? 'the execution ended without an event',
          bucket: null,
          key,
        };
    outcomes.push({ file, ok: false, failure });
    progress(`${label}: failed (${escapeTerminal(failure.reason)})`);
  }
  return outcomes;
}

/** The verdict document: the event detail plus hashes and every engine's full result, from the store. */
export async function verdictDocument(
  pipeline: LocalPipeline,
  detail: z.infer<typeof SampleVerdictDetailSchema>,
): Promise<VerdictDocument> {
  const deps = pipeline.deps('FinalizeFn');
  const record = await deps.store.getVerdict(detail.sha256);
  if (!record) throw new Error(`no stored verdict for ${detail.sha256}`);
  const detonation = await detonationReportOf(deps, record.engineResults);
  const behavior = detonation?.behavior;
  const staticSummary = await staticSummaryOf(deps, record.engineResults, detonation);
  return VerdictDocumentSchema.parse({
    ...detail,
    sha1: record.sha1,
    md5: record.md5,
    mimeType: record.mimeType,
    engineResults: record.engineResults,
    ...(behavior ? { behavior } : {}),
    ...(staticSummary ? { static: staticSummary } : {}),
  });
}

/** Reads the HTML report Finalize stored for a sample from the (local) reports bucket. */
export async function storedHtmlReport(pipeline: LocalPipeline, sha256: string): Promise<string> {
  const deps = pipeline.deps('FinalizeFn');
  const object = await deps.clients.s3.send(
    new GetObjectCommand({ Bucket: deps.config.reportsBucket, Key: reportKeys.html(sha256) }),
  );
  return (await object.Body?.transformToString('utf8')) ?? '';
}

/**
 * Writes each analysed file's HTML report (and PDF, through Chromium's print-to-PDF) into `dir`,
 * named after the file; returns the paths written.
 */
export async function writeReports(
  pipeline: LocalPipeline,
  outcomes: AnalysisOutcome[],
  options: { htmlDir?: string; pdfDir?: string },
): Promise<string[]> {
  const written: string[] = [];
  for (const dir of [options.htmlDir, options.pdfDir]) if (dir) mkdirSync(dir, { recursive: true });
  const names = new Map<string, number>();
  for (const outcome of outcomes) {
    if (!outcome.ok) continue;
    const base = basename(outcome.file).replace(/[^A-Za-z0-9._-]/g, '_');
    const seen = (names.get(base) ?? 0) + 1;
    names.set(base, seen);
    const name = seen === 1 ? base : `${base}-${seen}`;
    const html = await storedHtmlReport(pipeline, outcome.document.sha256);
    if (options.htmlDir) {
      const path = join(options.htmlDir, `${name}.html`);
      writeFileSync(path, html);
      written.push(path);
    }
    if (options.pdfDir) {
      const { htmlToPdf } = await import('./pdf');
      const path = join(options.pdfDir, `${name}.pdf`);
      await htmlToPdf(html, path);
      written.push(path);
    }
  }
  return written;
}
