// The ingest Lambda through its real middy wiring, with the Kinesis client mocked.
import { KinesisClient, PutRecordsCommand, ProvisionedThroughputExceededException, ResourceNotFoundException } from '@aws-sdk/client-kinesis';
import type { APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { gzipSync } from 'node:zlib';
import { beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type * as HandlerModule from '../../../../functions/ingest/handler.js';
import { MAX_EVENT_BYTES, MAX_REQUEST_BYTES } from '../../../../functions/ingest/limits.js';
import { basicAuth, httpRequest, lambdaContext, pageEvent, trackEvent, WRITE_KEY } from '../../../helpers/factories.js';

const kinesis = mockClient(KinesisClient);
let handler: typeof HandlerModule.handler;

beforeAll(async () => {
  process.env['RAW_STREAM_NAME'] = 'events-raw';
  process.env['WRITE_KEYS'] = `${WRITE_KEY},wk_other_key`;
  process.env['POWERTOOLS_LOG_LEVEL'] = 'SILENT';
  ({ handler } = await import('../../../../functions/ingest/handler.js'));
});

beforeEach(() => {
  kinesis.reset();
  kinesis.on(PutRecordsCommand).callsFake((input) => ({
    FailedRecordCount: 0,
    Records: input.Records.map((_: unknown, i: number) => ({ SequenceNumber: `${i}`, ShardId: 'shardId-000000000000' })),
  }));
});

async function invoke(...args: Parameters<typeof httpRequest>): Promise<APIGatewayProxyStructuredResultV2 & { json: Record<string, unknown> }> {
  const response = (await handler(httpRequest(...args), lambdaContext())) as APIGatewayProxyStructuredResultV2;
  return { ...response, json: JSON.parse(response.body ?? '{}') as Record<string, unknown> };
}

const written = () =>
  kinesis.commandCalls(PutRecordsCommand).flatMap((c) =>
    (c.args[0].input.Records ?? []).map((r) => ({ key: r.PartitionKey, event: JSON.parse(Buffer.from(r.Data!).toString('utf8')) as Record<string, unknown> })),
  );

describe('ingest: accepted events', () => {
  it('writes a batch to the raw stream and answers with the count', async () => {
    const res = await invoke({ body: { batch: [trackEvent(), pageEvent({ userId: 'user-1', anonymousId: undefined })] } });
    expect(res.statusCode).toBe(200);
    expect(res.json).toEqual({ success: true, accepted: 2, rejected: [] });
    const records = written();
    expect(records.map((r) => r.key)).toEqual(['anon-7f3a9c', 'user-1']);
    expect(kinesis.commandCalls(PutRecordsCommand)[0]!.args[0].input.StreamName).toBe('events-raw');
  });

  it('adds server fields: receivedAt, corrected timestamp, ip and user agent', async () => {
    const sentAt = '2026-11-22T10:00:10.000Z'; // client clock 5 s ahead of the request time below
    await invoke({
      body: { batch: [trackEvent({ timestamp: '2026-11-22T10:00:07.000Z', context: {} })], sentAt },
      sourceIp: '198.51.100.23',
      headers: { 'user-agent': 'Mozilla/5.0 (X11; Linux x86_64)' },
    });
    const { event } = written()[0]!;
    const receivedAt = Date.parse(event['receivedAt'] as string);
    expect(Date.parse(event['timestamp'] as string)).toBe(receivedAt - 3_000);
    expect(event['originalTimestamp']).toBe('2026-11-22T10:00:07.000Z');
    expect(event['context']).toMatchObject({ ip: '198.51.100.23', userAgent: 'Mozilla/5.0 (X11; Linux x86_64)' });
  });

  it('keeps an ip and user agent the client set itself', async () => {
    await invoke({ body: { batch: [trackEvent({ context: { ip: '192.0.2.1', userAgent: 'MyApp/1.0' } })] } });
    expect(written()[0]!.event['context']).toMatchObject({ ip: '192.0.2.1', userAgent: 'MyApp/1.0' });
  });

  it('gives events without a messageId a deterministic one, stable across retries', async () => {
    const event = trackEvent({ messageId: undefined });
    await invoke({ body: { batch: [event], sentAt: '2026-11-22T10:00:01.000Z' } });
    await invoke({ body: { batch: [event], sentAt: '2026-11-22T10:00:09.000Z' } });
    await invoke({ body: { batch: [{ ...event, event: 'Other' }] } });
    const ids = written().map((r) => r.event['messageId']);
    expect(ids[0]).toMatch(/^srv-[0-9a-f]{32}$/);
    expect(ids[1]).toBe(ids[0]);
    expect(ids[2]).not.toBe(ids[0]);
  });

  it('accepts single-event routes and sets the type from the path', async () => {
    const { type: _type, ...withoutType } = trackEvent();
    const res = await invoke({ path: '/v1/track', body: withoutType });
    expect(res.statusCode).toBe(200);
    expect(written()[0]!.event['type']).toBe('track');
    for (const type of ['page', 'screen', 'identify', 'group', 'alias']) {
      expect((await invoke({ path: `/v1/${type}`, body: { userId: 'u1', groupId: 'g1', previousId: 'p1' } })).statusCode).toBe(200);
    }
  });

  it('accepts gzip bodies', async () => {
    const res = await invoke({ body: { batch: [trackEvent(), trackEvent({ messageId: 'msg-0002' })] }, gzip: true });
    expect(res.json).toMatchObject({ accepted: 2 });
  });

  it('accepts text/plain (sendBeacon) with the write key in the body, and never stores the key', async () => {
    const res = await invoke({
      body: { batch: [trackEvent({ writeKey: WRITE_KEY })], writeKey: WRITE_KEY },
      headers: { 'content-type': 'text/plain;charset=UTF-8', authorization: '' },
    });
    expect(res.statusCode).toBe(200);
    expect(JSON.stringify(written())).not.toContain(WRITE_KEY);
  });
});

describe('ingest: refused events and requests', () => {
  it('rejects invalid events one by one and still writes the valid ones', async () => {
    const res = await invoke({
      body: { batch: [trackEvent(), { type: 'track', event: 'No Id' }, 'not an object', trackEvent({ messageId: 'm3', timestamp: 'yesterday' })] },
    });
    expect(res.statusCode).toBe(200);
    expect(res.json['accepted']).toBe(1);
    expect(res.json['rejected']).toEqual([
      { index: 1, messageId: null, reason: '(event) needs one of userId, anonymousId' },
      { index: 2, messageId: null, reason: 'event must be a JSON object' },
      { index: 3, messageId: 'm3', reason: '/timestamp must match format "date-time"' },
    ]);
    expect(written()).toHaveLength(1);
  });

  it('answers 400 when no event in the request is valid', async () => {
    const res = await invoke({ body: { batch: [{ type: 'nope', userId: 'u' }] } });
    expect(res.statusCode).toBe(400);
    expect(res.json).toMatchObject({ success: false, accepted: 0 });
    expect(kinesis.commandCalls(PutRecordsCommand)).toHaveLength(0);
  });

  it('rejects an event over 32 KB and keeps the rest', async () => {
    const big = trackEvent({ messageId: 'big', properties: { blob: 'x'.repeat(MAX_EVENT_BYTES) } });
    const res = await invoke({ body: { batch: [big, trackEvent()] } });
    expect(res.json['accepted']).toBe(1);
    expect((res.json['rejected'] as { reason: string }[])[0]!.reason).toMatch(/^event is \d+ bytes; the limit is 32768$/);
  });

  it.each([
    ['missing', { authorization: '' }, 'missing write key'],
    ['unknown', { authorization: basicAuth('wk_wrong') }, 'unknown write key'],
    ['not Basic', { authorization: 'Bearer abc' }, 'HTTP Basic'],
  ])('answers 401 for a %s write key', async (_label, headers, reason) => {
    const res = await invoke({ headers });
    expect(res.statusCode).toBe(401);
    expect(res.json['message']).toContain(reason);
    expect(res.headers?.['www-authenticate']).toMatch(/^Basic/);
    expect(kinesis.commandCalls(PutRecordsCommand)).toHaveLength(0);
  });

  it('accepts any configured key', async () => {
    expect((await invoke({ headers: { authorization: basicAuth('wk_other_key') } })).statusCode).toBe(200);
  });

  it('answers 413 for a request over 500 KB', async () => {
    const res = await invoke({ rawBody: JSON.stringify({ batch: [trackEvent({ properties: { x: 'y'.repeat(MAX_REQUEST_BYTES) } })] }) });
    expect(res.statusCode).toBe(413);
  });

  it('answers 413 for a gzip bomb, without inflating it', async () => {
    const bomb = gzipSync(Buffer.alloc(50 * 1024 * 1024, 0x20)); // 50 MB of spaces, ~50 KB compressed
    expect(bomb.byteLength).toBeLessThan(MAX_REQUEST_BYTES);
    // API Gateway hands a content-encoded body to the function base64-encoded.
    const viaGateway = await handler(
      { ...httpRequest({ headers: { 'content-encoding': 'gzip' } }), body: bomb.toString('base64'), isBase64Encoded: true },
      lambdaContext(),
    );
    expect((viaGateway as APIGatewayProxyStructuredResultV2).statusCode).toBe(413);
  });

  it('answers 400 for a body that is not gzip despite the header', async () => {
    const res = await handler({ ...httpRequest({ headers: { 'content-encoding': 'gzip' } }), isBase64Encoded: true, body: Buffer.from('plain').toString('base64') }, lambdaContext());
    expect((res as APIGatewayProxyStructuredResultV2).statusCode).toBe(400);
  });

  it('answers 400 with the position for a body that is not JSON', async () => {
    const res = await invoke({ rawBody: '{"batch": [{"type": "track",}]}' });
    expect(res.statusCode).toBe(400);
    expect(res.json['message']).toBe(`body is not valid JSON: unexpected "}", expected a property name in double quotes at position 28 (line 1, column 29)`);
  });

  it('answers 415 for a wrong content type', async () => {
    const res = await invoke({ headers: { 'content-type': 'application/x-www-form-urlencoded' } });
    expect(res.statusCode).toBe(415);
    expect(res.json['message']).toContain('application/json');
  });

  it('answers 400 when a single-event body names another type', async () => {
    expect((await invoke({ path: '/v1/page', body: trackEvent() })).statusCode).toBe(400);
  });

  it('answers 404 for a path that is not a Segment route', async () => {
    expect((await invoke({ path: '/v1/everything' })).statusCode).toBe(404);
  });
});

describe('ingest: when Kinesis cannot take the events', () => {
  it('answers 503 with Retry-After and does not claim the events that were not written', async () => {
    kinesis.on(PutRecordsCommand).callsFake((input) => ({
      FailedRecordCount: 1,
      Records: input.Records.map((r: { PartitionKey: string }) => (r.PartitionKey === 'anon-b' ? { ErrorCode: 'ProvisionedThroughputExceededException' } : { SequenceNumber: '1' })),
    }));
    const response = (await handler(
      httpRequest({ body: { batch: [trackEvent({ anonymousId: 'anon-a' }), trackEvent({ anonymousId: 'anon-b', messageId: 'm2' })] } }),
      lambdaContext(1_500),
    )) as APIGatewayProxyStructuredResultV2;
    expect(response.statusCode).toBe(503);
    expect(response.headers?.['retry-after']).toBe('2');
    expect(JSON.parse(response.body!)).toMatchObject({ success: false, accepted: 1 });
    expect(kinesis.commandCalls(PutRecordsCommand).length).toBeGreaterThan(1);
  });

  it('answers 503 when the stream is throttled for the whole time left', async () => {
    kinesis.on(PutRecordsCommand).rejects(new ProvisionedThroughputExceededException({ message: 'Rate exceeded', $metadata: { httpStatusCode: 400 } }));
    const response = (await handler(httpRequest(), lambdaContext(1_200))) as APIGatewayProxyStructuredResultV2;
    expect(response.statusCode).toBe(503);
  });

  it('answers 503 (and logs) when the stream does not exist', async () => {
    kinesis.on(PutRecordsCommand).rejects(new ResourceNotFoundException({ message: 'not found', $metadata: { httpStatusCode: 400 } }));
    const response = (await handler(httpRequest(), lambdaContext())) as APIGatewayProxyStructuredResultV2;
    expect(response.statusCode).toBe(503);
    expect(kinesis.commandCalls(PutRecordsCommand)).toHaveLength(1);
  });
});
