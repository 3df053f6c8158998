// CORS answered by the function itself, for requests through a Lambda function URL (serverless.yml,
// `ingestFunctionUrl`). The URL is deployed without a CORS configuration of its own: Lambda's would answer
// `*` to a credentialed request, which browsers refuse, and the Snowplow tracker sends with credentials.
// Behind the HTTP API this is never seen: API Gateway answers preflight itself and replaces an
// integration's CORS headers with those of `provider.httpApi.cors`, which INGEST_CORS must equal
// (test/infra/template.test.ts checks it).
import type { MiddlewareObj } from '@middy/core';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { originAllowed } from './origins.js';

export const INGEST_CORS = {
  // What the browser SDKs ask for in their preflight: analytics.js 2.0 sends authorization (and
  // x-retry-count on a retry), RudderStack's XHR transport anonymousid and sentat, Snowplow's tracker
  // sp-anonymous in its anonymous tracking mode.
  allowedHeaders: ['content-type', 'content-encoding', 'authorization', 'x-retry-count', 'anonymousid', 'sentat', 'sp-anonymous'],
  allowedMethods: ['GET', 'POST', 'OPTIONS'],
  // The browser tracker backs off by Retry-After on a 503; without this, CORS hides the header from it.
  exposedResponseHeaders: ['retry-after'],
  allowCredentials: true,
  maxAgeSeconds: 86_400,
} as const;

/** A request that came through a function URL: Lambda gives it the `$default` route key, which no route of the HTTP API has. */
export const viaFunctionUrl = (request: APIGatewayProxyEventV2): boolean => request.routeKey === '$default';

/** The allow-origin of an allowed origin: echoed, since credentials are allowed ("*" would be refused). */
function originHeaders(origin: string): Record<string, string> {
  return { 'access-control-allow-origin': origin, 'access-control-allow-credentials': 'true', vary: 'origin' };
}

/** The answer to a CORS preflight from `origin`; without allow-origin when the origin is not allowed. */
export function preflightResponse(allowedOrigins: readonly string[], origin: string): APIGatewayProxyStructuredResultV2 {
  if (!originAllowed(allowedOrigins, origin)) return { statusCode: 204, headers: { vary: 'origin' } };
  return {
    statusCode: 204,
    headers: {
      ...originHeaders(origin),
      'access-control-allow-methods': INGEST_CORS.allowedMethods.join(','),
      'access-control-allow-headers': INGEST_CORS.allowedHeaders.join(','),
      'access-control-max-age': String(INGEST_CORS.maxAgeSeconds),
    },
  };
}

/**
 * Middy middleware: for a request through a function URL, answers preflight and adds the CORS headers
 * of an allowed origin to every answer, errors included (a browser reads a 400's reason only with them).
 * Registered before the error middleware, so that its onError runs after the error became a response.
 */
export function functionUrlCors(allowedOrigins: readonly string[]): MiddlewareObj<APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2> {
  const addHeaders = async (request: { event: APIGatewayProxyEventV2; response: APIGatewayProxyStructuredResultV2 | null }) => {
    const origin = request.event.headers?.['origin'];
    if (!request.response || origin === undefined || !viaFunctionUrl(request.event) || !originAllowed(allowedOrigins, origin)) return;
    request.response.headers = { ...request.response.headers, ...originHeaders(origin), 'access-control-expose-headers': INGEST_CORS.exposedResponseHeaders.join(',') };
  };
  return {
    before: async (request) => {
      const { event } = request;
      const origin = event.headers?.['origin'];
      if (viaFunctionUrl(event) && event.requestContext?.http?.method === 'OPTIONS' && origin !== undefined && event.headers?.['access-control-request-method'] !== undefined) {
        return preflightResponse(allowedOrigins, origin);
      }
      return undefined;
    },
    after: addHeaders,
    onError: addHeaders,
  };
}
