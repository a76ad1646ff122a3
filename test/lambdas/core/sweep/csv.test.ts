import { describe, expect, it } from 'vitest';
import { CsvFormatError, CsvParser, parseCsv } from '../../../../lambdas/core/sweep/csv';

describe('parseCsv: RFC 4180', () => {
  it('reads quoted and unquoted fields, escaped quotes, separators and line breaks inside quotes', () => {
    expect(parseCsv('"a","b,c","say ""hi"""\nplain,,"line\nbreak"\n')).toEqual([
      ['a', 'b,c', 'say "hi"'],
      ['plain', '', 'line\nbreak'],
    ]);
  });

  it('takes CRLF and LF, a last record without a line break, and skips empty lines', () => {
    expect(parseCsv('a,b\r\n\r\nc,d\n\ne,f')).toEqual([
      ['a', 'b'],
      ['c', 'd'],
      ['e', 'f'],
    ]);
    expect(parseCsv('')).toEqual([]);
    expect(parseCsv('""\n')).toEqual([['']]);
    expect(parseCsv('"",""')).toEqual([['', '']]);
  });

  it('reads the same records whatever the chunks the text arrives in', () => {
    const text = '"bucket","in/a+b%2Bc","v1","true","false","12","2030-06-01T10:00:00.000Z","e1"\r\n"x""y",z\n';
    const whole = parseCsv(text);
    for (let size = 1; size < text.length; size++) {
      const parser = new CsvParser();
      const records: string[][] = [];
      for (let at = 0; at < text.length; at += size) records.push(...parser.push(text.slice(at, at + size)));
      records.push(...parser.end());
      expect(records, `chunks of ${size}`).toEqual(whole);
    }
  });

  it('refuses what breaks the format, naming the record', () => {
    expect(() => parseCsv('a,b\n"open')).toThrow(CsvFormatError);
    expect(() => parseCsv('a,b\n"open')).toThrow(/record 2: a quoted field is not closed/);
    expect(() => parseCsv('"a"b,c')).toThrow(/text after a closing quote/);
    expect(() => parseCsv('a"b,c')).toThrow(/a quote inside an unquoted field/);
    expect(() => parseCsv('a\rb')).toThrow(/a CR without LF/);
  });
});
