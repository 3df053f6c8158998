import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { writeFileAtomic } from './atomic-write.js';
import { LOCAL_REGION, localAwsEnvironment } from './aws-env.js';
import { startFunctionUrl } from './lambda/function-url.js';
import { startHttpGateway, type HttpApiHandler, type HttpGateway } from './lambda/http-gateway.js';
import { createLocalKinesisClient } from './kinesis/client.js';
import { startKinesisEmulator, type KinesisEmulator } from './kinesis/emulator.js';
import { createLocalDynamoDbClient, ensureTableFromTemplate, startDynamoDbEmulator, type DynamoDbEmulator } from './storage/dynamodb.js';
import { startFlinkJob, type FlinkJobStart } from './flink/job.js';
import { startEventSourceMapping, type EventSourceMapping, type StreamHandler } from './lambda/event-source-mapping.js';
import { importHandler, invokeLambda } from './lambda/runtime.js';
import type { KinesisStreamBatchResponse, KinesisStreamEvent } from 'aws-lambda';
import type { StreamEventSource } from './template/stream-event-sources.js';
import type { FirehoseProcessorHandler } from './firehose/buffer-converter.js';
import { startLocalFirehose, type LocalFirehose } from './firehose/firehose.js';
import { startFirehoseApi, type FirehoseApi } from './firehose/direct-put.js';
import { LOCAL_FIREHOSE_DEFAULTS } from './firehose/delivery-stream.js';
import { settleSecondsFor } from '../functions/erase/erase.js';
import { S3_DATA_SUBDIR } from './storage/lake-location.js';
import { createLocalS3Client, ensureBucketFromTemplate, startS3Emulator, type S3Emulator } from './storage/s3.js';
import { localResourceName } from './template/names.js';
import { readTemplates, type Templates } from './template/templates.js';
import { DEFAULT_SHARD_COUNT, ensurePipelineStreams, LOCAL_STREAM_NAMES } from './kinesis/streams.js';

export const REPOSITORY_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/** The contract of `.local/endpoints.json`: tools, tests and people find the local services here. */
export interface LocalEndpoints {
  ingestUrl: string;
  /** The ingest function's own URL (serverless.yml `ingestFunctionUrl`, on for the local stage), or null. */
  ingestFunctionUrl: string | null;
  /** The live dashboard (dashboard/server.ts), once `npm start` serves it. */
  dashboardUrl: string | null;
  /** The tracker's demo shop (local/demo/tracker-demo.ts), once `npm start` serves it. */
  trackerDemoUrl: string | null;
  writeKey: string;
  /** Snowplow's trackers: the collector URL to configure (the ingest) and the app ids it accepts. */
  snowplow: { collectorUrl: string; appIds: string[] };
  region: string;
  kinesis: string;
  s3: string | null;
  dynamodb: string | null;
  /** The local Firehose API (PutRecord, PutRecordBatch) of the Direct PUT delivery streams: AWS_ENDPOINT_URL_FIREHOSE. */
  firehose: string | null;
  lakeBucket: string | null;
  streams: { raw: string; enriched: string; aggregates: string; anomalies: string };
  /** Erasure (`npm run erase`): how often the consumers read the suppression list, and when nothing of an erased person can land any more. */
  erasure: { refreshSeconds: number; settleSeconds: number };
  /** The stack's data dir: the lake is <dataDir>/s3/<lakeBucket>/ (npm run query reads it from there). */
  dataDir: string;
}

export interface LocalStackOptions {
  /** State that survives restarts: stream data, the write key, emulator logs. */
  dataDir: string;
  /** Ingest API port; 0 picks a free one. */
  ingestPort?: number;
  /** Port of the ingest function URL; 0 (default) picks a free one. */
  functionUrlPort?: number;
  /** Emulator ports; 0 picks a free one. A restart in the same process must reuse them (see loadHandlers). */
  kinesisPort?: number;
  dynamodbPort?: number;
  s3Port?: number;
  /** Port of the local Firehose API; 0 picks a free one. A restart in the same process must reuse it too. */
  firehosePort?: number;
  shardCount?: number;
  allowedOrigins?: string[];
  /** Snowplow app ids (`aid`) accepted, tied to the stack's write key (default: DEFAULT_SNOWPLOW_APP_IDS). */
  snowplowAppIds?: string[];
  serverlessYmlPath?: string;
  /** Where to write the endpoints file (removed again on stop); omitted means not written (tests). */
  endpointsFile?: string;
  /** Local Firehose buffering (default 1 MB / 5 s); tests use a shorter interval. */
  firehose?: { bufferSizeBytes?: number; bufferIntervalMs?: number };
  /** Run the Flink job (java + the local jar, built by Maven when stale). Off by default: it takes ~650 MB and ~30 s to emit. */
  analytics?: boolean;
  /** Flink job properties over the defaults (analytics/flink/src/main/resources/job-defaults.properties), e.g. a short silence window in tests. */
  analyticsProperties?: Record<string, string>;
  /** Where the Flink launcher's progress lines go. */
  log?: (line: string) => void;
}

export interface LocalStack {
  endpoints: LocalEndpoints;
  dataDir: string;
  kinesisPort: number;
  dynamodbPort: number;
  s3Port: number;
  firehosePort: number;
  /** One local Lambda event source mapping per stream consumer in serverless.yml. */
  mappings: EventSourceMapping[];
  /** One local delivery loop per Firehose delivery stream in the template. */
  firehose: LocalFirehose;
  /** The Flink job: running, or off with the reason (no java, no jar, not asked for). */
  analytics: FlinkJobStart;
  /** Adds what was started next to the stack (the dashboard, the demo shop) to `endpoints` and the endpoints file. */
  publishEndpoints(extra: Partial<Pick<LocalEndpoints, 'dashboardUrl' | 'trackerDemoUrl'>>): void;
  /** Stops HTTP intake and in-flight requests; with `drainMs`, lets the consumers and the local Firehose catch
   * up with what was accepted, for at most that long; then stops the consumers (checkpoints saved), the local
   * Firehose (buffers stored, checkpoints saved), and the emulators once their state is on disk. */
  stop(options?: { drainMs?: number }): Promise<StopReport>;
}

const WRITE_KEY_FILE = 'write-key';

/** The app id the local stack accepts from Snowplow's trackers unless told others (`npm start -- --snowplow-app-ids`). */
export const DEFAULT_SNOWPLOW_APP_IDS = ['local-web'];

/** What the local stand-ins need that serverless.yml says otherwise, by function key. */
function localFunctionOverrides(dataDir: string): Record<string, Record<string, string>> {
  return {
    // No SNS locally: alerts go to a file the dashboard reads (same publisher interface, chosen by configuration).
    alert: { ALERT_PUBLISHER: 'file', ALERTS_FILE: join(dataDir, 'alerts', 'alerts.jsonl') },
    // An erasure here should not wait a deployed minute for the consumers to see it.
    enrich: { ERASURE_REFRESH_SECONDS: String(LOCAL_ERASURE_REFRESH_SECONDS) },
    firehoseTransform: { ERASURE_REFRESH_SECONDS: String(LOCAL_ERASURE_REFRESH_SECONDS) },
  };
}

/** A stream consumer of a running stack, to run over records again (`npm run redrive`, `npm run replay`). */
export interface LocalStreamConsumer {
  source: StreamEventSource;
  /** One synchronous invocation, as its event source mapping makes them. */
  invoke(event: KinesisStreamEvent): Promise<KinesisStreamBatchResponse | void>;
}

/**
 * The stream consumers of the stack `endpoints` describes, each with the environment it has there. In the
 * stack's own process (tests), the handlers it loaded; in another (the commands), imported here.
 */
export async function localStreamConsumers(endpoints: LocalEndpoints): Promise<LocalStreamConsumer[]> {
  const templates = readTemplates(join(REPOSITORY_ROOT, 'serverless.yml'));
  const overrides = localFunctionOverrides(endpoints.dataDir);
  const consumers: LocalStreamConsumer[] = [];
  for (const source of templates.streamEventSources) {
    const { functionKey } = source.function;
    let handler = handlersLoadedWith?.handlers.stream[functionKey];
    if (!handler) {
      Object.assign(
        process.env,
        localAwsEnvironment({ kinesis: endpoints.kinesis, dynamodb: endpoints.dynamodb ?? undefined, s3: endpoints.s3 ?? undefined, firehose: endpoints.firehose ?? undefined }),
      );
      Object.assign(process.env, templates.environmentOf(functionKey), { POWERTOOLS_SERVICE_NAME: functionKey }, overrides[functionKey]);
      handler = await importHandler<StreamHandler>(REPOSITORY_ROOT, source.function.handler);
    }
    const loaded = handler;
    consumers.push({ source, invoke: async (event) => (await invokeLambda(source.function, loaded, event)) as KinesisStreamBatchResponse | void });
  }
  return consumers;
}

/** How often the local consumers read the suppression list of erased people (deployed: ERASURE_REFRESH_SECONDS, 60). */
export const LOCAL_ERASURE_REFRESH_SECONDS = 2;

export interface StopReport {
  /** True when every consumer and delivery stream had caught up with its stream before the stop. */
  drained: boolean;
  /** What was still on its way, e.g. "enrich λ ← events-raw: 1.2 s behind"; delivered at the next start. */
  behind: string[];
  drainMs: number;
}

export async function startLocalStack(options: LocalStackOptions): Promise<LocalStack> {
  const dataDir = resolve(options.dataDir);
  mkdirSync(dataDir, { recursive: true });
  const writeKey = loadOrCreateWriteKey(dataDir);
  const snowplowAppIds = options.snowplowAppIds ?? DEFAULT_SNOWPLOW_APP_IDS;
  const allowedOrigins = options.allowedOrigins ?? ['*'];
  const templates = readTemplates(options.serverlessYmlPath ?? join(REPOSITORY_ROOT, 'serverless.yml'));

  const emulators: { stop(): Promise<void> }[] = [];
  const mappings: EventSourceMapping[] = [];
  let gateway: HttpGateway | undefined;
  let functionUrl: HttpGateway | undefined;
  let firehoseApi: FirehoseApi | undefined;
  let firehose: LocalFirehose | undefined;
  let analytics: FlinkJobStart = { running: false, reason: 'analytics off because it was not asked for (npm start runs it)' };
  const stopAll = async (drainMs = 0): Promise<StopReport> => {
    await Promise.all([gateway?.close(), functionUrl?.close()]);
    const report = await drain(mappings, firehose, drainMs);
    await Promise.all(mappings.map((m) => m.stop()));
    // Checkpointed on stop; what it emitted last still reaches the lake through the local Firehose below.
    if (analytics.running) await analytics.stop();
    // After the consumers, so what they wrote last still reaches the lake; before the emulators it reads and writes.
    // It closes its API first: the producers (the consumers) have stopped.
    if (firehose) await firehose.stop();
    else await firehoseApi?.close();
    await Promise.all(emulators.map((e) => e.stop()));
    return report;
  };
  let kinesis: KinesisEmulator;
  let dynamodb: DynamoDbEmulator;
  let s3: S3Emulator;
  try {
    kinesis = await startKinesisEmulator({
      dataDir: join(dataDir, 'kinesis'),
      plainPort: options.kinesisPort ?? 0,
    });
    emulators.push(kinesis);
    dynamodb = await startDynamoDbEmulator({ dataDir: join(dataDir, 'dynamodb'), port: options.dynamodbPort ?? 0 });
    emulators.push(dynamodb);
    s3 = await startS3Emulator({ dataDir: join(dataDir, S3_DATA_SUBDIR), port: options.s3Port ?? 0 });
    emulators.push(s3);

    await createResources(templates, { kinesis: kinesis.endpoint, dynamodb: dynamodb.endpoint, s3: s3.endpoint }, options.shardCount);
    // Before the handlers are loaded: their Firehose clients read its endpoint at cold start. It creates the
    // hidden backing stream of each Direct PUT delivery stream.
    firehoseApi = await startFirehoseApi({
      definitions: templates.deliveryStreams,
      kinesis: createLocalKinesisClient(kinesis.endpoint),
      port: options.firehosePort ?? 0,
      logger: quietLogger,
    });
    const awsEnvironment = localAwsEnvironment({ kinesis: kinesis.endpoint, dynamodb: dynamodb.endpoint, s3: s3.endpoint, firehose: firehoseApi.endpoint });
    const handlers = await loadHandlers(templates, awsEnvironment, {
      RAW_STREAM_NAME: LOCAL_STREAM_NAMES.raw,
      // The write keys parameter's format (functions/ingest/write-keys.ts): the key, then its Snowplow app ids.
      WRITE_KEYS: [writeKey, ...snowplowAppIds.map((id) => `aid=${id}`)].join(' '),
      ALLOWED_ORIGINS: allowedOrigins.join(','),
      POWERTOOLS_SERVICE_NAME: 'ingest',
    }, localFunctionOverrides(dataDir));
    for (const source of templates.streamEventSources) {
      const handler = handlers.stream[source.function.functionKey];
      if (!handler) throw new Error(`no handler loaded for stream consumer ${source.function.functionKey}`);
      mappings.push(
        await startEventSourceMapping({ source, handler, kinesis: createLocalKinesisClient(kinesis.endpoint), dataDir, logger: quietLogger }),
      );
    }
    firehose = await startLocalFirehose({
      definitions: templates.deliveryStreams,
      processors: handlers.firehose,
      kinesis: createLocalKinesisClient(kinesis.endpoint),
      s3: createLocalS3Client(s3.endpoint),
      dataDir,
      ...options.firehose,
      api: firehoseApi,
      logger: quietLogger,
    });
    if (options.analytics) {
      analytics = await startFlinkJob({
        kinesisEndpoint: kinesis.endpoint,
        dataDir,
        restartOnCrash: true,
        ...(options.analyticsProperties ? { properties: options.analyticsProperties } : {}),
        ...(options.log ? { log: options.log } : {}),
      });
    }
    gateway = await startHttpGateway({ config: templates.httpApi, handlers: handlers.http, allowedOrigins, port: options.ingestPort ?? 0 });
    const ingest = templates.functions.get('ingest');
    if (ingest?.functionUrl && handlers.http['ingest']) {
      functionUrl = await startFunctionUrl({ lambda: ingest, handler: handlers.http['ingest'], port: options.functionUrlPort ?? 0 });
    }
  } catch (error) {
    await stopAll().catch(() => undefined);
    throw error;
  }

  const endpoints: LocalEndpoints = {
    ingestUrl: gateway.url,
    ingestFunctionUrl: functionUrl?.url ?? null,
    dashboardUrl: null,
    trackerDemoUrl: null,
    writeKey,
    snowplow: { collectorUrl: gateway.url, appIds: snowplowAppIds },
    region: LOCAL_REGION,
    kinesis: kinesis.endpoint,
    s3: s3.endpoint,
    dynamodb: dynamodb.endpoint,
    firehose: firehoseApi.endpoint,
    lakeBucket: localResourceName('LakeBucket'),
    streams: { ...LOCAL_STREAM_NAMES },
    // The local Firehose calls the transform as it flushes, so a row passes the suppression check just before it is written.
    erasure: {
      refreshSeconds: LOCAL_ERASURE_REFRESH_SECONDS,
      settleSeconds: settleSecondsFor({
        refreshSeconds: LOCAL_ERASURE_REFRESH_SECONDS,
        processingBufferSeconds: 0,
        bufferIntervalSeconds: (options.firehose?.bufferIntervalMs ?? LOCAL_FIREHOSE_DEFAULTS.bufferIntervalMs) / 1000,
        marginSeconds: 5,
      }),
    },
    dataDir,
  };
  const writeEndpointsFile = () => {
    if (!options.endpointsFile) return;
    writeFileAtomic(options.endpointsFile, `${JSON.stringify(endpoints, null, 2)}\n`);
  };
  writeEndpointsFile();

  let stopping: Promise<StopReport> | undefined;
  return {
    endpoints,
    dataDir,
    kinesisPort: kinesis.plainPort,
    dynamodbPort: dynamodb.port,
    s3Port: s3.port,
    firehosePort: firehoseApi.port,
    mappings,
    firehose,
    analytics,
    publishEndpoints: (extra) => {
      Object.assign(endpoints, extra);
      if (!stopping) writeEndpointsFile();
    },
    stop: (stopOptions = {}) =>
      (stopping ??= (async () => {
        // A stale endpoints file would send tools to ports nobody serves.
        if (options.endpointsFile) rmSync(options.endpointsFile, { force: true });
        return stopAll(stopOptions.drainMs);
      })()),
  };
}

/**
 * Waits, at most `drainMs`, until every consumer has processed everything on its stream and every delivery
 * stream has read to the tip of its source (its stop stores what it buffered): what was accepted before the
 * stop is then in the lake. Consumers feed delivery streams, so both must hold at one look, twice in a row.
 */
async function drain(mappings: EventSourceMapping[], firehose: LocalFirehose | undefined, drainMs: number): Promise<StopReport> {
  const started = Date.now();
  const lagging = (): string[] => [
    ...mappings.flatMap((m) => {
      const shards = Object.values(m.stats().shards);
      if (shards.every((shard) => shard.caughtUp)) return [];
      const behind = Math.max(0, ...shards.map((shard) => shard.millisBehindLatest ?? 0));
      return [`${m.source.function.functionKey} λ ← ${m.source.streamName}: ${(behind / 1000).toFixed(1)} s behind`];
    }),
    ...(firehose?.stats() ?? []).flatMap((d) =>
      Object.values(d.shards).every((shard) => shard.millisBehindLatest === 0) ? [] : [`${d.deliveryStream} ← ${d.sourceStream}: ${((d.millisBehindLatest ?? 0) / 1000).toFixed(1)} s behind`],
    ),
  ];
  let behind = lagging();
  let quietLooks = behind.length === 0 ? 1 : 0;
  while (drainMs > 0 && quietLooks < 2 && Date.now() - started < drainMs) {
    await sleep(500);
    behind = lagging();
    quietLooks = behind.length === 0 ? quietLooks + 1 : 0;
  }
  return { drained: behind.length === 0, behind, drainMs: Date.now() - started };
}

// Consumers log through Powertools already; the mapping's own notes stay out of the banner's way.
const quietLogger = { info: () => undefined, warn: console.warn, error: console.error };

/** The streams, the DynamoDB tables and the lake bucket, as serverless.yml declares them. */
async function createResources(
  templates: Templates,
  endpoints: { kinesis: string; dynamodb: string; s3: string },
  shardCount = DEFAULT_SHARD_COUNT,
): Promise<void> {
  const kinesis = createLocalKinesisClient(endpoints.kinesis);
  const dynamodb = createLocalDynamoDbClient(endpoints.dynamodb);
  const s3 = createLocalS3Client(endpoints.s3);
  try {
    await ensurePipelineStreams(kinesis, shardCount);
    for (const logicalId of templates.resourcesOfType('AWS::DynamoDB::Table')) await ensureTableFromTemplate(dynamodb, templates, logicalId);
    await ensureBucketFromTemplate(s3, templates, 'LakeBucket');
  } finally {
    kinesis.destroy();
    dynamodb.destroy();
    s3.destroy();
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
  // Atomic: a kill -9 mid-write must not leave an empty file, which the next start would replace with a new key.
  writeFileAtomic(file, `${writeKey}\n`, { mode: 0o600 });
  return writeKey;
}

interface LoadedHandlers {
  http: Record<string, HttpApiHandler>;
  stream: Record<string, StreamHandler>;
  /** Firehose transform Lambdas, by function key. */
  firehose: Record<string, FirehoseProcessorHandler>;
}

/** The handler modules are imported once per process, with the environment of the first stack that loads them. */
let handlersLoadedWith: { environment: string; handlers: LoadedHandlers } | undefined;

/**
 * Imports every function's module named by its serverless.yml `handler:`, each right after setting the
 * environment it reads at cold start. Module caching makes that once per process, so a second stack
 * with a different environment would silently talk to the first one's emulators: refuse it instead.
 */
async function loadHandlers(
  templates: Templates,
  awsEnvironment: Record<string, string>,
  ingestEnvironment: Record<string, string>,
  localOverrides: Record<string, Record<string, string>>,
): Promise<LoadedHandlers> {
  const fingerprint = JSON.stringify({ awsEnvironment, ingestEnvironment, localOverrides });
  if (handlersLoadedWith) {
    if (handlersLoadedWith.environment !== fingerprint) {
      throw new Error(
        'the Lambda handlers are already loaded in this process with another environment (emulator ports or write key); ' +
          'restart on the same data dir with the same ports, or use one process per stack',
      );
    }
    return handlersLoadedWith.handlers;
  }
  Object.assign(process.env, awsEnvironment, ingestEnvironment);
  const handlers: LoadedHandlers = { http: {}, stream: {}, firehose: {} };
  for (const lambda of templates.httpApi.functions.values()) {
    handlers.http[lambda.functionKey] = await importHandler<HttpApiHandler>(REPOSITORY_ROOT, lambda.handler);
  }
  // The local run's log level (npm start --log-level) wins over the stage's.
  const logLevel = process.env['POWERTOOLS_LOG_LEVEL'];
  const importWithEnvironment = async <T>(functionKey: string, handler: string): Promise<T> => {
    Object.assign(process.env, templates.environmentOf(functionKey), { POWERTOOLS_SERVICE_NAME: functionKey }, localOverrides[functionKey]);
    if (logLevel) process.env['POWERTOOLS_LOG_LEVEL'] = logLevel;
    return importHandler<T>(REPOSITORY_ROOT, handler);
  };
  for (const source of templates.streamEventSources) {
    const { functionKey, handler } = source.function;
    handlers.stream[functionKey] = await importWithEnvironment<StreamHandler>(functionKey, handler);
  }
  for (const { processor } of templates.deliveryStreams) {
    if (processor) handlers.firehose[processor.functionKey] = await importWithEnvironment<FirehoseProcessorHandler>(processor.functionKey, processor.handler);
  }
  handlersLoadedWith = { environment: fingerprint, handlers };
  return handlers;
}
