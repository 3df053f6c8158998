// Errors shared by the functions. Each carries what a log line or a response needs to explain it.
export class PipelineError extends Error {
  override name = 'PipelineError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** A required setting is missing or malformed: raised at cold start, not on the 10,000th event. */
export class ConfigError extends PipelineError {
  override name = 'ConfigError';
}

/** Kinesis refused a write in a way retrying will not fix (missing stream, access denied, bad request). */
export class StreamWriteError extends PipelineError {
  override name = 'StreamWriteError';
  constructor(
    message: string,
    readonly streamName: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** The dedup table refused a call in a way retrying will not fix (missing table, access denied). */
export class DedupTableError extends PipelineError {
  override name = 'DedupTableError';
  constructor(
    message: string,
    readonly tableName: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/**
 * Thrown by a Kinesis consumer's record handler for a record the invocation could not finish (a write,
 * look-up, upload or publish that did not succeed in time): Powertools reports its sequence number and
 * Lambda retries it.
 */
export class RecordRetryError extends PipelineError {
  override name = 'RecordRetryError';
  constructor(
    readonly sequenceNumber: string,
    readonly reason: string,
  ) {
    super(`record ${sequenceNumber} will be retried: ${reason}`);
  }
}
