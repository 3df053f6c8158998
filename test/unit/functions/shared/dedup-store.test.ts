import { BatchGetItemCommand, ConditionalCheckFailedException, DynamoDBClient, PutItemCommand, ResourceNotFoundException } from '@aws-sdk/client-dynamodb';
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
  it('writes each id with a TTL and a condition that lets only expired items be overwritten', async () => {
    dynamo.on(PutItemCommand).resolves({});
    const result = await store().mark(['a', 'b'], { deadline: NOW + 1_000 });
    expect(result).toEqual({ marked: 2, raced: [], failed: [] });
    const input = dynamo.commandCalls(PutItemCommand)[0]!.args[0].input;
    expect(input.Item).toEqual(item('a', nowSeconds + 86_400));
    expect(input.ConditionExpression).toBe('attribute_not_exists(#id) OR #exp <= :now');
  });

  it('reports a failed condition as a race and other errors as failures', async () => {
    dynamo
      .on(PutItemCommand, { Item: item('raced', nowSeconds + 86_400) })
      .rejects(new ConditionalCheckFailedException({ message: 'exists', $metadata: {} }))
      .on(PutItemCommand, { Item: item('broken', nowSeconds + 86_400) })
      .rejects(Object.assign(new Error('throttled'), { name: 'ThrottlingException' }))
      .on(PutItemCommand, { Item: item('ok', nowSeconds + 86_400) })
      .resolves({});
    const result = await store().mark(['raced', 'broken', 'ok'], { deadline: NOW + 1_000 });
    expect(result).toEqual({ marked: 1, raced: ['raced'], failed: ['broken'], lastError: 'ThrottlingException' });
  });
});
