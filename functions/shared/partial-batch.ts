// The partial batch response of the Kinesis consumers (enrich, alert). A consumer does its batch's I/O per
// batch, not per record, and ends with an outcome per record keyed by sequence number; Powertools then
// reports the records whose outcome is `retry` as batchItemFailures, so Lambda retries exactly those
// (and, with bisect on, halves a batch that crashes the function until the poison record is alone).
import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import type { PartialItemFailureResponse } from '@aws-lambda-powertools/batch/types';
import type { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';
import type { Context, KinesisStreamEvent, KinesisStreamRecord } from 'aws-lambda';
import { RecordRetryError } from './errors.js';

/** A record's outcome: `retry` (with its reason) makes Lambda retry it; every other status is final and checkpointed. */
export interface RecordOutcome {
  status: string;
  reason?: string;
}

/**
 * The Powertools record handler for a batch already processed: it throws for each record that has
 * to be retried (or, defensively, that got no outcome), so only those are reported as failed.
 */
export const retryUnfinished =
  (outcomes: ReadonlyMap<string, RecordOutcome>) =>
  async (record: KinesisStreamRecord): Promise<void> => {
    const outcome = outcomes.get(record.kinesis.sequenceNumber);
    if (outcome === undefined) throw new RecordRetryError(record.kinesis.sequenceNumber, 'no outcome recorded');
    if (outcome.status === 'retry') throw new RecordRetryError(record.kinesis.sequenceNumber, outcome.reason ?? 'retry');
  };

const processor = new BatchProcessor(EventType.KinesisDataStreams);

/** The response Lambda reads: the sequence numbers of the records to retry, in sequence order. */
export const partialBatchResponse = (
  event: KinesisStreamEvent,
  outcomes: ReadonlyMap<string, RecordOutcome>,
  context: Context,
): Promise<PartialItemFailureResponse> =>
  // In sequence order; every side effect already happened while the batch was processed, in order.
  processPartialResponse(event, retryUnfinished(outcomes), processor, { context, processInParallel: false });

/** Kept back from the Lambda timeout to return the response after the last call. */
const RESPONSE_MARGIN_MS = 500;

/**
 * A stream consumer's Lambda handler: the logger's Lambda context on every line, the batch processed with a
 * deadline that keeps RESPONSE_MARGIN_MS for the answer, and its unfinished records as batchItemFailures.
 */
export function streamConsumerHandler(
  logger: Logger,
  processBatch: (records: KinesisStreamRecord[], options: { deadline: number }) => Promise<{ outcomes: ReadonlyMap<string, RecordOutcome> }>,
) {
  return middy<KinesisStreamEvent, PartialItemFailureResponse>()
    .use(injectLambdaContext(logger))
    .handler(async (event: KinesisStreamEvent, context: Context) => {
      const { outcomes } = await processBatch(event.Records, { deadline: Date.now() + context.getRemainingTimeInMillis() - RESPONSE_MARGIN_MS });
      return partialBatchResponse(event, outcomes, context);
    });
}
