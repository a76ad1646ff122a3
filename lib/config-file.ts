import { readFileSync } from 'node:fs';
import { type ParseError, parse, printParseErrorCode } from 'jsonc-parser';

/**
 * Reads a configuration file: JSON, with comments and trailing commas allowed (the file
 * `sandtrap config init` writes explains every key in comments). A syntax error names its line and
 * column; the content is validated by the caller with the configuration schema.
 */
export function readConfigFile(path: string): unknown {
  const text = readFileSync(path, 'utf8');
  const errors: ParseError[] = [];
  const value: unknown = parse(text, errors, { allowTrailingComma: true, disallowComments: false });
  if (errors.length > 0) {
    const [first] = errors as [ParseError];
    const before = text.slice(0, first.offset);
    const line = before.split('\n').length;
    const column = first.offset - before.lastIndexOf('\n');
    throw new Error(`${path}:${line}:${column}: ${printParseErrorCode(first.error)}`);
  }
  return value;
}
