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
  process.env['ALLOWED_ORIGINS'] = 'https://shop.example.com, http://*';
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

  it('accepts the paths of analytics.js 2.0: /v1/t, /p, /i, /s, /g, /a (type from the initial) and /v1/b (a batch)', async () => {
    const initials = { t: 'track', p: 'page', i: 'identify', s: 'screen', g: 'group', a: 'alias' } as const;
    for (const [initial, type] of Object.entries(initials)) {
      // analytics.js sends text/plain, the write key in Basic auth and in the body, and the type in the body.
      const res = await invoke({
        path: `/v1/${initial}`,
        body: { type, userId: 'u1', event: 'E', groupId: 'g1', previousId: 'p1', messageId: `ajs-${initial}`, writeKey: WRITE_KEY },
        headers: { 'content-type': 'text/plain' },
      });
      expect(res.statusCode, initial).toBe(200);
    }
    expect(written().map((r) => r.event['type'])).toEqual(Object.values(initials));
    expect(JSON.stringify(written())).not.toContain(WRITE_KEY);
    // The batching strategy (and Segment's mobile SDKs): the key only in the body.
    const batched = await invoke({
      path: '/v1/b',
      body: { writeKey: WRITE_KEY, batch: [trackEvent({ messageId: 'b1' }), pageEvent({ messageId: 'b2' })], sentAt: '2026-11-22T10:00:05.000Z' },
      headers: { 'content-type': 'text/plain', authorization: '' },
    });
    expect(batched.json).toEqual({ success: true, accepted: 2, rejected: [] });
    expect((await invoke({ path: '/v1/x' })).statusCode).toBe(404);
  });

  it('takes the write key from the query string on the beacon path, and refuses a wrong one there', async () => {
    const beacon = { path: '/beacon/v1/batch', headers: { 'content-type': 'text/plain;charset=UTF-8', authorization: '' } };
    const ok = await invoke({ ...beacon, query: { writeKey: WRITE_KEY }, body: { batch: [trackEvent()], sentAt: '2026-11-22T10:00:05.000Z' } });
    expect(ok.statusCode).toBe(200);
    const wrong = await invoke({ ...beacon, query: { writeKey: 'wk_not_a_key' }, body: { batch: [trackEvent()] } });
    expect(wrong.statusCode).toBe(401);
    expect(wrong.body).not.toContain('wk_not_a_key');
    expect((await invoke({ ...beacon, body: { batch: [trackEvent()] } })).statusCode).toBe(401);
  });

  it('accepts JSON labelled as a form and gzipped, as RudderStack\'s Node SDK sends it', async () => {
    const res = await invoke({ body: { batch: [trackEvent()] }, gzip: true, headers: { 'content-type': 'application/x-www-form-urlencoded' } });
    expect(res.json).toMatchObject({ success: true, accepted: 1 });
  });

  it('takes "" (and null) as userId or anonymousId to mean absent, as RudderStack sends before identify', async () => {
    const res = await invoke({
      body: { batch: [trackEvent({ userId: '', anonymousId: 'anon-r' }), trackEvent({ messageId: 'm2', userId: 'u2', anonymousId: '' }), trackEvent({ messageId: 'm3', userId: null, anonymousId: 'anon-n' })] },
    });
    expect(res.json).toEqual({ success: true, accepted: 3, rejected: [] });
    const [first, second, third] = written().map((r) => r.event);
    expect(first).not.toHaveProperty('userId');
    expect(first!['anonymousId']).toBe('anon-r');
    expect(second).not.toHaveProperty('anonymousId');
    expect(third).not.toHaveProperty('userId');
    // With neither id, the event is still refused for it.
    const none = await invoke({ body: { batch: [trackEvent({ userId: '', anonymousId: '' })] } });
    expect(none.json['rejected']).toEqual([{ index: 0, messageId: 'msg-0001', reason: '(event) needs one of userId, anonymousId' }]);
  });

  it('gives an identify whose traits are only in context.traits (RudderStack) those traits as traits', async () => {
    const contextTraits = { email: 'wile@acme.test', plan: 'pro' };
    await invoke({
      body: {
        batch: [
          { type: 'identify', messageId: 'i1', userId: 'u1', context: { traits: contextTraits } },
          { type: 'identify', messageId: 'i2', userId: 'u1', traits: {}, context: { traits: contextTraits } },
          { type: 'identify', messageId: 'i3', userId: 'u1', traits: { plan: 'team' }, context: { traits: contextTraits } },
          { type: 'track', messageId: 't1', userId: 'u1', event: 'E', context: { traits: contextTraits } },
        ],
      },
    });
    const events = written().map((r) => r.event);
    expect(events.map((e) => e['traits'])).toEqual([contextTraits, contextTraits, { plan: 'team' }, undefined]);
    expect(events.every((e) => JSON.stringify((e['context'] as { traits: unknown }).traits) === JSON.stringify(contextTraits))).toBe(true);
  });

  it('takes the request\'s User-Agent as the device\'s only when no SDK library sent the event', async () => {
    const headers = { 'user-agent': 'analytics-kotlin/1.19.2' };
    await invoke({ body: { batch: [trackEvent({ context: { library: { name: 'analytics-kotlin', version: '1.19.2' } } })] }, headers });
    await invoke({ body: { batch: [trackEvent({ messageId: 'm2', context: {} })] }, headers: { 'user-agent': 'curl/8.5.0' } });
    const [fromSdk, handWritten] = written().map((r) => r.event['context'] as Record<string, unknown>);
    expect(fromSdk).not.toHaveProperty('userAgent');
    expect(handWritten!['userAgent']).toBe('curl/8.5.0');
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

  it('answers 400 for a body that is not JSON whatever its content type, and names the type it was sent as', async () => {
    const res = await invoke({ rawBody: 'writeKey=wk&event=Signed+Up', headers: { 'content-type': 'application/x-www-form-urlencoded' } });
    expect(res.statusCode).toBe(400);
    expect(res.json['message']).toMatch(/^body is not valid JSON: .* \(sent as application\/x-www-form-urlencoded; whatever the content-type, the body must be JSON\)$/);
  });

  it('answers 400, not 500, for an event nested 100,000 levels deep, with or without a messageId', async () => {
    const deep = `${'['.repeat(100_000)}${']'.repeat(100_000)}`;
    for (const messageId of [undefined, 'deep-1']) {
      const event = JSON.stringify({ type: 'track', event: 'Deep', anonymousId: 'a1', ...(messageId ? { messageId } : {}) });
      const res = await invoke({ rawBody: `{"batch":[${event.slice(0, -1)},"properties":{"p":${deep}}}]}` });
      expect(res.statusCode).toBe(400);
      expect(res.json['rejected']).toEqual([{ index: 0, messageId: messageId ?? null, reason: 'event nests deeper than 64 levels' }]);
    }
    // The same on a single-event route, and in the batch's shared context.
    const single = await invoke({ path: '/v1/t', rawBody: `{"event":"Deep","anonymousId":"a1","properties":{"p":${deep}}}` });
    expect(single.statusCode).toBe(400);
    const context = await invoke({ rawBody: `{"batch":[${JSON.stringify(trackEvent())}],"context":{"p":${deep}}}` });
    expect(context.statusCode).toBe(400);
    expect(context.json['message']).toBe('the batch context nests deeper than 63 levels');
    expect(written()).toHaveLength(0);
  });

  it('accepts an event exactly at the depth limit', async () => {
    // The event is level 1, properties level 2, then 62 nested arrays: 64 levels.
    const nested = `${'['.repeat(62)}${']'.repeat(62)}`;
    const res = await invoke({ rawBody: `{"batch":[{"type":"track","event":"Deep","anonymousId":"a1","properties":{"p":${nested}}}]}` });
    expect(res.statusCode).toBe(200);
  });

  it('answers 400 when a single-event body names another type', async () => {
    expect((await invoke({ path: '/v1/page', body: trackEvent() })).statusCode).toBe(400);
  });

  it('answers 403 to a browser origin the stage does not allow, also on routes that need no CORS preflight', async () => {
    const beacon = { path: '/beacon/v1/batch', query: { writeKey: WRITE_KEY }, headers: { 'content-type': 'text/plain', authorization: '' } };
    const refused = await invoke({ ...beacon, headers: { ...beacon.headers, origin: 'https://evil.example' } });
    expect(refused.statusCode).toBe(403);
    expect(refused.json['message']).toBe('origin https://evil.example is not allowed to send events here (the stage\'s allowedOrigins)');
    expect(written()).toHaveLength(0);
    // Exact origins and API Gateway's scheme wildcards ("http://*"), case-insensitively.
    for (const origin of ['https://shop.example.com', 'HTTPS://SHOP.EXAMPLE.COM', 'http://localhost:3000']) {
      expect((await invoke({ ...beacon, headers: { ...beacon.headers, origin } })).statusCode, origin).toBe(200);
    }
    expect((await invoke({ ...beacon, headers: { ...beacon.headers, origin: 'https://www.shop.example.com' } })).statusCode).toBe(403);
    // No Origin header: not a browser page (a server SDK, curl); write keys are what protect it.
    expect((await invoke(beacon)).statusCode).toBe(200);
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

describe('ingest: the settings SDKs fetch before sending', () => {
  const host = 'api1234567.execute-api.us-east-1.amazonaws.com';

  it('serves Segment project settings that name this API, for a known write key only', async () => {
    const res = await invoke({ method: 'GET', path: `/v1/projects/${WRITE_KEY}/settings`, rawBody: '', headers: { authorization: '', 'x-forwarded-proto': 'https' } });
    expect(res.statusCode).toBe(200);
    expect(res.headers).toMatchObject({ 'cache-control': 'public, max-age=300' });
    expect(res.json['integrations']).toEqual({
      'Segment.io': expect.objectContaining({ apiKey: WRITE_KEY, apiHost: `${host}/v1`, protocol: 'https' }),
    });
    expect(res.json['metrics']).toEqual({ sampleRate: 0 });
    const unknown = await invoke({ method: 'GET', path: '/v1/projects/wk_nobody/settings', rawBody: '', headers: { authorization: '' } });
    expect(unknown.statusCode).toBe(404);
    expect(unknown.body).not.toContain('wk_nobody');
    expect(written()).toHaveLength(0);
  });

  it('serves a RudderStack source config, enabled and without destinations, for a key in Basic auth or the query string', async () => {
    const basic = await invoke({ method: 'GET', path: '/sourceConfig', rawBody: '' });
    expect(basic.statusCode).toBe(200);
    expect(basic.json['source']).toMatchObject({ writeKey: WRITE_KEY, enabled: true, destinations: [], config: expect.any(Object) });
    const query = await invoke({ method: 'GET', path: '/sourceConfig', query: { p: 'android', writeKey: WRITE_KEY }, rawBody: '', headers: { authorization: '' } });
    expect(query.statusCode).toBe(200);
    expect((await invoke({ method: 'GET', path: '/sourceConfig', rawBody: '', headers: { authorization: basicAuth('wk_nobody') } })).statusCode).toBe(401);
    expect((await invoke({ method: 'GET', path: '/v1/batch', rawBody: '' })).statusCode).toBe(404);
  });
});

describe('ingest through a Lambda function URL: the function answers CORS', () => {
  /** A function URL's event: the `$default` route key and Lambda's own host. */
  const viaUrl = (opts: Parameters<typeof httpRequest>[0] = {}) => {
    const request = httpRequest(opts);
    return { ...request, routeKey: '$default', requestContext: { ...request.requestContext, routeKey: '$default', domainName: 'abc123.lambda-url.us-east-1.on.aws' } };
  };
  const call = async (event: ReturnType<typeof viaUrl>) => (await handler(event, lambdaContext())) as APIGatewayProxyStructuredResultV2;

  it("answers a preflight from an allowed origin with that origin, credentials and the SDKs' headers, without writing", async () => {
    const res = await call(viaUrl({ method: 'OPTIONS', rawBody: '', headers: { origin: 'https://shop.example.com', 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization,content-type' } }));
    expect(res.statusCode).toBe(204);
    expect(res.headers).toMatchObject({
      'access-control-allow-origin': 'https://shop.example.com',
      'access-control-allow-credentials': 'true',
      'access-control-allow-methods': 'GET,POST,OPTIONS',
      'access-control-max-age': '86400',
    });
    expect(String(res.headers!['access-control-allow-headers']).split(',')).toEqual(expect.arrayContaining(['authorization', 'content-type', 'anonymousid', 'sp-anonymous']));
    expect(kinesis.commandCalls(PutRecordsCommand)).toHaveLength(0);
  });

  it('gives a preflight from another origin no allow-origin, and refuses its posts with 403 and no CORS headers', async () => {
    const preflight = await call(viaUrl({ method: 'OPTIONS', rawBody: '', headers: { origin: 'https://evil.example.org', 'access-control-request-method': 'POST' } }));
    expect(preflight.statusCode).toBe(204);
    expect(preflight.headers?.['access-control-allow-origin']).toBeUndefined();
    const post = await call(viaUrl({ headers: { origin: 'https://evil.example.org' } }));
    expect(post.statusCode).toBe(403);
    expect(post.headers?.['access-control-allow-origin']).toBeUndefined();
  });

  it('adds allow-origin, credentials and the exposed Retry-After to answers, errors included', async () => {
    const ok = await call(viaUrl({ path: '/v1/t', body: trackEvent(), headers: { origin: 'http://localhost:3000' } }));
    expect(ok.statusCode).toBe(200);
    expect(ok.headers).toMatchObject({ 'access-control-allow-origin': 'http://localhost:3000', 'access-control-allow-credentials': 'true', 'access-control-expose-headers': 'retry-after' });
    const bad = await call(viaUrl({ rawBody: '{not json', headers: { origin: 'http://localhost:3000' } }));
    expect(bad.statusCode).toBe(400);
    expect(bad.headers?.['access-control-allow-origin']).toBe('http://localhost:3000');
  });

  it('leaves CORS to API Gateway behind the HTTP API: no CORS headers of its own', async () => {
    const res = await invoke({ headers: { origin: 'https://shop.example.com' } });
    expect(res.statusCode).toBe(200);
    expect(res.headers?.['access-control-allow-origin']).toBeUndefined();
  });
});
