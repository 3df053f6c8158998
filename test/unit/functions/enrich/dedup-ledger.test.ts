// The dedup ledger against an in-memory table: what one consumer delivered, another (a new execution
// environment) recognises; interrupted attempts leave their ids uncertain, never delivered; a warm consumer
// costs one small Query per bucket per batch; resharding, expiry and the memory bound.
import { DynamoDBClient, PutItemCommand, QueryCommand, ResourceNotFoundException } from '@aws-sdk/client-dynamodb';
import { KinesisClient, ListShardsCommand } from '@aws-sdk/client-kinesis';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { DedupLedger, hourOf, IdSet, ledgerEntry, ledgerHash, ShardLineage, type LedgerEntry } from '../../../../functions/enrich/dedup-ledger.js';
import { DedupTableError } from '../../../../functions/shared/errors.js';
import { LedgerTable } from '../../../helpers/ledger-table.js';

const dynamo = mockClient(DynamoDBClient);
const kinesis = mockClient(KinesisClient);
const NOW = Date.parse('2026-11-22T10:30:00Z');
const HOUR = hourOf(NOW);
const SHARD = 'shardId-000000000001';
let table: LedgerTable;
let clock: number;

beforeEach(() => {
  dynamo.reset();
  kinesis.reset();
  table = new LedgerTable();
  clock = NOW;
  dynamo.on(PutItemCommand).callsFake(table.put);
  dynamo.on(QueryCommand).callsFake(table.query);
});
afterAll(() => {
  dynamo.restore();
  kinesis.restore();
});

/** A consumer's ledger: each one is a separate execution environment with its own memory. */
const consumer = (options: Partial<ConstructorParameters<typeof DedupLedger>[0]> = {}) =>
  new DedupLedger({ client: new DynamoDBClient({ region: 'us-east-1' }), table: 'ledger', ttlSeconds: 86_400, now: () => clock, sleep: async (ms) => void (clock += ms), ...options });
const entries = (ids: string[], hour = HOUR): LedgerEntry[] => ids.map((id) => ledgerEntry(id, hour));
const deadline = () => ({ deadline: clock + 5_000 });

/** One batch as the enrich stage runs it: look up, intent, (write), ok. */
async function deliver(ledger: DedupLedger, firstSequenceNumber: string, ids: string[], notWritten: string[] = [], hour = HOUR) {
  const found = await ledger.lookup('events-raw', SHARD, entries(ids, hour), deadline());
  const fresh = ids.filter((id) => !found.seen.has(id));
  const intent = await ledger.recordIntent(SHARD, firstSequenceNumber, entries(fresh, hour), deadline());
  await ledger.confirm(intent, entries(fresh, hour), new Set(notWritten), deadline());
  return found;
}

describe('DedupLedger', () => {
  it('recognises what another consumer delivered, except what it could not write', async () => {
    await deliver(consumer(), '100', ['a', 'b', 'c'], ['c']);
    const found = await consumer().lookup('events-raw', SHARD, entries(['a', 'b', 'c', 'd']), deadline());
    expect([...found.seen].sort()).toEqual(['a', 'b']);
    expect(found.uncertain.size).toBe(0);
    expect(found.unresolved.size).toBe(0);
  });

  it('costs a warm consumer one Query per bucket per batch, for what was written after its cursor, and two PutItems', async () => {
    const ledger = consumer();
    await deliver(ledger, '100', ['a', 'b']);
    table.queries.length = 0;
    table.puts.length = 0;
    const found = await deliver(ledger, '200', ['b', 'c']);
    expect([...found.seen]).toEqual(['b']);
    expect(table.queries).toHaveLength(1);
    expect(table.queries[0]!.after).toMatch(/^0+100#\d+#ok$/);
    expect(table.puts).toHaveLength(2); // the intent of c and its ok
  });

  it('leaves the ids of an attempt that ended between intent and ok uncertain, with when, for the stream to settle', async () => {
    const crashed = consumer();
    await crashed.lookup('events-raw', SHARD, entries(['a', 'b']), deadline());
    await crashed.recordIntent(SHARD, '100', entries(['a', 'b']), deadline());
    clock += 1_000;
    const found = await consumer().lookup('events-raw', SHARD, entries(['a', 'b', 'x']), deadline());
    expect(found.seen.size).toBe(0);
    expect([...found.uncertain]).toEqual([
      ['a', NOW],
      ['b', NOW],
    ]);
  });

  it('keeps an interrupted attempt visible to both halves of a bisected retry', async () => {
    // The first attempt at a, b, c, d dies after its intent; Lambda bisects: [a, b] then [c, d].
    const first = consumer();
    await first.lookup('events-raw', SHARD, entries(['a', 'b', 'c', 'd']), deadline());
    await first.recordIntent(SHARD, '100', entries(['a', 'b', 'c', 'd']), deadline());
    clock += 2_000;
    const retry = consumer();
    const firstHalf = await deliver(retry, '100', ['a', 'b']);
    expect([...firstHalf.uncertain.keys()]).toEqual(['a', 'b']);
    const secondHalf = await retry.lookup('events-raw', SHARD, entries(['c', 'd']), deadline());
    expect([...secondHalf.uncertain.keys()]).toEqual(['c', 'd']);
    // a and b are settled by the retry's own ok: delivered from now on.
    expect([...(await consumer().lookup('events-raw', SHARD, entries(['a', 'b']), deadline())).seen].sort()).toEqual(['a', 'b']);
  });

  it('forgets an interrupted attempt past the horizon of any retry of it: its ids count as new', async () => {
    const crashed = consumer();
    await crashed.lookup('events-raw', SHARD, entries(['a']), deadline());
    await crashed.recordIntent(SHARD, '100', entries(['a']), deadline());
    clock += 16 * 60_000;
    const found = await consumer().lookup('events-raw', SHARD, entries(['a']), deadline());
    expect(found.uncertain.size + found.seen.size).toBe(0);
  });

  it('looks in the hour of the event, and in the hour before for an event sent without a client time', async () => {
    await deliver(consumer(), '100', ['a', 'b'], [], HOUR - 1);
    const found = await consumer().lookup('events-raw', SHARD, [ledgerEntry('a', HOUR), ledgerEntry('b', HOUR, [HOUR - 1])], deadline());
    expect([...found.seen]).toEqual(['b']);
  });

  it('finds on a child shard what its parent delivered before a resharding', async () => {
    kinesis.on(ListShardsCommand).resolves({
      Shards: [{ ShardId: 'shardId-000000000000' }, { ShardId: SHARD, ParentShardId: 'shardId-000000000000' }].map((s) => ({ ...s, HashKeyRange: undefined, SequenceNumberRange: undefined })),
    });
    const parent = consumer();
    await parent.lookup('events-raw', 'shardId-000000000000', entries(['a']), deadline());
    const intent = await parent.recordIntent('shardId-000000000000', '100', entries(['a']), deadline());
    await parent.confirm(intent, entries(['a']), new Set(), deadline());
    const lineage = new ShardLineage(new KinesisClient({ region: 'us-east-1' }));
    const child = consumer({ ancestorsOf: lineage.ancestorsOf });
    expect([...(await child.lookup('events-raw', SHARD, entries(['a', 'b']), deadline())).seen]).toEqual(['a']);
    expect(await lineage.ancestorsOf('events-raw', SHARD)).toEqual(['shardId-000000000000']);
    expect(kinesis.commandCalls(ListShardsCommand)).toHaveLength(1);
  });

  it('reads a bucket page by page, whole or past its cursor', async () => {
    const writer = consumer();
    for (let batch = 1; batch <= 5; batch++) await deliver(writer, String(batch * 100), [`id-${batch}`]);
    table.pageSize = 3;
    const warm = consumer();
    const whole = await warm.lookup('events-raw', SHARD, entries(['id-1', 'id-3', 'id-5', 'id-6']), deadline());
    expect([...whole.seen].sort()).toEqual(['id-1', 'id-3', 'id-5']);
    expect(table.queries.filter((q) => q.after === undefined).length).toBeGreaterThan(1);
    // Another consumer delivers more (a resharding, a new execution environment): the warm one reads the
    // new items past its cursor, again over several pages.
    for (let batch = 6; batch <= 10; batch++) await deliver(writer, String(batch * 100), [`id-${batch}`]);
    table.queries.length = 0;
    const after = await warm.lookup('events-raw', SHARD, entries(['id-2', 'id-7', 'id-10', 'id-11']), deadline());
    expect([...after.seen].sort()).toEqual(['id-10', 'id-2', 'id-7']);
    expect(table.queries.length).toBeGreaterThan(1);
    expect(new Set(table.queries.map((q) => q.after)).size).toBe(1);
  });

  it('ignores items past the window that TTL has not deleted yet, and reads a bucket again after an hour', async () => {
    const short = () => consumer({ ttlSeconds: 600 });
    const warm = short();
    await deliver(warm, '100', ['a']);
    clock += 11 * 60_000;
    expect((await short().lookup('events-raw', SHARD, entries(['a']), deadline())).seen.size).toBe(0);
    expect((await warm.lookup('events-raw', SHARD, entries(['a']), deadline())).seen.size).toBe(1); // held in memory
    clock += 60 * 60_000;
    expect((await warm.lookup('events-raw', SHARD, entries(['a']), deadline())).seen.size).toBe(0);
  });

  it('lets the least recently used buckets go above its memory bound, never those of the batch at hand', async () => {
    const ledger = consumer({ maxCachedIds: 3 });
    await deliver(ledger, '100', ['a', 'b'], [], HOUR - 2);
    await deliver(ledger, '200', ['c', 'd'], [], HOUR - 1);
    await deliver(ledger, '300', ['e', 'f'], [], HOUR);
    expect(ledger.cachedIds).toBeLessThanOrEqual(4);
    // Let go, not forgotten: read again from the table when needed.
    expect([...(await ledger.lookup('events-raw', SHARD, entries(['a'], HOUR - 2), deadline())).seen]).toEqual(['a']);
  });

  it('lets go of a bucket read whole over an hour ago, which it would read whole again, so it holds about two hours of ids', async () => {
    const ledger = consumer();
    await deliver(ledger, '100', ['a', 'b'], [], HOUR);
    await deliver(ledger, '150', ['c'], [], HOUR);
    expect(ledger.cachedIds).toBe(3);
    clock += 61 * 60_000;
    await deliver(ledger, '200', ['d'], [], HOUR + 1);
    expect(ledger.cachedIds).toBe(1); // the first hour's bucket is gone, without a memory bound
    // Let go, not forgotten: read again from the table when needed.
    expect([...(await ledger.lookup('events-raw', SHARD, entries(['a', 'c'], HOUR), deadline())).seen].sort()).toEqual(['a', 'c']);
    expect(ledger.cachedIds).toBe(4);
  });

  it('reports the ids of a bucket it could not read before the deadline as unresolved, and throws for a missing table', async () => {
    table.failWith = () => Object.assign(new Error('throttled'), { name: 'ProvisionedThroughputExceededException', $metadata: { httpStatusCode: 400 } });
    const found = await consumer().lookup('events-raw', SHARD, entries(['a', 'b']), deadline());
    expect([...found.unresolved].sort()).toEqual(['a', 'b']);
    expect(dynamo.commandCalls(QueryCommand).length).toBeGreaterThan(1);

    table.failWith = () => new ResourceNotFoundException({ message: 'no table', $metadata: { httpStatusCode: 400 } });
    await expect(consumer().lookup('events-raw', SHARD, entries(['a']), deadline())).rejects.toBeInstanceOf(DedupTableError);
    await expect(consumer().recordIntent(SHARD, '1', entries(['a']), deadline())).rejects.toBeInstanceOf(DedupTableError);
  });
});

describe('IdSet', () => {
  it('holds the ids a bucket delivered, exactly, in at most 43 bytes an id', () => {
    const set = new IdSet();
    const delivered = Array.from({ length: 100_000 }, (_, i) => ledgerHash(`delivered-${i}`));
    for (const hash of delivered) set.add(hash);
    for (const hash of delivered.slice(0, 1_000)) set.add(hash);
    expect(set.size).toBe(100_000);
    expect(delivered.every((hash) => set.has(hash))).toBe(true);
    // Hashes that share their first 8 or last 8 bytes with a delivered one are still other ids.
    const [first] = delivered;
    for (const other of [first!.slice(0, 8) + '\0\0\0\0', '\0\0\0\0' + first!.slice(4), first!.slice(0, 11) + String.fromCharCode(first!.charCodeAt(11) ^ 1)]) {
      expect(set.has(other)).toBe(false);
    }
    expect(Array.from({ length: 100_000 }, (_, i) => ledgerHash(`new-${i}`)).some((hash) => set.has(hash))).toBe(false);
    expect(set.bytes / set.size).toBeLessThanOrEqual(43);
  });
});
