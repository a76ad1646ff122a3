/**
 * Escaping for what the CLI prints on a terminal. File names, vendor reasons, indicator titles and
 * sample output can carry control characters: ESC starts sequences that move the cursor, rewrite
 * lines, set the window title or (on some terminals) answer back into the input; CR overwrites what
 * came before on the line (`evil.sh\rclean.txt` prints as `clean.txt`); BEL rings; bidi overrides
 * reorder what the analyst reads (`cod\u202Eexe.sh`). Every such character is shown as an escape
 * instead, so a line shows exactly the name the file has and nothing can reach the terminal raw.
 *
 * The classes are those the HTML report reveals (lambdas/core/report/html-escape.ts), plus tab, line feed
 * and carriage return, which in a one-line field are as hostile as any other control.
 */

const UNSAFE =
  // biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is what this pattern is for.
  /[\u0000-\u001f\u007f-\u009f\u061c\u200b-\u200f\u2028-\u202e\u2060-\u2064\u2066-\u2069\ufeff]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

const NAMED: Record<string, string> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' };

function escapeOne(c: string): string {
  const named = NAMED[c];
  if (named) return named;
  const code = c.charCodeAt(0);
  return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
}

/**
 * One field made safe to print: every control, bidi and invisible formatting character becomes a
 * visible escape (`\x1b`, `\r`, `\u202e`). Printable text, accents, CJK and emoji are left alone.
 * Escaping twice changes nothing: the result has no character left to escape.
 */
export function escapeTerminal(value: string): string {
  return value.replace(UNSAFE, escapeOne);
}

/** A block of lines the CLI composed: each line is escaped, the line breaks between them are kept. */
export function escapeTerminalLines(text: string): string {
  return text.split('\n').map(escapeTerminal).join('\n');
}

/**
 * JSON for a terminal: JSON.stringify already writes C0 controls as `\u001b`, but leaves DEL, C1
 * controls and bidi overrides raw. They become `\u` escapes here too; the JSON parses to the same value.
 */
export function jsonForTerminal(value: unknown): string {
  // `?? 'null'`: JSON.stringify(undefined) is undefined, and a CLI line must still be a string.
  return (JSON.stringify(value) ?? 'null').replace(
    UNSAFE,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}
