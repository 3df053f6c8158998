// Firehose transformation Lambda for every delivery stream into the lake (events-enriched → `events`,
// aggregates → `aggregates`, anomalies → `anomalies`): the invoking delivery stream picks the table
// (./row-mappings.ts); each record is validated, flattened to the table's columns and given its dt/hour
// partition keys from its event time. Everything is built at cold start; the batch's work lives in
// ./transform-records.ts.
import { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';
import type { FirehoseTransformationEvent, FirehoseTransformationResult } from 'aws-lambda';
import { rowMappingFor } from './row-mappings.js';
import { createRecordTransformer } from './transform-records.js';

const logger = new Logger({ serviceName: process.env['POWERTOOLS_SERVICE_NAME'] ?? 'firehose-transform' });
const transformRecords = createRecordTransformer({ logger });

export const handler = middy<FirehoseTransformationEvent, FirehoseTransformationResult>()
  .use(injectLambdaContext(logger))
  .handler(async (event) => transformRecords(event.records, rowMappingFor(event.deliveryStreamArn)).response);
