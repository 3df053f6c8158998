// Enrich Lambda (Kinesis events-raw → events-enriched): dedup, validation, enrichment, bad rows.
// The dedup ledger's memory of recent ids lives as long as the execution environment (./dedup-ledger.ts).
// Everything is built once at cold start; the batch's work lives in ./enrich-batch.ts, and Powertools
// turns the records it could not finish into batchItemFailures (keyed by sequence number).
import { Logger } from '@aws-lambda-powertools/logger';
import { dynamoDbClient, firehoseClient, kinesisClient, s3Client } from '../shared/aws-clients.js';
import { FirehoseBatchWriter } from '../shared/firehose-batch-writer.js';
import { KinesisBatchWriter } from '../shared/kinesis-batch-writer.js';
import { SuppressionCache } from '../shared/suppression.js';
import { streamConsumerHandler } from '../shared/partial-batch.js';
import { BadRowWriter } from './bad-rows.js';
import { loadEnrichConfig } from './config.js';
import { DedupLedger, ShardLineage } from './dedup-ledger.js';
import { createBatchEnricher } from './enrich-batch.js';
import { TrackingPlans } from './tracking-plan.js';
import { IpFacts } from './ip-facts.js';
import { UserAgentParser } from './user-agent.js';
import trackingPlans from '../../schemas/tracking-plans.generated.json' with { type: 'json' };
import { WrittenCheck } from './written-check.js';
import type { TrackingPlansDocument } from '../../schemas/tracking-plans.js';

const config = loadEnrichConfig();
const logger = new Logger({ serviceName: process.env['POWERTOOLS_SERVICE_NAME'] ?? 'enrich' });

// The geo-IP and ASN databases and the network lists: read once per container (README: cold start).
const ipFacts = IpFacts.load();
logger.info('geo-IP and network data loaded', { ...ipFacts.loadStats, rssBytes: process.memoryUsage().rss });

const lakeS3 = s3Client({ requestTimeout: 5_000 });
if (!config.identitiesDeliveryStream) logger.warn('IDENTITIES_DELIVERY_STREAM_NAME is not set: identity links are not written to the lake');
const enrichBatch = createBatchEnricher({
  // The writer and the look-up run their own retry loops against the deadline: one SDK attempt per call.
  writer: new KinesisBatchWriter({ client: kinesisClient({ maxAttempts: 1, requestTimeout: 5_000 }), stream: config.enrichedStream }),
  ledger: new DedupLedger({
    client: dynamoDbClient({ maxAttempts: 1, requestTimeout: 2_000 }),
    table: config.dedupTable,
    ttlSeconds: config.dedupTtlSeconds,
    maxCachedIds: config.dedupCacheIds,
    ancestorsOf: new ShardLineage(kinesisClient({ requestTimeout: 5_000 })).ancestorsOf,
  }),
  writtenCheck: new WrittenCheck({ client: kinesisClient({ requestTimeout: 5_000 }), stream: config.enrichedStream }),
  ...(config.identitiesDeliveryStream
    ? { identityLinks: new FirehoseBatchWriter({ client: firehoseClient({ maxAttempts: 1, requestTimeout: 5_000 }), deliveryStream: config.identitiesDeliveryStream }) }
    : {}),
  badRows: new BadRowWriter({ client: lakeS3, bucket: config.lakeBucket, prefix: config.badRowsPrefix }),
  suppression: new SuppressionCache({
    s3: lakeS3,
    bucket: config.lakeBucket,
    refreshSeconds: config.erasureRefreshSeconds,
    onStale: (error) => logger.warn('the suppression list could not be read again; the one read before is kept', error as Error),
  }),
  userAgents: new UserAgentParser(config.userAgentCacheSize),
  // The plans in force when the function was packaged (npm run gen:plans; npm run plan drafts them).
  plans: new TrackingPlans(trackingPlans as TrackingPlansDocument),
  ipFacts,
  config,
  logger,
});

export const handler = streamConsumerHandler(logger, enrichBatch);
