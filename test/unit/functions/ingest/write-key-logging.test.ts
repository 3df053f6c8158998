// A write key in a URL (RudderStack's beacon: /beacon/v1/batch?writeKey=…) or a header must not reach a
// log, even at DEBUG with POWERTOOLS_LOGGER_LOG_EVENT on, on every path a request can take.
import { KinesisClient, PutRecordsCommand } from '@aws-sdk/client-kinesis';
import type { APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type * as HandlerModule from '../../../../functions/ingest/handler.js';
import { basicAuth, httpRequest, lambdaContext, trackEvent, WRITE_KEY } from '../../../helpers/factories.js';

const kinesis = mockClient(KinesisClient);
let handler: typeof HandlerModule.handler;
const output: string[] = [];
const capture = (chunk: unknown) => {
  output.push(String(chunk));
  return true;
};

beforeAll(async () => {
  process.env['RAW_STREAM_NAME'] = 'events-raw';
  process.env['WRITE_KEYS'] = WRITE_KEY;
  process.env['POWERTOOLS_LOG_LEVEL'] = 'DEBUG';
  process.env['POWERTOOLS_LOGGER_LOG_EVENT'] = 'true';
  process.env['POWERTOOLS_DEV'] = 'false';
  vi.spyOn(process.stdout, 'write').mockImplementation(capture);
  vi.spyOn(process.stderr, 'write').mockImplementation(capture);
  ({ handler } = await import('../../../../functions/ingest/handler.js'));
});

afterAll(() => vi.restoreAllMocks());

const wrongKey = 'wk_wrong_key_that_must_not_be_logged';
const beacon = { path: '/beacon/v1/batch', headers: { 'content-type': 'text/plain', authorization: '' } };

describe('ingest logs', () => {
  it('never contain a write key, whichever way the request ends', async () => {
    const cases: Array<{ name: string; status: number; request: Parameters<typeof httpRequest>[0]; kinesisFails?: 'throttle' | 'crash' }> = [
      { name: 'accepted', status: 200, request: { ...beacon, query: { writeKey: WRITE_KEY }, body: { batch: [trackEvent()] } } },
      { name: 'some rejected', status: 200, request: { ...beacon, query: { writeKey: WRITE_KEY }, body: { batch: [trackEvent(), { type: 'track' }] } } },
      { name: 'unknown key in the URL', status: 401, request: { ...beacon, query: { writeKey: wrongKey }, body: { batch: [trackEvent()] } } },
      { name: 'unknown key in Basic auth', status: 401, request: { headers: { authorization: basicAuth(wrongKey) } } },
      { name: 'not JSON', status: 400, request: { ...beacon, query: { writeKey: WRITE_KEY }, rawBody: `{"writeKey":"${WRITE_KEY}",` } },
      { name: 'no valid event', status: 400, request: { ...beacon, query: { writeKey: WRITE_KEY }, body: { batch: [{ type: 'nope' }] } } },
      { name: 'stream throttled', status: 503, request: { ...beacon, query: { writeKey: WRITE_KEY }, body: { batch: [trackEvent()] } }, kinesisFails: 'throttle' },
      { name: 'stream call fails', status: 503, request: { ...beacon, query: { writeKey: WRITE_KEY }, body: { batch: [trackEvent()] } }, kinesisFails: 'crash' },
    ];
    for (const { name, status, request, kinesisFails } of cases) {
      kinesis.reset();
      if (kinesisFails === 'crash') kinesis.on(PutRecordsCommand).rejects(new TypeError(`boom ${name}`));
      else
        kinesis.on(PutRecordsCommand).callsFake((input) => ({
          FailedRecordCount: kinesisFails ? input.Records.length : 0,
          Records: input.Records.map(() => (kinesisFails ? { ErrorCode: 'ProvisionedThroughputExceededException' } : { SequenceNumber: '1', ShardId: 'shardId-0' })),
        }));
      const response = (await handler(httpRequest(request), lambdaContext(1_200))) as APIGatewayProxyStructuredResultV2;
      expect(response.statusCode, name).toBe(status);
    }
    const logged = output.join('');
    // The logger did log the requests (so the check below looks at real output)...
    expect(logged).toContain('request refused');
    expect(logged).toContain('events not written before the deadline');
    // POWERTOOLS_LOGGER_LOG_EVENT would log the whole event, headers and query string with it.
    expect(logged).not.toContain('Lambda invocation event');
    // ...and nothing of the keys, nor the Basic header that carries one.
    expect(logged).not.toContain(WRITE_KEY);
    expect(logged).not.toContain(wrongKey);
    expect(logged).not.toContain(Buffer.from(`${WRITE_KEY}:`).toString('base64'));
    expect(logged).not.toContain('writeKey=');
  });
});
