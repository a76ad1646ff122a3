import type { BehaviorKey, BoundedList, Severity } from '../contracts/detonation-report';
import type { Verdict } from '../contracts/pipeline';
import { techniqueUrl, type TechniqueInfo } from '../attack/techniques';
import { html, type HtmlValue, type SafeHtml } from './html-escape';

/**
 * The HTML report's building blocks: formatting, pills, sections, tables and fact grids. Every
 * section file builds on these, so that a value from a sample is escaped the same way everywhere.
 */

export const BEHAVIOR_LABELS: Record<BehaviorKey, string> = {
  persistence: 'Persistence',
  privilegeEscalation: 'Privilege escalation',
  evasion: 'Defence evasion',
  dataHarvesting: 'Data harvesting',
  network: 'Network',
  destructive: 'Destructive',
  execution: 'Execution',
  cryptomining: 'Cryptomining',
};

export const SEVERITY_RANK: Record<Severity, number> = { low: 1, medium: 2, high: 3, critical: 4 };

// ---------------------------------------------------------------- formatting

export function thousands(n: number): string {
  return String(n).replace(/\B(?=(\d{3})+(?!\d))/g, ',');
}

export function bytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let value = n / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value.toFixed(value < 10 ? 1 : 0)} ${units[unit]}`;
}

/** Seconds since the detonation started, as `+1.25 s`. */
export function offset(seconds: number): string {
  return `+${seconds.toFixed(seconds < 10 ? 2 : 1)} s`;
}

export function duration(ms: number): string {
  const s = ms / 1000;
  if (s < 60) return `${s.toFixed(1)} s`;
  const m = Math.floor(s / 60);
  return `${m} min ${Math.round(s - m * 60)} s`;
}

/** UTC, second precision: analysts compare times across reports and time zones. */
export function timestamp(value: Date | string): string {
  const date = typeof value === 'string' ? new Date(value) : value;
  if (Number.isNaN(date.getTime())) return String(value);
  return `${date.toISOString().slice(0, 19).replace('T', ' ')} UTC`;
}

/** argv as a shell would need it typed, so spaces and quotes inside arguments stay visible. */
export function shellJoin(argv: readonly string[]): string {
  return argv.map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`)).join(' ');
}

export function plural(n: number, one: string, many = `${one}s`): string {
  return `${thousands(n)} ${n === 1 ? one : many}`;
}

export function basename(key: string): string {
  return key.slice(key.lastIndexOf('/') + 1) || key;
}

// ---------------------------------------------------------------- building blocks

export function verdictPill(verdict: Verdict): SafeHtml {
  return html`<span class="pill v-${verdict}">${verdict}</span>`;
}

export function severityPill(severity: Severity): SafeHtml {
  return html`<span class="pill s-${severity}">${severity}</span>`;
}

export function empty(message: string): SafeHtml {
  return html`<p class="empty">${message}</p>`;
}

/** One part of the report, also listed in the page's table of contents. */
export interface Section {
  id: string;
  title: string;
  body: HtmlValue;
}

export function section(id: string, title: string, body: HtmlValue): Section {
  return { id, title, body };
}

/** A caption saying a list was cut by the agent, so a short table is not read as the whole story. */
export function shown(list: BoundedList<unknown>, noun: string, nouns?: string): SafeHtml | null {
  return list.truncated
    ? html`<p class="note">Showing ${list.items.length} of ${plural(list.count, noun, nouns)}; the agent left out the rest.</p>`
    : null;
}

/** A table; with `widths` (percent per column) its layout is fixed, so it fits an A4 page whatever the cells hold. */
export function table(
  head: readonly string[],
  rows: readonly HtmlValue[],
  className = '',
  widths?: readonly number[],
): SafeHtml {
  const cols = widths ? html`<colgroup>${widths.map((w) => html`<col style="width:${w}%">`)}</colgroup>` : null;
  return html`<table class="${className}${widths ? ' fixed' : ''}">${cols}<thead><tr>${head.map((h) => html`<th>${h}</th>`)}</tr></thead><tbody>${rows}</tbody></table>`;
}

/** A label/value grid; a `wide` row takes the whole width (hashes, keys: long values read better unbroken). */
export function facts(rows: ReadonlyArray<readonly [string, HtmlValue, 'wide'?]>): SafeHtml {
  return html`<dl class="facts">${rows.map(([k, v, wide]) => html`<div class="${wide ?? ''}"><dt>${k}</dt><dd>${v}</dd></div>`)}</dl>`;
}

/** An ATT&CK technique: its id linked to MITRE's page, and its name from the catalogue. */
export function techniqueLink(technique: TechniqueInfo): SafeHtml {
  const url = techniqueUrl(technique.id);
  const name =
    technique.source === 'unknown'
      ? html` <span class="muted">(not in the report's ATT&amp;CK catalogue)</span>`
      : technique.source === 'parent'
        ? html` ${technique.name} <span class="muted">(sub-technique not in the catalogue)</span>`
        : html` ${technique.name}`;
  const title = technique.name ?? `ATT&CK technique ${technique.id}`;
  const id = html`<code>${technique.id}</code>`;
  return url
    ? html`<a class="technique" href="${url}" title="${title}" rel="noopener noreferrer" target="_blank">${id}</a>${name}`
    : html`${id}${name}`;
}
