// Firehose transformation Lambda for every delivery stream into the lake (events-enriched → `events`,
// aggregates → `aggregates`, anomalies → `anomalies`): the invoking delivery stream picks the table
// (./row-mappings.ts); each record is validated, flattened to the table's columns and given its dt/hour
// partition keys from its event time. Everything is built at cold start; the batch's work lives in
// ./transform-records.ts. Rows of erased people are answered Dropped.
import { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';
import type { FirehoseTransformationEvent, FirehoseTransformationResult } from 'aws-lambda';
import { s3Client } from '../shared/aws-clients.js';
import { requiredSetting } from '../shared/settings.js';
import { refreshSecondsFrom, SuppressionCache, SuppressionList } from '../shared/suppression.js';
import { rowMappingFor } from './row-mappings.js';
import { createRecordTransformer } from './transform-records.js';

const logger = new Logger({ serviceName: process.env['POWERTOOLS_SERVICE_NAME'] ?? 'firehose-transform' });
const transformRecords = createRecordTransformer({ logger });
// Who was erased: their rows are answered Dropped (functions/shared/suppression.ts).
const suppression = new SuppressionCache({
  s3: s3Client({ requestTimeout: 5_000 }),
  bucket: requiredSetting(process.env, 'LAKE_BUCKET_NAME'),
  refreshSeconds: refreshSecondsFrom(process.env),
  onStale: (error) => logger.warn('the suppression list could not be read again; the one read before is kept', error as Error),
});

export const handler = middy<FirehoseTransformationEvent, FirehoseTransformationResult>()
  .use(injectLambdaContext(logger))
  .handler(async (event) => {
    const mapping = rowMappingFor(event.deliveryStreamArn);
    return transformRecords(event.records, mapping, mapping.erased ? await suppression.current() : SuppressionList.EMPTY).response;
  });
