/** A CSV text that breaks RFC 4180: a quote inside an unquoted field, text after a closing quote, an open quote at the end. */
export class CsvFormatError extends Error {
  override readonly name = 'CsvFormatError';
  constructor(
    message: string,
    /** 1-based record number where the text broke the format. */
    readonly record: number,
  ) {
    super(`CSV record ${record}: ${message}`);
  }
}

/**
 * An incremental RFC 4180 parser (https://www.rfc-editor.org/rfc/rfc4180): text goes in chunk by chunk,
 * as a stream decodes it, and complete records come out, so that a large file never sits in memory
 * whole. Fields may be quoted (`"a,b"`, `"say ""hi"""`, line breaks inside quotes); records end with
 * CRLF or LF; an empty line is no record. S3 Inventory quotes every field, other writers only some:
 * both are read.
 */
export class CsvParser {
  private field = '';
  private record: string[] = [];
  /** `start`: at a field's start; `plain`: inside an unquoted field; `quoted`: inside quotes; `closed`: after a closing quote. */
  private state: 'start' | 'plain' | 'quoted' | 'closed' = 'start';
  /** A quote seen inside quotes whose meaning (escape or close) the next character decides. */
  private pendingQuote = false;
  /** A CR seen outside quotes, which must start a CRLF. */
  private pendingCr = false;
  private records = 0;

  /** Parses a chunk and returns the records it completed. */
  push(chunk: string): string[][] {
    const done: string[][] = [];
    for (const char of chunk) this.step(char, done);
    return done;
  }

  /** Ends the text: returns the last record when it had no line break after it. */
  end(): string[][] {
    const done: string[][] = [];
    if (this.pendingQuote) {
      this.pendingQuote = false;
      this.state = 'closed';
    }
    if (this.state === 'quoted') throw new CsvFormatError('a quoted field is not closed', this.records + 1);
    if (this.pendingCr) throw new CsvFormatError('a CR without LF', this.records + 1);
    if (this.state !== 'start' || this.record.length > 0) this.finishRecord(done);
    return done;
  }

  private step(char: string, done: string[][]): void {
    if (this.pendingCr) {
      if (char !== '\n') throw new CsvFormatError('a CR without LF', this.records + 1);
      this.pendingCr = false;
      this.finishRecord(done);
      return;
    }
    if (this.pendingQuote) {
      this.pendingQuote = false;
      if (char === '"') {
        this.field += '"';
        return;
      }
      this.state = 'closed';
    }
    switch (this.state) {
      case 'quoted':
        if (char === '"') this.pendingQuote = true;
        else this.field += char;
        return;
      case 'start':
        if (char === '"') {
          this.state = 'quoted';
          return;
        }
        break;
      case 'closed':
        if (char !== ',' && char !== '\r' && char !== '\n')
          throw new CsvFormatError('text after a closing quote', this.records + 1);
        break;
      case 'plain':
        if (char === '"') throw new CsvFormatError('a quote inside an unquoted field', this.records + 1);
        break;
    }
    if (char === ',') {
      this.record.push(this.field);
      this.field = '';
      this.state = 'start';
    } else if (char === '\r') {
      this.pendingCr = true;
    } else if (char === '\n') {
      this.finishRecord(done);
    } else {
      this.field += char;
      this.state = 'plain';
    }
  }

  private finishRecord(done: string[][]): void {
    const empty = this.record.length === 0 && this.state === 'start' && this.field === '';
    this.record.push(this.field);
    if (!empty) {
      done.push(this.record);
      this.records++;
    }
    this.record = [];
    this.field = '';
    this.state = 'start';
  }
}

/** Parses a whole CSV text (see {@link CsvParser}). */
export function parseCsv(text: string): string[][] {
  const parser = new CsvParser();
  return [...parser.push(text), ...parser.end()];
}
