// events-raw → the REAL enrich handler, run by the local event source mapping with serverless.yml's wiring
// → events-enriched, on kinesalite + dynalite + s3rver. Reconciles written = enriched + bad rows + duplicates.
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { PutRecordsCommand, type KinesisClient } from '@aws-sdk/client-kinesis';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { eventsFromRequest } from '../../functions/ingest/events-from-request.js';
import { partitionKeyFor } from '../../functions/shared/partition-key.js';
import { localAwsEnvironment } from '../../local/aws-env.js';
import { createLocalDynamoDbClient, ensureTableFromTemplate, startDynamoDbEmulator, type DynamoDbEmulator } from '../../local/storage/dynamodb.js';
import { startEventSourceMapping, type EventSourceMapping, type StreamHandler } from '../../local/lambda/event-source-mapping.js';
import { importHandler } from '../../local/lambda/runtime.js';
import { createLocalKinesisClient } from '../../local/kinesis/client.js';
import { startKinesisEmulator, type KinesisEmulator } from '../../local/kinesis/emulator.js';
import { createLocalS3Client, ensureBucketFromTemplate, startS3Emulator, type S3Emulator } from '../../local/storage/s3.js';
import { readTemplates } from '../../local/template/templates.js';
import { ensurePipelineStreams, LOCAL_STREAM_NAMES } from '../../local/kinesis/streams.js';
import { readBadRows } from './bad-rows.js';
import { readAllRecords } from './kinesis-records.js';
import { startFirehoseApi, type FirehoseApi } from '../../local/firehose/direct-put.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const VALID_EVENTS = Number(process.env.ENRICH_PIPELINE_EVENTS ?? 300);
const quiet = { info: () => {}, warn: console.warn, error: console.error };

let dataDir: string;
let kinesisEmulator: KinesisEmulator;
let dynamoDbEmulator: DynamoDbEmulator;
let s3Emulator: S3Emulator;
let kinesis: KinesisClient;
let dynamoDb: DynamoDBClient;
let s3: S3Client;
let mapping: EventSourceMapping | undefined;
let lakeBucket: string;
let firehoseApi: FirehoseApi;
const templates = readTemplates(join(ROOT, 'serverless.yml'));
const source = templates.streamEventSource('enrich');

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'enrich-pipeline-'));
  [kinesisEmulator, dynamoDbEmulator, s3Emulator] = await Promise.all([
    startKinesisEmulator({ dataDir: join(dataDir, 'kinesis') }),
    startDynamoDbEmulator({ dataDir: join(dataDir, 'dynamodb') }),
    startS3Emulator({ dataDir: join(dataDir, 's3') }),
  ]);
  kinesis = createLocalKinesisClient(kinesisEmulator.endpoint);
  dynamoDb = createLocalDynamoDbClient(dynamoDbEmulator.endpoint);
  s3 = createLocalS3Client(s3Emulator.endpoint);
  await ensurePipelineStreams(kinesis, 2);
  // The identities delivery stream's Firehose API (Direct PUT), backed by a stream of the emulator.
  firehoseApi = await startFirehoseApi({ definitions: templates.deliveryStreams, kinesis, logger: quiet });
  await ensureTableFromTemplate(dynamoDb, templates, 'DedupLedgerTable');
  lakeBucket = await ensureBucketFromTemplate(s3, templates, 'LakeBucket');
  // Twice on purpose: a restart on the same data dir finds them there.
  await ensureTableFromTemplate(dynamoDb, templates, 'DedupLedgerTable');
  await ensureBucketFromTemplate(s3, templates, 'LakeBucket');
});

afterAll(async () => {
  await mapping?.stop();
  await firehoseApi?.close();
  for (const client of [kinesis, dynamoDb, s3]) client?.destroy();
  await Promise.all([kinesisEmulator?.stop(), dynamoDbEmulator?.stop(), s3Emulator?.stop()]);
  rmSync(dataDir, { recursive: true, force: true });
});

interface RawWrite {
  data: Buffer;
  partitionKey: string;
}

/** Valid events exactly as the ingest handler writes them (server fields added by its own code). */
function ingestedEvents(count: number, run: string): RawWrite[] {
  const now = Date.now();
  const batch = Array.from({ length: count }, (_, index) => ({
    type: index % 3 === 0 ? 'page' : 'track',
    ...(index % 3 === 0 ? { name: 'Home' } : { event: 'Product Viewed', properties: { sku: `sku-${index % 17}` } }),
    messageId: `valid-${index}-${run}`,
    anonymousId: `anon-${index % 23}-${run}`,
    // Three of the 23 visitors are signed in: their events carry both ids (identity links).
    ...(index % 23 < 3 ? { userId: `user-${index % 23}-${run}` } : {}),
    timestamp: new Date(now - 1_000).toISOString(),
    context: {
      userAgent: 'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Safari/605.1.15',
      page: { url: `https://shop.example/p/${index}?utm_source=news&utm_medium=email`, referrer: 'https://www.google.com/' },
    },
  }));
  const prepared = eventsFromRequest({ kind: 'batch' }, { batch, sentAt: new Date(now).toISOString() }, {
    receivedAtMs: now,
    sourceIp: '203.0.113.77',
    userAgent: undefined,
    writeKey: 'wk_test',
  });
  expect(prepared.rejected).toEqual([]);
  return prepared.events.map(({ event, data }) => ({ data, partitionKey: partitionKeyFor(event) }));
}

/** Events a producer writing to the stream directly could send: schema-invalid (track without event) and not JSON. */
function invalidRecords(run: string): RawWrite[] {
  const receivedAt = new Date().toISOString();
  const tracksWithoutEvent = Array.from({ length: 5 }, (_, index) => ({
    type: 'track',
    messageId: `invalid-${index}-${run}`,
    anonymousId: `anon-invalid-${run}`,
    receivedAt,
    timestamp: receivedAt,
    context: { ip: '198.51.100.4' },
  }));
  return [
    ...tracksWithoutEvent.map((event) => ({ data: Buffer.from(JSON.stringify(event)), partitionKey: event.anonymousId })),
    { data: Buffer.from('{"type":"track", this is not JSON'), partitionKey: `not-json-${run}` },
  ];
}

/** PutRecords in calls of ≤ 500; returns the highest sequence number written per shard. */
async function write(records: RawWrite[], highest: Map<string, bigint>): Promise<void> {
  for (let start = 0; start < records.length; start += 500) {
    const chunk = records.slice(start, start + 500);
    const response = await kinesis.send(
      new PutRecordsCommand({ StreamName: LOCAL_STREAM_NAMES.raw, Records: chunk.map((record) => ({ Data: record.data, PartitionKey: record.partitionKey })) }),
    );
    expect(response.FailedRecordCount ?? 0).toBe(0);
    for (const entry of response.Records ?? []) {
      const sequence = BigInt(entry.SequenceNumber!);
      if (sequence > (highest.get(entry.ShardId!) ?? 0n)) highest.set(entry.ShardId!, sequence);
    }
  }
}

async function untilCheckpointed(highest: Map<string, bigint>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const shards = mapping!.stats().shards;
    const done = [...highest].every(([shardId, sequence]) => {
      const checkpoint = shards[shardId]?.checkpoint;
      return checkpoint !== undefined && BigInt(checkpoint) >= sequence;
    });
    if (done) return;
    if (Date.now() > deadline) throw new Error(`not every record was checkpointed in ${timeoutMs} ms: ${JSON.stringify(mapping!.stats())}`);
    await sleep(100);
  }
}

const badRows = () => readBadRows(s3, lakeBucket);

it('enriches each valid event exactly once, keeps invalid ones as bad rows with reasons, and drops duplicates', { timeout: 110_000 }, async () => {
  // Config at cold start: the handler module reads its environment when imported.
  Object.assign(process.env, localAwsEnvironment({ kinesis: kinesisEmulator.endpoint, s3: s3Emulator.endpoint, dynamodb: dynamoDbEmulator.endpoint, firehose: firehoseApi.endpoint }), templates.environmentOf('enrich'), {
    POWERTOOLS_LOG_LEVEL: 'WARN',
  });
  const handler = await importHandler<StreamHandler>(ROOT, source.function.handler);

  const run = randomUUID().slice(0, 8);
  const valid = ingestedEvents(VALID_EVENTS, run);
  const invalid = invalidRecords(run);
  const highest = new Map<string, bigint>();
  // First pass: the valid events, the invalid ones, and 10 repeats written in a separate call right behind them.
  await write(valid, highest);
  await write(invalid, highest);
  const repeatsInStream = valid.slice(0, 10);
  await write(repeatsInStream, highest);
  const firstPass = valid.length + invalid.length + repeatsInStream.length;

  const startedAt = Date.now();
  mapping = await startEventSourceMapping({ source, handler, kinesis, dataDir: join(dataDir, 'state'), logger: quiet, idlePollMs: 100 });
  await untilCheckpointed(highest, 60_000);
  const seconds = (Date.now() - startedAt) / 1000;
  console.info(`raw→enriched on the emulators: ${firstPass} records in ${seconds.toFixed(2)} s = ${Math.round(firstPass / seconds)} records/s`);

  // Second pass: client retries arriving later, in other batches: only the dedup table can recognise them.
  const lateRepeats = valid.slice(50, 70);
  await write(lateRepeats, highest);
  await untilCheckpointed(highest, 30_000);

  const written = firstPass + lateRepeats.length;
  const enriched = (await readAllRecords(kinesis, LOCAL_STREAM_NAMES.enriched)).filter((record) => String(record.data.message_id ?? record.data.messageId).endsWith(run));
  const perMessageId = new Map<string, number>();
  for (const record of enriched) {
    const id = String(record.data.message_id ?? record.data.messageId);
    perMessageId.set(id, (perMessageId.get(id) ?? 0) + 1);
  }
  expect(perMessageId.size).toBe(VALID_EVENTS);
  expect([...perMessageId.values()].every((count) => count === 1)).toBe(true);
  for (let index = 0; index < VALID_EVENTS; index++) expect(perMessageId.has(`valid-${index}-${run}`)).toBe(true);

  const rows = await badRows();
  expect(rows).toHaveLength(invalid.length);
  for (const { key } of rows) expect(key).toMatch(/^bad-rows\/dt=\d{4}-\d{2}-\d{2}\/shardId-\d+-\d+\.jsonl$/);
  const schemaViolations = rows.filter(({ row }) => row.failure_type === 'schema_violation');
  expect(schemaViolations.map(({ row }) => row.message_id).sort()).toEqual(Array.from({ length: 5 }, (_, index) => `invalid-${index}-${run}`).sort());
  for (const { row } of schemaViolations) expect(row.reason).toMatch(/event/);
  const notJson = rows.filter(({ row }) => row.failure_type === 'invalid_json');
  expect(notJson).toHaveLength(1);
  expect(notJson[0]!.row).toMatchObject({ payload: '{"type":"track", this is not JSON', payload_encoding: 'utf-8', stream: LOCAL_STREAM_NAMES.raw });
  expect(notJson[0]!.row.reason).toMatch(/not JSON/);

  // The identity links, through the Firehose API: each signed-in visitor's link once (a container sends a
  // link again only after an hour), also across the late repeats.
  const identities = templates.deliveryStreams.find((d) => d.name.endsWith('-identities'))!;
  expect(identities.source.kind).toBe('direct-put');
  const links = (await readAllRecords(kinesis, identities.source.streamName)).map((record) => record.data).filter((row) => String(row.user_id).endsWith(run));
  expect(links.map((row) => [row.link, row.anonymous_id, row.user_id]).sort()).toEqual([0, 1, 2].map((v) => ['event', `anon-${v}-${run}`, `user-${v}-${run}`]));

  // Reconcile: nothing lost, nothing doubled.
  const duplicatesDropped = repeatsInStream.length + lateRepeats.length;
  expect(written).toBe(enriched.length + rows.length + duplicatesDropped);
  const stats = mapping.stats();
  expect(stats.recordsIn).toBe(written);
  expect(stats.deadLetters).toBe(0);
  expect(mapping.readDeadLetters()).toEqual([]);
});
