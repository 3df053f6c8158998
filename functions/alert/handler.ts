// Alert Lambda (Kinesis anomalies → SNS): validation, dedup by anomaly id, one readable message per anomaly.
// Everything is built once at cold start; the batch's work lives in ./alert-batch.ts, and Powertools
// turns the records it could not finish into batchItemFailures (keyed by sequence number).
import type { PartialItemFailureResponse } from '@aws-lambda-powertools/batch/types';
import { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';
import type { Context, KinesisStreamEvent } from 'aws-lambda';
import { dynamoDbClient, snsClient } from '../shared/aws-clients.js';
import { DedupStore } from '../shared/dedup-store.js';
import { partialBatchResponse } from '../shared/partial-batch.js';
import { createAlertBatchProcessor } from './alert-batch.js';
import { loadAlertConfig } from './config.js';
import { createAlertPublisher } from './publishers.js';

/** Kept back from the Lambda timeout to return the response after the last call. */
const RESPONSE_MARGIN_MS = 500;

/** The alert dedup table's key (infra/alerts.yml AlertDedupTable). */
export const ALERT_DEDUP_KEY = 'anomalyId';

const config = loadAlertConfig();
const logger = new Logger({ serviceName: process.env['POWERTOOLS_SERVICE_NAME'] ?? 'alert' });

const processAlerts = createAlertBatchProcessor({
  dedup: new DedupStore({
    client: dynamoDbClient({ maxAttempts: 1, requestTimeout: 2_000 }),
    table: config.dedupTable,
    ttlSeconds: config.dedupTtlSeconds,
    keyAttribute: ALERT_DEDUP_KEY,
  }),
  publisher: createAlertPublisher(config.destination, { sns: () => snsClient({ requestTimeout: 5_000 }) }),
  logger,
});

export const handler = middy<KinesisStreamEvent, PartialItemFailureResponse>()
  .use(injectLambdaContext(logger))
  .handler(async (event: KinesisStreamEvent, context: Context) => {
    const { outcomes } = await processAlerts(event.Records, { deadline: Date.now() + context.getRemainingTimeInMillis() - RESPONSE_MARGIN_MS });
    return partialBatchResponse(event, outcomes, context);
  });
