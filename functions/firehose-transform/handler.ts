// Firehose transformation Lambda (events-enriched → the `events` table): flattens each enriched event to
// the table's columns and gives Firehose its dt/hour partition keys from the event time. Everything is
// built at cold start; the batch's work lives in ./transform-records.ts.
import { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';
import type { FirehoseTransformationEvent, FirehoseTransformationResult } from 'aws-lambda';
import { createRecordTransformer } from './transform-records.js';

const logger = new Logger({ serviceName: process.env['POWERTOOLS_SERVICE_NAME'] ?? 'firehose-transform' });
const transformRecords = createRecordTransformer({ logger });

export const handler = middy<FirehoseTransformationEvent, FirehoseTransformationResult>()
  .use(injectLambdaContext(logger))
  .handler(async (event) => transformRecords(event.records).response);
