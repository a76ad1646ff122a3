import type { VendorId } from '../contracts/pipeline';

/** Base class of every failure a vendor connector reports; `name` is what Step Functions retries and catches on. */
export class VendorError extends Error {
  constructor(
    readonly vendor: VendorId,
    message: string,
  ) {
    super(`${vendor}: ${message}`);
    this.name = new.target.name;
  }
}

/** The API key or credentials were refused (HTTP 401/403, or the vendor's equivalent in a 200 body). */
export class AuthError extends VendorError {}

/** The vendor asked us to slow down; retry after `retryAfterSeconds`. */
export class RateLimitedError extends VendorError {
  constructor(
    vendor: VendorId,
    message: string,
    readonly retryAfterSeconds: number,
  ) {
    super(vendor, message);
  }
}

/** The account's quota is used up (daily submissions, say); retrying before `resetAt` is pointless. */
export class QuotaExceededError extends VendorError {
  constructor(
    vendor: VendorId,
    message: string,
    readonly resetAt?: string,
  ) {
    super(vendor, message);
  }
}

/** The vendor does not analyse this kind of file. */
export class UnsupportedFileError extends VendorError {}

/** The sample is larger than the vendor accepts. */
export class SampleTooLargeError extends VendorError {}

/** A failure that may pass: connection refused or reset, timeout, HTTP 5xx. Retried by the state machine. */
export class TransientError extends VendorError {}

/** The vendor answered, but not in the shape its API documents (validated with zod). */
export class BadResponseError extends VendorError {}

/** The item id is not known to the vendor (expired, deleted, or never existed). */
export class ItemNotFoundError extends VendorError {}

/**
 * The vendor's administrator has switched this call off (CAPE's api.conf `enabled = no`, say):
 * it will not answer otherwise by retrying.
 */
export class EndpointDisabledError extends VendorError {}

/** Error names the state machine retries with backoff; everything else ends the engine. */
export const RETRYABLE_VENDOR_ERRORS: readonly string[] = [TransientError.name, BadResponseError.name];

/** The error name the state machine retries after a pause when collecting a ready report. */
export const RATE_LIMITED_ERROR = RateLimitedError.name;
