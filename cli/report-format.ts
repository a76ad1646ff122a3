import type { DetonationReport } from '../lambdas/core/contracts/detonation-report';
import type { VerdictDocument } from '../lambdas/core/contracts/pipeline';
import { extractIocs, toIocCsv, toStixBundle } from '../lambdas/core/indicators';
import { humanBytes } from './format';
import { escapeTerminal, jsonForTerminal } from './terminal-escape';

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
export type ReportFormat = 'text' | 'json' | 'stix' | 'csv';

/** The indicator exports `--iocs` selects. */
export const IOC_FORMATS = ['stix', 'csv'] as const;

/** What a renderer gets: the validated document, where it came from, and a way to read more of the reports bucket. */
export interface ReportInput {
  document: VerdictDocument;
  /** `s3://<reports bucket>/reports/<sha256>/verdict.json`. */
  source: string;
  /** Reads another object of the reports bucket (e.g. `reportKeys.html(sha256)`); errors are already one line. */
  read(key: string): Promise<Uint8Array>;
  /** The detonation report, when the detonation ran and its report could be read: more indicators. */
  detonation?: DetonationReport;
}

/**
 * Renders a verdict document. More formats (`--html`, `--pdf`) are one entry each: a renderer and
 * a flag of `sandtrap report` (`commands/report.ts`) that selects it; binary output is returned as bytes.
 */
export type ReportRenderer = (input: ReportInput) => Promise<string | Uint8Array> | string | Uint8Array;

/** Every report format the CLI can print. */
export const REPORT_RENDERERS: Record<ReportFormat, ReportRenderer> = {
  text: ({ document }) => formatReportText(document),
  json: ({ document }) => `${jsonForTerminal(document)}\n`,
  // One line of JSON, escaped for a terminal like --json: a sample's file name may hold escape sequences.
  stix: ({ document, detonation }) => `${jsonForTerminal(toStixBundle(document, extractIocs(document, detonation)))}\n`,
  // Indicators are validated to printable values (no controls, no bidi overrides) before they get here.
  csv: ({ document, detonation }) => toIocCsv(extractIocs(document, detonation)),
};
