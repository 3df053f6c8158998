// Alert Lambda (Kinesis anomalies → SNS): validation, dedup by anomaly id, one readable message per anomaly.
// Everything is built once at cold start; the batch's work lives in ./alert-batch.ts, and Powertools
// turns the records it could not finish into batchItemFailures (keyed by sequence number).
import { Logger } from '@aws-lambda-powertools/logger';
import { dynamoDbClient, snsClient } from '../shared/aws-clients.js';
import { DedupStore } from '../shared/dedup-store.js';
import { streamConsumerHandler } from '../shared/partial-batch.js';
import { createAlertBatchProcessor } from './alert-batch.js';
import { loadAlertConfig } from './config.js';
import { createAlertPublisher } from './publishers.js';

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

export const handler = streamConsumerHandler(logger, processAlerts);
