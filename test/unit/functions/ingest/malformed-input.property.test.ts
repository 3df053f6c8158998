// Property-based: whatever a client sends, ingest answers with a 2xx or a clear 4xx, never a 5xx or a
// crash, and every event of a batch is either accepted or named with a reason.
import { KinesisClient, PutRecordsCommand } from '@aws-sdk/client-kinesis';
import type { APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import fc from 'fast-check';
import { beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type * as HandlerModule from '../../../../functions/ingest/handler.js';
import { basicAuth, httpRequest, lambdaContext, trackEvent, WRITE_KEY } from '../../../helpers/factories.js';

const kinesis = mockClient(KinesisClient);
const APP_ID = 'shop-web';
let handler: typeof HandlerModule.handler;

beforeAll(async () => {
  process.env['RAW_STREAM_NAME'] = 'events-raw';
  process.env['WRITE_KEYS'] = `${WRITE_KEY} aid=${APP_ID}`;
  process.env['POWERTOOLS_LOG_LEVEL'] = 'SILENT';
  ({ handler } = await import('../../../../functions/ingest/handler.js'));
});

beforeEach(() => {
  kinesis.reset();
  kinesis.on(PutRecordsCommand).callsFake((input) => ({ FailedRecordCount: 0, Records: input.Records.map(() => ({ SequenceNumber: '1' })) }));
});

const paths = fc.constantFrom('/v1/batch', '/v1/import', '/v1/track', '/v1/page', '/v1/screen', '/v1/identify', '/v1/group', '/v1/alias');
const contentTypes = fc.oneof(
  fc.constantFrom('application/json', 'application/json; charset=utf-8', 'text/plain', 'text/html', 'application/xml', '', 'multipart/form-data; boundary=x'),
  fc.string({ maxLength: 40 }),
);
const auth = fc.oneof(
  fc.constant(basicAuth()),
  fc.constant(basicAuth('wrong')),
  fc.constant(''),
  fc.string({ maxLength: 60 }),
  fc.string({ maxLength: 60 }).map((s) => `Basic ${s}`),
);
// Values that look like events but are wrong in every way a client can get them wrong.
const eventish = fc.oneof(
  fc.jsonValue({ maxDepth: 3 }),
  fc.record(
    {
      type: fc.oneof(fc.constantFrom('track', 'page', 'screen', 'identify', 'group', 'alias'), fc.jsonValue({ maxDepth: 1 })),
      userId: fc.oneof(fc.string({ maxLength: 20 }), fc.integer(), fc.jsonValue({ maxDepth: 1 })),
      anonymousId: fc.oneof(fc.string({ maxLength: 20 }), fc.jsonValue({ maxDepth: 1 })),
      messageId: fc.oneof(fc.string({ maxLength: 20 }), fc.jsonValue({ maxDepth: 1 })),
      event: fc.oneof(fc.string({ maxLength: 20 }), fc.jsonValue({ maxDepth: 1 })),
      timestamp: fc.oneof(fc.date({ noInvalidDate: true }).map((d) => d.toISOString()), fc.string({ maxLength: 30 }), fc.jsonValue({ maxDepth: 1 })),
      sentAt: fc.oneof(fc.date({ noInvalidDate: true }).map((d) => d.toISOString()), fc.string({ maxLength: 30 })),
      context: fc.oneof(fc.dictionary(fc.string({ maxLength: 10 }), fc.jsonValue({ maxDepth: 2 })), fc.jsonValue({ maxDepth: 1 })),
      properties: fc.jsonValue({ maxDepth: 2 }),
      writeKey: fc.oneof(fc.constant(WRITE_KEY), fc.string({ maxLength: 10 })),
    },
    { requiredKeys: [] },
  ),
);
const bodies = fc.oneof(
  fc.string({ maxLength: 200 }),
  fc.string({ unit: 'binary', maxLength: 200 }),
  fc.jsonValue({ maxDepth: 4 }).map((v) => JSON.stringify(v)),
  fc.record({ batch: fc.array(eventish, { maxLength: 12 }), sentAt: fc.string({ maxLength: 30 }), context: fc.jsonValue({ maxDepth: 2 }) }, { requiredKeys: ['batch'] }).map((v) => JSON.stringify(v)),
  eventish.map((v) => JSON.stringify(v)),
);

async function respond(request: ReturnType<typeof httpRequest>): Promise<APIGatewayProxyStructuredResultV2> {
  return (await handler(request, lambdaContext())) as APIGatewayProxyStructuredResultV2;
}

describe('ingest under malformed input', () => {
  it('never answers 5xx and always explains a 4xx', async () => {
    await fc.assert(
      fc.asyncProperty(paths, bodies, contentTypes, auth, fc.boolean(), async (path, body, contentType, authorization, gzip) => {
        const request = httpRequest({ path, rawBody: body, headers: { 'content-type': contentType, authorization }, gzip });
        const response = await respond(request);
        expect(response.statusCode).toBeLessThan(500);
        const json = JSON.parse(response.body ?? '') as { message?: string; rejected?: { reason: string }[] };
        if (response.statusCode! >= 400) expect(json.message ?? json.rejected?.[0]?.reason).toEqual(expect.any(String));
      }),
      { numRuns: 400 },
    );
  });

  it('never answers 5xx for random bytes sent as gzip or base64', async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 2_000 }), fc.boolean(), async (bytes, claimGzip) => {
        const request = {
          ...httpRequest({ headers: claimGzip ? { 'content-encoding': 'gzip' } : {} }),
          body: Buffer.from(bytes).toString('base64'),
          isBase64Encoded: true,
        };
        expect((await respond(request)).statusCode).toBeLessThan(500);
      }),
      { numRuns: 200 },
    );
  });

  it('accounts for every event of a batch: accepted + rejected = sent', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.oneof(eventish, fc.constant(trackEvent())), { minLength: 1, maxLength: 20 }), fc.boolean(), async (batch, gzip) => {
        kinesis.resetHistory();
        const response = await respond(httpRequest({ body: { batch }, gzip }));
        const json = JSON.parse(response.body!) as { accepted: number; rejected: { index: number; reason: string }[] };
        expect([200, 400]).toContain(response.statusCode);
        expect(json.accepted + json.rejected.length).toBe(batch.length);
        const written = kinesis.commandCalls(PutRecordsCommand).reduce((n, c) => n + (c.args[0].input.Records?.length ?? 0), 0);
        expect(written).toBe(json.accepted);
        expect(new Set(json.rejected.map((r) => r.index)).size).toBe(json.rejected.length);
      }),
      { numRuns: 300 },
    );
  });

  // Snowplow's tracker protocol: items of random parameters, with JSON and base64 self-describing fields
  // that are right, wrong or not JSON at all.
  const selfDescribing = fc.oneof(
    fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify(v)),
    fc.record({ schema: fc.constantFrom('iglu:com.snowplowanalytics.snowplow/unstruct_event/jsonschema/1-0-0', 'iglu:com.snowplowanalytics.snowplow/contexts/jsonschema/1-0-0', 'iglu:a/b/jsonschema/1-0-0', 'nope'), data: fc.oneof(fc.jsonValue({ maxDepth: 2 }), fc.record({ schema: fc.constantFrom('iglu:com.acme/x/jsonschema/1-0-0', 'iglu:com.snowplowanalytics.mobile/screen_view/jsonschema/1-0-0', 'bad'), data: fc.jsonValue({ maxDepth: 2 }) }), fc.array(fc.record({ schema: fc.constantFrom('iglu:com.acme/x/jsonschema/1-0-0', 'x'), data: fc.jsonValue({ maxDepth: 2 }) }), { maxLength: 3 })) }).map((v) => JSON.stringify(v)),
    fc.string({ maxLength: 40 }),
  );
  const trackerItem = fc.oneof(
    fc.jsonValue({ maxDepth: 2 }),
    // Items a tracker would send, with some optional parameters wrong.
    fc.record(
      {
        e: fc.constantFrom('pv', 'pp', 'se'),
        eid: fc.uuid(),
        aid: fc.constant(APP_ID),
        duid: fc.uuid(),
        se_ac: fc.constantFrom('add', 'buy'),
        url: fc.webUrl(),
        dtm: fc.integer({ min: 1_700_000_000_000, max: 1_900_000_000_000 }).map(String),
        pp_may: fc.oneof(fc.integer({ min: 0, max: 9_999 }).map(String), fc.string({ maxLength: 3 })),
        res: fc.string({ maxLength: 10 }),
      },
      { requiredKeys: ['e', 'eid', 'aid', 'duid', 'se_ac'] },
    ),
    fc.record(
      {
        e: fc.oneof(fc.constantFrom('pv', 'pp', 'se', 'ue', 'tr', 'ti', 'ad', ''), fc.string({ maxLength: 4 })),
        eid: fc.oneof(fc.uuid(), fc.string({ maxLength: 20 })),
        aid: fc.constantFrom(APP_ID, APP_ID, 'stranger', ''),
        p: fc.constantFrom('web', 'mob', 'srv', 'x'),
        duid: fc.oneof(fc.uuid(), fc.string({ maxLength: 300 })),
        uid: fc.string({ maxLength: 300 }),
        dtm: fc.oneof(fc.integer({ min: 0, max: 4_102_444_800_000 }).map(String), fc.string({ maxLength: 15 })),
        stm: fc.oneof(fc.integer({ min: 0, max: 4_102_444_800_000 }).map(String), fc.string({ maxLength: 15 })),
        ttm: fc.oneof(fc.integer({ min: -10, max: 9e15 }).map(String), fc.string({ maxLength: 15 })),
        url: fc.oneof(fc.webUrl(), fc.string({ maxLength: 40 })),
        se_ac: fc.string({ maxLength: 10 }),
        se_va: fc.oneof(fc.double().map(String), fc.string({ maxLength: 10 })),
        pp_may: fc.oneof(fc.integer().map(String), fc.string({ maxLength: 5 })),
        res: fc.string({ maxLength: 12 }),
        vid: fc.oneof(fc.integer().map(String), fc.string({ maxLength: 5 })),
        ue_pr: selfDescribing,
        ue_px: selfDescribing.map((t) => Buffer.from(t).toString('base64url')),
        co: selfDescribing,
        cx: fc.oneof(selfDescribing.map((t) => Buffer.from(t).toString('base64')), fc.string({ maxLength: 20 })),
        extra: fc.jsonValue({ maxDepth: 1 }),
      },
      { requiredKeys: [] },
    ),
  );
  const snowplowBodies = fc.oneof(
    fc.string({ maxLength: 100 }),
    fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify(v)),
    fc.record({ schema: fc.constantFrom('iglu:com.snowplowanalytics.snowplow/payload_data/jsonschema/1-0-4', 'iglu:x/y/jsonschema/1-0-0'), data: fc.oneof(fc.array(trackerItem, { maxLength: 8 }), fc.jsonValue({ maxDepth: 1 })) }).map((v) => JSON.stringify(v)),
  );

  it('Snowplow POST tp2 and GET /i: never a 5xx; every item accepted (mapped, or kept as an adapter failure) or named', async () => {
    const seen = { mapped: 0, unmapped: 0, pixels: 0, refused: 0 };
    await fc.assert(
      fc.asyncProperty(snowplowBodies, fc.array(trackerItem, { minLength: 1, maxLength: 8 }), fc.boolean(), fc.boolean(), async (body, items, useGet, wellFormed) => {
        kinesis.resetHistory();
        const sent = wellFormed ? items : undefined;
        const get = useGet && sent !== undefined && typeof sent[0] === 'object' && sent[0] !== null && !Array.isArray(sent[0]);
        const request = get
          ? httpRequest({ method: 'GET', path: '/i', query: Object.fromEntries(Object.entries(sent[0] as Record<string, unknown>).map(([k, v]) => [k, typeof v === 'string' ? v : JSON.stringify(v)])), headers: { authorization: '' } })
          : httpRequest({ path: '/com.snowplowanalytics.snowplow/tp2', rawBody: sent ? JSON.stringify({ schema: 'iglu:com.snowplowanalytics.snowplow/payload_data/jsonschema/1-0-4', data: sent }) : body, headers: { authorization: '' } });
        const response = await respond(request);
        expect(response.statusCode).toBeLessThan(500);
        if (get && response.statusCode === 200) {
          expect(response.headers?.['content-type']).toBe('image/gif');
          seen.pixels++;
          return;
        }
        const json = JSON.parse(response.body ?? '') as { message?: string; accepted?: number; rejected?: { reason: string }[]; unmapped?: unknown[] };
        if (response.statusCode! >= 400) seen.refused++;
        seen.unmapped += json.unmapped?.length ?? 0;
        seen.mapped += (json.accepted ?? 0) - (json.unmapped?.length ?? 0);
        if (response.statusCode! >= 400) expect(json.message ?? json.rejected?.[0]?.reason).toEqual(expect.any(String));
        if (sent && !get && json.accepted !== undefined) {
          expect(json.accepted + json.rejected!.length).toBe(sent.length);
          const written = kinesis.commandCalls(PutRecordsCommand).reduce((n, c) => n + (c.args[0].input.Records?.length ?? 0), 0);
          expect(written).toBe(json.accepted);
        }
      }),
      { numRuns: 400 },
    );
    // The generator reaches every outcome, so the property is tested on each.
    expect(Object.values(seen).every((n) => n > 0), JSON.stringify(seen)).toBe(true);
  });
});
