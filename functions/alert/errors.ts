// Errors of the alert stage.
import { PipelineError } from '../shared/errors.js';

/** A record of the anomalies stream that is not an anomaly row (schemas/anomalies): retrying cannot fix it. */
export class InvalidAnomalyError extends PipelineError {
  override name = 'InvalidAnomalyError';
}

/** The alert destination refused a publish in a way retrying will not fix (missing topic, access denied, bad request). */
export class AlertPublishError extends PipelineError {
  override name = 'AlertPublishError';
  constructor(
    message: string,
    readonly destination: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
