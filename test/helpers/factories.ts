// Realistic inputs for unit tests: Segment events as libraries send them, and payload-v2 requests.
import type { APIGatewayProxyEventV2, Context } from 'aws-lambda';
import { gzipSync } from 'node:zlib';

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
    routeKey: `POST ${path}`,
    rawPath: path,
    rawQueryString: '',
    headers,
    requestContext: {
      accountId: '123456789012',
      apiId: 'api1234567',
      domainName: 'api1234567.execute-api.us-east-1.amazonaws.com',
      domainPrefix: 'api1234567',
      http: { method: 'POST', path, protocol: 'HTTP/1.1', sourceIp: opts.sourceIp ?? '203.0.113.9', userAgent: headers['user-agent']! },
      requestId: 'JKJaXmPLvHcESHA=',
      routeKey: `POST ${path}`,
      stage: '$default',
      time: '22/Nov/2026:10:00:05 +0000',
      timeEpoch: Date.parse('2026-11-22T10:00:05Z'),
    },
    body: isBase64Encoded ? bytes.toString('base64') : bytes.toString('utf8'),
    isBase64Encoded,
  };
}

export function lambdaContext(remainingMs = 10_000): Context {
  const deadline = Date.now() + remainingMs;
  return {
    callbackWaitsForEmptyEventLoop: false,
    functionName: 'clickstream-dev-ingest',
    functionVersion: '$LATEST',
    invokedFunctionArn: 'arn:aws:lambda:us-east-1:123456789012:function:clickstream-dev-ingest',
    memoryLimitInMB: '512',
    awsRequestId: 'c6af9ac6-7b61-11e6-9a41-93e8deadbeef',
    logGroupName: '/aws/lambda/clickstream-dev-ingest',
    logStreamName: '2026/11/22/[$LATEST]abcdef',
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}
