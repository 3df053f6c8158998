// CORS as API Gateway answers it for `provider.httpApi.cors`: preflight answered by the gateway itself,
// allow-origin echoed only for an allowed origin, and the function's own CORS headers replaced.
import { originAllowed } from '../../functions/ingest/origins.js';
import type { HttpApiCorsSettings } from '../template/http-api.js';

export function allowOriginValue(cors: HttpApiCorsSettings, allowedOrigins: string[], origin: string): string {
  return allowedOrigins.includes('*') && !cors.allowCredentials ? '*' : origin;
}

export function preflightHeaders(cors: HttpApiCorsSettings, allowedOrigins: string[], origin: string): Record<string, string> {
  if (!originAllowed(allowedOrigins, origin)) return {};
  return {
    'access-control-allow-origin': allowOriginValue(cors, allowedOrigins, origin),
    'access-control-allow-methods': cors.allowedMethods.join(','),
    'access-control-allow-headers': cors.allowedHeaders.join(','),
    ...(cors.maxAgeSeconds === undefined ? {} : { 'access-control-max-age': String(cors.maxAgeSeconds) }),
    ...(cors.allowCredentials ? { 'access-control-allow-credentials': 'true' } : {}),
  };
}

export function corsResponseHeaders(cors: HttpApiCorsSettings | undefined, allowedOrigins: string[], origin: string | undefined): Record<string, string> {
  if (!cors || origin === undefined || !originAllowed(allowedOrigins, origin)) return {};
  return {
    'access-control-allow-origin': allowOriginValue(cors, allowedOrigins, origin),
    ...(cors.exposedResponseHeaders.length > 0 ? { 'access-control-expose-headers': cors.exposedResponseHeaders.join(',') } : {}),
    ...(cors.allowCredentials ? { 'access-control-allow-credentials': 'true' } : {}),
  };
}

/** With CORS configured, API Gateway ignores the CORS headers the integration returns. */
export function withoutCorsHeaders(cors: HttpApiCorsSettings | undefined, headers: Record<string, string>): Record<string, string> {
  if (!cors) return headers;
  return Object.fromEntries(Object.entries(headers).filter(([name]) => !name.startsWith('access-control-')));
}
