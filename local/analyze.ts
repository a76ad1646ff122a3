import { statSync } from 'node:fs';
import { basename } from 'node:path';
import * as z from 'zod';
import {
  DETAIL_TYPE_FAILED,
  DETAIL_TYPE_VERDICT,
  SampleAnalysisFailedDetailSchema,
  SampleVerdictDetailSchema,
  VerdictDocumentSchema,
  type SampleAnalysisFailedDetail,
  type VerdictDocument,
} from '../lambdas/core/schemas';
import { behaviorOf } from '../lambdas/core/detonation';
import type { LocalPipeline } from './runtime';

/** CLI input of `sandtrap analyze`, validated before anything starts. */
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
  timeoutSeconds: z.number().int().positive().max(24 * 3600).optional(),
  detonator: z.enum(['auto', 'host', 'docker', 'none'], { message: '--detonator takes auto, host, docker or none' }).default('auto'),
});
export type AnalyzeArgs = z.infer<typeof AnalyzeArgsSchema>;

/** How one file's analysis ended. */
export type AnalysisOutcome =
  | { file: string; ok: true; document: VerdictDocument }
  | { file: string; ok: false; failure: SampleAnalysisFailedDetail | { reason: string; error: string; bucket: null; key: string } };

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
    progress(`[${i + 1}/${args.files.length}] ${file}: uploading`);
    const event = await pipeline.upload({ path: file, key });
    progress(`[${i + 1}/${args.files.length}] ${file}: analysing`);
    const run = await pipeline.run(event, { timeoutMs: args.timeoutSeconds ? args.timeoutSeconds * 1000 : undefined });
    const verdictEvent = pipeline.events(DETAIL_TYPE_VERDICT).findLast((e) => e.detail.key === key);
    if (run.status === 'SUCCEEDED' && verdictEvent) {
      outcomes.push({ file, ok: true, document: await verdictDocument(pipeline, SampleVerdictDetailSchema.parse(verdictEvent.detail)) });
      progress(`[${i + 1}/${args.files.length}] ${file}: ${String(verdictEvent.detail.verdict)}`);
      continue;
    }
    const failedEvent = pipeline.events(DETAIL_TYPE_FAILED).findLast((e) => e.detail.key === key);
    const failure = failedEvent
      ? SampleAnalysisFailedDetailSchema.parse(failedEvent.detail)
      : { reason: run.error ?? 'Unknown', error: run.cause ?? 'the execution ended without an event', bucket: null, key };
    outcomes.push({ file, ok: false, failure });
    progress(`[${i + 1}/${args.files.length}] ${file}: failed (${failure.reason})`);
  }
  return outcomes;
}

/** The verdict document: the event detail plus hashes and every engine's full result, from the store. */
export async function verdictDocument(pipeline: LocalPipeline, detail: z.infer<typeof SampleVerdictDetailSchema>): Promise<VerdictDocument> {
  const deps = pipeline.deps('FinalizeFn');
  const record = await deps.store.getVerdict(detail.sha256);
  if (!record) throw new Error(`no stored verdict for ${detail.sha256}`);
  const behavior = await behaviorOf(deps, record.engineResults);
  return VerdictDocumentSchema.parse({
    ...detail,
    sha1: record.sha1,
    md5: record.md5,
    mimeType: record.mimeType,
    engineResults: record.engineResults,
    ...(behavior ? { behavior } : {}),
  });
}
