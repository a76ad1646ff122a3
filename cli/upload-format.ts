import type { Submission } from '../deployed/submit';
import { humanBytes, table } from './format';
import type { Output } from './io';
import { escapeTerminal } from './terminal-escape';

const BAR_WIDTH = 24;
/** Redraws at most this often: a fast upload would otherwise spend its time repainting. */
const REDRAW_MS = 100;

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
    private readonly out: Output,
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
