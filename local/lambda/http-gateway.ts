// A local API Gateway HTTP API: the routes and CORS of serverless.yml, API Gateway's own answers (preflight,
// 404, 413 over 10 MB, 500 for a failed function) and each request through the local Lambda runtime to the
// REAL handler, as a payload format 2.0 event (payload-v2.ts).
import { randomBytes } from 'node:crypto';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { startDrainingServer } from '../ports.js';
import type { APIGatewayProxyEventV2, Context } from 'aws-lambda';
import { invokeLambda, LambdaTimeoutError } from './runtime.js';
import { corsResponseHeaders, preflightHeaders, withoutCorsHeaders } from './cors.js';
import { buildEvent, lowerCaseHeaders, matchRoute, toGatewayResponse } from './payload-v2.js';
import type { FunctionDefinition } from '../template/functions.js';
import type { HttpApiConfig } from '../template/http-api.js';

/** A Lambda handler as API Gateway calls it; the result is mapped by the payload-v2 response rules. */
export type HttpApiHandler = (event: APIGatewayProxyEventV2, context: Context) => unknown;

export interface HttpGatewayOptions {
  config: HttpApiConfig;
  /** Handlers by function key in serverless.yml; routes of functions without one answer 500. */
  handlers: Record<string, HttpApiHandler>;
  /** Stands in for the deploy-time allowed origins parameter; `*` allows every origin. */
  allowedOrigins?: string[];
  /** 0 (default) picks a free port. */
  port?: number;
  /** The request size limit: API Gateway's 10 MB unless set (a function URL's is Lambda's 6 MB). */
  maxPayloadBytes?: number;
  logger?: Pick<Console, 'error' | 'warn'>;
}

export interface HttpGateway {
  url: string;
  port: number;
  server: Server;
  /** Stops accepting connections and resolves once every in-flight request has been answered. */
  close(): Promise<void>;
}

/** API Gateway's own request size limit; the function's limits apply on top of it. */
export const API_GATEWAY_MAX_PAYLOAD_BYTES = 10 * 1024 * 1024;
export async function startHttpGateway(options: HttpGatewayOptions): Promise<HttpGateway> {
  const logger = options.logger ?? console;
  const allowedOrigins = options.allowedOrigins ?? ['*'];
  for (const functionKey of new Set(options.config.routes.map((route) => route.functionKey))) {
    if (!options.handlers[functionKey]) logger.warn(`[gateway] no local handler for function "${functionKey}"; its routes answer 500`);
  }
  return startDrainingServer(
    (request, response) => handleRequest(request, response, options, allowedOrigins, logger),
    (error, response) => {
      logger.error('[gateway] failed to answer a request', error);
      sendJson(response, 500, { message: 'Internal Server Error' });
    },
    options.port ?? 0,
  );
}

async function handleRequest(
  request: IncomingMessage,
  response: ServerResponse,
  options: HttpGatewayOptions,
  allowedOrigins: string[],
  logger: Pick<Console, 'error' | 'warn'>,
): Promise<void> {
  const requestId = randomBytes(11).toString('base64');
  response.setHeader('apigw-requestid', requestId);
  const url = new URL(request.url ?? '/', 'http://gateway.local');
  const method = (request.method ?? 'GET').toUpperCase();
  const headers = lowerCaseHeaders(request.rawHeaders);
  const cors = options.config.cors;

  if (cors && method === 'OPTIONS' && headers.origin !== undefined && headers['access-control-request-method'] !== undefined) {
    // API Gateway answers preflight itself, whether or not an OPTIONS route exists.
    await readBody(request, API_GATEWAY_MAX_PAYLOAD_BYTES);
    response.writeHead(204, preflightHeaders(cors, allowedOrigins, headers.origin));
    response.end();
    return;
  }

  const maxPayloadBytes = options.maxPayloadBytes ?? API_GATEWAY_MAX_PAYLOAD_BYTES;
  const declaredLength = Number(headers['content-length'] ?? 0);
  if (declaredLength > maxPayloadBytes) {
    // Answer without reading the body, then drop the connection the client is still writing to.
    response.setHeader('connection', 'close');
    response.once('finish', () => request.socket.destroy());
    sendJson(response, 413, { message: 'Request Entity Too Large' });
    return;
  }

  const matched = matchRoute(options.config.routes, method, url.pathname);
  if (!matched) {
    // Read the body first: answering mid-upload makes Node close a socket the client may reuse.
    await readBody(request, maxPayloadBytes);
    sendJson(response, 404, { message: 'Not Found' }, corsResponseHeaders(cors, allowedOrigins, headers.origin));
    return;
  }

  const body = await readBody(request, maxPayloadBytes);
  if (body === 'too-large') {
    response.setHeader('connection', 'close');
    sendJson(response, 413, { message: 'Request Entity Too Large' });
    return;
  }

  const lambda = options.config.functions.get(matched.route.functionKey);
  const handler = options.handlers[matched.route.functionKey];
  if (!lambda || !handler) {
    logger.error(`[gateway] ${matched.routeKey}: no local handler for function "${matched.route.functionKey}"`);
    sendJson(response, 500, { message: 'Internal Server Error' });
    return;
  }

  const event = buildEvent({
    url,
    method,
    headers,
    body,
    sourceIp: request.socket.remoteAddress ?? '127.0.0.1',
    localPort: request.socket.localPort,
    httpVersion: request.httpVersion,
    matched,
    requestId,
  });
  const result = await invoke(handler, lambda, event, logger);
  const mapped = result.ok ? toGatewayResponse(result.value) : undefined;
  if (!mapped) {
    if (result.ok) logger.error(`[gateway] ${lambda.functionName} returned a malformed payload-v2 response`, result.value);
    sendJson(response, 500, { message: 'Internal Server Error' });
    return;
  }
  const responseHeaders = { ...withoutCorsHeaders(cors, mapped.headers), ...corsResponseHeaders(cors, allowedOrigins, headers.origin) };
  for (const [name, value] of Object.entries(responseHeaders)) response.setHeader(name, value);
  if (mapped.cookies.length > 0) response.setHeader('set-cookie', mapped.cookies);
  response.writeHead(mapped.statusCode);
  response.end(mapped.body);
}

async function readBody(request: IncomingMessage, limitBytes: number): Promise<Buffer | 'too-large'> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request as AsyncIterable<Buffer>) {
    size += chunk.byteLength;
    // Keep draining past the limit (chunked bodies have no length up front) so the 413 reaches the client.
    if (size <= limitBytes) chunks.push(chunk);
  }
  return size > limitBytes ? 'too-large' : Buffer.concat(chunks);
}

type InvocationResult = { ok: true; value: unknown } | { ok: false };

async function invoke(
  handler: HttpApiHandler,
  lambda: FunctionDefinition,
  event: APIGatewayProxyEventV2,
  logger: Pick<Console, 'error' | 'warn'>,
): Promise<InvocationResult> {
  let requestId = '';
  try {
    return { ok: true, value: await invokeLambda(lambda, handler, event, { context: (context) => (requestId = context.awsRequestId) }) };
  } catch (error) {
    if (error instanceof LambdaTimeoutError) logger.error(`[gateway] ${lambda.functionName} ${requestId}: ${error.message}`);
    else logger.error(`[gateway] ${lambda.functionName} ${requestId}: handler threw`, error);
    return { ok: false };
  }
}

function sendJson(response: ServerResponse, statusCode: number, body: unknown, headers: Record<string, string> = {}): void {
  response.writeHead(statusCode, { 'content-type': 'application/json', ...headers });
  response.end(JSON.stringify(body));
}
