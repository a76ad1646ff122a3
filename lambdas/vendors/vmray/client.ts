import type * as z from 'zod';
import {
  AuthError,
  BadResponseError,
  errorBodyText,
  type HttpRequest,
  ItemNotFoundError,
  QuotaExceededError,
  SampleTooLargeError,
  stringField,
  UNSUPPORTED,
  UnsupportedFileError,
  type VendorError,
  type VendorHttpClient,
} from '../kit';
import { Envelope } from './wire';

/** HTTP 403: the key is valid but lacks the rights for this call; an `AuthError` wherever rights matter, but not for the availability probe. */
export class ForbiddenError extends AuthError {
  constructor(message: string) {
    super('vmray', message);
  }
}

/** VMRay's REST calls: each answer an envelope `{"result": "ok", "data": ...}` whose `data` is validated. */
export class VmrayClient {
  constructor(private readonly http: () => VendorHttpClient) {}

  /** Sends a request and unwraps its envelope. */
  async call<T extends z.ZodType>(req: HttpRequest, data: T): Promise<z.infer<T>> {
    return this.unwrap((await this.http().text(req)).text, req.path, data);
  }

  /** Unwraps `{"result": "ok", "data": ...}` and validates `data`. */
  unwrap<T extends z.ZodType>(text: string, path: string, data: T): z.infer<T> {
    const envelope = this.http().parse(text, Envelope, path);
    if (envelope.result !== 'ok')
      throw new BadResponseError('vmray', `${path}: result ${envelope.result}: ${envelope.error_msg ?? ''}`);
    return this.http().validate(envelope.data, data, path);
  }
}

/** What an `error_msg` (in a 4xx body or a submit answer's `errors`) means, when it names something we can act on. */
export function errorForMessage(message: string): VendorError | undefined {
  if (/quota/i.test(message)) return new QuotaExceededError('vmray', message);
  if (/too (big|large)|larger than|exceeds the maximum|upload size/i.test(message))
    return new SampleTooLargeError('vmray', message);
  if (UNSUPPORTED.test(message)) return new UnsupportedFileError('vmray', message);
  return undefined;
}

/** 401 (and the 405 some installs answer instead) is a bad key; 403 is a valid key without the rights; 404 an unknown item. */
export function vmrayStatusError(status: number, body: string): VendorError | undefined {
  const message = errorBodyText(body, stringField('error_msg'));
  if (status === 401 || status === 405)
    return new AuthError('vmray', `HTTP ${status}: ${message || 'API key refused'}`);
  if (status === 403) return new ForbiddenError(`HTTP 403: ${message || 'insufficient rights'}`);
  if (status === 404) return new ItemNotFoundError('vmray', message || 'not found');
  if (status === 413) return new SampleTooLargeError('vmray', message || 'request entity too large');
  if (status === 429 || status >= 500) return undefined;
  return errorForMessage(message);
}
