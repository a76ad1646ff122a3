/**
 * The failures that end an analysis with a `Sample Analysis Failed` event. Like every error in
 * Sandtrap, each one's `name` is its class name: that is what Lambda reports as the error type and
 * what the state machine's Retry and Catch match. The failure event carries the stable `reason`
 * instead (`ObjectNotFound`), which consumers of the event already filter on.
 */
export abstract class AnalysisError extends Error {
  /** The short, stable reason for the failure event, e.g. `ObjectNotFound`: each subclass's static `reason`. */
  get reason(): string {
    return (this.constructor as { reason?: string }).reason ?? this.name;
  }
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

/** Thrown when the execution input is not an S3 `Object Created` event. */
export class InvalidEventError extends AnalysisError {
  static readonly reason = 'InvalidEvent';
}

/** Thrown when the object named by the event no longer exists (deleted before triage). */
export class ObjectNotFoundError extends AnalysisError {
  static readonly reason = 'ObjectNotFound';
  constructor(bucket: string, key: string) {
    super(`s3://${bucket}/${key} does not exist (deleted before analysis?)`);
  }
}

/** Thrown when an object is larger than the pipeline accepts. */
export class ObjectTooLargeError extends AnalysisError {
  static readonly reason = 'ObjectTooLarge';
  constructor(bucket: string, key: string, size: number, limit: number) {
    super(`s3://${bucket}/${key} is ${size} bytes, over the ${limit}-byte limit`);
  }
}

/** Thrown when this upload is already being analysed or was analysed: a duplicated delivery of its event. */
export class DuplicateEventError extends AnalysisError {
  static readonly reason = 'DuplicateEvent';
  constructor(bucket: string, key: string, uploadId: string, state: string) {
    super(`s3://${bucket}/${key} (upload ${uploadId}) is ${state}: duplicate event ignored`);
  }
}

const ANALYSIS_ERRORS = [InvalidEventError, ObjectNotFoundError, ObjectTooLargeError, DuplicateEventError] as const;

/** The error name the workflow catches to end a duplicate delivery quietly. */
export const DUPLICATE_EVENT_ERROR = DuplicateEventError.name;

/**
 * The failure event's `reason` for an error name as Step Functions reports it (`$.error.Error`):
 * the analysis errors' stable reasons; any other error (a Step Functions or Lambda error) by its name.
 */
export function failureReasonOf(errorName: string): string {
  return ANALYSIS_ERRORS.find((error) => error.name === errorName)?.reason ?? errorName;
}
