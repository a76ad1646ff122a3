import type * as z from 'zod';
import {
  AuthError,
  BadResponseError,
  type HttpRequest,
  ItemNotFoundError,
  jsonOrUndefined,
  QuotaExceededError,
  SampleTooLargeError,
  TransientError,
  UNSUPPORTED,
  UnsupportedFileError,
  type VendorError,
  type VendorHttpClient,
} from '../kit';
import { Envelope, SubmissionInfo } from './wire';

/**
 * Joe's API v2 as calls: every one a form POST carrying the key, every answer an envelope whose
 * `errors` (in any HTTP status) become typed errors.
 */
export class JoeClient {
  constructor(
    private readonly http: () => VendorHttpClient,
    private readonly key: () => string,
  ) {}

  /** A form POST carrying the key. */
  form(path: string, fields: Record<string, string>): HttpRequest {
    return {
      method: 'POST',
      path,
      body: new URLSearchParams({ apikey: this.key(), ...fields }).toString(),
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    };
  }

  /** Posts a form and unwraps the answer's `data`. */
  call<T extends z.ZodType>(path: string, fields: Record<string, string>, data: T): Promise<z.infer<T>> {
    return this.unwrap(this.form(path, fields), data);
  }

  /** Sends a request and unwraps Joe's envelope; an `errors` list (in any status) becomes a typed error. */
  async unwrap<T extends z.ZodType>(req: HttpRequest, data: T): Promise<z.infer<T>> {
    const http = this.http();
    const { text } = await http.text(req);
    const envelope = http.parse(text, Envelope, req.path);
    const error = envelope.errors?.[0];
    if (error) throw errorForCode(error.code, error.message ?? `error code ${error.code}`);
    return http.validate(envelope.data, data, req.path);
  }

  /** `submission/info` of a submission. */
  submissionInfo(submissionId: string): Promise<SubmissionInfo> {
    return this.call('v2/submission/info', { submission_id: submissionId }, SubmissionInfo);
  }
}

/**
 * Joe's documented error codes. The HTTP status of each is not documented, so the code decides;
 * codes 2 and 3 (missing or invalid parameter) are read further by their message.
 */
function errorForCode(code: number, message: string): VendorError {
  const text = `error ${code}: ${message}`;
  switch (code) {
    case 1:
      return new QuotaExceededError('joe', text);
    case 4:
    case 7:
      return new AuthError('joe', text);
    case 5:
    case 6:
      return new TransientError('joe', text);
    case 2:
    case 3:
      if (/too (big|large)|file size|exceeds/i.test(message)) return new SampleTooLargeError('joe', text);
      if (UNSUPPORTED.test(message)) return new UnsupportedFileError('joe', text);
      if (/unknown|not found|does not exist/i.test(message)) return new ItemNotFoundError('joe', text);
      return new BadResponseError('joe', text);
    default:
      return new BadResponseError('joe', text);
  }
}

/** Error bodies carry Joe's code; without one (a proxy's page) the default HTTP mapping applies. */
export function joeStatusError(_status: number, body: string): VendorError | undefined {
  const error = Envelope.safeParse(jsonOrUndefined(body)).data?.errors?.[0];
  return error ? errorForCode(error.code, error.message ?? `error code ${error.code}`) : undefined;
}
