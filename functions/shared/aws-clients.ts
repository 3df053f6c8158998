// The one place SDK clients are built. Endpoints come from the standard AWS_ENDPOINT_URL_<SERVICE>
// variables (set by the local stack, absent on AWS), so handlers carry no "if local" branches.
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { FirehoseClient } from '@aws-sdk/client-firehose';
import { KinesisClient } from '@aws-sdk/client-kinesis';
import { S3Client } from '@aws-sdk/client-s3';
import { LambdaClient } from '@aws-sdk/client-lambda';
import { SNSClient } from '@aws-sdk/client-sns';
import { SQSClient } from '@aws-sdk/client-sqs';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { Agent } from 'node:https';
import { Agent as HttpAgent } from 'node:http';

export interface ClientOptions {
  /** SDK-level attempts. Writers that run their own retry loop set 1, so the deadline stays theirs. */
  maxAttempts?: number;
  /** Per-request socket timeout in ms. */
  requestTimeout?: number;
}

// Kinesis defaults to an HTTP/2 handler, which emulators on a plain-HTTP port reject; HTTP/1.1 with
// keep-alive works on both and is what PutRecords/GetRecords use on AWS anyway.
const httpHandler = (opts: ClientOptions) =>
  new NodeHttpHandler({
    httpAgent: new HttpAgent({ keepAlive: true, maxSockets: 50 }),
    httpsAgent: new Agent({ keepAlive: true, maxSockets: 50 }),
    connectionTimeout: 3_000,
    requestTimeout: opts.requestTimeout ?? 10_000,
  });

export const kinesisClient = (opts: ClientOptions = {}): KinesisClient =>
  new KinesisClient({ maxAttempts: opts.maxAttempts ?? 3, requestHandler: httpHandler(opts) });

// A custom S3 endpoint (an emulator, MinIO) has no per-bucket DNS names, so it needs path-style URLs.
export const s3Client = (opts: ClientOptions = {}): S3Client =>
  new S3Client({ maxAttempts: opts.maxAttempts ?? 3, requestHandler: httpHandler(opts),
    forcePathStyle: Boolean(process.env.AWS_ENDPOINT_URL_S3 ?? process.env.AWS_ENDPOINT_URL),
  });

export const dynamoDbClient = (opts: ClientOptions = {}): DynamoDBClient =>
  new DynamoDBClient({ maxAttempts: opts.maxAttempts ?? 3, requestHandler: httpHandler(opts) });

export const firehoseClient = (opts: ClientOptions = {}): FirehoseClient =>
  new FirehoseClient({ maxAttempts: opts.maxAttempts ?? 3, requestHandler: httpHandler(opts) });

export const snsClient = (opts: ClientOptions = {}): SNSClient =>
  new SNSClient({ maxAttempts: opts.maxAttempts ?? 3, requestHandler: httpHandler(opts) });

export const sqsClient = (opts: ClientOptions = {}): SQSClient =>
  new SQSClient({ maxAttempts: opts.maxAttempts ?? 3, requestHandler: httpHandler(opts) });

// A synchronous Invoke of a consumer can take its whole timeout: the socket must wait as long.
export const lambdaClient = (opts: ClientOptions = {}): LambdaClient =>
  new LambdaClient({ maxAttempts: opts.maxAttempts ?? 1, requestHandler: httpHandler({ requestTimeout: 900_000, ...opts }) });
