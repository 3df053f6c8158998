// The `functions:` of serverless.yml, each read once into what the local Lambda runtime needs, with the
// framework's and Lambda's defaults where a definition leaves a setting out.
import { functionArn } from '../lambda/runtime.js';
import type { TemplateDocument } from './document.js';
import { localDeliveryStreamArn, localDeliveryStreamName, localResourceArn, localResourceName, referencedLogicalId } from './names.js';
import { isRecord, literal, numberOr, requiredString } from './yaml.js';

export interface FunctionDefinition {
  /** Key of the function under `functions:`. */
  functionKey: string;
  /** Lambda's physical name as the framework derives it: `<service>-<stage>-<key>` unless `name:` is set. */
  functionName: string;
  arn: string;
  /** `handler:` as written, e.g. `functions/ingest/handler.handler`. */
  handler: string;
  timeoutSeconds: number;
  memorySizeMb: number;
  /** Logical id of the function's `role:`, for invokeIdentityArn. */
  role?: string;
  /** `events:` with variables resolved. */
  events: unknown[];
  /** `url:` is set: the function has a Lambda function URL. */
  functionUrl: boolean;
  /** The environment as Lambda would see it locally: provider's and the function's, references resolved. */
  environment(): Record<string, string>;
}

const LAMBDA_DEFAULT_TIMEOUT_SECONDS = 6;
const LAMBDA_DEFAULT_MEMORY_MB = 1024;

export function functionDefinitions(template: TemplateDocument): Map<string, FunctionDefinition> {
  const provider = isRecord(template.document.provider) ? (template.resolve(template.document.provider) as Record<string, unknown>) : {};
  const functions = isRecord(template.document.functions) ? template.document.functions : {};
  const definitions = new Map<string, FunctionDefinition>();
  for (const [functionKey, raw] of Object.entries(functions)) {
    if (!isRecord(raw)) continue;
    const definition = template.resolve(raw) as Record<string, unknown>;
    const functionName = literal(definition.name) ?? `${template.service}-${template.stage}-${functionKey}`;
    definitions.set(functionKey, {
      functionKey,
      functionName,
      arn: functionArn(functionName),
      handler: requiredString(definition.handler, `functions.${functionKey}.handler`),
      timeoutSeconds: numberOr(definition.timeout, numberOr(provider.timeout, LAMBDA_DEFAULT_TIMEOUT_SECONDS, 'provider.timeout'), `functions.${functionKey}.timeout`),
      memorySizeMb: numberOr(definition.memorySize, numberOr(provider.memorySize, LAMBDA_DEFAULT_MEMORY_MB, 'provider.memorySize'), `functions.${functionKey}.memorySize`),
      ...(typeof definition.role === 'string' ? { role: definition.role } : {}),
      events: Array.isArray(definition.events) ? definition.events : [],
      functionUrl: functionUrlOn(template, definition.url),
      environment: () => functionEnvironment(template, provider, definition, functionKey),
    });
  }
  return definitions;
}

/**
 * `url:` as deployed: true or a mapping, or `${file(./infra/resolvers.cjs):ingestFunctionUrl}`, which
 * turns the `ingestFunctionUrl` param into a boolean at package time (read here from the param itself).
 */
function functionUrlOn(template: TemplateDocument, url: unknown): boolean {
  if (typeof url === 'string' && /resolvers\.cjs\):ingestFunctionUrl\}$/.test(url)) return String(template.resolve('${param:ingestFunctionUrl}')).trim().toLowerCase() === 'true';
  return url === true || isRecord(url);
}

/**
 * provider.environment merged with the function's: `!Ref X` → the local name of X, `!GetAtt X.Arn` → its local ARN.
 * A delivery stream's name comes from the template itself (its DeliveryStreamName), as on AWS.
 */
function functionEnvironment(template: TemplateDocument, provider: Record<string, unknown>, definition: Record<string, unknown>, functionKey: string): Record<string, string> {
  const merged = { ...(isRecord(provider.environment) ? provider.environment : {}), ...(isRecord(definition.environment) ? definition.environment : {}) };
  const environment: Record<string, string> = {};
  for (const [name, value] of Object.entries(merged)) {
    if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') {
      environment[name] = String(value);
      continue;
    }
    const logicalId = referencedLogicalId(value);
    if (logicalId === undefined) throw new Error(`functions.${functionKey}.environment.${name}: cannot resolve ${JSON.stringify(value)} locally`);
    const byRef = isRecord(value) && 'Ref' in value;
    if (template.resources.get(logicalId)?.Type === 'AWS::KinesisFirehose::DeliveryStream') {
      const streamName = localDeliveryStreamName(template, logicalId);
      environment[name] = byRef ? streamName : localDeliveryStreamArn(streamName);
      continue;
    }
    environment[name] = byRef ? localResourceName(logicalId) : localResourceArn(logicalId, template.resources.get(logicalId)?.Type);
  }
  return environment;
}

/** The Serverless Framework's resource name of a function: normalizeNameToAlphaNumericOnly, capitalised, + LambdaFunction. */
export const functionLogicalId = (functionKey: string): string => {
  const alphanumeric = functionKey.replace(/-/g, 'Dash').replace(/_/g, 'Underscore');
  return `${alphanumeric.charAt(0).toUpperCase()}${alphanumeric.slice(1)}LambdaFunction`;
};
