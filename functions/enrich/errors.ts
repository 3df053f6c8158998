// Errors of the enrich stage. Record-level failures that become bad rows carry their failure type;
// transient ones (throttling, network) make the record fail so Lambda retries it.
import { PipelineError } from '../shared/errors.js';
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

/**
 * Thrown by the record handler for a record this invocation could not finish (a write, lookup or
 * bad-row upload that did not succeed in time): Powertools reports its sequence number and Lambda retries it.
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
