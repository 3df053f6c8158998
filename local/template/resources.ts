// serverless.yml as the local runner needs it beyond the HTTP API: `${param:…}` values, the CloudFormation
// resources merged from infra/*.yml, and the local physical name of each resource by logical id.
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { LOCAL_ACCOUNT_ID, LOCAL_REGION } from '../aws-env.js';
import { parseServerlessYaml } from './http-api.js';
import { LOCAL_STREAM_NAMES, localStreamArn } from '../kinesis/streams.js';

/** What each CloudFormation resource the local runner serves is called locally, by logical id. */
export const LOCAL_RESOURCE_NAMES: Readonly<Record<string, string>> = {
  RawEventsStream: LOCAL_STREAM_NAMES.raw,
  EnrichedEventsStream: LOCAL_STREAM_NAMES.enriched,
  DedupTable: 'enrich-dedup',
  LakeBucket: 'lake',
  EnrichDeadLetterQueue: 'enrich-dlq',
  AggregatesStream: LOCAL_STREAM_NAMES.aggregates,
  AnomaliesStream: LOCAL_STREAM_NAMES.anomalies,
  AlertDedupTable: 'alert-dedup',
  AlertDeadLetterQueue: 'alert-dlq',
  // Only so that ALERT_TOPIC_ARN resolves: locally the alert consumer writes to a file (ALERT_PUBLISHER=file).
  AlertTopic: 'alerts',
};

export interface CloudFormationResource {
  Type: string;
  Properties: Record<string, unknown>;
}

export interface ServerlessProject {
  /** serverless.yml as parsed, with CloudFormation short tags in their long form. */
  document: Record<string, unknown>;
  service: string;
  stage: string;
  /** Every resource of `resources:` (inline or `${file(…)}` fragments), by logical id. */
  resources: Map<string, CloudFormationResource>;
  /** Resolves `${param:…}`, `${self:service}`, `${sls:stage}` and `${opt:…, default}` in a value. */
  resolve(value: unknown): unknown;
}

const VARIABLE = /\$\{([^{}]+)\}/g;

export function readServerlessProject(serverlessYmlPath: string, stage = 'local'): ServerlessProject {
  const document = parseServerlessYaml(readFileSync(serverlessYmlPath, 'utf8'));
  const service = typeof document.service === 'string' ? document.service : 'service';
  const params = isRecord(document.params) ? document.params : {};
  const stageParams = isRecord(params[stage]) ? params[stage] : {};
  const defaultParams = isRecord(params.default) ? params.default : {};

  const variable = (expression: string, depth: number): unknown => {
    if (depth > 10) throw new Error(`serverless.yml: \${${expression}} refers to itself`);
    const [reference, fallback] = splitFallback(expression);
    let value: unknown;
    if (reference.startsWith('param:')) {
      const name = reference.slice('param:'.length);
      value = name in stageParams ? stageParams[name] : defaultParams[name];
    } else if (reference === 'self:service') value = service;
    else if (reference === 'sls:stage' || reference === 'opt:stage') value = stage;
    else if (reference === 'opt:region') value = LOCAL_REGION;
    if (value === undefined) value = fallback;
    return value === undefined ? `\${${expression}}` : resolveValue(value, depth + 1);
  };
  const resolveValue = (value: unknown, depth = 0): unknown => {
    if (typeof value === 'string') {
      const whole = /^\$\{([^{}]+)\}$/.exec(value);
      // A value that is one variable keeps its type (a number stays a number).
      if (whole) return variable(whole[1]!, depth);
      return value.replace(VARIABLE, (text, expression: string) => {
        const resolved = variable(expression, depth);
        return typeof resolved === 'string' || typeof resolved === 'number' || typeof resolved === 'boolean' ? String(resolved) : text;
      });
    }
    if (Array.isArray(value)) return value.map((item) => resolveValue(item, depth));
    if (isRecord(value)) return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, resolveValue(item, depth)]));
    return value;
  };

  const resources = new Map<string, CloudFormationResource>();
  const fragments = Array.isArray(document.resources) ? document.resources : [document.resources];
  for (const fragment of fragments) {
    const loaded = loadFragment(fragment, dirname(resolve(serverlessYmlPath)));
    const fragmentResources = isRecord(loaded?.Resources) ? loaded.Resources : {};
    for (const [logicalId, resource] of Object.entries(fragmentResources)) {
      if (!isRecord(resource) || typeof resource.Type !== 'string') continue;
      resources.set(logicalId, { Type: resource.Type, Properties: isRecord(resource.Properties) ? resource.Properties : {} });
    }
  }
  return { document, service, stage, resources, resolve: (value) => resolveValue(value) };
}

/** `${file(./infra/x.yml)}` is read and parsed; an inline mapping is used as is. */
function loadFragment(fragment: unknown, baseDir: string): Record<string, unknown> | undefined {
  if (isRecord(fragment)) return fragment;
  if (typeof fragment !== 'string') return undefined;
  const file = /^\$\{file\(([^)]+)\)\}$/.exec(fragment.trim())?.[1];
  if (!file) return undefined;
  return parseServerlessYaml(readFileSync(resolve(baseDir, file.trim()), 'utf8'));
}

function splitFallback(expression: string): [string, unknown] {
  const comma = expression.indexOf(',');
  if (comma < 0) return [expression.trim(), undefined];
  const fallback = expression.slice(comma + 1).trim();
  const quoted = /^['"](.*)['"]$/.exec(fallback);
  return [expression.slice(0, comma).trim(), quoted ? quoted[1] : Number.isFinite(Number(fallback)) ? Number(fallback) : fallback];
}

/** The local name of a resource; a logical id the local runner does not serve is a configuration error. */
export function localResourceName(logicalId: string): string {
  const name = LOCAL_RESOURCE_NAMES[logicalId];
  if (name === undefined) throw new Error(`no local stand-in for the CloudFormation resource "${logicalId}" (add it to LOCAL_RESOURCE_NAMES)`);
  return name;
}

/** The local ARN of a resource, as `!GetAtt <logicalId>.Arn` would give on AWS. */
export function localResourceArn(project: ServerlessProject, logicalId: string): string {
  const resource = project.resources.get(logicalId);
  const name = localResourceName(logicalId);
  switch (resource?.Type) {
    case 'AWS::Kinesis::Stream':
      return localStreamArn(name);
    case 'AWS::SQS::Queue':
      return `arn:aws:sqs:${LOCAL_REGION}:${LOCAL_ACCOUNT_ID}:${name}`;
    case 'AWS::DynamoDB::Table':
      return `arn:aws:dynamodb:${LOCAL_REGION}:${LOCAL_ACCOUNT_ID}:table/${name}`;
    case 'AWS::S3::Bucket':
      return `arn:aws:s3:::${name}`;
    default:
      throw new Error(`resource "${logicalId}" (${resource?.Type ?? 'not found'}) has no local ARN`);
  }
}

/** The logical id behind `!Ref X` or `!GetAtt X.Arn`, or undefined for anything else. */
export function referencedLogicalId(value: unknown): string | undefined {
  if (!isRecord(value)) return undefined;
  if (typeof value.Ref === 'string') return value.Ref;
  const getAtt = value['Fn::GetAtt'];
  if (Array.isArray(getAtt) && typeof getAtt[0] === 'string') return getAtt[0];
  if (typeof getAtt === 'string') return getAtt.split('.')[0];
  return undefined;
}

/**
 * A function's environment as Lambda would see it locally: provider.environment merged with the
 * function's, params resolved, `!Ref X` → the local name of X, `!GetAtt X.Arn` → its local ARN.
 */
export function localFunctionEnvironment(project: ServerlessProject, functionKey: string): Record<string, string> {
  const provider = isRecord(project.document.provider) ? project.document.provider : {};
  const functions = isRecord(project.document.functions) ? project.document.functions : {};
  const definition = isRecord(functions[functionKey]) ? functions[functionKey] : undefined;
  if (!definition) throw new Error(`serverless.yml has no function "${functionKey}"`);
  const merged = { ...(isRecord(provider.environment) ? provider.environment : {}), ...(isRecord(definition.environment) ? definition.environment : {}) };
  const environment: Record<string, string> = {};
  for (const [name, raw] of Object.entries(merged)) {
    const value = project.resolve(raw);
    if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') {
      environment[name] = String(value);
      continue;
    }
    const logicalId = referencedLogicalId(value);
    if (logicalId === undefined) throw new Error(`functions.${functionKey}.environment.${name}: cannot resolve ${JSON.stringify(value)} locally`);
    environment[name] = isRecord(value) && 'Ref' in value ? localResourceName(logicalId) : localResourceArn(project, logicalId);
  }
  return environment;
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
