// The enrich Lambda through its real wiring (Powertools batch processor, middy), with Kinesis,
// DynamoDB and S3 mocked. Every call is logged in order, to check what happens before what.
import { BatchGetItemCommand, BatchWriteItemCommand, DynamoDBClient, GetItemCommand, PutItemCommand, type AttributeValue } from '@aws-sdk/client-dynamodb';
import { GetRecordsCommand, GetShardIteratorCommand, KinesisClient, ListShardsCommand, PutRecordsCommand, type PutRecordsCommandInput } from '@aws-sdk/client-kinesis';
import { GetObjectCommand, NoSuchKey, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import type { KinesisStreamBatchResponse, KinesisStreamEvent } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type * as HandlerModule from '../../../../functions/enrich/handler.js';
import { validateBadRow, validateEnrichedEvent } from '../../../../schemas/index.js';
import { kinesisEvent, lambdaContext, rawEvent, sequenceNumber, SHARD_ID } from '../../../helpers/factories.js';

const kinesis = mockClient(KinesisClient);
const dynamo = mockClient(DynamoDBClient);
const s3 = mockClient(S3Client);
let handler: typeof HandlerModule.handler;

/** Every AWS call, in order: "lookup:a,b", "put:a,b", "mark:a", "bad-rows:<key>". */
let calls: string[] = [];
/** messageIds the stub Kinesis refuses every time (as if their shard were throttled). */
let refused = new Set<string>();
/** messageIds the stub dedup table says were already written. */
let alreadyMarked = new Set<string>();
/** Write intents the stub table holds, by key. */
let intents = new Map<string, Record<string, AttributeValue>>();
/** When set, marks (not intents) fail: the function ends between its write and its marks. */
let marksFail = false;
/** Everything the stub events-enriched holds (for the check after an interrupted attempt). */
let enrichedStream: Uint8Array[] = [];

const idOfData = (data: Uint8Array | undefined) => (JSON.parse(Buffer.from(data!).toString('utf8')) as { messageId: string }).messageId;

beforeAll(async () => {
  Object.assign(process.env, {
    ENRICHED_STREAM_NAME: 'clickstream-dev-events-enriched',
    DEDUP_TABLE_NAME: 'clickstream-dev-enrich-dedup',
    LAKE_BUCKET_NAME: 'clickstream-dev-lake',
    POWERTOOLS_LOG_LEVEL: 'SILENT',
  });
  ({ handler } = await import('../../../../functions/enrich/handler.js'));
});

beforeEach(() => {
  calls = [];
  refused = new Set();
  alreadyMarked = new Set();
  intents = new Map();
  marksFail = false;
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
  dynamo.on(BatchGetItemCommand).callsFake((input) => {
    const table = Object.keys(input.RequestItems)[0]!;
    const ids = (input.RequestItems[table].Keys as { messageId: { S: string } }[]).map((k) => k.messageId.S);
    calls.push(`lookup:${ids.join(',')}`);
    const expiresAt = String(Math.floor(Date.now() / 1000) + 3_600);
    return { Responses: { [table]: ids.filter((id) => alreadyMarked.has(id)).map((id) => ({ messageId: { S: id }, expiresAt: { N: expiresAt } })) } };
  });
  dynamo.on(PutItemCommand).callsFake((input) => {
    const key: string = input.Item.messageId.S;
    if (key.startsWith('intent#')) {
      intents.set(key, input.Item);
      calls.push(`intent:${(input.Item.intentIds.L as { S: string }[]).map((v) => v.S).join(',')}`);
      return {};
    }
    calls.push(`put-item:${key}`);
    return {};
  });
  dynamo.on(BatchWriteItemCommand).callsFake((input) => {
    if (marksFail) throw Object.assign(new Error('injected'), { name: 'ValidationException' });
    for (const request of Object.values(input.RequestItems as Record<string, { PutRequest: { Item: { messageId: { S: string } } } }[]>)[0]!) {
      calls.push(`mark:${request.PutRequest.Item.messageId.S}`);
    }
    return {};
  });
  dynamo.on(GetItemCommand).callsFake((input) => ({ Item: intents.get(input.Key.messageId.S) }));
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
    expect(calls.some((c) => c.startsWith('mark:'))).toBe(false);
  });
});

describe('enrich: dedup', () => {
  it('drops repeats of a messageId inside the batch: written and marked once, not a failure', async () => {
    const response = await invoke(kinesisEvent([event('m-1'), event('m-2'), event('m-1'), event('m-1')]));
    expect(failures(response)).toEqual([]);
    expect(written().map((r) => r.event['messageId'])).toEqual(['m-1', 'm-2']);
    expect(calls.filter((c) => c.startsWith('lookup:'))).toEqual(['lookup:m-1,m-2']);
    expect(calls.filter((c) => c.startsWith('mark:')).sort()).toEqual(['mark:m-1', 'mark:m-2']);
  });

  it('drops events the table has seen in an earlier batch, without failing them', async () => {
    alreadyMarked = new Set(['m-1', 'm-3']);
    const response = await invoke(kinesisEvent([event('m-1'), event('m-2'), event('m-3')]));
    expect(failures(response)).toEqual([]);
    expect(written().map((r) => r.event['messageId'])).toEqual(['m-2']);
    expect(calls.filter((c) => c.startsWith('mark:'))).toEqual(['mark:m-2']);
  });

  it('looks up, then writes, then marks only what was written', async () => {
    refused = new Set(['m-2']);
    await invoke(kinesisEvent([event('m-1'), event('m-2'), event('m-3')]));
    const lookup = calls.indexOf('lookup:m-1,m-2,m-3');
    const firstPut = calls.indexOf('put:m-1,m-2,m-3');
    const lastPut = calls.map((c) => c.startsWith('put:')).lastIndexOf(true);
    const marks = calls.flatMap((c, i) => (c.startsWith('mark:') ? [i] : []));
    expect(lookup).toBeGreaterThanOrEqual(0);
    expect(firstPut).toBeGreaterThan(lookup);
    expect(marks.length).toBe(2);
    expect(Math.min(...marks)).toBeGreaterThan(lastPut);
    expect(calls.filter((c) => c.startsWith('mark:')).sort()).toEqual(['mark:m-1', 'mark:m-3']);
  });

  it('records the batch\'s write intent after the look-up and before the write', async () => {
    await invoke(kinesisEvent([event('m-1'), event('m-2')]));
    expect(calls.filter((c) => !c.startsWith('mark:'))).toEqual(['lookup:m-1,m-2', 'intent:m-1,m-2', 'put:m-1,m-2']);
    expect([...intents.keys()]).toEqual([`intent#${SHARD_ID}#${sequenceNumber(0)}`]);
  });

  it('a redelivery after an attempt ended between its write and its marks writes nothing twice', async () => {
    // Prepare: the first attempt writes m-1 and m-2, then cannot mark them (as if the function had died there).
    marksFail = true;
    await invoke(kinesisEvent([event('m-1'), event('m-2')]));
    expect(written().map((r) => r.event['messageId'])).toEqual(['m-1', 'm-2']);
    expect(calls.some((c) => c.startsWith('mark:'))).toBe(false);

    // Act: Lambda delivers the batch again from the same sequence number, with one more record behind it.
    marksFail = false;
    kinesis.resetHistory();
    calls = [];
    const response = await invoke(kinesisEvent([event('m-1'), event('m-2'), event('m-3')]));

    // Assess: events-enriched was checked once; m-1 and m-2 are marked, not written again; m-3 is written.
    expect(failures(response)).toEqual([]);
    expect(calls.filter((c) => c === 'check-stream')).toHaveLength(1);
    expect(written().map((r) => r.event['messageId'])).toEqual(['m-3']);
    expect(calls.filter((c) => c.startsWith('mark:')).sort()).toEqual(['mark:m-1', 'mark:m-2', 'mark:m-3']);
    expect(enrichedStream).toHaveLength(3);
  });

  it('does not read events-enriched when the earlier attempt marked everything it wrote', async () => {
    await invoke(kinesisEvent([event('m-1'), event('m-2')]));
    alreadyMarked = new Set(['m-1', 'm-2']);
    calls = [];
    await invoke(kinesisEvent([event('m-1'), event('m-2')]));
    expect(calls).not.toContain('check-stream');
  });

  it('a retried batch emits nothing twice: what was written and marked is dropped, the rest is written', async () => {
    refused = new Set(['m-2']);
    const first = await invoke(kinesisEvent([event('m-1'), event('m-2'), event('m-3')]));
    expect(failures(first)).toEqual([sequenceNumber(1)]);
    // Lambda retries from the lowest failed sequence number; the stub table now knows the marks.
    alreadyMarked = new Set(calls.filter((c) => c.startsWith('mark:')).map((c) => c.slice(5)));
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
