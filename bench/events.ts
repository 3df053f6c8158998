// Realistic Segment events for benchmarks: browser page views and tracks with full context.
import type { APIGatewayProxyEventV2, FirehoseTransformationEventRecord, KinesisStreamEvent } from 'aws-lambda';
import { toFirehoseRecord } from '../local/firehose/buffer-converter.js';
import type { ShardRecord } from '../local/kinesis/shard-reader.js';
import { localStreamArn } from '../local/kinesis/streams.js';
import { kinesisStreamRecord } from '../local/lambda/event-source-mapping.js';
import { buildEvent } from '../local/lambda/payload-v2.js';
const USER_AGENTS = [
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36',
  'Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1',
  'Mozilla/5.0 (Macintosh; Intel Mac OS X 14_7_1) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605.1.15',
];
const PAGES = ['/', '/pricing', '/docs/getting-started', '/blog/real-time-analytics', '/signup', '/checkout'];

export function demoEvents(count: number, { withMessageId = true, users = 1_000 } = {}): Record<string, unknown>[] {
  const start = Date.parse('2026-11-22T10:00:00.000Z');
  return Array.from({ length: count }, (_, i) => {
    const path = PAGES[i % PAGES.length]!;
    const isPage = i % 3 !== 0;
    return {
      type: isPage ? 'page' : 'track',
      ...(isPage ? { name: path } : { event: 'CTA Clicked', properties: { button: 'start-trial', position: i % 4 } }),
      ...(withMessageId ? { messageId: `bench-${i.toString(36)}-${'0'.repeat(20)}` } : {}),
      anonymousId: `anon-${(i * 7919) % users}`,
      ...(i % 5 === 0 ? { userId: `user-${i % users}` } : {}),
      timestamp: new Date(start + i * 250).toISOString(),
      context: {
        userAgent: USER_AGENTS[i % USER_AGENTS.length],
        locale: 'en-US',
        timezone: 'Europe/Berlin',
        page: { url: `https://www.example.com${path}?utm_source=newsletter&utm_medium=email`, path, referrer: 'https://www.google.com/', title: `Example ${path}` },
        library: { name: 'analytics.js', version: '5.2.0' },
        screen: { width: 1920, height: 1080 },
      },
      ...(isPage ? { properties: { url: `https://www.example.com${path}`, path, title: `Example ${path}` } } : {}),
    };
  });
}

// The Lambda events the benches feed the handlers, built by the local Lambda runtime's own builders: what
// `npm start` hands the same handlers.
const BENCH_SHARD = 'shardId-000000000000';
const sequenceOf = (n: number): string => (49_658_132_419_372_054_372_835_647_162_906_128_637_426_341_392_345_627_650n + BigInt(n) * 4_294_967_296n).toString();

/** Values as records of one shard, numbered in order. */
export function shardRecords(values: readonly unknown[]): ShardRecord[] {
  const arrivalMs = Date.parse('2026-11-22T10:00:07.000Z');
  return values.map((value, n) => ({
    sequenceNumber: sequenceOf(n),
    sequence: BigInt(sequenceOf(n)),
    partitionKey: `bench-${n % 64}`,
    data: Buffer.from(JSON.stringify(value), 'utf8'),
    arrivalMs: arrivalMs + n,
  }));
}

/** A stream function's event, as the local event source mapping makes it. */
export function kinesisStreamEvent(values: readonly unknown[], streamArn = localStreamArn('events-raw')): KinesisStreamEvent {
  return {
    Records: shardRecords(values).map((record) =>
      kinesisStreamRecord({ ...record, data: record.data.toString('base64') }, { shardId: BENCH_SHARD, streamArn, role: 'bench-role' }),
    ),
  };
}

/** The records of a Firehose transformation event, as the local Firehose makes them. */
export const firehoseRecords = (values: readonly unknown[]): FirehoseTransformationEventRecord[] =>
  shardRecords(values).map((record) => toFirehoseRecord(BENCH_SHARD, record));

/** An ingest request as the local gateway makes it (POST /v1/batch with a write key). */
export function ingestRequest(body: unknown, writeKey: string): APIGatewayProxyEventV2 {
  return buildEvent({
    url: new URL('http://127.0.0.1/v1/batch'),
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Basic ${Buffer.from(`${writeKey}:`).toString('base64')}`, 'user-agent': 'analytics-node-next/latest' },
    body: Buffer.from(JSON.stringify(body)),
    sourceIp: '203.0.113.9',
    matched: { routeKey: 'POST /v1/batch', pathParameters: undefined },
    requestId: 'bench',
  });
}
