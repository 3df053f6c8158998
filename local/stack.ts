import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { LOCAL_REGION, localAwsEnvironment } from './aws-env.js';
import { startHttpGateway, type HttpApiHandler, type HttpGateway } from './http-gateway.js';
import { createLocalKinesisClient } from './kinesis-client.js';
import { startKinesisEmulator, type KinesisEmulator } from './kinesis-emulator.js';
import { readHttpApiConfigFile, type HttpApiConfig } from './serverless-config.js';
import { DEFAULT_SHARD_COUNT, ensurePipelineStreams, LOCAL_STREAM_NAMES } from './streams.js';

export const REPOSITORY_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/** The contract of `.local/endpoints.json`: tools, tests and people find the local services here. */
export interface LocalEndpoints {
  ingestUrl: string;
  dashboardUrl: string | null;
  writeKey: string;
  region: string;
  kinesis: string;
  s3: string | null;
  dynamodb: string | null;
  lakeBucket: string | null;
  streams: { raw: string; enriched: string; aggregates: string; anomalies: string };
}

export interface LocalStackOptions {
  /** State that survives restarts: stream data, the write key, emulator logs. */
  dataDir: string;
  /** Ingest API port; 0 picks a free one. */
  ingestPort?: number;
  /** Kinesis emulator plain-HTTP port; 0 picks a free one. */
  kinesisPort?: number;
  shardCount?: number;
  allowedOrigins?: string[];
  persistIntervalMs?: number;
  serverlessYmlPath?: string;
  /** Where to write the endpoints file (removed again on stop); omitted means not written (tests). */
  endpointsFile?: string;
}

export interface LocalStack {
  endpoints: LocalEndpoints;
  dataDir: string;
  kinesisPort: number;
  /** Stops HTTP intake, waits for in-flight requests, then stops the emulator once its state is on disk. */
  stop(): Promise<void>;
}

const WRITE_KEY_FILE = 'write-key';

/** The handler modules are imported once per process, with the environment of the first stack that loads them. */
let handlersLoadedWith: { environment: string; handlers: Record<string, HttpApiHandler> } | undefined;

export async function startLocalStack(options: LocalStackOptions): Promise<LocalStack> {
  const dataDir = resolve(options.dataDir);
  mkdirSync(dataDir, { recursive: true });
  const writeKey = loadOrCreateWriteKey(dataDir);
  const allowedOrigins = options.allowedOrigins ?? ['*'];
  const httpApi = readHttpApiConfigFile(options.serverlessYmlPath ?? join(REPOSITORY_ROOT, 'serverless.yml'));

  const emulator = await startKinesisEmulator({
    dataDir: join(dataDir, 'kinesis'),
    plainPort: options.kinesisPort ?? 0,
    ...(options.persistIntervalMs === undefined ? {} : { persistIntervalMs: options.persistIntervalMs }),
  });
  let gateway: HttpGateway | undefined;
  try {
    const kinesis = createLocalKinesisClient(emulator.endpoint);
    try {
      await ensurePipelineStreams(kinesis, options.shardCount ?? DEFAULT_SHARD_COUNT);
    } finally {
      kinesis.destroy();
    }

    const handlers = await loadHttpApiHandlers(httpApi, {
      ...localAwsEnvironment({ kinesis: emulator.endpoint }),
      RAW_STREAM_NAME: LOCAL_STREAM_NAMES.raw,
      WRITE_KEYS: writeKey,
      ALLOWED_ORIGINS: allowedOrigins.join(','),
      POWERTOOLS_SERVICE_NAME: 'ingest',
    });
    gateway = await startHttpGateway({ config: httpApi, handlers, allowedOrigins, port: options.ingestPort ?? 0 });
  } catch (error) {
    await emulator.stop();
    throw error;
  }

  const endpoints: LocalEndpoints = {
    ingestUrl: gateway.url,
    dashboardUrl: null,
    writeKey,
    region: LOCAL_REGION,
    kinesis: emulator.endpoint,
    s3: null,
    dynamodb: null,
    lakeBucket: null,
    streams: { ...LOCAL_STREAM_NAMES },
  };
  if (options.endpointsFile) {
    mkdirSync(dirname(options.endpointsFile), { recursive: true });
    writeFileSync(options.endpointsFile, `${JSON.stringify(endpoints, null, 2)}\n`);
  }

  const runningGateway = gateway;
  let stopping: Promise<void> | undefined;
  return {
    endpoints,
    dataDir,
    kinesisPort: emulator.plainPort,
    stop: () => (stopping ??= stopInOrder(runningGateway, emulator, options.endpointsFile)),
  };
}

async function stopInOrder(gateway: HttpGateway, emulator: KinesisEmulator, endpointsFile: string | undefined): Promise<void> {
  // A stale endpoints file would send tools to ports nobody serves.
  if (endpointsFile) rmSync(endpointsFile, { force: true });
  try {
    await gateway.close();
  } finally {
    await emulator.stop();
  }
}

/** Same key on every start with the same data dir, so clients configured once keep working. */
function loadOrCreateWriteKey(dataDir: string): string {
  const file = join(dataDir, WRITE_KEY_FILE);
  if (existsSync(file)) {
    const stored = readFileSync(file, 'utf8').trim();
    if (stored) return stored;
  }
  const writeKey = `wk_${randomBytes(18).toString('base64url')}`;
  writeFileSync(file, `${writeKey}\n`, { mode: 0o600 });
  return writeKey;
}

/**
 * Imports each HTTP API function's module named by its serverless.yml `handler:` after setting the
 * environment it reads at cold start. Module caching makes that once per process, so a second stack
 * with a different environment would silently talk to the first one's emulator: refuse it instead.
 */
async function loadHttpApiHandlers(httpApi: HttpApiConfig, environment: Record<string, string>): Promise<Record<string, HttpApiHandler>> {
  const fingerprint = JSON.stringify(environment);
  if (handlersLoadedWith) {
    if (handlersLoadedWith.environment !== fingerprint) {
      throw new Error(
        'the Lambda handlers are already loaded in this process with another environment (Kinesis port or write key); ' +
          'restart on the same data dir with the same kinesisPort, or use one process per stack',
      );
    }
    return handlersLoadedWith.handlers;
  }
  Object.assign(process.env, environment);
  const handlers: Record<string, HttpApiHandler> = {};
  for (const lambda of httpApi.functions.values()) {
    const separator = lambda.handler.lastIndexOf('.');
    const modulePath = join(REPOSITORY_ROOT, `${lambda.handler.slice(0, separator)}.ts`);
    const exportName = lambda.handler.slice(separator + 1);
    const module = (await import(pathToFileURL(modulePath).href)) as Record<string, unknown>;
    const handler = module[exportName];
    if (typeof handler !== 'function') throw new Error(`${modulePath} does not export a function named "${exportName}"`);
    handlers[lambda.functionKey] = handler as HttpApiHandler;
  }
  handlersLoadedWith = { environment: fingerprint, handlers };
  return handlers;
}
