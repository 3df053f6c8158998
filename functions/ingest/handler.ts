// Ingest API Lambda (API Gateway HTTP API, or a function URL; payload v2): the Segment HTTP Tracking API into Kinesis.
// Everything is built once at cold start; the per-request work lives in ./ingest.ts.
import { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { getParameter } from '@aws-lambda-powertools/parameters/ssm';
import middy from '@middy/core';
import { kinesisClient } from '../shared/aws-clients.js';
import { ConfigError } from '../shared/errors.js';
import { KinesisBatchWriter } from '../shared/kinesis-batch-writer.js';
import { loadIngestConfig } from './config.js';
import { functionUrlCors } from './cors.js';
import { httpErrorResponses } from './http-responses.js';
import { createIngest } from './ingest.js';
import { parseWriteKeys, WriteKeyVerifier } from './write-keys.js';

const config = loadIngestConfig();
const logger = new Logger({ serviceName: process.env['POWERTOOLS_SERVICE_NAME'] ?? 'ingest' });

// The writer runs its own retry loop against the Lambda's deadline, so the SDK makes one attempt per call.
const writer = new KinesisBatchWriter({ client: kinesisClient({ maxAttempts: 1, requestTimeout: 5_000 }), stream: config.stream });

const WRITE_KEYS_MAX_AGE_SECONDS = 300;
const staticVerifier = config.writeKeys.kind === 'list' ? new WriteKeyVerifier(config.writeKeys.keys) : undefined;
let ssmVerifier: { value: string; verifier: WriteKeyVerifier } | undefined;

async function verifier(): Promise<WriteKeyVerifier> {
  if (staticVerifier) return staticVerifier;
  const source = config.writeKeys as { kind: 'ssm'; parameterName: string };
  // Powertools caches the parameter, so rotated keys are picked up within maxAge without a redeploy.
  const value = await getParameter(source.parameterName, { decrypt: true, maxAge: WRITE_KEYS_MAX_AGE_SECONDS });
  if (!value) throw new ConfigError(`SSM parameter ${source.parameterName} is empty`);
  if (ssmVerifier?.value !== value) ssmVerifier = { value, verifier: new WriteKeyVerifier(parseWriteKeys(value)) };
  return ssmVerifier.verifier;
}

export const handler = middy()
  // The event carries the write key (Authorization header, query string, body): never logged, whatever
  // POWERTOOLS_LOGGER_LOG_EVENT says (the option wins over the variable).
  .use(injectLambdaContext(logger, { logEvent: false }))
  .use(functionUrlCors(config.allowedOrigins))
  .use(httpErrorResponses(logger))
  .handler(createIngest({ writer, verifier, logger, allowedOrigins: config.allowedOrigins }));
