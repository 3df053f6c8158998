// Errors of the Firehose transform. Each one is a record Firehose must not convert: the record is answered
// ProcessingFailed with the error's message, and Firehose writes it under errors/processing-failed/.
import { PipelineError } from '../shared/errors.js';

/** A record that cannot become a row of the events table, whatever the retry. */
export class UntransformableRecordError extends PipelineError {
  override name = 'UntransformableRecordError';
  constructor(
    /** Short machine-readable cause, for log queries and metrics. */
    readonly kind: 'not_json' | 'schema_violation' | 'bad_event_time' | 'firehose_incompatible' | 'response_too_large',
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** A flattened row the Hive JSON SerDe (Firehose's deserializer) would refuse or silently change. */
export class FirehoseIncompatibleRowError extends UntransformableRecordError {
  override name = 'FirehoseIncompatibleRowError';
  constructor(
    message: string,
    readonly column: string,
  ) {
    super('firehose_incompatible', message);
  }
}

/** The transform was invoked by a delivery stream whose table it does not know: a wiring error, not a bad record. */
export class UnknownDeliveryStreamError extends PipelineError {
  override name = 'UnknownDeliveryStreamError';
  constructor(
    message: string,
    readonly deliveryStreamArn: string,
  ) {
    super(message);
  }
}
