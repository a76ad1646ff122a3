/**
 * The connector kit: everything a vendor connector is written with, from one place. The behaviour
 * every connector shares (size limit, availability probe, multipart upload, vendor error bodies,
 * verdict bands) lives in these modules once; a connector imports it from here and supplies only its
 * wire hooks: requests, status mapping, error mapping and score.
 */
export type { ConnectorContext, ItemStatus, NativeReport, NormalisedScore, SampleSource } from '../core/connector';
export {
  AuthError,
  BadResponseError,
  EndpointDisabledError,
  ItemNotFoundError,
  QuotaExceededError,
  RateLimitedError,
  SampleTooLargeError,
  TransientError,
  UnsupportedFileError,
  VendorError,
} from '../core/connector/errors';
export {
  BaseConnector,
  itemStatus,
  type ReportFormat,
  REPORT_CONTENT_TYPES,
  registryEntry,
  type WireOptions,
} from './base-connector';
export {
  type ErrorRule,
  errorBodyText,
  errorMapping,
  jsonErrorMapping,
  says,
  statusIs,
  stringField,
  UNSUPPORTED,
} from './error-body';
export { type HttpRequest, type HttpResponse, jsonOrUndefined, peekBody, type VendorHttpClient } from './http';
export type { FormField } from './multipart';
export { bandedScore } from './normalised-score';
export {
  findingText,
  type RawFindings,
  type SignatureSeverity,
  severityFrom,
  type VendorFindings,
} from '../core/contracts/findings';
export { hostsOf, lenient, namesOf, techniquesOf } from './findings-read';
