import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { listen } from '../ports.js';
import type { APIGatewayProxyEventV2, Context } from 'aws-lambda';
import { originAllowed } from '../../functions/ingest/origins.js';
import { LOCAL_ACCOUNT_ID } from '../aws-env.js';
import { invokeLambda, LambdaTimeoutError } from './runtime.js';
import type { FunctionDefinition } from '../template/functions.js';
import type { HttpApiConfig, HttpApiCorsSettings, HttpApiRoute } from '../template/http-api.js';

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
const API_ID = 'local';
const STAGE = '$default';

const TEXT_MEDIA_TYPES = new Set(['application/json', 'application/xml', 'application/javascript', 'application/x-www-form-urlencoded']);

interface MatchedRoute {
  route: HttpApiRoute;
  routeKey: string;
  pathParameters: Record<string, string> | undefined;
}

interface GatewayResponse {
  statusCode: number;
  headers: Record<string, string>;
  cookies: string[];
  body: Buffer;
}

export async function startHttpGateway(options: HttpGatewayOptions): Promise<HttpGateway> {
  const logger = options.logger ?? console;
  const allowedOrigins = options.allowedOrigins ?? ['*'];
  for (const functionKey of new Set(options.config.routes.map((route) => route.functionKey))) {
    if (!options.handlers[functionKey]) logger.warn(`[gateway] no local handler for function "${functionKey}"; its routes answer 500`);
  }
  const inFlight = new Set<Promise<void>>();

  const server = createServer((request, response) => {
    const handled = handleRequest(request, response, options, allowedOrigins, logger).catch((error: unknown) => {
      logger.error('[gateway] failed to answer a request', error);
      if (!response.headersSent) sendJson(response, 500, { message: 'Internal Server Error' });
      else response.destroy();
    });
    inFlight.add(handled);
    void handled.finally(() => inFlight.delete(handled));
  });
  const { port, url } = await listen(server, options.port ?? 0);

  let closing: Promise<void> | undefined;
  return {
    url,
    port,
    server,
    close: () =>
      (closing ??= (async () => {
        const closed = new Promise<void>((resolve) => server.close(() => resolve()));
        await Promise.allSettled([...inFlight]);
        // Keep-alive sockets that are idle now would otherwise hold close() open.
        server.closeIdleConnections();
        await closed;
      })()),
  };
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

  const declaredLength = Number(headers['content-length'] ?? 0);
  if (declaredLength > API_GATEWAY_MAX_PAYLOAD_BYTES) {
    // Answer without reading the body, then drop the connection the client is still writing to.
    response.setHeader('connection', 'close');
    response.once('finish', () => request.socket.destroy());
    sendJson(response, 413, { message: 'Request Entity Too Large' });
    return;
  }

  const matched = matchRoute(options.config.routes, method, url.pathname);
  if (!matched) {
    // Read the body first: answering mid-upload makes Node close a socket the client may reuse.
    await readBody(request, API_GATEWAY_MAX_PAYLOAD_BYTES);
    sendJson(response, 404, { message: 'Not Found' }, corsResponseHeaders(cors, allowedOrigins, headers.origin));
    return;
  }

  const body = await readBody(request, API_GATEWAY_MAX_PAYLOAD_BYTES);
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

  const event = buildEvent({ request, url, method, headers, body, matched, requestId });
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

/** Payload v2 joins repeated headers with "," and lower-cases names; cookies move to their own field. */
function lowerCaseHeaders(rawHeaders: string[]): Record<string, string> {
  const headers: Record<string, string> = {};
  for (let index = 0; index + 1 < rawHeaders.length; index += 2) {
    const name = rawHeaders[index]!.toLowerCase();
    const value = rawHeaders[index + 1]!;
    headers[name] = headers[name] === undefined ? value : `${headers[name]},${value}`;
  }
  return headers;
}

export function matchRoute(routes: HttpApiRoute[], method: string, path: string): MatchedRoute | undefined {
  const candidates: Array<MatchedRoute & { specificity: number }> = [];
  for (const route of routes) {
    if (route.method !== '*' && route.method !== 'ANY' && route.method !== method) continue;
    const methodBonus = route.method === method ? 1 : 0;
    if (route.path === '*') {
      candidates.push({ route, routeKey: '$default', pathParameters: undefined, specificity: -1 });
      continue;
    }
    const pathParameters = matchPath(route.path, path);
    if (!pathParameters) continue;
    const routeKey = `${route.method === '*' ? 'ANY' : route.method} ${route.path}`;
    // Most specific wins, as in API Gateway: literal segments beat variables, variables beat greedy ones.
    const literalSegments = route.path.split('/').filter((segment) => segment && !segment.startsWith('{')).length;
    const greedy = route.path.includes('+}') ? 0 : 1;
    candidates.push({
      route,
      routeKey,
      pathParameters: Object.keys(pathParameters).length > 0 ? pathParameters : undefined,
      specificity: literalSegments * 4 + greedy * 2 + methodBonus,
    });
  }
  candidates.sort((a, b) => b.specificity - a.specificity);
  const best = candidates[0];
  return best && { route: best.route, routeKey: best.routeKey, pathParameters: best.pathParameters };
}

function matchPath(template: string, path: string): Record<string, string> | undefined {
  const templateSegments = template.split('/').slice(1);
  const pathSegments = path.split('/').slice(1);
  const parameters: Record<string, string> = {};
  for (const [index, segment] of templateSegments.entries()) {
    const variable = /^\{([^}]+?)(\+?)\}$/.exec(segment);
    if (variable?.[2] === '+') {
      const rest = pathSegments.slice(index).join('/');
      if (!rest) return undefined;
      parameters[variable[1]!] = decodeURIComponent(rest);
      return parameters;
    }
    const actual = pathSegments[index];
    if (actual === undefined) return undefined;
    if (variable) {
      if (!actual) return undefined;
      parameters[variable[1]!] = decodeURIComponent(actual);
    } else if (segment !== actual) {
      return undefined;
    }
  }
  return templateSegments.length === pathSegments.length ? parameters : undefined;
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

/** API Gateway base64-encodes bodies it does not know to be text; a compressed body is never text. */
function isTextBody(headers: Record<string, string>): boolean {
  const encoding = headers['content-encoding']?.trim();
  if (encoding) return false;
  const contentType = headers['content-type'];
  if (contentType === undefined) return true;
  const mediaType = contentType.split(';')[0]!.trim().toLowerCase();
  return mediaType.startsWith('text/') || TEXT_MEDIA_TYPES.has(mediaType) || mediaType.endsWith('+json') || mediaType.endsWith('+xml');
}

function buildEvent(input: {
  request: IncomingMessage;
  url: URL;
  method: string;
  headers: Record<string, string>;
  body: Buffer;
  matched: MatchedRoute;
  requestId: string;
}): APIGatewayProxyEventV2 {
  const { request, url, method, headers, body, matched, requestId } = input;
  const sourceIp = (request.socket.remoteAddress ?? '127.0.0.1').replace(/^::ffff:/, '');
  const { cookie, ...headersWithoutCookie } = headers;
  const forwardedFor = headers['x-forwarded-for'] ? `${headers['x-forwarded-for']}, ${sourceIp}` : sourceIp;
  const eventHeaders = {
    ...headersWithoutCookie,
    'x-forwarded-for': forwardedFor,
    'x-forwarded-port': String(request.socket.localPort ?? ''),
    'x-forwarded-proto': 'http',
    'x-amzn-trace-id': `Root=1-${Math.floor(Date.now() / 1000).toString(16)}-${randomBytes(12).toString('hex')}`,
  };
  const queryStringParameters = joinedQueryParameters(url.searchParams);
  const cookies = cookie
    ?.split(';')
    .map((part) => part.trim())
    .filter(Boolean);
  const now = new Date();
  const textBody = isTextBody(headers);
  const domainName = headers.host ?? '127.0.0.1';

  return {
    version: '2.0',
    routeKey: matched.routeKey,
    rawPath: url.pathname,
    rawQueryString: url.search.replace(/^\?/, ''),
    ...(cookies && cookies.length > 0 ? { cookies } : {}),
    headers: eventHeaders,
    ...(queryStringParameters ? { queryStringParameters } : {}),
    ...(matched.pathParameters ? { pathParameters: matched.pathParameters } : {}),
    requestContext: {
      accountId: LOCAL_ACCOUNT_ID,
      apiId: API_ID,
      domainName,
      domainPrefix: domainName.split('.')[0]!,
      http: {
        method,
        path: url.pathname,
        protocol: `HTTP/${request.httpVersion}`,
        sourceIp,
        userAgent: headers['user-agent'] ?? '',
      },
      requestId,
      routeKey: matched.routeKey,
      stage: STAGE,
      time: apiGatewayTime(now),
      timeEpoch: now.getTime(),
    },
    ...(body.byteLength > 0 ? { body: textBody ? body.toString('utf8') : body.toString('base64') } : {}),
    isBase64Encoded: body.byteLength > 0 && !textBody,
  };
}

function joinedQueryParameters(searchParams: URLSearchParams): Record<string, string> | undefined {
  const parameters: Record<string, string> = {};
  for (const [name, value] of searchParams) parameters[name] = parameters[name] === undefined ? value : `${parameters[name]},${value}`;
  return Object.keys(parameters).length > 0 ? parameters : undefined;
}

/** `12/Mar/2020:19:03:58 +0000`, the format of requestContext.time. */
function apiGatewayTime(date: Date): string {
  const [, day, month, year, time] = /^\w+, (\d+) (\w+) (\d+) ([\d:]+) GMT$/.exec(date.toUTCString()) ?? [];
  return `${day}/${month}/${year}:${time} +0000`;
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

/**
 * Payload v2 response rules: an object with statusCode is a structured response; any other value
 * (a string, or an object without statusCode) becomes a 200 application/json body as is.
 */
export function toGatewayResponse(result: unknown): GatewayResponse | undefined {
  if (typeof result === 'string') return { statusCode: 200, headers: { 'content-type': 'application/json' }, cookies: [], body: Buffer.from(result) };
  if (typeof result !== 'object' || result === null || !('statusCode' in result)) {
    return { statusCode: 200, headers: { 'content-type': 'application/json' }, cookies: [], body: Buffer.from(JSON.stringify(result) ?? '') };
  }
  const structured = result as { statusCode: unknown; headers?: unknown; cookies?: unknown; body?: unknown; isBase64Encoded?: unknown };
  const statusCode = Number(structured.statusCode);
  if (!Number.isInteger(statusCode) || statusCode < 100 || statusCode > 599) return undefined;
  const headers: Record<string, string> = {};
  if (typeof structured.headers === 'object' && structured.headers !== null) {
    for (const [name, value] of Object.entries(structured.headers)) headers[name.toLowerCase()] = String(value);
  }
  const cookies = Array.isArray(structured.cookies) ? structured.cookies.map(String) : [];
  const bodyText = structured.body === undefined || structured.body === null ? '' : String(structured.body);
  const body = structured.isBase64Encoded === true ? Buffer.from(bodyText, 'base64') : Buffer.from(bodyText);
  return { statusCode, headers, cookies, body };
}

function allowOriginValue(cors: HttpApiCorsSettings, allowedOrigins: string[], origin: string): string {
  return allowedOrigins.includes('*') && !cors.allowCredentials ? '*' : origin;
}

function preflightHeaders(cors: HttpApiCorsSettings, allowedOrigins: string[], origin: string): Record<string, string> {
  if (!originAllowed(allowedOrigins, origin)) return {};
  return {
    'access-control-allow-origin': allowOriginValue(cors, allowedOrigins, origin),
    'access-control-allow-methods': cors.allowedMethods.join(','),
    'access-control-allow-headers': cors.allowedHeaders.join(','),
    ...(cors.maxAgeSeconds === undefined ? {} : { 'access-control-max-age': String(cors.maxAgeSeconds) }),
    ...(cors.allowCredentials ? { 'access-control-allow-credentials': 'true' } : {}),
  };
}

function corsResponseHeaders(cors: HttpApiCorsSettings | undefined, allowedOrigins: string[], origin: string | undefined): Record<string, string> {
  if (!cors || origin === undefined || !originAllowed(allowedOrigins, origin)) return {};
  return {
    'access-control-allow-origin': allowOriginValue(cors, allowedOrigins, origin),
    ...(cors.exposedResponseHeaders.length > 0 ? { 'access-control-expose-headers': cors.exposedResponseHeaders.join(',') } : {}),
    ...(cors.allowCredentials ? { 'access-control-allow-credentials': 'true' } : {}),
  };
}

/** With CORS configured, API Gateway ignores the CORS headers the integration returns. */
function withoutCorsHeaders(cors: HttpApiCorsSettings | undefined, headers: Record<string, string>): Record<string, string> {
  if (!cors) return headers;
  return Object.fromEntries(Object.entries(headers).filter(([name]) => !name.startsWith('access-control-')));
}

function sendJson(response: ServerResponse, statusCode: number, body: unknown, headers: Record<string, string> = {}): void {
  response.writeHead(statusCode, { 'content-type': 'application/json', ...headers });
  response.end(JSON.stringify(body));
}
