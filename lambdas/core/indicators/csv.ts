import type { IocList } from './extract';

/**
 * A verdict's indicators as CSV (`type,value,source`, RFC 4180) for spreadsheets and blocking
 * lists. The values come from the sample, and a spreadsheet runs a cell that starts with `=`, `+`,
 * `-`, `@`, a tab or a carriage return as a formula (CSV injection): such a cell is prefixed with
 * `'`, which spreadsheets read as "text" and show without the quote.
 */

const FORMULA_START = /^[=+\-@\t\r]/;

/** One CSV cell: guarded against formulas, then quoted when it holds a separator, a quote or a line break. */
export function csvCell(value: string): string {
  const guarded = FORMULA_START.test(value) ? `'${value}` : value;
  return /[",\r\n]/.test(guarded) ? `"${guarded.replace(/"/g, '""')}"` : guarded;
}

export function toIocCsv(iocs: IocList): string {
  const rows = iocs.items.map((i) => [i.type, i.value, i.sources.join(' ')].map(csvCell).join(','));
  return `${['type,value,source', ...rows].join('\r\n')}\r\n`;
}
