// serverless.yml as parsed once: `${param:…}`, `${self:service}`, `${sls:stage}` and `${opt:…, default}`
// resolved for the local stage, and the CloudFormation resources merged from infra/*.yml.
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { LOCAL_REGION } from '../aws-env.js';
import { isRecord, parseTemplateYaml } from './yaml.js';

export interface CloudFormationResource {
  Type: string;
  Properties: Record<string, unknown>;
}

export interface TemplateDocument {
  /** serverless.yml as parsed, with CloudFormation short tags in their long form; variables unresolved. */
  document: Record<string, unknown>;
  service: string;
  stage: string;
  /** Every resource of `resources:` (inline or `${file(…)}` fragments), by logical id. */
  resources: Map<string, CloudFormationResource>;
  /** Resolves `${param:…}`, `${self:service}`, `${sls:stage}` and `${opt:…, default}` in a value. */
  resolve(value: unknown): unknown;
}

const VARIABLE = /\$\{([^{}]+)\}/g;

/** `baseDir` is where `${file(./infra/x.yml)}` paths start: the folder of serverless.yml. */
export function templateDocument(text: string, baseDir: string, stage: string): TemplateDocument {
  const document = parseTemplateYaml(text);
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
    const loaded = loadFragment(fragment, baseDir);
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
  return parseTemplateYaml(readFileSync(resolve(baseDir, file.trim()), 'utf8'), file.trim());
}

function splitFallback(expression: string): [string, unknown] {
  const comma = expression.indexOf(',');
  if (comma < 0) return [expression.trim(), undefined];
  const fallback = expression.slice(comma + 1).trim();
  const quoted = /^['"](.*)['"]$/.exec(fallback);
  return [expression.slice(0, comma).trim(), quoted ? quoted[1] : Number.isFinite(Number(fallback)) ? Number(fallback) : fallback];
}
