// The local API Gateway (HTTP API, payload 2.0) with inline handlers: event shape, routing, CORS, binary bodies, errors.
import { request } from 'node:http';
import { gunzipSync, gzipSync } from 'node:zlib';
import type { APIGatewayProxyEventV2, Context } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHttpGateway, type HttpApiHandler, type HttpGateway } from '../../local/lambda/http-gateway.js';
import { templatesFromText } from '../../local/template/templates.js';

// CloudFormation tags and unresolved variables must not get in the way of reading the routes.
const SERVERLESS_YML = `
service: gateway-test
provider:
  name: aws
  timeout: 3
  environment:
    STREAM: !Ref RawStream
    ARN: !GetAtt RawStream.Arn
    NAME: !Sub '\${AWS::StackName}-raw'
    MODE: !If [IsProd, PROVISIONED, ON_DEMAND]
  httpApi:
    cors:
      allowedOrigins: \${param:allowedOrigins}
      allowedHeaders: [content-type, content-encoding, authorization]
      allowedMethods: [POST, OPTIONS]
      maxAge: 600
functions:
  collect:
    handler: functions/collect/handler.handler
    timeout: 7
    events:
      - httpApi: { method: POST, path: /v1/batch }
      - httpApi: 'GET /things/{id}'
  slow:
    handler: functions/slow/handler.handler
    timeout: 1
    events:
      - httpApi: POST /slow
  broken:
    handler: functions/broken/handler.handler
    events:
      - httpApi: POST /broken
`;

interface Captured {
  event: APIGatewayProxyEventV2;
  remainingMs: number;
  context: Context;
}

const captured: Captured[] = [];
const collect: HttpApiHandler = async (event, context) => {
  captured.push({ event, remainingMs: context.getRemainingTimeInMillis(), context });
  if (event.rawPath.startsWith('/things/')) return `thing ${event.pathParameters?.id}`;
  return {
    statusCode: 202,
    headers: { 'x-handler': 'collect', 'access-control-allow-origin': 'https://evil.example' },
    cookies: ['session=abc; Path=/', 'theme=dark'],
    body: JSON.stringify({ ok: true }),
  };
};
const slow: HttpApiHandler = () => new Promise((resolve) => setTimeout(() => resolve({ statusCode: 200, body: 'late' }), 1_500));
const broken: HttpApiHandler = async () => {
  throw new Error('boom (expected by the test)');
};

let gateway: HttpGateway;
const quietLogger = { error: () => undefined, warn: () => undefined };

beforeAll(async () => {
  gateway = await startHttpGateway({
    config: templatesFromText(SERVERLESS_YML, { stage: 'test' }).httpApi,
    handlers: { collect, slow, broken },
    allowedOrigins: ['https://shop.example'],
    logger: quietLogger,
  });
});

afterAll(async () => {
  await gateway?.close();
});

interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** node:http rather than fetch, to send repeated header lines and exact bytes. */
function send(method: string, path: string, headers: Record<string, string | string[]>, body?: Buffer | string): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    // An explicit length: Node sends a GET body without one, which corrupts the next request on the socket.
    const lengthHeader = body === undefined ? {} : { 'content-length': String(Buffer.byteLength(body)) };
    const outgoing = request(`${gateway.url}${path}`, { method, headers: { ...headers, ...lengthHeader } }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, headers: response.headers, body: Buffer.concat(chunks).toString('utf8') }));
    });
    outgoing.on('error', reject);
    outgoing.end(body);
  });
}

describe('local HTTP API gateway', () => {
  it('builds a payload 2.0 event and maps the structured result back', async () => {
    const response = await send(
      'POST',
      '/v1/batch?tag=a&tag=b&page=2',
      { 'content-type': 'application/json', 'X-Custom': ['one', 'two'], cookie: 'a=1; b=2', 'user-agent': 'gateway-test/1.0', origin: 'https://shop.example' },
      '{"batch":[]}',
    );
    expect(response.status).toBe(202);
    expect(response.body).toBe('{"ok":true}');
    expect(response.headers['x-handler']).toBe('collect');
    expect(response.headers['set-cookie']).toEqual(['session=abc; Path=/', 'theme=dark']);
    // The configured CORS origin replaces whatever the integration returned.
    expect(response.headers['access-control-allow-origin']).toBe('https://shop.example');
    expect(response.headers['apigw-requestid']).toBeTruthy();

    const { event, remainingMs, context } = captured.at(-1)!;
    expect(event).toMatchObject({
      version: '2.0',
      routeKey: 'POST /v1/batch',
      rawPath: '/v1/batch',
      rawQueryString: 'tag=a&tag=b&page=2',
      queryStringParameters: { tag: 'a,b', page: '2' },
      cookies: ['a=1', 'b=2'],
      body: '{"batch":[]}',
      isBase64Encoded: false,
      requestContext: {
        accountId: '000000000000',
        routeKey: 'POST /v1/batch',
        stage: '$default',
        http: { method: 'POST', path: '/v1/batch', protocol: 'HTTP/1.1', sourceIp: '127.0.0.1', userAgent: 'gateway-test/1.0' },
      },
    });
    expect(event.headers['x-custom']).toBe('one,two');
    expect(event.headers['content-type']).toBe('application/json');
    expect(event.headers['x-forwarded-for']).toBe('127.0.0.1');
    expect(event.headers).not.toHaveProperty('cookie');
    expect(Object.keys(event.headers).every((name) => name === name.toLowerCase())).toBe(true);
    expect(event.requestContext.time).toMatch(/^\d{2}\/[A-Z][a-z]{2}\/\d{4}:\d{2}:\d{2}:\d{2} \+0000$/);
    expect(Math.abs(event.requestContext.timeEpoch - Date.now())).toBeLessThan(5_000);
    expect(event.requestContext.requestId).toBe(response.headers['apigw-requestid']);
    expect(event.pathParameters).toBeUndefined();
    // timeout: 7 on the function wins over the provider's 3.
    expect(remainingMs).toBeGreaterThan(6_000);
    expect(remainingMs).toBeLessThanOrEqual(7_000);
    expect(context.functionName).toBe('gateway-test-test-collect');
    expect(context.awsRequestId).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('passes path parameters and answers a plain string result as 200 JSON', async () => {
    const response = await send('GET', '/things/42', {});
    expect(response.status).toBe(200);
    expect(response.headers['content-type']).toBe('application/json');
    expect(response.body).toBe('thing 42');
    expect(captured.at(-1)!.event).toMatchObject({ routeKey: 'GET /things/{id}', pathParameters: { id: '42' } });
    expect(captured.at(-1)!.event.body).toBeUndefined();
    expect(captured.at(-1)!.event.queryStringParameters).toBeUndefined();
  });

  it('answers 404 {"message":"Not Found"} for an unknown path or method', async () => {
    for (const [method, path] of [['POST', '/v1/nope'], ['GET', '/v1/batch'], ['POST', '/v1/batch/']] as const) {
      const response = await send(method, path, { 'content-type': 'application/json' }, '{}');
      expect(response.status, `${method} ${path}`).toBe(404);
      expect(JSON.parse(response.body)).toEqual({ message: 'Not Found' });
    }
  });

  it('answers CORS preflight itself, only for allowed origins', async () => {
    const allowed = await send('OPTIONS', '/v1/batch', { origin: 'https://shop.example', 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type' });
    expect(allowed.status).toBe(204);
    expect(allowed.headers).toMatchObject({
      'access-control-allow-origin': 'https://shop.example',
      'access-control-allow-methods': 'POST,OPTIONS',
      'access-control-allow-headers': 'content-type,content-encoding,authorization',
      'access-control-max-age': '600',
    });

    const refused = await send('OPTIONS', '/v1/batch', { origin: 'https://other.example', 'access-control-request-method': 'POST' });
    expect(refused.status).toBe(204);
    expect(refused.headers['access-control-allow-origin']).toBeUndefined();
    const callsBefore = captured.length;
    await send('OPTIONS', '/v1/batch', { origin: 'https://shop.example', 'access-control-request-method': 'POST' });
    expect(captured.length).toBe(callsBefore);
  });

  it('base64-encodes a gzip body and flags it isBase64Encoded', async () => {
    const json = JSON.stringify({ batch: [{ type: 'track', event: 'Zipped', userId: 'u1' }] });
    const response = await send('POST', '/v1/batch', { 'content-type': 'application/json', 'content-encoding': 'gzip' }, gzipSync(json));
    expect(response.status).toBe(202);
    const { event } = captured.at(-1)!;
    expect(event.isBase64Encoded).toBe(true);
    expect(event.headers['content-encoding']).toBe('gzip');
    expect(gunzipSync(Buffer.from(event.body!, 'base64')).toString('utf8')).toBe(json);
  });

  it('base64-encodes a body with a non-text content type', async () => {
    const bytes = Buffer.from([0, 1, 2, 250, 255]);
    await send('POST', '/v1/batch', { 'content-type': 'application/octet-stream' }, bytes);
    const { event } = captured.at(-1)!;
    expect(event.isBase64Encoded).toBe(true);
    expect(Buffer.from(event.body!, 'base64')).toEqual(bytes);
  });

  it('answers 500 {"message":"Internal Server Error"} when the handler throws or times out', async () => {
    for (const path of ['/broken', '/slow']) {
      const response = await send('POST', path, { 'content-type': 'application/json' }, '{}');
      expect(response.status, path).toBe(500);
      expect(JSON.parse(response.body)).toEqual({ message: 'Internal Server Error' });
    }
  });

  it('refuses a body over 10 MB with 413 before invoking the handler', async () => {
    const callsBefore = captured.length;
    const response = await send('POST', '/v1/batch', { 'content-type': 'application/json' }, Buffer.alloc(10 * 1024 * 1024 + 1, 0x20));
    expect(response.status).toBe(413);
    expect(captured.length).toBe(callsBefore);
  });
});
