/**
 * Cuckoo and CAPE write naive `YYYY-MM-DD HH:MM:SS` timestamps in the sandbox host's UTC; read them as
 * UTC (an explicit `Z` or offset, where one appears, is honoured). Epoch milliseconds, or undefined.
 */
export function parseNaiveUtc(value: string | null | undefined): number | undefined {
  if (!value) return undefined;
  const ms = Date.parse(`${value.replace(' ', 'T')}${/[zZ]|[+-]\d\d:?\d\d$/.test(value) ? '' : 'Z'}`);
  return Number.isNaN(ms) ? undefined : ms;
}
