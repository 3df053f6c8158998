import { BatchGetItemCommand, BatchWriteItemCommand, DynamoDBClient, ResourceNotFoundException } from '@aws-sdk/client-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { DedupStore } from '../../../../functions/shared/dedup-store.js';
import { DedupTableError } from '../../../../functions/shared/errors.js';

const dynamo = mockClient(DynamoDBClient);
const NOW = Date.parse('2026-11-22T10:00:00Z');
const nowSeconds = NOW / 1000;
// The clock moves 10 ms per reading, so retry loops reach their deadline without real waiting.
const store = () => {
  let clock = NOW;
  return new DedupStore({
    client: new DynamoDBClient({ region: 'us-east-1' }),
    table: 'dedup',
    ttlSeconds: 86_400,
    now: () => (clock += 10) - 10,
    sleep: async (ms) => void (clock += ms),
    random: () => 0.5,
  });
};
const item = (id: string, expiresAt: number) => ({ messageId: { S: id }, expiresAt: { N: String(expiresAt) } });

beforeEach(() => dynamo.reset());
afterAll(() => dynamo.restore());

describe('DedupStore.lookup', () => {
  it('finds ids marked within the window with consistent reads, ignoring expired items TTL has not deleted yet', async () => {
    dynamo.on(BatchGetItemCommand).resolves({ Responses: { dedup: [item('a', nowSeconds + 60), item('b', nowSeconds - 1)] } });
    const result = await store().lookup(['a', 'b', 'c'], { deadline: NOW + 1_000 });
    expect([...result.seen]).toEqual(['a']);
    expect(result.unresolved.size).toBe(0);
    const request = dynamo.commandCalls(BatchGetItemCommand)[0]!.args[0].input.RequestItems!['dedup']!;
    expect(request.ConsistentRead).toBe(true);
    expect(request.Keys).toHaveLength(3);
  });

  it('asks in chunks of 100 keys', async () => {
    dynamo.on(BatchGetItemCommand).resolves({ Responses: { dedup: [] } });
    await store().lookup(Array.from({ length: 250 }, (_, i) => `id-${i}`), { deadline: NOW + 1_000 });
    expect(dynamo.commandCalls(BatchGetItemCommand).map((c) => c.args[0].input.RequestItems!['dedup']!.Keys!.length)).toEqual([100, 100, 50]);
  });

  it('asks again for unprocessed keys, and reports what is still unanswered at the deadline', async () => {
    dynamo
      .on(BatchGetItemCommand)
      .resolvesOnce({ Responses: { dedup: [item('a', nowSeconds + 60)] }, UnprocessedKeys: { dedup: { Keys: [{ messageId: { S: 'b' } }] } } })
      .resolves({ Responses: { dedup: [item('b', nowSeconds + 60)] } });
    const result = await store().lookup(['a', 'b'], { deadline: NOW + 1_000 });
    expect([...result.seen].sort()).toEqual(['a', 'b']);

    dynamo.reset();
    dynamo.on(BatchGetItemCommand).rejects(Object.assign(new Error('throttled'), { name: 'ThrottlingException', $metadata: { httpStatusCode: 400 } }));
    const late = await store().lookup(['x'], { deadline: NOW + 1_000 });
    expect([...late.unresolved]).toEqual(['x']);
    expect(dynamo.commandCalls(BatchGetItemCommand).length).toBeGreaterThan(1);
  });

  it('throws DedupTableError when the table is missing', async () => {
    dynamo.on(BatchGetItemCommand).rejects(new ResourceNotFoundException({ message: 'no table', $metadata: { httpStatusCode: 400 } }));
    await expect(store().lookup(['a'], { deadline: NOW + 1_000 })).rejects.toBeInstanceOf(DedupTableError);
  });
});

describe('DedupStore.mark', () => {
  const written = () => dynamo.commandCalls(BatchWriteItemCommand).flatMap((c) => c.args[0].input.RequestItems!['dedup']!.map((r) => r.PutRequest!.Item));

  it('writes every id with a TTL, 25 to a BatchWriteItem', async () => {
    dynamo.on(BatchWriteItemCommand).resolves({});
    const ids = Array.from({ length: 60 }, (_, i) => `id-${i}`);
    const result = await store().mark(ids, { deadline: NOW + 1_000 });
    expect(result).toEqual({ marked: 60, failed: [] });
    expect(dynamo.commandCalls(BatchWriteItemCommand).map((c) => c.args[0].input.RequestItems!['dedup']!.length)).toEqual([25, 25, 10]);
    expect(written()[0]).toEqual(item('id-0', nowSeconds + 86_400));
  });

  it('writes unprocessed items again, and reports what is still unwritten at the deadline', async () => {
    dynamo
      .on(BatchWriteItemCommand)
      .resolvesOnce({ UnprocessedItems: { dedup: [{ PutRequest: { Item: item('b', nowSeconds + 86_400) } }] } })
      .resolves({});
    expect(await store().mark(['a', 'b'], { deadline: NOW + 10_000 })).toEqual({ marked: 2, failed: [], lastError: 'UnprocessedItems' });
    expect(written().map((i) => i!['messageId']!.S)).toEqual(['a', 'b', 'b']);

    dynamo.reset();
    dynamo.on(BatchWriteItemCommand).rejects(Object.assign(new Error('throttled'), { name: 'ThrottlingException' }));
    const late = await store().mark(['c'], { deadline: NOW + 50 });
    expect(late).toMatchObject({ marked: 0, failed: ['c'] });
  });

  it('does not retry an error that retrying cannot fix', async () => {
    dynamo.on(BatchWriteItemCommand).rejects(new ResourceNotFoundException({ message: 'no table', $metadata: { httpStatusCode: 400 } }));
    expect(await store().mark(['a'], { deadline: NOW + 10_000 })).toEqual({ marked: 0, failed: ['a'], lastError: 'ResourceNotFoundException' });
    expect(dynamo.commandCalls(BatchWriteItemCommand)).toHaveLength(1);
  });
});
