import { readFileSync } from 'node:fs';
import { parse, type CollectionTag, type ScalarTag, type YAMLMap, type YAMLSeq } from 'yaml';

/** One `httpApi` event of a function in serverless.yml. */
export interface HttpApiRoute {
  /** Upper-case method, or `*` for any method. */
  method: string;
  /** Path template such as `/v1/batch`, `/users/{id}` or `/{proxy+}`; `*` is the `$default` route. */
  path: string;
  /** Key of the function under `functions:` in serverless.yml. */
  functionKey: string;
}

export interface HttpApiFunction {
  functionKey: string;
  /** Lambda's physical name as the framework derives it: `<service>-<stage>-<key>` unless `name:` is set. */
  functionName: string;
  /** `handler:` as written, e.g. `functions/ingest/handler.handler`. */
  handler: string;
  timeoutSeconds: number;
  memorySizeMb: number;
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
  functions: Map<string, HttpApiFunction>;
  /** Undefined when the API has no CORS configuration (API Gateway then adds no CORS headers). */
  cors?: HttpApiCorsSettings;
}

const LAMBDA_DEFAULT_TIMEOUT_SECONDS = 6;
const LAMBDA_DEFAULT_MEMORY_MB = 1024;
// The framework's defaults for `cors: true` (lib/plugins/aws/package/compile/events/http-api.js).
const FRAMEWORK_DEFAULT_CORS_HEADERS = ['Content-Type', 'X-Amz-Date', 'Authorization', 'X-Api-Key', 'X-Amz-Security-Token', 'X-Amz-User-Agent'];

const CLOUDFORMATION_FUNCTIONS: Record<string, string> = {
  '!Ref': 'Ref',
  '!Condition': 'Condition',
  '!GetAtt': 'Fn::GetAtt',
  '!Sub': 'Fn::Sub',
  '!If': 'Fn::If',
  '!Join': 'Fn::Join',
  '!Select': 'Fn::Select',
  '!Split': 'Fn::Split',
  '!Equals': 'Fn::Equals',
  '!Not': 'Fn::Not',
  '!And': 'Fn::And',
  '!Or': 'Fn::Or',
  '!FindInMap': 'Fn::FindInMap',
  '!Base64': 'Fn::Base64',
  '!Cidr': 'Fn::Cidr',
  '!GetAZs': 'Fn::GetAZs',
  '!ImportValue': 'Fn::ImportValue',
  '!Transform': 'Fn::Transform',
};

/** CloudFormation short-form tags resolve to their long form, in scalar, sequence and mapping positions alike. */
const cloudFormationTags: Array<ScalarTag | CollectionTag> = Object.entries(CLOUDFORMATION_FUNCTIONS).flatMap(([tag, name]) => [
  { tag, resolve: (value: string) => ({ [name]: tag === '!GetAtt' ? value.split('.') : value }) },
  { tag, collection: 'seq' as const, resolve: (node: YAMLMap.Parsed | YAMLSeq.Parsed) => ({ [name]: node.toJSON() }) },
  { tag, collection: 'map' as const, resolve: (node: YAMLMap.Parsed | YAMLSeq.Parsed) => ({ [name]: node.toJSON() }) },
]);

export function parseServerlessYaml(text: string): Record<string, unknown> {
  const document: unknown = parse(text, { customTags: cloudFormationTags, logLevel: 'error' });
  if (!isRecord(document)) throw new Error('serverless.yml does not contain a mapping at the top level');
  return document;
}

export function readHttpApiConfigFile(path: string, stage = 'local'): HttpApiConfig {
  return httpApiConfig(parseServerlessYaml(readFileSync(path, 'utf8')), stage);
}

export function httpApiConfig(serverless: Record<string, unknown>, stage = 'local'): HttpApiConfig {
  const provider = isRecord(serverless.provider) ? serverless.provider : {};
  const service = literal(serverless.service) ?? 'service';
  const routes: HttpApiRoute[] = [];
  const functions = new Map<string, HttpApiFunction>();

  for (const [functionKey, definition] of Object.entries(isRecord(serverless.functions) ? serverless.functions : {})) {
    if (!isRecord(definition)) continue;
    const events = Array.isArray(definition.events) ? definition.events : [];
    const functionRoutes = events.flatMap((event) => (isRecord(event) && 'httpApi' in event ? [routeOf(event.httpApi, functionKey)] : []));
    if (functionRoutes.length === 0) continue;
    routes.push(...functionRoutes);
    functions.set(functionKey, {
      functionKey,
      functionName: literal(definition.name) ?? `${service}-${stage}-${functionKey}`,
      handler: requiredString(definition.handler, `functions.${functionKey}.handler`),
      timeoutSeconds: numberOr(definition.timeout, numberOr(provider.timeout, LAMBDA_DEFAULT_TIMEOUT_SECONDS)),
      memorySizeMb: numberOr(definition.memorySize, numberOr(provider.memorySize, LAMBDA_DEFAULT_MEMORY_MB)),
    });
  }
  const httpApi = isRecord(provider.httpApi) ? provider.httpApi : {};
  return { routes, functions, cors: corsSettings(httpApi.cors, routes) };
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
  const maxAgeSeconds = literalNumber(configured.maxAge);
  return {
    allowedHeaders: literalList(configured.allowedHeaders) ?? FRAMEWORK_DEFAULT_CORS_HEADERS,
    allowedMethods: literalList(configured.allowedMethods) ?? routeMethods,
    exposedResponseHeaders: literalList(configured.exposedResponseHeaders) ?? [],
    allowCredentials: configured.allowCredentials === true,
    ...(maxAgeSeconds === undefined ? {} : { maxAgeSeconds }),
  };
}

/** A value usable as written: not a `${...}` variable and not a CloudFormation function. */
function literal(value: unknown): string | undefined {
  return typeof value === 'string' && !value.includes('${') ? value : undefined;
}

function literalNumber(value: unknown): number | undefined {
  if (typeof value === 'number') return value;
  const text = literal(value);
  return text !== undefined && text.trim() !== '' && Number.isFinite(Number(text)) ? Number(text) : undefined;
}

function literalList(value: unknown): string[] | undefined {
  if (!Array.isArray(value)) return undefined;
  const items = value.map(literal);
  return items.every((item): item is string => item !== undefined) ? items : undefined;
}

function numberOr(value: unknown, fallback: number): number {
  return literalNumber(value) ?? fallback;
}

function requiredString(value: unknown, where: string): string {
  const text = literal(value);
  if (text === undefined) throw new Error(`serverless.yml: ${where} must be a plain string`);
  return text;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
