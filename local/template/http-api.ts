// The HTTP API of serverless.yml: every `httpApi` event of every function, and `provider.httpApi.cors` as
// the framework deploys it.
import type { TemplateDocument } from './document.js';
import type { FunctionDefinition } from './functions.js';
import { isRecord, literalList, numberOr, requiredString } from './yaml.js';

/** One `httpApi` event of a function in serverless.yml. */
export interface HttpApiRoute {
  /** Upper-case method, or `*` for any method. */
  method: string;
  /** Path template such as `/v1/batch`, `/users/{id}` or `/{proxy+}`; `*` is the `$default` route. */
  path: string;
  /** Key of the function under `functions:` in serverless.yml. */
  functionKey: string;
}

/** What the framework deploys for `provider.httpApi.cors`; the allowed origins always come from the caller. */
export interface HttpApiCorsSettings {
  allowedHeaders: string[];
  allowedMethods: string[];
  exposedResponseHeaders: string[];
  allowCredentials: boolean;
  maxAgeSeconds?: number;
}

export interface HttpApiConfig {
  routes: HttpApiRoute[];
  /** The functions with at least one route, by key. */
  functions: Map<string, FunctionDefinition>;
  /** Undefined when the API has no CORS configuration (API Gateway then adds no CORS headers). */
  cors?: HttpApiCorsSettings;
}

// The framework's defaults for `cors: true` (lib/plugins/aws/package/compile/events/http-api.js).
const FRAMEWORK_DEFAULT_CORS_HEADERS = ['Content-Type', 'X-Amz-Date', 'Authorization', 'X-Api-Key', 'X-Amz-Security-Token', 'X-Amz-User-Agent'];

export function httpApiConfig(template: TemplateDocument, functions: Map<string, FunctionDefinition>): HttpApiConfig {
  const routes: HttpApiRoute[] = [];
  const routed = new Map<string, FunctionDefinition>();
  for (const lambda of functions.values()) {
    const functionRoutes = lambda.events.flatMap((event) => (isRecord(event) && 'httpApi' in event ? [routeOf(event.httpApi, lambda.functionKey)] : []));
    if (functionRoutes.length === 0) continue;
    routes.push(...functionRoutes);
    routed.set(lambda.functionKey, lambda);
  }
  const provider = isRecord(template.document.provider) ? (template.resolve(template.document.provider) as Record<string, unknown>) : {};
  const httpApi = isRecord(provider.httpApi) ? provider.httpApi : {};
  return { routes, functions: routed, cors: corsSettings(httpApi.cors, routes) };
}

function routeOf(httpApi: unknown, functionKey: string): HttpApiRoute {
  if (typeof httpApi === 'string') {
    if (httpApi.trim() === '*') return { method: '*', path: '*', functionKey };
    const [method, path] = httpApi.trim().split(/\s+/);
    if (!method || !path) throw new Error(`functions.${functionKey}: httpApi "${httpApi}" is not "<METHOD> <path>"`);
    return { method: method.toUpperCase(), path, functionKey };
  }
  if (isRecord(httpApi)) {
    const method = requiredString(httpApi.method, `functions.${functionKey}.events[].httpApi.method`).toUpperCase();
    const path = requiredString(httpApi.path, `functions.${functionKey}.events[].httpApi.path`);
    return { method, path, functionKey };
  }
  throw new Error(`functions.${functionKey}: an httpApi event must be "<METHOD> <path>" or {method, path}`);
}

function corsSettings(cors: unknown, routes: HttpApiRoute[]): HttpApiCorsSettings | undefined {
  if (cors === undefined || cors === false || cors === null) return undefined;
  const configured = isRecord(cors) ? cors : {};
  const routeMethods = [...new Set(['OPTIONS', ...routes.map((route) => route.method)])];
  const maxAgeSeconds = configured.maxAge === undefined ? undefined : numberOr(configured.maxAge, Number.NaN, 'provider.httpApi.cors.maxAge');
  return {
    allowedHeaders: literalList(configured.allowedHeaders) ?? FRAMEWORK_DEFAULT_CORS_HEADERS,
    allowedMethods: literalList(configured.allowedMethods) ?? routeMethods,
    exposedResponseHeaders: literalList(configured.exposedResponseHeaders) ?? [],
    allowCredentials: configured.allowCredentials === true,
    ...(maxAgeSeconds === undefined || Number.isNaN(maxAgeSeconds) ? {} : { maxAgeSeconds }),
  };
}
