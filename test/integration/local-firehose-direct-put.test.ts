// Direct PUT on the local Firehose (local/firehose/direct-put.ts) on kinesalite + s3rver, driven with the REAL
// FirehoseClient of the handlers (functions/shared/aws-clients.ts, pointed at it by AWS_ENDPOINT_URL_FIREHOSE):
// PutRecordBatch answers once the records are in the delivery stream's backing stream, and they reach
// identities/link=…/ as Parquet exactly once, across a stop and a restart and across a crash; the API
// refuses what Firehose refuses, and the client throws the exception Firehose's answer names.
//
// The transform is the real one (functions/firehose-transform): its identities row mapping, chosen by the
// delivery stream's name, gives each row its `link` partition key.
import {
  FirehoseClient,
  type FirehoseServiceException,
  InvalidArgumentException,
  PutRecordBatchCommand,
  PutRecordCommand,
  ResourceNotFoundException,
  ServiceUnavailableException,
  type PutRecordBatchCommandOutput,
} from '@aws-sdk/client-firehose';
import { CreateBucketCommand, type S3Client } from '@aws-sdk/client-s3';
import type { KinesisClient } from '@aws-sdk/client-kinesis';
import type { FirehoseTransformationEvent } from 'aws-lambda';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { lakeRows, listKeys, waitFor } from './local-bucket.js';
import { duckDbType } from '../../analytics/athena/duckdb-lake.js';
import { firehoseClient } from '../../functions/shared/aws-clients.js';
import { rowMappingFor } from '../../functions/firehose-transform/row-mappings.js';
import { createRecordTransformer } from '../../functions/firehose-transform/transform-records.js';
import { IDENTITIES_TABLE } from '../../schemas/lake-tables.js';
import { LOCAL_REGION, localAwsEnvironment } from '../../local/aws-env.js';
import type { FirehoseProcessorHandler } from '../../local/firehose/buffer-converter.js';
import { startDeliveryStream, type DeliveryStreamOptions, type LocalDeliveryStream } from '../../local/firehose/delivery-stream.js';
import { startFirehoseApi, type FirehoseApi } from '../../local/firehose/direct-put.js';
import { startLocalFirehose } from '../../local/firehose/firehose.js';
import { createLocalKinesisClient } from '../../local/kinesis/client.js';
import { startKinesisEmulator, type KinesisEmulator } from '../../local/kinesis/emulator.js';
import { localStreamArn } from '../../local/kinesis/streams.js';
import { lakeDirectory, S3RVER_OBJECT_SUFFIX } from '../../local/storage/lake-location.js';
import { createLocalS3Client, startS3Emulator, type S3Emulator } from '../../local/storage/s3.js';
import { directPutBackingStreamName, type DeliveryStreamDefinition } from '../../local/template/delivery-streams.js';
import { localDeliveryStreamArn } from '../../local/template/names.js';
import { readTemplates } from '../../local/template/templates.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const quiet = { info: () => {}, warn: () => {}, error: console.error };

let dataDir: string;
let kinesisEmulator: KinesisEmulator;
let s3Emulator: S3Emulator;
let kinesis: KinesisClient;
let s3: S3Client;
let deployed: DeliveryStreamDefinition;
let kinesisSourced: DeliveryStreamDefinition;
/** The API the tests share (the delivery test runs one of its own too), with every delivery stream of this file. */
let api: FirehoseApi;
let firehose: FirehoseClient;
const definitions = new Map<string, DeliveryStreamDefinition>();

/** What the transform was invoked with, by delivery stream ARN. */
const invocations = new Map<string, FirehoseTransformationEvent[]>();

/** The real transform, with the row mapping of the invoking delivery stream (`…-identities`). */
const realTransform = createRecordTransformer({ logger: { warn: () => undefined, info: () => undefined } });
const transform: FirehoseProcessorHandler = (event) => {
  invocations.set(event.deliveryStreamArn, [...(invocations.get(event.deliveryStreamArn) ?? []), event]);
  return realTransform(event.records, rowMappingFor(event.deliveryStreamArn)).response;
};

/** The deployed identities wiring under a name and bucket of the test's own, so the tests don't see each other's records. */
function directPut(label: string): DeliveryStreamDefinition {
  const name = `dp-${label}-identities`;
  const streamName = directPutBackingStreamName(name);
  const definition: DeliveryStreamDefinition = {
    ...deployed,
    name,
    arn: localDeliveryStreamArn(name),
    source: { kind: 'direct-put', streamName, streamArn: localStreamArn(streamName), shardCount: 1, encrypted: true },
    bucket: name,
  };
  definitions.set(name, definition);
  return definition;
}

const SCENARIOS = ['delivery', 'restart', 'crash-stored', 'crash-buffered', 'refusals', 'throttled'] as const;

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'local-firehose-direct-put-'));
  [kinesisEmulator, s3Emulator] = await Promise.all([startKinesisEmulator({ dataDir: join(dataDir, 'kinesis') }), startS3Emulator({ dataDir: join(dataDir, 's3') })]);
  kinesis = createLocalKinesisClient(kinesisEmulator.endpoint);
  s3 = createLocalS3Client(s3Emulator.endpoint);
  const templates = readTemplates(join(ROOT, 'serverless.yml'));
  deployed = templates.deliveryStreams.find((d) => d.logicalId === 'IdentitiesDeliveryStream')!;
  kinesisSourced = templates.deliveryStreams.find((d) => d.logicalId === 'AggregatesDeliveryStream')!;
  for (const label of SCENARIOS) await s3.send(new CreateBucketCommand({ Bucket: directPut(label).bucket }));
  api = await startFirehoseApi({ definitions: [...definitions.values(), kinesisSourced], kinesis, logger: quiet });
  // The handlers' own client builder, pointed here the way the local stack points it.
  Object.assign(process.env, localAwsEnvironment({ kinesis: kinesisEmulator.endpoint, s3: s3Emulator.endpoint, firehose: api.endpoint }));
  firehose = firehoseClient();
});

afterAll(async () => {
  firehose?.destroy();
  await api?.close();
  kinesis?.destroy();
  s3?.destroy();
  await Promise.all([kinesisEmulator?.stop(), s3Emulator?.stop()]);
  rmSync(dataDir, { recursive: true, force: true });
});

function start(definition: DeliveryStreamDefinition, extra: Partial<DeliveryStreamOptions> = {}): Promise<LocalDeliveryStream> {
  return startDeliveryStream({ definition, processor: transform, kinesis, s3, dataDir: join(dataDir, definition.bucket), idlePollMs: 50, logger: quiet, ...extra });
}

/** Identity rows as the enrich stage writes them (schemas/identities), spread over two hours of first_seen. */
function identityRows(run: string, count: number, offset = 0): Buffer[] {
  return Array.from({ length: count }, (_, i) => {
    const n = offset + i;
    const firstSeen = Date.parse('2026-11-22T09:40:00.000Z') + n * 60_000;
    const iso = (ms: number) => new Date(ms).toISOString();
    return Buffer.from(
      JSON.stringify({ link: 'identify', anonymous_id: `a-${run}-${n}`, user_id: `u-${run}-${n}`, previous_id: null, first_seen: iso(firstSeen), last_seen: iso(firstSeen + 1_000), events: 1 }),
    );
  });
}

/** PutRecordBatch through the real client, 100 records a call; every record must be accepted. */
async function putAll(definition: DeliveryStreamDefinition, rows: Buffer[], client = firehose): Promise<PutRecordBatchCommandOutput[]> {
  const outputs: PutRecordBatchCommandOutput[] = [];
  for (let i = 0; i < rows.length; i += 100) {
    const out = await client.send(new PutRecordBatchCommand({ DeliveryStreamName: definition.name, Records: rows.slice(i, i + 100).map((Data) => ({ Data })) }));
    expect(out.FailedPutCount).toBe(0);
    outputs.push(out);
  }
  return outputs;
}


/** Exactly once: as many rows as user ids, and every user id of the run. */
async function expectOnce(bucket: string, run: string, count: number): Promise<void> {
  expect(await lakeRows(dataDir, bucket, `SELECT count(*) AS n, count(DISTINCT user_id) AS d FROM identities WHERE user_id LIKE 'u-${run}-%'`)).toEqual([{ n: BigInt(count), d: BigInt(count) }]);
}

const faults = (throttleShare: number) =>
  fetch(`${kinesisEmulator.endpoint}/_local/faults`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ throttleShare }) });

it('reads the identities delivery stream of infra/lake.yml as Direct PUT, with its backing stream', () => {
  expect(deployed).toMatchObject({
    name: 'clickstream-local-identities',
    source: { kind: 'direct-put', streamName: 'firehose-directput-clickstream-local-identities', shardCount: 1, encrypted: true },
    processor: { functionKey: 'firehoseTransform' },
    prefix: 'identities/link=!{partitionKeyFromLambda:link}/',
    errorPrefix: 'errors/identities/!{firehose:error-output-type}/dt=!{timestamp:yyyy-MM-dd}/',
  });
  expect(deployed.table).toBe(IDENTITIES_TABLE);
});

describe('delivery', () => {
  const run = `ok-${Date.now().toString(36)}`;
  const rows = identityRows(run, 240);
  let definition: DeliveryStreamDefinition;
  let outputs: PutRecordBatchCommandOutput[];
  let single: string | undefined;
  let stats: ReturnType<Awaited<ReturnType<typeof startLocalFirehose>>['stats']>;
  let endpoint: string | null;

  beforeAll(async () => {
    definition = definitions.get('dp-delivery-identities')!;
    // As the stack runs it: the API started first, then the Firehose that owns it.
    const ownApi = await startFirehoseApi({ definitions: [definition], kinesis, logger: quiet });
    const local = await startLocalFirehose({ definitions: [definition], processors: { firehoseTransform: transform }, api: ownApi, kinesis, s3, dataDir: join(dataDir, definition.bucket), bufferIntervalMs: 500, idlePollMs: 50, logger: quiet });
    endpoint = local.endpoint;
    const client = firehoseClientFor(ownApi.endpoint);
    try {
      outputs = await putAll(definition, rows.slice(0, 239), client);
      single = (await client.send(new PutRecordCommand({ DeliveryStreamName: definition.name, Record: { Data: rows[239]! } }))).RecordId;
    } finally {
      client.destroy();
    }
    await waitFor('every record stored', () => {
      const s = local.stats()[0]!;
      return s.recordsDelivered === 240 && s.bufferedRecords === 0;
    });
    stats = local.stats();
    await local.stop();
  });

  it('answers PutRecordBatch with a RecordId per record, no failure, Encrypted; PutRecord with its RecordId', () => {
    expect(outputs.map((o) => o.RequestResponses!.length)).toEqual([100, 100, 39]);
    for (const output of outputs) {
      expect(output).toMatchObject({ FailedPutCount: 0, Encrypted: true });
      for (const response of output.RequestResponses!) expect(response).toEqual({ RecordId: expect.stringMatching(/^\d+$/) });
    }
    expect(single).toMatch(/^\d+$/);
    const ids = [...outputs.flatMap((o) => o.RequestResponses!.map((r) => r.RecordId!)), single!];
    expect(new Set(ids).size).toBe(240);
  });

  it('hands the transform the Direct PUT event: the records by the RecordIds the producer got, no Kinesis source', () => {
    const events = invocations.get(definition.arn)!;
    const ids = [...outputs.flatMap((o) => o.RequestResponses!.map((r) => r.RecordId!)), single!];
    expect(events.flatMap((e) => e.records.map((r) => r.recordId)).sort()).toEqual(ids.sort());
    for (const event of events) {
      expect(event.deliveryStreamArn).toBe(definition.arn);
      expect(event).not.toHaveProperty('sourceKinesisStreamArn');
      for (const record of event.records) {
        expect(Object.keys(record).sort()).toEqual(['approximateArrivalTimestamp', 'data', 'recordId']);
      }
    }
  });

  it('writes every row once as Parquet under identities/link=…/ with the Glue columns, in the partition of its kind', async () => {
    const keys = await listKeys(s3, definition.bucket);
    expect(keys.length).toBeGreaterThan(0);
    for (const key of keys) expect(key).toMatch(/^identities\/link=identify\/dp-delivery-identities-1-\d{4}(-\d{2}){5}-[0-9a-f]{8}(-[0-9a-f]{4}){3}-[0-9a-f]{12}\.parquet$/);
    await expectOnce(definition.bucket, run, 240);
    const misplaced = await lakeRows(dataDir, definition.bucket, "SELECT user_id FROM identities WHERE link <> 'identify'");
    expect(misplaced).toEqual([]);
    const file = join(lakeDirectory(dataDir, definition.bucket), keys[0]! + S3RVER_OBJECT_SUFFIX);
    const described = await lakeRows(dataDir, definition.bucket, `DESCRIBE SELECT * FROM read_parquet('${file}', hive_partitioning = false)`);
    expect(described.map((c) => [c['column_name'], c['column_type']])).toEqual(IDENTITIES_TABLE.columns.map((c) => [c.name, duckDbType(c.type)]));
  });

  it('counts what the API accepted beside what the loop delivered, with direct-put as the source', () => {
    expect(endpoint).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(stats).toEqual([
      expect.objectContaining({
        deliveryStream: 'dp-delivery-identities',
        sourceStream: 'direct-put',
        directPut: { backingStream: 'firehose-directput-dp-delivery-identities', requests: 4, recordsAccepted: 240, recordsFailed: 0 },
        recordsIn: 240,
        recordsDelivered: 240,
        failedRecords: { 'processing-failed': 0, 'format-conversion-failed': 0, 'partitioning-failed': 0 },
      }),
    ]);
  });
});

describe('restarts', () => {
  it('a stop and a restart: what is put while the loop is stopped waits in the backing stream, and everything lands once', async () => {
    const run = `restart-${Date.now().toString(36)}`;
    const definition = definitions.get('dp-restart-identities')!;
    const first = await start(definition, { bufferIntervalMs: 300 });
    await putAll(definition, identityRows(run, 50));
    await waitFor('the first 50 stored', () => first.stats().recordsDelivered === 50);
    // Buffered when the stop comes: the stop stores them.
    const second50 = putAll(definition, identityRows(run, 50, 50));
    await second50;
    await first.stop();
    // Accepted while nothing delivers.
    await putAll(definition, identityRows(run, 50, 100));

    const second = await start(definition, { bufferIntervalMs: 300 });
    await putAll(definition, identityRows(run, 50, 150));
    await waitFor('everything stored', async () => second.stats().bufferedRecords === 0 && (await lakeRows(dataDir, definition.bucket, 'SELECT count(*) AS n FROM identities').then((r) => r[0]!['n'], () => 0n)) === 200n);
    await second.stop();
    await expectOnce(definition.bucket, run, 200);
    expect(first.stats().recordsIn + second.stats().recordsIn).toBe(200);
  });

  it('a crash after storing a buffer and before its checkpoint rewrites the same objects instead of adding duplicates', async () => {
    const run = `stored-${Date.now().toString(36)}`;
    const definition = definitions.get('dp-crash-stored-identities')!;
    let crashed: { keys: string[] } | undefined;
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
    await putAll(definition, identityRows(run, 60));
    await waitFor('the first buffer stored', () => crashed !== undefined);
    await first.abort();
    expect(await listKeys(s3, definition.bucket)).toEqual(expect.arrayContaining(crashed!.keys));

    // More records while it is down: buffering at restart would make a different buffer of them.
    await putAll(definition, identityRows(run, 60, 60));
    const second = await start(definition, { bufferIntervalMs: 300, bufferSizeBytes: 64 * 1024 * 1024 });
    // s3rver rewrites an object in place, so a read during the rewrite can meet a truncated file: poll on.
    const distinct = () => lakeRows(dataDir, definition.bucket, 'SELECT count(DISTINCT user_id) AS d FROM identities').then((rows) => rows[0]!['d'], () => -1n);
    await waitFor('everything stored', async () => (await distinct()) === 120n);
    await waitFor('nothing buffered', () => second.stats().bufferedRecords === 0);
    await second.stop();

    expect(second.stats().rangesRedelivered).toBe(1); // one shard: the one range the crash left planned
    expect(await listKeys(s3, definition.bucket)).toEqual(expect.arrayContaining(crashed!.keys));
    await expectOnce(definition.bucket, run, 120);
  });

  it('a crash mid-buffer, before anything is stored, loses nothing that was acknowledged', async () => {
    const run = `buffered-${Date.now().toString(36)}`;
    const definition = definitions.get('dp-crash-buffered-identities')!;
    const first = await start(definition, { bufferIntervalMs: 60_000 });
    await putAll(definition, identityRows(run, 30));
    await waitFor('30 records buffered', () => first.stats().bufferedRecords === 30);
    await first.abort();
    expect(await listKeys(s3, definition.bucket)).toEqual([]);

    const second = await start(definition, { bufferIntervalMs: 300 });
    await waitFor('everything stored', () => second.stats().recordsDelivered === 30 && second.stats().bufferedRecords === 0);
    await second.stop();
    await expectOnce(definition.bucket, run, 30);
  });
});

describe('what the API refuses, as Firehose answers it', () => {
  const definition = () => definitions.get('dp-refusals-identities')!;
  const counted = () => api.counters()[definition().name]!;
  const thrown = (promise: Promise<unknown>) => promise.then(() => undefined, (error: unknown) => error as FirehoseServiceException);
  const batch = (name: string, records: Uint8Array[]) => firehose.send(new PutRecordBatchCommand({ DeliveryStreamName: name, Records: records.map((Data) => ({ Data })) }));

  it('an unknown delivery stream: 400 ResourceNotFoundException, for PutRecordBatch and PutRecord', async () => {
    const error = await thrown(batch('no-such-stream', [Buffer.from('{}')]));
    expect(error).toBeInstanceOf(ResourceNotFoundException);
    expect(error?.$metadata.httpStatusCode).toBe(400);
    expect(error?.message).toBe('Firehose stream no-such-stream under account 000000000000 not found.');
    expect(await thrown(firehose.send(new PutRecordCommand({ DeliveryStreamName: 'no-such-stream', Record: { Data: Buffer.from('{}') } })))).toBeInstanceOf(ResourceNotFoundException);
  });

  it('a delivery stream with a Kinesis source: 400 InvalidArgumentException', async () => {
    const error = await thrown(batch(kinesisSourced.name, [Buffer.from('{}')]));
    expect(error).toBeInstanceOf(InvalidArgumentException);
    expect(error?.message).toMatch(/not permitted on KinesisStreamAsSource/);
  });

  it('more than 500 records, a record over 1,000 KiB, no record: 400 ValidationException; more than 4 MiB: 400 InvalidArgumentException; nothing accepted', async () => {
    const before = counted();
    const tooMany = await thrown(batch(definition().name, identityRows('many', 501)));
    expect(tooMany?.name).toBe('ValidationException');
    expect(tooMany?.$metadata.httpStatusCode).toBe(400);
    expect(tooMany?.message).toMatch(/^1 validation error detected: .* at 'records' failed to satisfy constraint: Member must have length less than or equal to 500$/);
    const tooLarge = await thrown(batch(definition().name, [Buffer.from('{}'), Buffer.alloc(1_024_001, 0x61)]));
    expect(tooLarge?.name).toBe('ValidationException');
    expect(tooLarge?.message).toMatch(/'records\.2\.member\.data' failed to satisfy constraint: Member must have length less than or equal to 1024000/);
    const none = await thrown(batch(definition().name, []));
    expect(none?.name).toBe('ValidationException');
    // Five records of 1,000,000 bytes: each within its limit, 4.77 MiB together.
    const tooMuch = await thrown(batch(definition().name, Array.from({ length: 5 }, () => Buffer.alloc(1_000_000, 0x61))));
    expect(tooMuch).toBeInstanceOf(InvalidArgumentException);
    expect(tooMuch?.message).toBe('Records size exceeds 4 MB limit');
    // Exactly 4 MiB is within the limit.
    const four = await batch(definition().name, [...Array.from({ length: 4 }, () => Buffer.alloc(1_000_000, 0x61)), Buffer.alloc(4 * 1024 * 1024 - 4_000_000, 0x61)]);
    expect(four.FailedPutCount).toBe(0);
    expect(counted()).toEqual({ requests: before.requests + 1, recordsAccepted: before.recordsAccepted + 5, recordsFailed: 0 });
  });

  it('a body that is not the operation\'s JSON: 400 InvalidArgumentException (the client sending it, and as plain HTTP)', async () => {
    const client = firehoseClient();
    // The real client, its serialised body replaced with a broken one on the way out.
    client.middlewareStack.add(
      (next) => async (args) => {
        const request = args.request as { body: string; headers: Record<string, string> };
        request.body = '{"DeliveryStreamName": "dp-refusals-identities", "Records": [{"Data": ';
        request.headers['content-length'] = String(Buffer.byteLength(request.body));
        return next(args);
      },
      { step: 'finalizeRequest', name: 'breakBody', priority: 'low' },
    );
    try {
      const error = await thrown(client.send(new PutRecordBatchCommand({ DeliveryStreamName: definition().name, Records: [{ Data: Buffer.from('{}') }] })));
      expect(error).toBeInstanceOf(InvalidArgumentException);
      expect(error?.$metadata.httpStatusCode).toBe(400);
    } finally {
      client.destroy();
    }

    const post = (body: string, target = 'Firehose_20150804.PutRecordBatch') =>
      fetch(api.endpoint, { method: 'POST', headers: { 'content-type': 'application/x-amz-json-1.1', 'x-amz-target': target }, body });
    const notBase64 = await post(JSON.stringify({ DeliveryStreamName: definition().name, Records: [{ Data: 'not base64!' }] }));
    expect(notBase64.status).toBe(400);
    expect(notBase64.headers.get('x-amzn-errortype')).toBe('InvalidArgumentException');
    expect(await notBase64.json()).toEqual({ __type: 'InvalidArgumentException', message: expect.stringMatching(/Data must be a base64 string/) });
    const notJson = await post('{"DeliveryStreamName": ');
    expect(await notJson.json()).toMatchObject({ __type: 'InvalidArgumentException' });
    const noName = await post(JSON.stringify({ Records: [{ Data: 'e30=' }] }));
    expect(await noName.json()).toEqual({ __type: 'ValidationException', message: "1 validation error detected: Value null at 'deliveryStreamName' failed to satisfy constraint: Member must not be null" });
    const other = await post('{}', 'Firehose_20150804.DescribeDeliveryStream');
    expect(other.status).toBe(400);
    expect(await other.json()).toMatchObject({ __type: 'UnknownOperationException' });
  });

  it('records the Kinesis emulator refuses come back as per-record ServiceUnavailableException failures, to send again', async () => {
    const run = `throttled-${Date.now().toString(36)}`;
    const target = definitions.get('dp-throttled-identities')!;
    const rows = identityRows(run, 20);
    await faults(1);
    let refused: PutRecordBatchCommandOutput;
    try {
      refused = await firehose.send(new PutRecordBatchCommand({ DeliveryStreamName: target.name, Records: rows.map((Data) => ({ Data })) }));
      // PutRecord has no per-record answer: the whole call fails, 500, which the client retries and then throws.
      const single = await thrown(firehose.send(new PutRecordCommand({ DeliveryStreamName: target.name, Record: { Data: rows[0]! } })));
      expect(single).toBeInstanceOf(ServiceUnavailableException);
    } finally {
      await faults(0);
    }
    expect(refused.FailedPutCount).toBe(20);
    for (const response of refused.RequestResponses!) expect(response).toEqual({ ErrorCode: 'ServiceUnavailableException', ErrorMessage: expect.stringMatching(/^Slow down\./) });

    // Sent again, they are accepted and delivered, once.
    await putAll(target, rows.filter((_, i) => refused.RequestResponses![i]!.ErrorCode));
    const stream = await start(target, { bufferIntervalMs: 300 });
    await waitFor('everything stored', () => stream.stats().recordsDelivered === 20 && stream.stats().bufferedRecords === 0);
    await stream.stop();
    await expectOnce(target.bucket, run, 20);
  });
});

/** A client of the delivery test's own API (the handlers' builder reads the one endpoint of the environment). */
function firehoseClientFor(endpoint: string): FirehoseClient {
  return new FirehoseClient({ region: LOCAL_REGION, endpoint, credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
}
