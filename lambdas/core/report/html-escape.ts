/**
 * Escaping for the HTML report. Every string in a report may come from a sample or a vendor, so
 * markup is built with the {@link html} tag, which escapes whatever it interpolates unless it is
 * markup that the tag itself produced: forgetting to escape takes effort instead of a slip.
 */

const ENTITIES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};

/**
 * Escapes the five characters that can end text or a quoted attribute value, so the result is safe
 * in element content, in a double- or single-quoted attribute and in SVG text. It is not safe in
 * an unquoted attribute, a `<script>` or a `<style>`: the report never puts data there.
 */
export function escapeHtml(value: string): string {
  return value.replace(/[&<>"']/g, (c) => ENTITIES[c] as string);
}

/**
 * Characters a sample uses to make a name read as something else (a right-to-left override turning
 * `cod.exe` into `exe.doc`, zero-width joiners, terminal controls), and lone surrogates that cannot
 * be written as UTF-8. Tab, line feed and carriage return are kept: evidence lines use them.
 */
const INVISIBLE =
  // biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is what this pattern is for.
  /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

/**
 * Shows invisible and direction-changing characters as `[U+202E]`, so an analyst reads the name
 * the sample really has; printable Unicode (accents, CJK, emoji) is left alone.
 */
export function revealInvisible(value: string): string {
  return value.replace(INVISIBLE, (c) => `[U+${c.charCodeAt(0).toString(16).toUpperCase().padStart(4, '0')}]`);
}

/** Reveals invisible characters, then escapes: what the {@link html} tag does to every string. */
export function escapeText(value: string): string {
  return escapeHtml(revealInvisible(value));
}

/**
 * Returns the URL, normalised, when it is an absolute `http:` or `https:` URL, and `null` for
 * anything else (`javascript:`, `data:`, relative or malformed URLs), so a vendor link can never
 * run script or point inside the report. The result still goes through escaping as an attribute.
 */
export function safeHref(value: string): string | null {
  let url: URL;
  try {
    url = new URL(value.trim());
  } catch {
    return null;
  }
  return url.protocol === 'http:' || url.protocol === 'https:' ? url.href : null;
}

const TRUSTED: unique symbol = Symbol('trusted markup');

/** Markup produced by the {@link html} tag: interpolated as is, where a string would be escaped. */
export class SafeHtml {
  /** Only this module holds the key, so markup cannot be forged from a string elsewhere. */
  constructor(
    key: typeof TRUSTED,
    /** The markup. */
    readonly value: string,
  ) {
    if (key !== TRUSTED) throw new TypeError('SafeHtml is made by the html tag only');
  }

  /** The markup, so that a template literal or `String()` yields it. */
  toString(): string {
    return this.value;
  }
}

/**
 * What the {@link html} tag interpolates: strings and numbers are escaped, markup is kept, lists
 * are concatenated, and `null`, `undefined` and booleans render nothing (for `cond && html\`…\``).
 */
export type HtmlValue = SafeHtml | string | number | boolean | null | undefined | readonly HtmlValue[];

function render(value: HtmlValue): string {
  if (value instanceof SafeHtml) return value.value;
  if (value === null || value === undefined || typeof value === 'boolean') return '';
  if (typeof value === 'number') return escapeHtml(String(value));
  if (typeof value === 'string') return escapeText(value);
  return value.map(render).join('');
}

/**
 * Template tag that escapes every interpolated value (see {@link HtmlValue}). The template's own
 * text is trusted markup; attribute values in it must be quoted for the escaping to hold.
 */
export function html(strings: TemplateStringsArray, ...values: HtmlValue[]): SafeHtml {
  let out = strings[0] ?? '';
  for (let i = 0; i < values.length; i++) out += render(values[i] as HtmlValue) + (strings[i + 1] ?? '');
  return new SafeHtml(TRUSTED, out);
}
