import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';

/** A plain form field of a multipart body. */
export interface FormField {
  name: string;
  value: string;
}

/** The file part of a multipart body, streamed. */
export interface FilePart {
  field: string;
  fileName: string;
  contentType: string;
  size: number;
  stream: Readable;
}

/** A streaming `multipart/form-data` body with its exact length. */
export interface MultipartBody {
  body: Readable;
  contentType: string;
  contentLength: number;
}

const quote = (value: string) =>
  value
    .replace(/\\/g, '\\\\')
    .replace(/"/g, '\\"')
    .replace(/[\r\n]/g, ' ');

/**
 * Builds a multipart body whose file part streams from its source: the sample never sits in memory
 * whole, and the exact Content-Length is known up front (some appliances reject chunked uploads).
 * Fields come first, in order (FireEye needs `options` before the file).
 */
export function multipartBody(fields: readonly FormField[], file: FilePart): MultipartBody {
  const boundary = `----sandtrap${randomBytes(12).toString('hex')}`;
  const preamble = fields
    .map((f) => `--${boundary}\r\nContent-Disposition: form-data; name="${quote(f.name)}"\r\n\r\n${f.value}\r\n`)
    .join('');
  // RFC 7578 forbids filename* in form data, and some parsers reject the body for it: non-ASCII
  // characters of the name are replaced instead (the hashes, not the name, identify a sample).
  const asciiName = file.fileName.replace(/[^\x20-\x7e]/g, '_');
  const fileHeader =
    `--${boundary}\r\nContent-Disposition: form-data; name="${quote(file.field)}"; filename="${quote(asciiName)}"\r\n` +
    `Content-Type: ${file.contentType}\r\n\r\n`;
  const head = Buffer.from(preamble + fileHeader, 'utf8');
  const tail = Buffer.from(`\r\n--${boundary}--\r\n`, 'utf8');
  async function* parts() {
    yield head;
    let sent = 0;
    for await (const chunk of file.stream) {
      sent += (chunk as Buffer).length;
      yield chunk as Buffer;
    }
    if (sent !== file.size) throw new Error(`sample stream ended after ${sent} of ${file.size} bytes`);
    yield tail;
  }
  return {
    body: Readable.from(parts(), { objectMode: false }),
    contentType: `multipart/form-data; boundary=${boundary}`,
    contentLength: head.length + file.size + tail.length,
  };
}
