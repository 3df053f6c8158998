// YAML as CloudFormation and the Serverless Framework read it: short-form tags (!Ref, !GetAtt, !Sub …)
// become their long form, and the few value rules every definition of the templates shares.
import { parse, type CollectionTag, type ScalarTag, type YAMLMap, type YAMLSeq } from 'yaml';

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

export function parseTemplateYaml(text: string, file = 'serverless.yml'): Record<string, unknown> {
  const document: unknown = parse(text, { customTags: cloudFormationTags, logLevel: 'error' });
  if (!isRecord(document)) throw new Error(`${file} does not contain a mapping at the top level`);
  return document;
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A value usable as written: not a `${...}` variable left unresolved and not a CloudFormation function. */
export function literal(value: unknown): string | undefined {
  return typeof value === 'string' && !value.includes('${') ? value : undefined;
}

export function literalList(value: unknown): string[] | undefined {
  if (!Array.isArray(value)) return undefined;
  const items = value.map(literal);
  return items.every((item): item is string => item !== undefined) ? items : undefined;
}

/**
 * A number setting: absent, or a variable that does not resolve locally (`${ssm:…}`), takes the fallback;
 * anything else must be a number or a numeric string.
 */
export function numberOr(value: unknown, fallback: number, where: string): number {
  if (value === undefined || value === null) return fallback;
  if (typeof value === 'string' && value.includes('${')) return fallback;
  const parsed = typeof value === 'number' ? value : typeof value === 'string' && value.trim() !== '' ? Number(value) : Number.NaN;
  if (!Number.isFinite(parsed)) throw new Error(`serverless.yml: ${where} must be a number (got ${JSON.stringify(value)})`);
  return parsed;
}

export function requiredString(value: unknown, where: string): string {
  const text = literal(value);
  if (text === undefined) throw new Error(`serverless.yml: ${where} must be a plain string`);
  return text;
}
