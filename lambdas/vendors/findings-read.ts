import * as z from 'zod';

/**
 * Helpers for reading findings out of a vendor report, which the sample influences: each part is read
 * on its own, and a part in an unexpected shape reads as absent instead of failing the rest.
 */

/** `schema`, or `undefined` when the value (absent too) does not fit it. */
export function lenient<T extends z.ZodType>(schema: T) {
  return z
    .unknown()
    .transform((value): z.infer<T> | undefined => {
      const parsed = schema.safeParse(value);
      return parsed.success ? parsed.data : undefined;
    })
    .optional();
}

/** A list the report may hold in place of a value: the list, or nothing. */
const List = z.array(z.unknown()).catch([]);

/** Every string of `values`, and the `keys` fields of its objects (`{family: "X"}`, `{domain: "x.org"}`). */
export function namesOf(values: unknown, ...keys: readonly string[]): unknown[] {
  const list = typeof values === 'string' ? [values] : List.parse(values);
  return list.slice(0, 2_000).flatMap((value) => {
    if (typeof value === 'string') return [value];
    if (value && typeof value === 'object')
      return keys.map((key) => (value as Record<string, unknown>)[key]).filter((v) => typeof v === 'string');
    return [];
  });
}

/** Hosts from lists of strings or objects carrying them under `keys` (`ip`, `domain`, `host`). */
export function hostsOf(...lists: readonly [values: unknown, ...keys: string[]][]): unknown[] {
  return lists.flatMap(([values, ...keys]) => namesOf(values, ...keys));
}

/**
 * ATT&CK technique ids wherever a vendor puts them: strings, objects with an id under `keys`, lists
 * of either, or objects keyed by the ids (Cuckoo's `ttp: {"T1060": {…}}`). Invalid ids are dropped
 * later, when the findings are bounded.
 */
export function techniquesOf(value: unknown, ...keys: readonly string[]): unknown[] {
  if (typeof value === 'string') return [value];
  if (Array.isArray(value)) return value.slice(0, 2_000).flatMap((item) => techniquesOf(item, ...keys));
  if (value && typeof value === 'object') {
    const record = value as Record<string, unknown>;
    const named = keys.flatMap((key) => techniquesOf(record[key], ...keys));
    return named.length ? named : Object.keys(record).filter((key) => /^T\d{4}/i.test(key));
  }
  return [];
}
