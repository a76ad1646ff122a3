import Table from 'cli-table3';
import { confirmationOf } from '../lambdas/core/correlation/static-dynamic';
import { lookupTechnique } from '../lambdas/core/attack/techniques';
import { BehaviorKeySchema } from '../lambdas/core/contracts/detonation-report';
import { bytes as reportBytes } from '../lambdas/core/report/html-blocks';
import { primaryTactic } from '../lambdas/core/report/indicators-by-tactic';
import type { AnalysisOutcome } from './outcome';
import { escapeTerminal, jsonForTerminal } from './terminal-escape';

/**
 * `1.3 MB`: sizes as a person reads them. The HTML report's 1024-based scale, with the KB/MB labels
 * the CLI has always printed.
 */
export function humanBytes(bytes: number): string {
  return reportBytes(bytes).replace('iB', 'B');
}

/** The characters of a table without borders: columns apart by two spaces, as the CLI always printed. */
const BORDERLESS = {
  top: '',
  'top-mid': '',
  'top-left': '',
  'top-right': '',
  bottom: '',
  'bottom-mid': '',
  'bottom-left': '',
  'bottom-right': '',
  left: '',
  'left-mid': '',
  mid: '',
  'mid-mid': '',
  right: '',
  'right-mid': '',
  middle: '  ',
};

/**
 * Aligned columns, the first row the header. Every cell is escaped first, so widths count what the
 * terminal will show. Given the terminal's width, the widest column (a file name, usually) wraps so
 * that a row still fits on one screen line per part instead of the terminal folding it anywhere.
 */
export function table(cells: string[][], width?: number): string {
  const rows = cells.map((r) => r.map(escapeTerminal));
  const natural = rows[0]?.map((_, c) => Math.max(...rows.map((r) => (r[c] ?? '').length))) ?? [];
  const colWidths = [...natural];
  const total = () => colWidths.reduce((a, b) => a + b, 0) + 2 * Math.max(0, colWidths.length - 1);
  if (width && total() > width) {
    const widest = colWidths.indexOf(Math.max(...colWidths));
    colWidths[widest] = Math.max(12, (colWidths[widest] ?? 0) - (total() - width));
  }
  const out = new Table({
    chars: BORDERLESS,
    style: { head: [], border: [], 'padding-left': 0, 'padding-right': 0 },
    colWidths,
    wordWrap: true,
    wrapOnWordBoundary: false,
  });
  out.push(...rows);
  return out
    .toString()
    .split('\n')
    .map((line) => line.trimEnd())
    .join('\n');
}

/**
 * ` · Persistence`: the ATT&CK tactic an indicator is filed under, as in the HTML report; nothing
 * when the document's key or ids do not place it (the document types behaviour loosely).
 */
function tacticLabel(key: string, attack: readonly string[]): string {
  const behaviorKey = BehaviorKeySchema.safeParse(key);
  if (!behaviorKey.success) return '';
  const tactic = primaryTactic(behaviorKey.data, attack.map(lookupTechnique));
  return tactic ? ` · ${tactic.name}` : '';
}

/**
 * A readable summary of the outcomes: one line per file, then each file's engines. Everything that
 * comes from a file, a vendor or a sample is escaped for the terminal (see terminal-escape.ts).
 */
export function formatOutcomes(outcomes: AnalysisOutcome[], width?: number): string {
  const rows = [['FILE', 'VERDICT', 'SCORE', 'TYPE', 'SIZE', 'SHA256', 'CACHED']];
  const details: string[] = [];
  for (const outcome of outcomes) {
    if (!outcome.ok) {
      rows.push([outcome.file, 'FAILED', '-', '-', '-', outcome.failure.reason, '-']);
      details.push(`${escapeTerminal(outcome.file)}: ${escapeTerminal(outcome.failure.error)}`);
      continue;
    }
    const d = outcome.document;
    rows.push([
      outcome.file,
      d.verdict,
      d.score === null ? '-' : String(d.score),
      d.fileType,
      humanBytes(d.size),
      d.sha256,
      d.cached ? 'yes' : 'no',
    ]);
    const engines = d.engineResults.length
      ? d.engineResults.map(
          (e) =>
            `  ${escapeTerminal(e.engine).padEnd(10)} ${escapeTerminal(e.status).padEnd(14)} ${escapeTerminal(e.verdict).padEnd(10)} ${e.score ?? '-'}${e.reason ? `  (${escapeTerminal(e.reason.slice(0, 120))})` : ''}`,
        )
      : ['  no engine applies (configure a vendor with SANDTRAP_<VENDOR>_URL): triage only'];
    const indicators = Object.entries(d.behavior ?? {}).flatMap(([key, list]) =>
      (list as { id: string; title: string; severity: string; attack: string[] }[]).map(
        (i) =>
          `  ${escapeTerminal(key).padEnd(19)} ${escapeTerminal(i.severity).padEnd(8)} ${escapeTerminal(i.title)}${i.attack.length ? ` [${escapeTerminal(i.attack.join(', '))}${tacticLabel(key, i.attack)}]` : ''}`,
      ),
    );
    const threats = d.threats.map(
      (t) =>
        `  ${escapeTerminal(t.name)} (${escapeTerminal(t.engine)}${t.family ? `, ${escapeTerminal(t.family)}` : ''})`,
    );
    const findings = (d.static?.findings ?? []).flatMap((f) => {
      const line = `  ${escapeTerminal(f.category).padEnd(19)} ${escapeTerminal(f.severity).padEnd(8)} ${escapeTerminal(f.title)}${f.attack.length ? ` [${escapeTerminal(f.attack.join(', '))}${tacticLabel(f.category, f.attack)}]` : ''}${f.path ? `  in ${escapeTerminal(f.path)}` : ''}`;
      const confirmed = confirmationOf(d.static?.confirmed, f);
      return confirmed
        ? [line, `    confirmed by the detonation: ${escapeTerminal(confirmed.how.join('; '))}`]
        : [line];
    });
    const basis =
      d.reason === 'empty' ? ' (empty object)' : d.reason === 'static-only' ? ' (static evidence only)' : '';
    details.push(
      `${escapeTerminal(outcome.file)}${basis}:\n${engines.join('\n')}` +
        (threats.length ? `\n threats:\n${threats.join('\n')}` : '') +
        (findings.length ? `\n static findings:\n${findings.join('\n')}` : '') +
        (indicators.length ? `\n behaviour:\n${indicators.join('\n')}` : ''),
    );
  }
  return `${table(rows, width)}\n\n${details.join('\n')}\n`;
}

/**
 * What `analyze`, `submit --wait`, `status` and `reanalyze --wait` print: the table above, or with
 * `--json` one document per line, each with the `file` it is about (the name given on the command
 * line), so a batch's results are matched by name rather than by order; `{file, failed: true, ...}`
 * for an analysis without a verdict.
 */
export function formatVerdicts(outcomes: AnalysisOutcome[], json: boolean, width?: number): string {
  if (!json) return formatOutcomes(outcomes, width);
  return outcomes
    .map(
      (o) =>
        `${jsonForTerminal(o.ok ? { file: o.file, ...o.document } : { file: o.file, failed: true, ...o.failure })}\n`,
    )
    .join('');
}
