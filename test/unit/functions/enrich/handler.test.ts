// The enrich Lambda through its real wiring (Powertools batch processor, middy), with Kinesis,
// DynamoDB and S3 mocked. Every call is logged in order, to check what happens before what. Each test
// starts a new execution environment (the dedup ledger keeps what it read in memory).
import { DynamoDBClient, PutItemCommand, QueryCommand } from '@aws-sdk/client-dynamodb';
import { GetRecordsCommand, GetShardIteratorCommand, KinesisClient, ListShardsCommand, PutRecordsCommand, type PutRecordsCommandInput } from '@aws-sdk/client-kinesis';
import { GetObjectCommand, NoSuchKey, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import type { KinesisStreamBatchResponse, KinesisStreamEvent } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { ledgerHash } from '../../../../functions/enrich/dedup-ledger.js';
import type * as HandlerModule from '../../../../functions/enrich/handler.js';
import { validateBadRow, validateEnrichedEvent } from '../../../../schemas/index.js';
import { kinesisEvent, lambdaContext, rawEvent, sequenceNumber, SHARD_ID } from '../../../helpers/factories.js';
import { LedgerTable } from '../../../helpers/ledger-table.js';

const kinesis = mockClient(KinesisClient);
const dynamo = mockClient(DynamoDBClient);
const s3 = mockClient(S3Client);
let handler: typeof HandlerModule.handler;

/** Every AWS call, in order: "lookup", "intent:a,b", "put:a,b", "ok" (or "ok-but:a" with what was not written), "bad-rows:<key>". */
let calls: string[] = [];
/** messageIds the stub Kinesis refuses every time (as if their shard were throttled). */
let refused = new Set<string>();
/** The dedup ledger's table. */
let table: LedgerTable;
/** When set, ok items (not intents) fail: the function ends between its write and its ok. */
let oksFail = false;
/** Everything the stub events-enriched holds (for the check after an interrupted attempt). */
let enrichedStream: Uint8Array[] = [];

const idOfData = (data: Uint8Array | undefined) => (JSON.parse(Buffer.from(data!).toString('utf8')) as { messageId: string }).messageId;
/** The ledger stores 12-byte hashes: the test's ids, by hash, to log them readably. */
const idOfHash = new Map(Array.from({ length: 20 }, (_, i) => [ledgerHash(`m-${i}`), `m-${i}`]));
const idsOf = (bytes: Uint8Array | undefined) => {
  const text = Buffer.from(bytes ?? new Uint8Array()).toString('latin1');
  return Array.from({ length: text.length / 12 }, (_, i) => idOfHash.get(text.slice(i * 12, i * 12 + 12)) ?? '?').join(',');
};

/** A new execution environment: the handler module loaded again, with an empty memory. */
async function newEnvironment() {
  vi.resetModules();
  ({ handler } = await import('../../../../functions/enrich/handler.js'));
}

beforeAll(() => {
  Object.assign(process.env, {
    ENRICHED_STREAM_NAME: 'clickstream-dev-events-enriched',
    DEDUP_TABLE_NAME: 'clickstream-dev-enrich-dedup-ledger',
    LAKE_BUCKET_NAME: 'clickstream-dev-lake',
    POWERTOOLS_LOG_LEVEL: 'SILENT',
  });
});

beforeEach(async () => {
  await newEnvironment();
  calls = [];
  refused = new Set();
  table = new LedgerTable();
  oksFail = false;
  enrichedStream = [];
  kinesis.reset();
  dynamo.reset();
  s3.reset();
  // Nobody erased yet: the suppression list does not exist.
  s3.on(GetObjectCommand).rejects(new NoSuchKey({ message: 'The specified key does not exist.', $metadata: {} }));
  kinesis.on(PutRecordsCommand).callsFake((input: PutRecordsCommandInput) => {
    const ids = input.Records!.map((r) => idOfData(r.Data));
    calls.push(`put:${ids.join(',')}`);
    const results = ids.map((id) =>
      refused.has(id)
        ? { ErrorCode: 'ProvisionedThroughputExceededException', ErrorMessage: 'Rate exceeded for shard' }
        : { SequenceNumber: '1', ShardId: SHARD_ID },
    );
    input.Records!.forEach((r, i) => {
      if (!('ErrorCode' in results[i]!)) enrichedStream.push(r.Data!);
    });
    return { FailedRecordCount: results.filter((r) => 'ErrorCode' in r).length, Records: results };
  });
  kinesis.on(ListShardsCommand).resolves({ Shards: [{ ShardId: SHARD_ID, HashKeyRange: undefined, SequenceNumberRange: undefined }] });
  kinesis.on(GetShardIteratorCommand).callsFake(() => {
    calls.push('check-stream');
    return { ShardIterator: 'iterator-0' };
  });
  kinesis.on(GetRecordsCommand).callsFake(() => ({ Records: enrichedStream.map((Data, i) => ({ Data, SequenceNumber: String(i), PartitionKey: 'k' })), MillisBehindLatest: 0 }));
  dynamo.on(QueryCommand).callsFake((input) => {
    calls.push('lookup');
    return table.query(input);
  });
  dynamo.on(PutItemCommand).callsFake((input) => {
    const sort: string = input.Item.batch.S;
    if (sort.endsWith('#ok')) {
      if (oksFail) throw Object.assign(new Error('injected'), { name: 'ValidationException' });
      calls.push(input.Item.failed ? `ok-but:${idsOf(input.Item.failed.B)}` : 'ok');
    } else {
      calls.push(`intent:${idsOf(input.Item.ids.B)}`);
    }
    return table.put(input);
  });
  s3.on(PutObjectCommand).callsFake((input) => {
    calls.push(`bad-rows:${input.Key}`);
    return {};
  });
});

afterAll(() => {
  kinesis.restore();
  dynamo.restore();
  s3.restore();
});

// Enough time for the whole batch but only ~300 ms of write retries (the rest is kept for bad rows and marks).
const invoke = async (event: KinesisStreamEvent, remainingMs = 2_300) =>
  (await handler(event, lambdaContext(remainingMs))) as KinesisStreamBatchResponse;

const event = (id: string, overrides: Record<string, unknown> = {}) => rawEvent({ messageId: id, ...overrides });
const written = () =>
  kinesis.commandCalls(PutRecordsCommand).flatMap((c) =>
    c.args[0].input.Records!.map((r) => ({ key: r.PartitionKey, event: JSON.parse(Buffer.from(r.Data!).toString('utf8')) as Record<string, unknown> })),
  );
const failures = (response: KinesisStreamBatchResponse) => response.batchItemFailures.map((f) => f.itemIdentifier);
const badRowLines = () =>
  s3.commandCalls(PutObjectCommand).map((c) => String(c.args[0].input.Body).trimEnd().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>));

describe('enrich: the happy path', () => {
  it('writes every event, enriched, to events-enriched in one call, keyed like ingest', async () => {
    const response = await invoke(kinesisEvent([event('m-1'), event('m-2', { anonymousId: 'anon-2' }), event('m-3', { anonymousId: undefined, userId: 'u-3' })]));
    expect(failures(response)).toEqual([]);
    expect(kinesis.commandCalls(PutRecordsCommand)).toHaveLength(1);
    expect(kinesis.commandCalls(PutRecordsCommand)[0]!.args[0].input.StreamName).toBe('clickstream-dev-events-enriched');
    const records = written();
    expect(records.map((r) => r.key)).toEqual(['anon-7f3a9c', 'anon-2', 'u-3']);
    for (const { event: e } of records) expect(validateEnrichedEvent(e)).toMatchObject({ ok: true });
    expect(records[0]!.event).toMatchObject({ context: { ip: '203.0.113.0' }, enrichment: { browser_name: 'Chrome', device_type: 'desktop' } });
    expect(s3.commandCalls(PutObjectCommand)).toHaveLength(0);
  });
});

describe('enrich: partial failure reporting', () => {
  it('reports exactly the records Kinesis kept refusing, by sequence number', async () => {
    refused = new Set(['m-2', 'm-4']);
    const response = await invoke(kinesisEvent([event('m-1'), event('m-2'), event('m-3'), event('m-4'), event('m-5')]));
    expect(failures(response)).toEqual([sequenceNumber(1), sequenceNumber(3)]);
    // The writer retried only the refused records.
    expect(calls.filter((c) => c.startsWith('put:')).slice(1).every((c) => c === 'put:m-2,m-4')).toBe(true);
  });

  it('fails the whole batch (so Lambda bisects and retries) when nothing could be written', async () => {
    refused = new Set(['m-1', 'm-2']);
    await expect(invoke(kinesisEvent([event('m-1'), event('m-2')]))).rejects.toThrow(/All records failed/i);
    expect(calls.filter((c) => c.startsWith('intent:') || c.startsWith('ok'))).toEqual(['intent:m-1,m-2', 'ok-but:m-1,m-2']);
  });
});

describe('enrich: dedup', () => {
  it('drops repeats of a messageId inside the batch: written and settled once, not a failure', async () => {
    const response = await invoke(kinesisEvent([event('m-1'), event('m-2'), event('m-1'), event('m-1')]));
    expect(failures(response)).toEqual([]);
    expect(written().map((r) => r.event['messageId'])).toEqual(['m-1', 'm-2']);
    expect(calls).toEqual(['lookup', 'intent:m-1,m-2', 'put:m-1,m-2', 'ok']);
  });

  it('drops events an earlier batch delivered, read by another execution environment, without failing them', async () => {
    await invoke(kinesisEvent([event('m-1'), event('m-3')]));
    await newEnvironment();
    kinesis.resetHistory();
    calls = [];
    const response = await invoke(kinesisEvent([event('m-1'), event('m-2'), event('m-3')], 2));
    expect(failures(response)).toEqual([]);
    expect(written().map((r) => r.event['messageId'])).toEqual(['m-2']);
    expect(calls).toEqual(['lookup', 'intent:m-2', 'put:m-2', 'ok']);
  });

  it('costs two PutItems and one Query per batch, however many events: no call per event', async () => {
    const ids = Array.from({ length: 20 }, (_, i) => `m-${i}`);
    await invoke(kinesisEvent(ids.slice(0, 10).map((id) => event(id))));
    await invoke(kinesisEvent(ids.map((id) => event(id)), 10));
    expect(written()).toHaveLength(20);
    expect(dynamo.commandCalls(QueryCommand)).toHaveLength(2);
    expect(dynamo.commandCalls(PutItemCommand)).toHaveLength(4);
  });

  it('looks up, then records the intent, then writes, then settles, naming what was not written', async () => {
    refused = new Set(['m-2']);
    await invoke(kinesisEvent([event('m-1'), event('m-2'), event('m-3')]));
    expect(calls[0]).toBe('lookup');
    expect(calls[1]).toBe('intent:m-1,m-2,m-3');
    expect(calls[2]).toBe('put:m-1,m-2,m-3');
    expect(calls.at(-1)).toBe('ok-but:m-2');
    expect(calls.slice(3, -1).every((c) => c === 'put:m-2')).toBe(true);
  });

  it('a redelivery after an attempt ended between its write and its ok writes nothing twice', async () => {
    // Prepare: the first attempt writes m-1 and m-2, then cannot settle them (as if the function had died there).
    oksFail = true;
    await invoke(kinesisEvent([event('m-1'), event('m-2')]));
    expect(written().map((r) => r.event['messageId'])).toEqual(['m-1', 'm-2']);

    // Act: Lambda delivers the batch again, to a new environment, with one more record behind it.
    oksFail = false;
    await newEnvironment();
    kinesis.resetHistory();
    calls = [];
    const response = await invoke(kinesisEvent([event('m-1'), event('m-2'), event('m-3')]));

    // Assess: events-enriched was checked once; m-1 and m-2 are settled, not written again; m-3 is written.
    expect(failures(response)).toEqual([]);
    expect(calls.filter((c) => c === 'check-stream')).toHaveLength(1);
    expect(written().map((r) => r.event['messageId'])).toEqual(['m-3']);
    expect(calls.filter((c) => c.startsWith('intent:'))).toEqual(['intent:m-1,m-2,m-3']);
    expect(enrichedStream).toHaveLength(3);
  });

  it('when Lambda bisects the batch of an interrupted attempt, both halves write nothing twice', async () => {
    oksFail = true;
    await invoke(kinesisEvent(['m-1', 'm-2', 'm-3', 'm-4'].map((id) => event(id))));
    oksFail = false;
    await newEnvironment();
    kinesis.resetHistory();
    const events = kinesisEvent(['m-1', 'm-2', 'm-3', 'm-4'].map((id) => event(id)));
    expect(failures(await invoke({ Records: events.Records.slice(0, 2) }))).toEqual([]);
    expect(failures(await invoke({ Records: events.Records.slice(2) }))).toEqual([]);
    expect(written()).toEqual([]);
    expect(calls.filter((c) => c === 'check-stream')).toHaveLength(2);
    expect(enrichedStream).toHaveLength(4);
  });

  it('does not read events-enriched when the earlier attempt settled everything it wrote', async () => {
    await invoke(kinesisEvent([event('m-1'), event('m-2')]));
    await newEnvironment();
    calls = [];
    await invoke(kinesisEvent([event('m-1'), event('m-2')]));
    expect(calls).toEqual(['lookup']);
  });

  it('a retried batch emits nothing twice: what was written and settled is dropped, the rest is written', async () => {
    refused = new Set(['m-2']);
    const first = await invoke(kinesisEvent([event('m-1'), event('m-2'), event('m-3')]));
    expect(failures(first)).toEqual([sequenceNumber(1)]);
    // Lambda retries from the lowest failed sequence number.
    refused = new Set();
    kinesis.resetHistory();
    const retry = await invoke(kinesisEvent([event('m-2'), event('m-3')], 1));
    expect(failures(retry)).toEqual([]);
    expect(written().map((r) => r.event['messageId'])).toEqual(['m-2']);
  });
});

describe('enrich: bad rows', () => {
  it('stores each kind of bad record as one JSON-lines object under a key from the shard and first sequence number', async () => {
    const response = await invoke(
      kinesisEvent([
        event('m-1'),
        [undefined, { data: '{"type":"track","messageId":' }],
        event('m-3', { event: undefined }),
        [undefined, { data: JSON.stringify(event('m-4', { properties: { blob: 'x'.repeat(70_000) } })) }],
        event('m-5', { timestamp: undefined }),
        [undefined, { data: Buffer.from([0xc3, 0x28, 0x7b]) }],
      ]),
    );
    expect(failures(response)).toEqual([]);
    expect(written().map((r) => r.event['messageId'])).toEqual(['m-1']);
    const puts = s3.commandCalls(PutObjectCommand);
    expect(puts).toHaveLength(1);
    expect(puts[0]!.args[0].input).toMatchObject({
      Bucket: 'clickstream-dev-lake',
      Key: `bad-rows/dt=2026-11-22/${SHARD_ID}-${sequenceNumber(0)}.jsonl`,
    });
    const rows = badRowLines()[0]!;
    for (const row of rows) expect(validateBadRow(row)).toMatchObject({ ok: true });
    expect(rows.map((r) => [r['failure_type'], r['message_id'], r['sequence_number']])).toEqual([
      ['invalid_json', null, sequenceNumber(1)],
      ['schema_violation', 'm-3', sequenceNumber(2)],
      ['size_violation', null, sequenceNumber(3)],
      ['enrichment_failure', 'm-5', sequenceNumber(4)],
      ['invalid_json', null, sequenceNumber(5)],
    ]);
    expect(rows[0]).toMatchObject({ payload: '{"type":"track","messageId":', payload_encoding: 'utf-8', stream: 'clickstream-dev-events-raw', shard_id: SHARD_ID });
    expect(rows[4]).toMatchObject({ payload: Buffer.from([0xc3, 0x28, 0x7b]).toString('base64'), payload_encoding: 'base64' });
    expect(rows[2]!['reason']).toMatch(/bytes; the limit is 65536/);
  });

  it('makes a bad row, not a failed batch, of JSON nested too deep: 100,000 levels (over the size limit too) and 30,000 (under it)', async () => {
    const nested = (levels: number) => `${JSON.stringify(event('m-deep')).slice(0, -1)},"traits":{"t":${'['.repeat(levels)}${']'.repeat(levels)}}}`;
    const response = await invoke(kinesisEvent([[undefined, { data: nested(100_000) }], [undefined, { data: nested(30_000) }], event('m-ok')]));
    expect(failures(response)).toEqual([]);
    expect(written().map((r) => r.event['messageId'])).toEqual(['m-ok']);
    const rows = badRowLines()[0]!;
    expect(rows.map((r) => [r['failure_type'], r['reason']])).toEqual([
      ['size_violation', expect.stringMatching(/bytes; the limit is 65536/)],
      ['size_violation', 'record data nests deeper than 64 levels'],
    ]);
  });

  it('overwrites, not duplicates, when the same batch is retried', async () => {
    const batch = kinesisEvent([event('m-1'), [undefined, { data: 'not json' }]]);
    await invoke(batch);
    await invoke(batch);
    const keys = s3.commandCalls(PutObjectCommand).map((c) => c.args[0].input.Key);
    expect(keys).toHaveLength(2);
    expect(keys[0]).toBe(keys[1]);
  });

  it('fails the bad records, and only them, when the upload fails', async () => {
    s3.on(PutObjectCommand).rejects(Object.assign(new Error('slow down'), { name: 'SlowDown', $metadata: { httpStatusCode: 503 } }));
    const response = await invoke(kinesisEvent([event('m-1'), [undefined, { data: 'not json' }], event('m-3')]));
    expect(failures(response)).toEqual([sequenceNumber(1)]);
    expect(written().map((r) => r.event['messageId'])).toEqual(['m-1', 'm-3']);
  });

  it('leaves bad records behind a retried record to the retry, so they are stored once', async () => {
    refused = new Set(['m-2']);
    const response = await invoke(kinesisEvent([[undefined, { data: 'bad-0' }], event('m-2'), [undefined, { data: 'bad-2' }]]));
    expect(failures(response)).toEqual([sequenceNumber(1), sequenceNumber(2)]);
    expect(badRowLines()[0]!.map((r) => r['payload'])).toEqual(['bad-0']);
  });
});
