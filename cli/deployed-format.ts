import type { SampleAnalysisFailedDetail, VerdictDocument } from '../lambdas/core/contracts/pipeline';
import type { AnalysisOutcome } from './analyze';
import type { AnalysisEnd } from '../deployed/analyses';
import type { Submission } from '../deployed/submit';
import { formatOutcomes, table } from './format';
import { escapeTerminal, jsonForTerminal } from './terminal-escape';

/** The stream progress goes to: stderr, or a fake in tests. */
export interface ProgressStream {
  write(text: string): unknown;
  isTTY?: boolean;
}

const BAR_WIDTH = 24;
/** Redraws at most this often: a fast upload would otherwise spend its time repainting. */
const REDRAW_MS = 100;

/** `1.3 MB`: sizes as a person reads them. */
export function humanBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  const units = ['KB', 'MB', 'GB', 'TB'];
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value.toFixed(value < 10 ? 1 : 0)} ${units[unit]}`;
}

/** One line of the bar: `name  [#####-----]  50%  1.0 MB / 2.0 MB`. */
export function progressLine(label: string, sent: number, total: number): string {
  const ratio = total > 0 ? Math.min(1, sent / total) : 1;
  const filled = Math.round(ratio * BAR_WIDTH);
  const percent = `${Math.floor(ratio * 100)}%`.padStart(4);
  return `${escapeTerminal(label)}  [${'#'.repeat(filled)}${'-'.repeat(BAR_WIDTH - filled)}] ${percent}  ${humanBytes(sent)} / ${humanBytes(total)}`;
}

/**
 * An upload progress bar on stderr. On a terminal it redraws one line in place; anywhere else (a CI
 * log, a pipe) it writes only the start and the end, so that logs are not flooded with repaints.
 */
export class ProgressBar {
  private lastDraw = Number.NEGATIVE_INFINITY;
  private finished = false;
  private started = false;

  private readonly label: string;

  /** `label` is a file name: escaped here, since the bar writes it raw next to its own `\r`. */
  constructor(
    private readonly out: ProgressStream,
    label: string,
    private readonly now: () => number = Date.now,
  ) {
    this.label = escapeTerminal(label);
  }

  /** Reports bytes sent of total; the bar ends itself when everything is sent. */
  update(sent: number, total: number): void {
    if (this.finished) return;
    const complete = sent >= total;
    if (!this.out.isTTY) {
      if (!this.started) this.out.write(`${this.label}: uploading ${humanBytes(total)}\n`);
      this.started = true;
      if (complete) this.finish(`${this.label}: uploaded ${humanBytes(total)}\n`);
      return;
    }
    this.started = true;
    if (!complete && this.now() - this.lastDraw < REDRAW_MS) return;
    this.lastDraw = this.now();
    this.out.write(`\r${progressLine(this.label, sent, total)}`);
    if (complete) this.finish('\n');
  }

  /** Ends the line (also when an upload fails half-way, so that the error starts on a fresh line). */
  finish(text = '\n'): void {
    if (this.finished || !this.started) return;
    this.finished = true;
    this.out.write(text);
  }
}

/** Columns of the upload table: what `submit` prints without `--wait`. */
export function formatSubmissions(submissions: Submission[]): string {
  const rows = [
    ['FILE', 'KEY', 'VERSION', 'SIZE', 'SHA256'],
    ...submissions.map((s) => [s.file, `s3://${s.bucket}/${s.key}`, s.versionId ?? '-', humanBytes(s.size), s.sha256]),
  ];
  return `${table(rows)}\n`;
}

/** The JSON line `submit --json` prints per upload (without `--wait`). */
export function submissionJson(s: Submission): Record<string, unknown> {
  return {
    file: s.file,
    bucket: s.bucket,
    key: s.key,
    versionId: s.versionId,
    size: s.size,
    sha256: s.sha256,
    ...(s.etag ? { etag: s.etag } : {}),
  };
}

/** The failure of an analysis that did not end in a verdict (failed, or still running at the deadline). */
export function failureOf(
  end: Exclude<AnalysisEnd, { status: 'verdict' }>,
  object: { bucket: string; key: string; versionId: string | null; sha256?: string },
  now = Date.now(),
): SampleAnalysisFailedDetail {
  const base = {
    ...(object.sha256 ? { sha256: object.sha256 } : {}),
    bucket: object.bucket,
    key: object.key,
    versionId: object.versionId,
  };
  if (end.status === 'failed')
    return { ...base, reason: end.reason, error: end.error, failedAt: new Date(end.at).toISOString() };
  const seconds = Math.round(end.waitedMs / 1000);
  const error = end.started
    ? `no verdict after ${seconds} s; the analysis is still running (see later with \`sandtrap status ${object.sha256 ?? '<sha256>'}\`)`
    : `no analysis started within ${seconds} s (is the key under the stack's ingest prefix?)`;
  return { ...base, reason: 'Timeout', error, failedAt: new Date(now).toISOString() };
}

/**
 * What `--wait` and `status` print: the same table as `sandtrap analyze`, or with `--json` one
 * document per line (`{file, failed: true, ...}` for an analysis without a verdict).
 */
export function formatVerdicts(outcomes: AnalysisOutcome[], json: boolean): string {
  if (!json) return formatOutcomes(outcomes);
  return outcomes
    .map((o) => `${jsonForTerminal(o.ok ? o.document : { file: o.file, failed: true, ...o.failure })}\n`)
    .join('');
}

/** The human-readable verdict report `sandtrap report` prints by default. */
export function formatReportText(document: VerdictDocument): string {
  const score = document.score === null ? 'no score' : `score ${document.score}`;
  const lines = [
    `sha256    ${document.sha256}`,
    `sha1      ${document.sha1}`,
    `md5       ${document.md5}`,
    `type      ${document.fileType} (${document.mimeType}), ${humanBytes(document.size)}`,
    `object    s3://${document.bucket}/${document.key}${document.versionId ? ` (version ${document.versionId})` : ''}`,
    `verdict   ${document.verdict} (${score})${document.cached ? ', cached' : ''}`,
    `analyzed  ${document.analyzedAt} in ${(document.durationMs / 1000).toFixed(1)} s`,
    '',
    'engines:',
    ...(document.engineResults.length
      ? document.engineResults.map(
          (e) =>
            `  ${e.engine.padEnd(10)} ${e.status.padEnd(14)} ${e.verdict.padEnd(10)} ${String(e.score ?? '-').padEnd(4)}${e.reportKey ? ` ${e.reportKey}` : ''}${e.reason ? `  (${e.reason.slice(0, 120)})` : ''}`,
        )
      : ['  none ran (no engine of the stack accepts this file)']),
  ];
  const behavior = Object.entries(document.behavior ?? {}).filter(([, observations]) => observations.length > 0);
  if (behavior.length)
    lines.push(
      '',
      'behaviour:',
      ...behavior.map(
        ([key, observations]) =>
          `  ${key.padEnd(20)} ${observations.length} observation${observations.length === 1 ? '' : 's'}`,
      ),
    );
  // Each entry is one line: escaping it whole turns a newline inside a field into `\n`, never a line of its own.
  return `${lines.map(escapeTerminal).join('\n')}\n`;
}

/** The formats `sandtrap report` renders; each is one entry of {@link REPORT_RENDERERS}. */
export type ReportFormat = 'text' | 'json';

/** What a renderer gets: the validated document, where it came from, and a way to read more of the reports bucket. */
export interface ReportInput {
  document: VerdictDocument;
  /** `s3://<reports bucket>/reports/<sha256>/verdict.json`. */
  source: string;
  /** Reads another object of the reports bucket (e.g. `reportKeys.html(sha256)`); errors are already one line. */
  read(key: string): Promise<Uint8Array>;
}

/**
 * Renders a verdict document. More formats (`--html`, `--pdf`) are one entry each: a renderer and
 * a flag in `deployed-commands.ts` that selects it; binary output is returned as bytes.
 */
export type ReportRenderer = (input: ReportInput) => Promise<string | Uint8Array> | string | Uint8Array;

/** Every report format the CLI can print. */
export const REPORT_RENDERERS: Record<ReportFormat, ReportRenderer> = {
  text: ({ document }) => formatReportText(document),
  json: ({ document }) => `${jsonForTerminal(document)}\n`,
};
