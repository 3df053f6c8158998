// The local Firehose (local/firehose/) on kinesalite + s3rver with the REAL transform Lambda and the
// wiring of infra/lake.yml: Ok rows reach events/dt=…/hour=…/ as Parquet with the Glue columns, failures
// reach errors/processing-failed/ as Firehose's error documents, and a crash, before or after a buffer's
// objects are stored, loses and duplicates nothing.
import { CreateBucketCommand, GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { PutRecordsCommand, type KinesisClient } from '@aws-sdk/client-kinesis';
import { DuckDBInstance } from '@duckdb/node-api';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { lakeRows, listKeys, waitFor } from './local-bucket.js';
import { duckDbType } from '../../analytics/athena/duckdb-lake.js';
import { EVENTS_TABLE } from '../../schemas/lake-tables.js';
import { LOCAL_RESOURCE_NAMES } from '../../local/template/names.js';
import type { DeliveryStreamDefinition } from '../../local/template/delivery-streams.js';
import { importHandler } from '../../local/lambda/runtime.js';
import { localAwsEnvironment } from '../../local/aws-env.js';
import type { FirehoseProcessorHandler } from '../../local/firehose/buffer-converter.js';
import { startDeliveryStream, type DeliveryStreamOptions, type LocalDeliveryStream } from '../../local/firehose/delivery-stream.js';
import { createLocalKinesisClient } from '../../local/kinesis/client.js';
import { startKinesisEmulator, type KinesisEmulator } from '../../local/kinesis/emulator.js';
import { DEFAULT_LAKE_BUCKET, lakeDirectory, S3RVER_OBJECT_SUFFIX } from '../../local/storage/lake-location.js';
import { createLocalS3Client, startS3Emulator, type S3Emulator } from '../../local/storage/s3.js';
import { readTemplates } from '../../local/template/templates.js';
import { ensureStream, localStreamArn } from '../../local/kinesis/streams.js';
import { enrichedEvent } from '../helpers/lake.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const quiet = { info: () => {}, warn: () => {}, error: console.error };

let dataDir: string;
let kinesisEmulator: KinesisEmulator;
let s3Emulator: S3Emulator;
let kinesis: KinesisClient;
let s3: S3Client;
let processor: FirehoseProcessorHandler;
let deployed: DeliveryStreamDefinition;

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'local-firehose-'));
  [kinesisEmulator, s3Emulator] = await Promise.all([startKinesisEmulator({ dataDir: join(dataDir, 'kinesis') }), startS3Emulator({ dataDir: join(dataDir, 's3') })]);
  kinesis = createLocalKinesisClient(kinesisEmulator.endpoint);
  s3 = createLocalS3Client(s3Emulator.endpoint);
  const templates = readTemplates(join(ROOT, 'serverless.yml'));
  deployed = templates.deliveryStreams.find((d) => d.logicalId === 'EventsDeliveryStream')!;
  const functionKey = deployed.processor!.functionKey;
  // The transform reads the suppression list of erased people from the lake bucket, on this S3.
  Object.assign(process.env, localAwsEnvironment({ kinesis: kinesisEmulator.endpoint, s3: s3Emulator.endpoint }));
  await s3.send(new CreateBucketCommand({ Bucket: LOCAL_RESOURCE_NAMES.LakeBucket }));
  Object.assign(process.env, templates.environmentOf(functionKey), { POWERTOOLS_SERVICE_NAME: functionKey, POWERTOOLS_LOG_LEVEL: 'ERROR' });
  processor = await importHandler<FirehoseProcessorHandler>(ROOT, deployed.processor!.handler);
});

afterAll(async () => {
  kinesis?.destroy();
  s3?.destroy();
  await Promise.all([kinesisEmulator?.stop(), s3Emulator?.stop()]);
  rmSync(dataDir, { recursive: true, force: true });
});

/** The deployed wiring, on a stream and bucket of the test's own so the tests don't see each other's records. */
async function isolated(name: string): Promise<DeliveryStreamDefinition> {
  await ensureStream(kinesis, name, 2, 30_000);
  await s3.send(new CreateBucketCommand({ Bucket: name }));
  return { ...deployed, source: { ...deployed.source, streamName: name, streamArn: localStreamArn(name) }, bucket: name };
}

function start(definition: DeliveryStreamDefinition, extra: Partial<DeliveryStreamOptions> = {}): Promise<LocalDeliveryStream> {
  return startDeliveryStream({ definition, processor, kinesis, s3, dataDir: join(dataDir, definition.bucket), idlePollMs: 50, logger: quiet, ...extra });
}

async function put(stream: string, records: { data: Buffer | string; partitionKey: string }[]): Promise<void> {
  for (let i = 0; i < records.length; i += 500) {
    const out = await kinesis.send(
      new PutRecordsCommand({ StreamName: stream, Records: records.slice(i, i + 500).map((r) => ({ Data: Buffer.from(r.data), PartitionKey: r.partitionKey })) }),
    );
    expect(out.FailedRecordCount ?? 0).toBe(0);
  }
}

/** Enriched events as the enrich stage writes them, spread over two event hours. */
function enrichedRecords(run: string, count: number, offset = 0) {
  return Array.from({ length: count }, (_, i) => {
    const n = offset + i;
    const timestamp = new Date(Date.parse('2026-11-22T09:40:00.000Z') + n * 60_000).toISOString();
    const event = enrichedEvent({
      type: 'page',
      name: `/p/${n % 4}`,
      event: undefined,
      messageId: `${run}-${n}`,
      anonymousId: `anon-${n % 5}`,
      timestamp,
      originalTimestamp: timestamp,
      receivedAt: new Date(Date.parse(timestamp) + 2_000).toISOString(),
    });
    return { data: JSON.stringify(event), partitionKey: `anon-${n % 5}` };
  });
}


it('reads the delivery stream of infra/lake.yml: source, processor, prefixes, table', () => {
  expect(deployed).toMatchObject({
    source: { logicalId: 'EnrichedEventsStream', streamName: 'events-enriched' },
    processor: { functionKey: 'firehoseTransform', handler: 'functions/firehose-transform/handler.handler', invocationBytes: 1024 * 1024, numberOfRetries: 3 },
    bucket: LOCAL_RESOURCE_NAMES.LakeBucket,
    prefix: 'events/dt=!{partitionKeyFromLambda:dt}/hour=!{partitionKeyFromLambda:hour}/',
    errorPrefix: 'errors/!{firehose:error-output-type}/dt=!{timestamp:yyyy-MM-dd}/',
    dynamicPartitioning: true,
  });
  expect(deployed.table).toBe(EVENTS_TABLE);
  expect(DEFAULT_LAKE_BUCKET).toBe(LOCAL_RESOURCE_NAMES.LakeBucket);
});

describe('delivery', () => {
  const run = `ok-${Date.now().toString(36)}`;
  let definition: DeliveryStreamDefinition;
  let stream: LocalDeliveryStream;
  const good = enrichedRecords(run, 40);
  const notJson = { data: '{"type":"page", oops', partitionKey: 'anon-x' };
  const notEnriched = { data: JSON.stringify({ type: 'track', messageId: `${run}-raw` }), partitionKey: 'anon-y' };

  beforeAll(async () => {
    definition = await isolated('fh-delivery');
    stream = await start(definition, { bufferIntervalMs: 500 });
    await put(definition.source.streamName, [...good.slice(0, 20), notJson, ...good.slice(20), notEnriched]);
    await waitFor('every record stored', () => {
      const s = stream.stats();
      return s.recordsIn === 42 && s.bufferedRecords === 0 && s.recordsDelivered + s.failedRecords['processing-failed'] === 42;
    });
    await stream.stop();
  });

  it('writes Ok rows as Parquet under events/dt=…/hour=…/ with Firehose-like names, and counts them', async () => {
    const keys = await listKeys(s3, definition.bucket, 'events/');
    expect(keys.length).toBeGreaterThan(0);
    for (const key of keys) {
      expect(key).toMatch(/^events\/dt=2026-11-22\/hour=(09|10)\/clickstream-local-events-1-\d{4}-\d{2}-\d{2}-\d{2}-\d{2}-\d{2}-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\.parquet$/);
    }
    const stats = stream.stats();
    expect(stats).toMatchObject({ recordsIn: 42, recordsDelivered: 40, dropped: 0, failedRecords: { 'processing-failed': 2, 'format-conversion-failed': 0, 'partitioning-failed': 0 }, lagMs: 0 });
    expect(stats.objectsWritten).toBe(keys.length + 1); // + the error object
    expect(stats.bytesWritten).toBeGreaterThan(0);
  });

  it('stores each event once, with the Glue columns, in the partition of its event time', async () => {
    const [counts] = await lakeRows(dataDir, definition.bucket, 'SELECT count(*) AS n, count(DISTINCT message_id) AS d FROM events');
    expect(counts).toEqual({ n: 40n, d: 40n });
    const misplaced = await lakeRows(
      dataDir,
      definition.bucket,
      "SELECT message_id FROM events WHERE dt <> strftime(event_time, '%Y-%m-%d') OR hour <> hour(event_time) OR event_date <> dt OR event_hour <> hour",
    );
    expect(misplaced).toEqual([]);
    const [hours] = await lakeRows(dataDir, definition.bucket, 'SELECT count(DISTINCT hour) AS h FROM events');
    expect(hours).toEqual({ h: 2n });

    // The file itself: exactly the table's columns (partition keys are in the path), typed as Glue says.
    const file = join(lakeDirectory(dataDir, definition.bucket), (await listKeys(s3, definition.bucket, 'events/'))[0]! + S3RVER_OBJECT_SUFFIX);
    const instance = await DuckDBInstance.create(':memory:');
    const connection = await instance.connect();
    try {
      const described = (await connection.runAndReadAll(`DESCRIBE SELECT * FROM read_parquet('${file}', hive_partitioning = false)`)).getRowObjectsJS();
      expect(described.map((c) => [c['column_name'], c['column_type']])).toEqual(EVENTS_TABLE.columns.map((c) => [c.name, duckDbType(c.type)]));
      const [codec] = (await connection.runAndReadAll(`SELECT DISTINCT compression FROM parquet_metadata('${file}')`)).getRowObjectsJS();
      expect(codec).toEqual({ compression: 'SNAPPY' });
    } finally {
      connection.closeSync();
      instance.closeSync();
    }
  });

  it('writes ProcessingFailed records to errors/processing-failed/ as Firehose error documents', async () => {
    const keys = await listKeys(s3, definition.bucket, 'errors/');
    expect(keys).toHaveLength(1);
    expect(keys[0]).toMatch(/^errors\/processing-failed\/dt=\d{4}-\d{2}-\d{2}\/clickstream-local-events-1-[\d-]{19}-[0-9a-f-]{36}$/);
    const body = await (await s3.send(new GetObjectCommand({ Bucket: definition.bucket, Key: keys[0]! }))).Body!.transformToString();
    const documents = body.trim().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(documents.map((d) => Buffer.from(d['rawData'] as string, 'base64').toString('utf8')).sort()).toEqual([notJson.data, notEnriched.data].sort());
    for (const document of documents) {
      expect(Object.keys(document).sort()).toEqual(['arrivalTimestamp', 'attemptEndingTimestamp', 'attemptsMade', 'errorCode', 'errorMessage', 'lambdaArn', 'rawData']);
      expect(document).toMatchObject({ attemptsMade: 1, errorCode: 'Lambda.ProcessingFailedStatus', lambdaArn: deployed.processor!.arn });
      expect(keys[0]).toContain(`dt=${new Date(document['arrivalTimestamp'] as number).toISOString().slice(0, 10)}/`);
    }
  });
});

describe('restarts', () => {
  it('a crash mid-buffer, before anything is stored, loses nothing: the restart reads the records again', async () => {
    const run = `mid-${Date.now().toString(36)}`;
    const definition = await isolated('fh-crash-buffered');
    const first = await start(definition, { bufferIntervalMs: 60_000 });
    await put(definition.source.streamName, enrichedRecords(run, 30));
    await waitFor('30 records buffered', () => first.stats().bufferedRecords === 30);
    await first.abort();
    expect(await listKeys(s3, definition.bucket)).toEqual([]);

    const second = await start(definition, { bufferIntervalMs: 300 });
    await waitFor('everything stored', () => second.stats().recordsDelivered === 30 && second.stats().bufferedRecords === 0);
    await second.stop();
    expect(await lakeRows(dataDir, definition.bucket, 'SELECT count(*) AS n, count(DISTINCT message_id) AS d FROM events')).toEqual([{ n: 30n, d: 30n }]);
  });

  it('a crash after storing a buffer and before its checkpoint rewrites the same objects instead of adding duplicates', async () => {
    const run = `stored-${Date.now().toString(36)}`;
    const definition = await isolated('fh-crash-stored');
    let crashed: { shardId: string; first: string; last: string; keys: string[] } | undefined;
    // The hook can only run once records are put, after `first` is assigned.
    const first: LocalDeliveryStream = await start(definition, {
      bufferIntervalMs: 300,
      hooks: {
        afterObjectsStored: (info) => {
          if (crashed) return;
          crashed = info;
          void first.abort(); // the process dies here: objects stored, checkpoint not moved
        },
      },
    });
    await put(definition.source.streamName, enrichedRecords(run, 30));
    await waitFor('the first buffer stored', () => crashed !== undefined);
    await first.abort();
    // Ranges the crash left planned and not checkpointed (the other shard may have been mid-delivery too).
    const checkpointFile = join(dataDir, definition.bucket, 'firehose', `${definition.name}.json`);
    const saved = JSON.parse(readFileSync(checkpointFile, 'utf8')) as { shards: Record<string, { planned?: { first: string; last: string } }> };
    expect(saved.shards[crashed!.shardId]!.planned).toEqual({ first: crashed!.first, last: crashed!.last });
    const planned = Object.values(saved.shards).filter((s) => s.planned).length;
    const afterCrash = await listKeys(s3, definition.bucket, 'events/');
    expect(afterCrash).toEqual(expect.arrayContaining(crashed!.keys));

    // More records arrive while it is down: buffering at restart would now make a different, larger buffer.
    await put(definition.source.streamName, enrichedRecords(run, 30, 30));
    const second = await start(definition, { bufferIntervalMs: 300, bufferSizeBytes: 64 * 1024 * 1024 });
    // s3rver rewrites an object in place, so a read during the rewrite can meet a truncated file: poll on.
    const distinct = () => lakeRows(dataDir, definition.bucket, 'SELECT count(DISTINCT message_id) AS d FROM events').then((rows) => rows[0]!['d'], () => -1n);
    await waitFor('everything stored', async () => (await distinct()) === 60n);
    await waitFor('nothing buffered', () => second.stats().bufferedRecords === 0);
    await second.stop();

    expect(second.stats().rangesRedelivered).toBe(planned);
    // The crashed buffer's objects were written again under the same keys, not beside them.
    const keys = await listKeys(s3, definition.bucket, 'events/');
    expect(keys).toEqual(expect.arrayContaining(crashed!.keys));
    expect(await lakeRows(dataDir, definition.bucket, 'SELECT count(*) AS n, count(DISTINCT message_id) AS d FROM events')).toEqual([{ n: 60n, d: 60n }]);
  });
});
