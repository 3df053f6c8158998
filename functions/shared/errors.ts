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
