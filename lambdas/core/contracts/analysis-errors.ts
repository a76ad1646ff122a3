/** Base class of the failures that end an analysis with a `Sample Analysis Failed` event. */
export class AnalysisError extends Error {
  /** A short, stable reason for the failure event, e.g. `ObjectNotFound`. */
  readonly reason: string;
  constructor(reason: string, message: string) {
    super(message);
    this.name = reason;
    this.reason = reason;
  }
}

/** Thrown when the execution input is not an S3 `Object Created` event. */
export class InvalidEventError extends AnalysisError {
  constructor(message: string) {
    super('InvalidEvent', message);
  }
}

/** Thrown when the object named by the event no longer exists (deleted before triage). */
export class ObjectNotFoundError extends AnalysisError {
  constructor(bucket: string, key: string) {
    super('ObjectNotFound', `s3://${bucket}/${key} does not exist (deleted before analysis?)`);
  }
}

/** Thrown for a 0-byte object: there is nothing to analyse. */
export class EmptyObjectError extends AnalysisError {
  constructor(bucket: string, key: string) {
    super('EmptyObject', `s3://${bucket}/${key} is empty: nothing to analyse`);
  }
}

/** Thrown when an object is larger than the pipeline accepts. */
export class ObjectTooLargeError extends AnalysisError {
  constructor(bucket: string, key: string, size: number, limit: number) {
    super('ObjectTooLarge', `s3://${bucket}/${key} is ${size} bytes, over the ${limit}-byte limit`);
  }
}

/** Thrown when this upload is already being analysed or was analysed: a duplicated delivery of its event. */
export class DuplicateEventError extends AnalysisError {
  constructor(bucket: string, key: string, uploadId: string, state: string) {
    super('DuplicateEvent', `s3://${bucket}/${key} (upload ${uploadId}) is ${state}: duplicate event ignored`);
  }
}
