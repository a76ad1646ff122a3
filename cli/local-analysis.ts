import { mkdirSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { besideReport, reportKeys } from '../lambdas/core/contracts/report-keys';
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
import type { DeliveredEvent } from '../local/event-sink';
import type { LocalPipeline, QueuePosition, Transition } from '../local/runtime';
import type { BatchProgress } from './batch-progress';
import type { Input } from './inputs';
import type { AnalysisOutcome } from './outcome';
import { escapeTerminal } from './terminal-escape';
import { sandtrapCacheDir } from '../lib/cache-dir';

/** How local analyses run: the deadline of each and where the detonation engine runs. */
export const AnalysisSettingsSchema = z.object({
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

/**
 * Files to analyse and how (`submit` extends it), validated before anything starts: each must be a
 * readable file. (`analyze` takes directories, globs and stdin too, and reports a missing one as a
 * failed line instead: see cli/inputs.ts.)
 */
export const AnalyzeArgsSchema = AnalysisSettingsSchema.extend({
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

/** How each analysis of a batch runs. */
export interface AnalysisRun {
  timeoutSeconds?: number;
  /** Stops the analysis under way (Ctrl-C): it ends as an `Interrupted` failure. */
  signal?: AbortSignal;
}

/** What one analysis tells as it goes. */
interface AnalysisObserver {
  say(text: string): void;
  transition?(transition: Transition): void;
  queue?(queue: QueuePosition): void;
}

/** A failure that happened before or around the pipeline (unreadable input, interruption, a refused upload). */
function failed(file: string, key: string, reason: string, error: string): AnalysisOutcome {
  return { file, ok: false, failure: { reason, error, bucket: null, key } };
}

/**
 * Uploads one file to the local ingest bucket under `key`, runs the state machine on its `Object
 * Created` event, and returns its verdict document or its failure.
 */
async function analyzeOne(
  pipeline: LocalPipeline,
  input: { file: string; path: string; key: string },
  run: AnalysisRun,
  observer: AnalysisObserver,
): Promise<AnalysisOutcome> {
  const { file, key } = input;
  const started = Date.now();
  // The analysis' end event for this key. An upload whose content is already being analysed joins
  // that analysis and gets its verdict when that one ends, after its own execution did: listened
  // for from the start so that neither order is missed.
  const endEvent = new Promise<DeliveredEvent>((resolve) => {
    const stop = pipeline.sink?.subscribe((event) => {
      const type = event['detail-type'];
      if ((type === DETAIL_TYPE_VERDICT || type === DETAIL_TYPE_FAILED) && event.detail.key === key) {
        stop?.();
        resolve(event);
      }
    });
  });
  observer.say('uploading');
  const event = await pipeline.upload({ path: input.path, key });
  observer.say('analysing');
  const timeoutMs = run.timeoutSeconds ? run.timeoutSeconds * 1000 : undefined;
  const result = await pipeline.run(event, {
    timeoutMs,
    signal: run.signal,
    onTransition: observer.transition,
    onQueue: observer.queue,
  });
  if (result.status === 'SUCCEEDED' && result.transitions.some((t) => t.name === JOINED_STATE)) {
    observer.say('waiting for the analysis of the same content');
    const joined = await untilEnd(
      endEvent,
      timeoutMs === undefined ? undefined : timeoutMs - (Date.now() - started),
      run.signal,
    );
    if (!joined)
      return failed(
        file,
        key,
        run.signal?.aborted ? 'Interrupted' : 'TimedOut',
        'no verdict from the analysis it joined',
      );
  }
  const verdictEvent = pipeline.events(DETAIL_TYPE_VERDICT).findLast((e) => e.detail.key === key);
  if (result.status === 'SUCCEEDED' && verdictEvent) {
    const document = await verdictDocument(pipeline, SampleVerdictDetailSchema.parse(verdictEvent.detail));
    return { file, ok: true, document };
  }
  const failedEvent = pipeline.events(DETAIL_TYPE_FAILED).findLast((e) => e.detail.key === key);
  if (failedEvent) return { file, ok: false, failure: SampleAnalysisFailedDetailSchema.parse(failedEvent.detail) };
  return failed(file, key, result.error ?? 'Unknown', result.cause ?? 'the execution ended without an event');
}

/** The state an upload ends in when it joined the running analysis of its content (lib/workflow.ts STATES.joined). */
const JOINED_STATE = 'JoinedAnalysis';

/** The event, or undefined once `ms` passed or the signal aborted. */
async function untilEnd<T>(event: Promise<T>, ms: number | undefined, signal?: AbortSignal): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  let onAbort: () => void = () => undefined;
  const stopped = new Promise<undefined>((resolve) => {
    if (ms !== undefined) timer = setTimeout(() => resolve(undefined), Math.max(0, ms));
    onAbort = () => resolve(undefined);
    if (signal?.aborted) onAbort();
    signal?.addEventListener('abort', onAbort, { once: true });
  });
  try {
    return await Promise.race([event, stopped]);
  } finally {
    clearTimeout(timer);
    signal?.removeEventListener('abort', onAbort);
  }
}

/** The last progress line of an outcome: its verdict, or why it failed. */
export function outcomeLine(outcome: AnalysisOutcome): string {
  return outcome.ok ? String(outcome.document.verdict) : `failed (${outcome.failure.reason})`;
}

/**
 * Uploads each file to the local ingest bucket, runs the state machine on its `Object Created` event,
 * and returns the verdict document (or the failure) of each, in the order given, one after another.
 */
export async function analyzeFiles(
  pipeline: LocalPipeline,
  args: Pick<AnalyzeArgs, 'files'> & Partial<AnalyzeArgs>,
  progress: (message: string) => void = () => undefined,
): Promise<AnalysisOutcome[]> {
  const keys = keysFor(args.files);
  const outcomes: AnalysisOutcome[] = [];
  for (const [i, file] of args.files.entries()) {
    // Progress lines go to a terminal: the file name (which the file's author chose) is escaped.
    const label = `[${i + 1}/${args.files.length}] ${escapeTerminal(file)}`;
    const say = (text: string) => progress(`${label}: ${escapeTerminal(text)}`);
    const outcome = await analyzeOne(pipeline, { file, path: file, key: keys[i] as string }, args, { say });
    say(outcomeLine(outcome));
    outcomes.push(outcome);
  }
  return outcomes;
}

/**
 * Analyses a batch: at most `concurrency` files at once, each reported as it goes to `progress`.
 * An input that could not be read is a failure without an upload; one whose analysis threw (the
 * local services refusing it) is a failure too: one file never stops the batch. Outcomes keep the
 * inputs' order; an interrupted batch starts nothing more.
 */
export async function analyzeInputs(
  pipeline: LocalPipeline,
  inputs: Input[],
  options: AnalysisRun & { concurrency: number },
  progress: BatchProgress,
): Promise<AnalysisOutcome[]> {
  const keys = keysFor(inputs.map((input) => ('name' in input && input.name) || input.file));
  const outcomes: AnalysisOutcome[] = new Array(inputs.length);
  let next = 0;
  const worker = async () => {
    while (next < inputs.length) {
      const i = next++;
      const input = inputs[i] as Input;
      const key = keys[i] as string;
      const shown = progress.file(i, input.file);
      let outcome: AnalysisOutcome;
      if ('error' in input) outcome = failed(input.file, key, 'Unreadable', input.error);
      else if (options.signal?.aborted)
        outcome = failed(input.file, key, 'Interrupted', 'not started: the batch was interrupted');
      else {
        try {
          outcome = await analyzeOne(pipeline, { file: input.file, path: input.path, key }, options, {
            say: (text) => shown.say(text),
            transition: (transition) => shown.transition(transition),
            queue: (queue) => shown.queue(queue),
          });
        } catch (error) {
          outcome = failed(input.file, key, 'Error', (error as Error).message);
        }
      }
      shown.end(outcomeLine(outcome));
      outcomes[i] = outcome;
    }
  };
  await Promise.all(Array.from({ length: Math.min(options.concurrency, inputs.length) }, worker));
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

/** Where `sandtrap analyze` keeps each verdict's HTML report when no `--html` directory is given. */
export function localReportsDir(): string {
  return join(sandtrapCacheDir(), 'reports');
}

/**
 * Writes each analysed file's HTML report where it outlives the run, and points the verdict's
 * `reportUrl` at it as a `file://` URL: the presigned link Finalize made names the local S3 emulator,
 * which is gone when the command exits. The report goes into `htmlDir` when given (named after the
 * file), else into {@link localReportsDir} (named after the content hash). Returns the paths written.
 */
export async function keepHtmlReports(
  pipeline: LocalPipeline,
  outcomes: AnalysisOutcome[],
  htmlDir: string | undefined,
): Promise<string[]> {
  const dir = htmlDir ?? localReportsDir();
  mkdirSync(dir, { recursive: true });
  const names = new Map<string, number>();
  const paths: string[] = [];
  for (const outcome of outcomes) {
    if (!outcome.ok) continue;
    let name = `${outcome.document.sha256}.html`;
    if (htmlDir) {
      const base = basename(outcome.file).replace(/[^A-Za-z0-9._-]/g, '_');
      const seen = (names.get(base) ?? 0) + 1;
      names.set(base, seen);
      name = `${seen === 1 ? base : `${base}-${seen}`}.html`;
    }
    const path = join(dir, name);
    writeFileSync(path, await storedHtmlReport(pipeline, outcome.document.sha256));
    outcome.document.reportUrl = pathToFileURL(path).href;
    paths.push(path);
    const capture = await keepCapture(pipeline, outcome.document, dir);
    if (capture) paths.push(capture);
  }
  return paths;
}

/** The largest capture copied out of the local S3 (the agent uploads none larger). */
const MAX_KEPT_CAPTURE_BYTES = 16 * 1024 * 1024;

/**
 * Copies the detonation's packet capture out of the local S3 to where the HTML report's link to
 * it points (the same path relative to the report as in the bucket); returns its path, or null.
 */
async function keepCapture(pipeline: LocalPipeline, document: VerdictDocument, dir: string): Promise<string | null> {
  const key = document.engineResults.find((e) => e.engine === 'detonation')?.captureKey;
  const relative = key ? besideReport(key, document.sha256) : null;
  if (!key || !relative) return null;
  const deps = pipeline.deps('FinalizeFn');
  try {
    const object = await deps.clients.s3.send(new GetObjectCommand({ Bucket: deps.config.reportsBucket, Key: key }));
    if ((object.ContentLength ?? 0) > MAX_KEPT_CAPTURE_BYTES) return null;
    const bytes = await object.Body?.transformToByteArray();
    if (!bytes || bytes.length > MAX_KEPT_CAPTURE_BYTES) return null;
    const path = join(dir, relative);
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, bytes);
    return path;
  } catch {
    // A capture the agent did not manage to upload: the report's link stays, the file is missing.
    return null;
  }
}

/**
 * Writes each analysed file's HTML report (and PDF, through Chromium's print-to-PDF) into `dir`,
 * named after the file; returns the paths written, and what could not be written as one line each:
 * the verdicts are already printed, and a missing browser must not undo them.
 */
export async function writeReports(
  pipeline: LocalPipeline,
  outcomes: AnalysisOutcome[],
  options: { htmlDir?: string; pdfDir?: string; env?: NodeJS.ProcessEnv },
): Promise<{ paths: string[]; problems: string[] }> {
  const paths: string[] = [];
  const problems: string[] = [];
  for (const dir of [options.htmlDir, options.pdfDir]) if (dir) mkdirSync(dir, { recursive: true });
  const names = new Map<string, number>();
  let pdfImpossible = false;
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
      paths.push(path);
    }
    if (options.pdfDir && !pdfImpossible) {
      const { htmlToPdf } = await import('./pdf');
      const { BrowserNotFoundError } = await import('./browser');
      const path = join(options.pdfDir, `${name}.pdf`);
      try {
        await htmlToPdf(html, path, options.env);
        paths.push(path);
      } catch (error) {
        // No browser is no browser for every file: said once. Another failure is this file's.
        pdfImpossible = error instanceof BrowserNotFoundError;
        problems.push(pdfImpossible ? (error as Error).message : `${path}: ${firstLine(error)}`);
      }
    }
  }
  return { paths, problems };
}

/** Playwright's errors run to several coloured lines (call log, hints): the first line, uncoloured. */
function firstLine(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  // biome-ignore lint/suspicious/noControlCharactersInRegex: ANSI colour sequences are what is removed.
  return (text.replace(/\u001b\[[0-9;]*m/g, '').split('\n')[0] ?? '').trim();
}
