// API Gateway HTTP API payload format 2.0, both ways: the route a request matches, the event the function
// gets (headers lower-cased and joined, cookies apart, base64 for binary bodies) and the reading of its result.
import { randomBytes } from 'node:crypto';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { LOCAL_ACCOUNT_ID } from '../aws-env.js';
import type { HttpApiRoute } from '../template/http-api.js';

const API_ID = 'local';

const STAGE = '$default';

const TEXT_MEDIA_TYPES = new Set(['application/json', 'application/xml', 'application/javascript', 'application/x-www-form-urlencoded']);

export interface MatchedRoute {
  route: HttpApiRoute;
  routeKey: string;
  pathParameters: Record<string, string> | undefined;
}

export interface GatewayResponse {
  statusCode: number;
  headers: Record<string, string>;
  cookies: string[];
  body: Buffer;
}

/** Payload v2 joins repeated headers with "," and lower-cases names; cookies move to their own field. */
export function lowerCaseHeaders(rawHeaders: string[]): Record<string, string> {
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

export function matchPath(template: string, path: string): Record<string, string> | undefined {
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

/** API Gateway base64-encodes bodies it does not know to be text; a compressed body is never text. */
export function isTextBody(headers: Record<string, string>): boolean {
  const encoding = headers['content-encoding']?.trim();
  if (encoding) return false;
  const contentType = headers['content-type'];
  if (contentType === undefined) return true;
  const mediaType = contentType.split(';')[0]!.trim().toLowerCase();
  return mediaType.startsWith('text/') || TEXT_MEDIA_TYPES.has(mediaType) || mediaType.endsWith('+json') || mediaType.endsWith('+xml');
}

/** A request as the gateway received it: what the payload-v2 event is made of. */
export interface ReceivedRequest {
  url: URL;
  method: string;
  /** Lower-cased names, repeated headers joined (lowerCaseHeaders). */
  headers: Record<string, string>;
  body: Buffer;
  sourceIp: string;
  localPort?: number;
  httpVersion?: string;
}

export function buildEvent(input: ReceivedRequest & { matched: Pick<MatchedRoute, 'routeKey' | 'pathParameters'>; requestId: string }): APIGatewayProxyEventV2 {
  const { url, method, headers, body, matched, requestId } = input;
  const sourceIp = input.sourceIp.replace(/^::ffff:/, '');
  const { cookie, ...headersWithoutCookie } = headers;
  const forwardedFor = headers['x-forwarded-for'] ? `${headers['x-forwarded-for']}, ${sourceIp}` : sourceIp;
  const eventHeaders = {
    ...headersWithoutCookie,
    'x-forwarded-for': forwardedFor,
    'x-forwarded-port': String(input.localPort ?? ''),
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
        protocol: `HTTP/${input.httpVersion ?? '1.1'}`,
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

export function joinedQueryParameters(searchParams: URLSearchParams): Record<string, string> | undefined {
  const parameters: Record<string, string> = {};
  for (const [name, value] of searchParams) parameters[name] = parameters[name] === undefined ? value : `${parameters[name]},${value}`;
  return Object.keys(parameters).length > 0 ? parameters : undefined;
}

/** `12/Mar/2020:19:03:58 +0000`, the format of requestContext.time. */
export function apiGatewayTime(date: Date): string {
  const [, day, month, year, time] = /^\w+, (\d+) (\w+) (\d+) ([\d:]+) GMT$/.exec(date.toUTCString()) ?? [];
  return `${day}/${month}/${year}:${time} +0000`;
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
