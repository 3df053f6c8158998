// Errors of the enrich stage. Record-level failures that become bad rows carry their failure type;
// transient ones (throttling, network) make the record fail so Lambda retries it.
import { PipelineError } from '../shared/errors.js';
// Shared by every Kinesis consumer (functions/shared): re-exported so the enrich stage's errors stay in one place.
export { DedupTableError, RecordRetryError } from '../shared/errors.js';
import type { BadRow } from '../../schemas/index.js';

export type FailureType = BadRow['failure_type'];

/** An event that cannot be enriched however often it is retried: it becomes a bad row. */
export class BadEventError extends PipelineError {
  override name = 'BadEventError';
  constructor(
    readonly failureType: FailureType,
    message: string,
    readonly messageId: string | null = null,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** A valid event whose enrichment failed (e.g. no usable event time). */
export class EnrichmentError extends BadEventError {
  override name = 'EnrichmentError';
  constructor(message: string, messageId: string | null, options?: { cause?: unknown }) {
    super('enrichment_failure', message, messageId, options);
  }
}

/** The check of events-enriched after an interrupted attempt could not finish: the records are retried. */
export class EnrichmentRecoveryError extends PipelineError {
  override name = 'EnrichmentRecoveryError';
}

/** An event of a person on the suppression list (functions/shared/suppression.ts): dropped and counted, never stored. */
export class ErasedEventError extends PipelineError {
  override name = 'ErasedEventError';
}
