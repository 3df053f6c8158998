// Realistic inputs for unit tests: Segment events as libraries send them, and payload-v2 requests.
import type { APIGatewayProxyEventV2, Context, KinesisStreamEvent, KinesisStreamRecord } from 'aws-lambda';
import { gzipSync } from 'node:zlib';
import { lambdaContext as runtimeContext } from '../../local/lambda/runtime.js';

export const WRITE_KEY = 'wk_test_0123456789abcdefghij';

export const basicAuth = (writeKey: string = WRITE_KEY): string =>
  `Basic ${Buffer.from(`${writeKey}:`).toString('base64')}`;

export function trackEvent(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    type: 'track',
    event: 'Product Viewed',
    anonymousId: 'anon-7f3a9c',
    messageId: 'msg-0001',
    properties: { sku: 'SKU-42', price: 19.99 },
    context: {
      page: { url: 'https://shop.example.com/p/42?utm_source=news', path: '/p/42', referrer: 'https://www.google.com/' },
      locale: 'en-GB',
    },
    timestamp: '2026-11-22T10:00:00.000Z',
    ...overrides,
  };
}

export const pageEvent = (overrides: Record<string, unknown> = {}): Record<string, unknown> => ({
  type: 'page',
  name: 'Home',
  anonymousId: 'anon-7f3a9c',
  properties: { url: 'https://shop.example.com/', path: '/' },
  timestamp: '2026-11-22T10:00:00.000Z',
  ...overrides,
});

export interface RequestOptions {
  path?: string;
  body?: unknown;
  rawBody?: string | Buffer;
  headers?: Record<string, string>;
  gzip?: boolean;
  sourceIp?: string;
  /** Query string parameters (e.g. RudderStack's beacon `writeKey`). */
  query?: Record<string, string>;
  /** POST unless set. */
  method?: string;
}

/** An API Gateway HTTP API payload-v2 event, as the service sends it to the function. */
export function httpRequest(opts: RequestOptions = {}): APIGatewayProxyEventV2 {
  const path = opts.path ?? '/v1/batch';
  let bytes: Buffer =
    opts.rawBody !== undefined ? Buffer.from(opts.rawBody) : Buffer.from(JSON.stringify(opts.body ?? { batch: [trackEvent()] }));
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    authorization: basicAuth(),
    'user-agent': 'analytics-node-next/latest',
    ...opts.headers,
  };
  let isBase64Encoded = false;
  if (opts.gzip) {
    bytes = gzipSync(bytes);
    headers['content-encoding'] = 'gzip';
    isBase64Encoded = true;
  }
  return {
    version: '2.0',
    routeKey: `${opts.method ?? 'POST'} ${path}`,
    rawPath: path,
    rawQueryString: new URLSearchParams(opts.query ?? {}).toString(),
    ...(opts.query ? { queryStringParameters: opts.query } : {}),
    headers,
    requestContext: {
      accountId: '123456789012',
      apiId: 'api1234567',
      domainName: 'api1234567.execute-api.us-east-1.amazonaws.com',
      domainPrefix: 'api1234567',
      http: { method: opts.method ?? 'POST', path, protocol: 'HTTP/1.1', sourceIp: opts.sourceIp ?? '203.0.113.9', userAgent: headers['user-agent']! },
      requestId: 'JKJaXmPLvHcESHA=',
      routeKey: `${opts.method ?? 'POST'} ${path}`,
      stage: '$default',
      time: '22/Nov/2026:10:00:05 +0000',
      timeEpoch: Date.parse('2026-11-22T10:00:05Z'),
    },
    body: isBase64Encoded ? bytes.toString('base64') : bytes.toString('utf8'),
    isBase64Encoded,
  };
}

/** The local Lambda runtime's context, as the stack hands it to a handler, with a fixed request id. */
export function lambdaContext(remainingMs = 10_000): Context {
  return runtimeContext({ functionName: 'clickstream-dev-ingest', timeoutSeconds: remainingMs / 1000, memorySizeMb: 512 }, Date.now() + remainingMs, 'c6af9ac6-7b61-11e6-9a41-93e8deadbeef');
}

// ---------------------------------------------------------------------------------------------
// Kinesis stream events, as the event source mapping hands them to the enrich function.

export const RAW_STREAM_ARN = 'arn:aws:kinesis:us-east-1:123456789012:stream/clickstream-dev-events-raw';
export const SHARD_ID = 'shardId-000000000000';
/** Sequence numbers as AWS sends them: 56-digit decimal strings that grow along a shard. */
const SEQUENCE_BASE = 49_658_132_419_372_054_372_835_647_162_906_128_637_426_341_392_345_627_650n;

/** The sequence number of the n-th record of a shard (n ≥ 0), as a string. */
export const sequenceNumber = (n: number): string => (SEQUENCE_BASE + BigInt(n) * 4_294_967_296n).toString();

export interface KinesisRecordOptions {
  /** Position in the shard, for the sequence number. */
  n?: number;
  /** Raw bytes instead of the JSON of `event`. */
  data?: Buffer | string;
  partitionKey?: string;
  shardId?: string;
  streamArn?: string;
  /** ApproximateArrivalTimestamp, epoch seconds with a fraction (as Lambda sends it). */
  arrival?: number;
}

/** One record of a KinesisStreamEvent: base64 data, 56-digit sequence number, shard eventID. */
export function kinesisRecord(event: unknown, opts: KinesisRecordOptions = {}): KinesisStreamRecord {
  const n = opts.n ?? 0;
  const seq = sequenceNumber(n);
  const shardId = opts.shardId ?? SHARD_ID;
  const bytes = opts.data !== undefined ? Buffer.from(opts.data) : Buffer.from(JSON.stringify(event), 'utf8');
  const ids = event as { anonymousId?: unknown; userId?: unknown } | null;
  return {
    kinesis: {
      kinesisSchemaVersion: '1.0',
      partitionKey: opts.partitionKey ?? String(ids?.anonymousId ?? ids?.userId ?? 'anon-7f3a9c'),
      sequenceNumber: seq,
      data: bytes.toString('base64'),
      approximateArrivalTimestamp: opts.arrival ?? Date.parse('2026-11-22T10:00:06.000Z') / 1000 + n / 1000,
    },
    eventSource: 'aws:kinesis',
    eventVersion: '1.0',
    eventID: `${shardId}:${seq}`,
    eventName: 'aws:kinesis:record',
    invokeIdentityArn: 'arn:aws:iam::123456789012:role/clickstream-dev-EnrichRole-1A2B3C4D5E6F',
    awsRegion: 'us-east-1',
    eventSourceARN: opts.streamArn ?? RAW_STREAM_ARN,
  };
}

/** A batch of records from one shard, numbered from `first`. Items are events, or [event, options]. */
export function kinesisEvent(items: (unknown | [unknown, KinesisRecordOptions])[], first = 0): KinesisStreamEvent {
  return {
    Records: items.map((item, i) => {
      const [event, opts] = Array.isArray(item) ? (item as [unknown, KinesisRecordOptions]) : [item, {}];
      return kinesisRecord(event, { n: first + i, ...opts });
    }),
  };
}

/** An event as ingest writes it to events-raw: server fields set (receivedAt, corrected timestamp, ip, user agent). */
export function rawEvent(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return trackEvent({
    receivedAt: '2026-11-22T10:00:05.000Z',
    originalTimestamp: '2026-11-22T10:00:00.000Z',
    context: {
      ip: '203.0.113.9',
      userAgent: 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36',
      page: { url: 'https://shop.example.com/p/42?utm_source=news', path: '/p/42', referrer: 'https://www.google.com/' },
      locale: 'en-GB',
    },
    ...overrides,
  });
}
