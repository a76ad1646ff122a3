import type { VendorId } from '../core/contracts/pipeline';
import {
  AuthError,
  BadResponseError,
  ItemNotFoundError,
  QuotaExceededError,
  SampleTooLargeError,
  TransientError,
  UnsupportedFileError,
  type VendorError,
} from '../core/connector/errors';
import { jsonOrUndefined } from './http';

/**
 * The message of a vendor's error body: what `read` finds in its JSON, else the body as text with
 * HTML tags dropped (a proxy's or web server's error page), trimmed to 200 characters. Bounded either
 * way, because the body is the vendor's (or whoever answers in its place) to choose.
 */
export function errorBodyText(body: string, read: (json: unknown) => string | undefined): string {
  const json = jsonOrUndefined(body);
  const found = json === undefined ? undefined : read(json);
  if (found !== undefined) return found.slice(0, 500);
  return body
    .replace(/<[^>]+>/g, ' ')
    .replace(/\s+/g, ' ')
    .trim()
    .slice(0, 200);
}

/** Reads a string field of a JSON error object (`message`, `detail`, `error_msg`). */
export function stringField(name: string): (json: unknown) => string | undefined {
  return (json) => {
    const value = (json as Record<string, unknown> | null)?.[name];
    return typeof value === 'string' ? value : undefined;
  };
}

/** The typed errors a vendor's error answer can mean, by name. */
const MEANINGS = {
  auth: AuthError,
  quota: QuotaExceededError,
  'too-large': SampleTooLargeError,
  unsupported: UnsupportedFileError,
  'not-found': ItemNotFoundError,
  transient: TransientError,
  'bad-response': BadResponseError,
} as const;

/** What a vendor's error answer means; `default` leaves it to the HTTP client's mapping of the status. */
export type ErrorMeaning = keyof typeof MEANINGS | 'default';

/**
 * One line of a vendor's error mapping: when the HTTP status, the message read from the body (or the
 * body itself) match, the answer means `meaning`, with `fallback` as its message when the body says nothing.
 */
export type ErrorRule = readonly [
  meaning: ErrorMeaning,
  when: (status: number, message: string, body: string) => boolean,
  fallback?: string,
];

/** The message names something no analysis package or file-type check accepts (most vendors' wording). */
export const UNSUPPORTED = /unsupported|not supported/i;

/** A rule condition on the HTTP status alone. */
export const statusIs =
  (...statuses: number[]) =>
  (status: number): boolean =>
    statuses.includes(status);

/** A rule condition on the message alone. */
export const says =
  (pattern: RegExp) =>
  (_status: number, message: string): boolean =>
    pattern.test(message);

/**
 * A vendor's error mapping, as the HTTP client's `statusError` takes it: `read` finds the message in
 * the body, then the first rule that matches decides; when none does, the client's defaults apply.
 */
export function errorMapping(
  vendor: VendorId,
  read: (body: string, status: number) => string,
  rules: readonly ErrorRule[],
): (status: number, body: string) => VendorError | undefined {
  return (status, body) => {
    const message = read(body, status);
    const rule = rules.find(([, when]) => when(status, message, body));
    if (!rule || rule[0] === 'default') return undefined;
    return new MEANINGS[rule[0]](vendor, message || (rule[2] ?? ''));
  };
}

/**
 * The error mapping of a vendor whose error bodies are JSON: the message is what `read` finds in the
 * JSON, else the body as text (see {@link errorBodyText}); then the rules decide as in {@link errorMapping}.
 */
export function jsonErrorMapping(
  vendor: VendorId,
  read: (json: unknown) => string | undefined,
  rules: readonly ErrorRule[],
): (status: number, body: string) => VendorError | undefined {
  return errorMapping(vendor, (body) => errorBodyText(body, read), rules);
}
