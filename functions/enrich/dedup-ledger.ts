// Cross-batch dedup by messageId with a few DynamoDB calls per batch instead of two per event.
//
// Repeats of a messageId meet on one shard of events-raw, in order: a retry keeps its id, hence its
// partition key (functions/shared/partition-key.ts), and Lambda runs one batch of a shard at a time
// (parallelizationFactor 1). So the ids a shard delivered can be kept per shard, written once per batch:
//
//   bucket (partition key)   batch (sort key)              what
//   <shardId>#<event hour>   <first sequence number>#<ms>  an attempt's intent: the ids (12-byte SHA-256
//                                                           prefixes) it is about to write, and when
//   <shardId>#<event hour>   <first sequence number>#<ms>#ok the same attempt after the write: the ids it
//                                                           could not write (usually none)
//
// The event hour is the hour of the client's own timestamp (originalTimestamp), which every retry of an
// event carries unchanged, so a repeat always lands in the bucket of its original. An event sent with no
// client time has its arrival there instead; it is looked for in its hour and the hour before.
//
// A consumer keeps the buckets it read in memory and asks DynamoDB only for what was written after them
// (a strongly consistent Query past its cursor: one read unit when nothing is new). A bucket it has not
// read yet is read whole, with the buckets of the shard's parents after a resharding.
//
// Intent → write → ok: an id is delivered once its attempt's ok item is read. An intent without its ok is
// an attempt that ended between the two (a crash, a timeout): its ids are "uncertain", and whichever batch
// meets them next (the retry, or either half when Lambda bisects it) reads events-enriched back to see
// which were written (./written-check.ts). Each attempt writes under its own sort key, so a retry never
// hides what an interrupted attempt was about to write. Nothing is lost by a crash at any point; an ok
// that cannot be written makes the next look-up that meets its ids read the stream back instead.
import { createHash } from 'node:crypto';
import { PutItemCommand, QueryCommand, type AttributeValue, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { ListShardsCommand, type KinesisClient, type Shard } from '@aws-sdk/client-kinesis';
import { waitBeforeRetry, type BackoffClock } from '../shared/backoff.js';
import { CountMap } from '../shared/count-map.js';
import { DedupTableError } from '../shared/errors.js';
import { isRetryableWriteError } from '../shared/kinesis-batch-writer.js';

export const LEDGER_BUCKET = 'bucket';
export const LEDGER_BATCH = 'batch';
export const LEDGER_EXPIRES_AT = 'expiresAt';
const IDS = 'ids';
const FAILED = 'failed';
const AT = 'at';
const OK_SUFFIX = '#ok';
/** Bytes of SHA-256 kept per id: a false match needs 2^48 ids in one bucket before it is likely. */
export const ID_HASH_BYTES = 12;
const HOUR_MS = 3_600_000;
/** Kinesis sequence numbers are decimal strings of up to 128 digits; padded, they sort as numbers. */
const SEQUENCE_DIGITS = 128;
/** A bucket held longer than this is read again whole, which drops the ids past the window. */
const RELOAD_AFTER_MS = HOUR_MS;
/** Buckets read (or refreshed) at once during a look-up. */
const QUERY_CONCURRENCY = 8;

/** The 12-byte hash an id is kept as, as a one-byte string (compact in memory, exact as a key). */
export const ledgerHash = (id: string): string => createHash('sha256').update(id).digest().subarray(0, ID_HASH_BYTES).toString('latin1');

export const hourOf = (ms: number): number => Math.floor(ms / HOUR_MS);

/** An id to look up: its hash, the hour bucket it is written to, and any other hour its original may be in. */
export interface LedgerEntry {
  id: string;
  /** ledgerHash(id), computed once per event (ledgerEntry). */
  hash: string;
  hour: number;
  alsoHours?: readonly number[];
}

export const ledgerEntry = (id: string, hour: number, alsoHours: readonly number[] = []): LedgerEntry => ({ id, hash: ledgerHash(id), hour, alsoHours });

export interface LedgerLookup {
  /** Ids a finished batch delivered within the window. */
  seen: Set<string>;
  /** Ids an interrupted attempt was about to write, with when: written or not, events-enriched says. */
  uncertain: Map<string, number>;
  /** Ids whose bucket could not be read before the deadline. */
  unresolved: Set<string>;
}

export interface ConfirmResult {
  confirmed: number;
  /** Ids whose ok item could not be written: the next look-up finds them uncertain. */
  failed: string[];
  lastError?: string;
}

export interface DedupLedgerOptions {
  client: DynamoDBClient;
  table: string;
  /** How long a batch's items are kept (the TTL): the dedup window. */
  ttlSeconds: number;
  /** The shards a shard was split or merged from, oldest last (see ShardLineage). */
  ancestorsOf?: (stream: string, shardId: string) => Promise<string[]>;
  /** Ids held in memory across all buckets before the least recently used buckets are let go. */
  maxCachedIds?: number;
  /** An interrupted attempt older than this is past any retry of it: its ids count as not written. */
  uncertainHorizonMs?: number;
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
}

interface Intent {
  hashes: Set<string>;
  atMs: number;
}

/** Where an attempt's intent was written, for its ok. */
export interface IntentRef {
  shardId: string;
  sort: string;
}

interface Bucket {
  delivered: IdSet;
  /** Intents without their ok yet, by sort key. */
  pending: Map<string, Intent>;
  /** The last sort key read: the next refresh asks only for what sorts after it. */
  cursor?: string;
  loadedAtMs: number;
  lastUsedMs: number;
}

export class DedupLedger {
  private readonly buckets = new Map<string, Bucket>();
  private readonly now: () => number;
  private readonly clock: BackoffClock;
  private readonly maxCachedIds: number;
  private readonly uncertainHorizonMs: number;

  constructor(private readonly options: DedupLedgerOptions) {
    this.now = options.now ?? Date.now;
    this.clock = { now: this.now, sleep: options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms))), random: Math.random };
    this.maxCachedIds = options.maxCachedIds ?? 2_000_000;
    this.uncertainHorizonMs = options.uncertainHorizonMs ?? 15 * 60_000;
  }

  /** Ids held in memory, for the metrics and the tests. */
  get cachedIds(): number {
    let n = 0;
    for (const bucket of this.buckets.values()) n += bucket.delivered.size;
    return n;
  }

  async lookup(stream: string, shardId: string, entries: readonly LedgerEntry[], { deadline }: { deadline: number }): Promise<LedgerLookup> {
    const result: LedgerLookup = { seen: new Set(), uncertain: new Map(), unresolved: new Set() };
    if (entries.length === 0) return result;
    const hours = new Set<number>();
    for (const entry of entries) {
      hours.add(entry.hour);
      for (const hour of entry.alsoHours ?? []) hours.add(hour);
    }
    const failed = new Set<number>();
    const queue = [...hours];
    const worker = async () => {
      for (let hour = queue.shift(); hour !== undefined; hour = queue.shift()) {
        if (!(await this.refresh(stream, shardId, hour, deadline))) failed.add(hour);
      }
    };
    await Promise.all(Array.from({ length: Math.min(QUERY_CONCURRENCY, queue.length) }, worker));

    const oldestUncertain = this.now() - this.uncertainHorizonMs;
    for (const entry of entries) {
      const { hash } = entry;
      for (const hour of [entry.hour, ...(entry.alsoHours ?? [])]) {
        if (failed.has(hour)) {
          result.unresolved.add(entry.id);
          continue;
        }
        const bucket = this.buckets.get(bucketKey(shardId, hour))!;
        if (bucket.delivered.has(hash)) {
          result.seen.add(entry.id);
          continue;
        }
        for (const intent of bucket.pending.values()) {
          if (intent.atMs >= oldestUncertain && intent.hashes.has(hash)) {
            result.uncertain.set(entry.id, Math.min(intent.atMs, result.uncertain.get(entry.id) ?? Infinity));
          }
        }
      }
    }
    for (const id of result.seen) {
      result.uncertain.delete(id);
      result.unresolved.delete(id);
    }
    this.evict(new Set([...hours].map((hour) => bucketKey(shardId, hour))));
    return result;
  }

  /**
   * Before the write: the attempt at the batch starting at `firstSequenceNumber` is about to write
   * `entries` (one item per hour). Throws DedupTableError when an item cannot be written before the
   * deadline: then nothing may be written to the stream.
   */
  async recordIntent(shardId: string, firstSequenceNumber: string, entries: readonly LedgerEntry[], { deadline }: { deadline: number }): Promise<IntentRef> {
    const atMs = this.now();
    const sort = `${firstSequenceNumber.padStart(SEQUENCE_DIGITS, '0')}#${String(atMs).padStart(15, '0')}`;
    await Promise.all(
      [...groupByHour(entries)].map(async ([hour, group]) => {
        const hashes = group.map((entry) => entry.hash);
        const key = bucketKey(shardId, hour);
        const error = await this.put({ ...this.keyOf(key, sort, atMs), [IDS]: { B: packHashes(hashes) } }, deadline);
        if (error) throw new DedupTableError(`PutItem of the write intent ${key} ${firstSequenceNumber} on ${this.options.table} failed: ${error}`, this.options.table);
        const bucket = this.buckets.get(key);
        if (bucket) {
          bucket.pending.set(sort, { hashes: new Set(hashes), atMs });
          bucket.cursor = maxKey(bucket.cursor, sort);
        }
      }),
    );
    return { shardId, sort };
  }

  /**
   * After the write: the batch's intent is settled, `notWritten` excepted (refused by the stream; the retry
   * that follows writes them under its own intent). Never throws: an ok that cannot be written leaves the
   * ids uncertain, to be checked on the stream by the next look-up that meets them.
   */
  async confirm(
    { shardId, sort }: IntentRef,
    entries: readonly LedgerEntry[],
    notWritten: ReadonlySet<string>,
    { deadline }: { deadline: number },
  ): Promise<ConfirmResult> {
    const result: ConfirmResult = { confirmed: 0, failed: [] };
    const atMs = this.now();
    await Promise.all(
      [...groupByHour(entries)].map(async ([hour, group]) => {
        const key = bucketKey(shardId, hour);
        const failed = group.filter((entry) => notWritten.has(entry.id)).map((entry) => entry.hash);
        const error = await this.put({ ...this.keyOf(key, `${sort}${OK_SUFFIX}`, atMs), ...(failed.length > 0 ? { [FAILED]: { B: packHashes(failed) } } : {}) }, deadline);
        if (error) {
          result.failed.push(...group.map((entry) => entry.id));
          result.lastError = error;
          return;
        }
        result.confirmed += group.length - failed.length;
        const bucket = this.buckets.get(key);
        if (bucket) {
          settle(bucket, sort, new Set(failed));
          bucket.cursor = maxKey(bucket.cursor, `${sort}${OK_SUFFIX}`);
        }
      }),
    );
    return result;
  }

  private keyOf(bucket: string, sort: string, atMs: number): Record<string, AttributeValue> {
    return {
      [LEDGER_BUCKET]: { S: bucket },
      [LEDGER_BATCH]: { S: sort },
      [AT]: { N: String(atMs) },
      [LEDGER_EXPIRES_AT]: { N: String(Math.floor(atMs / 1000) + this.options.ttlSeconds) },
    };
  }

  /**
   * One call, retried with backoff while the table throttles or does not answer. Throws the last error:
   * one retrying cannot fix at once, a retryable one when the deadline comes first.
   */
  private async send<T>(call: (abortSignal: AbortSignal) => Promise<T>, deadline: number): Promise<T> {
    let lastError: unknown = Object.assign(new Error('the deadline came before an answer'), { name: 'DeadlineExceeded' });
    for (let attempt = 0; await waitBeforeRetry(attempt, deadline, this.clock); attempt++) {
      const remaining = deadline - this.now();
      if (remaining <= 0) break;
      try {
        return await call(AbortSignal.timeout(remaining));
      } catch (error) {
        if (!isRetryableWriteError(error)) throw error;
        lastError = error;
      }
    }
    throw lastError;
  }

  /** One PutItem; the error's name when it did not succeed. */
  private async put(item: Record<string, AttributeValue>, deadline: number): Promise<string | undefined> {
    try {
      await this.send((abortSignal) => this.options.client.send(new PutItemCommand({ TableName: this.options.table, Item: item }), { abortSignal }), deadline);
      return undefined;
    } catch (error) {
      return error instanceof Error ? error.name : 'UnknownError';
    }
  }

  /** Brings the bucket up to date; false when the table did not answer before the deadline. */
  private async refresh(stream: string, shardId: string, hour: number, deadline: number): Promise<boolean> {
    const key = bucketKey(shardId, hour);
    let bucket = this.buckets.get(key);
    if (bucket && this.expired(bucket)) bucket = undefined;
    try {
      if (!bucket) {
        const fresh: Bucket = { delivered: new IdSet(), pending: new Map(), loadedAtMs: this.now(), lastUsedMs: this.now() };
        // A shard's parents are closed and done (Lambda finishes them before it starts their children):
        // their buckets are read whole, once.
        for (const ancestor of (await this.options.ancestorsOf?.(stream, shardId)) ?? []) {
          const inherited: Bucket = { delivered: fresh.delivered, pending: new Map(), loadedAtMs: 0, lastUsedMs: 0 };
          await this.readAfter(bucketKey(ancestor, hour), inherited, deadline);
          for (const [sort, intent] of inherited.pending) fresh.pending.set(`${ancestor}:${sort}`, intent);
        }
        await this.readAfter(key, fresh, deadline);
        this.buckets.set(key, fresh);
        bucket = fresh;
      } else {
        await this.readAfter(key, bucket, deadline);
      }
      bucket.lastUsedMs = this.now();
      return true;
    } catch (error) {
      if (error instanceof DedupTableError) throw error;
      return false;
    }
  }

  /** Reads the items of `key` past `bucket.cursor` into `bucket`, page by page, in sort-key order. */
  private async readAfter(key: string, bucket: Bucket, deadline: number): Promise<void> {
    const nowSeconds = Math.floor(this.now() / 1000);
    // Every page asks the same question, from the cursor as it was before the first: DynamoDB refuses an
    // ExclusiveStartKey that the key condition excludes ("The provided starting key does not match the range
    // key predicate"), and the cursor moves to that very key as the page is read.
    const { cursor } = bucket;
    let startKey: Record<string, AttributeValue> | undefined;
    for (;;) {
      const query = new QueryCommand({
        TableName: this.options.table,
        // Strongly consistent: the previous batch of the shard may have written a moment ago.
        ConsistentRead: true,
        KeyConditionExpression: cursor === undefined ? '#b = :b' : '#b = :b AND #s > :c',
        ExpressionAttributeNames: { '#b': LEDGER_BUCKET, ...(cursor === undefined ? {} : { '#s': LEDGER_BATCH }) },
        ExpressionAttributeValues: { ':b': { S: key }, ...(cursor === undefined ? {} : { ':c': { S: cursor } }) },
        ...(startKey ? { ExclusiveStartKey: startKey } : {}),
      });
      let page;
      try {
        page = await this.send((abortSignal) => this.options.client.send(query, { abortSignal }), deadline);
      } catch (error) {
        // Retryable but out of time: the caller reports the bucket's ids unresolved.
        if (isRetryableWriteError(error)) throw error;
        const name = error instanceof Error ? error.name : 'UnknownError';
        throw new DedupTableError(`Query of ${key} on ${this.options.table} failed: ${name}`, this.options.table, { cause: error });
      }
      for (const item of page.Items ?? []) {
        const sort = item[LEDGER_BATCH]?.S;
        if (sort === undefined) continue;
        bucket.cursor = maxKey(bucket.cursor, sort);
        // TTL deletion lags by up to days: an item counts only while it has not expired.
        if (Number(item[LEDGER_EXPIRES_AT]?.N ?? '0') <= nowSeconds) continue;
        if (sort.endsWith(OK_SUFFIX)) {
          settle(bucket, sort.slice(0, -OK_SUFFIX.length), new Set(unpackHashes(item[FAILED]?.B)));
        } else {
          bucket.pending.set(sort, { hashes: new Set(unpackHashes(item[IDS]?.B)), atMs: Number(item[AT]?.N ?? '0') });
        }
      }
      startKey = page.LastEvaluatedKey;
      if (!startKey) return;
    }
  }

  /** Read whole more than RELOAD_AFTER_MS ago: the next look-up reads it whole again. */
  private expired(bucket: Bucket): boolean {
    return this.now() - bucket.loadedAtMs > RELOAD_AFTER_MS;
  }

  /**
   * Lets go of the buckets read whole more than RELOAD_AFTER_MS ago, which the next look-up would read whole
   * again anyway (so at most about two hours of ids are held), then of the least recently used ones above the
   * memory bound. Never of those of the current batch.
   */
  private evict(inUse: ReadonlySet<string>): void {
    for (const [key, bucket] of this.buckets) {
      if (!inUse.has(key) && this.expired(bucket)) this.buckets.delete(key);
    }
    let total = this.cachedIds;
    if (total <= this.maxCachedIds) return;
    const byAge = [...this.buckets.entries()].filter(([key]) => !inUse.has(key)).sort((a, b) => a[1].lastUsedMs - b[1].lastUsedMs);
    for (const [key, bucket] of byAge) {
      if (total <= this.maxCachedIds) break;
      total -= bucket.delivered.size;
      this.buckets.delete(key);
    }
  }
}

/**
 * The ids a bucket delivered, each 12-byte hash as three 32-bit words in typed arrays: 21 to 43 bytes an
 * id outside V8's heap, where a Set of the hashes as strings took about 53 bytes an id inside it, and
 * every full collection marked them all (an hour at 200 events/s is 720,000 ids).
 */
export class IdSet {
  private readonly map = new CountMap(1 << 10, 0.75);

  get size(): number {
    return this.map.size;
  }

  /** Bytes of the typed arrays. */
  get bytes(): number {
    return this.map.bytes;
  }

  /** One probe: the map counts how often the id was added, and an id is in the set while it counts. */
  add(hash: string): void {
    const [a, b, c] = hashWords(hash);
    this.map.change(a, b, c, 1);
  }

  has(hash: string): boolean {
    const [a, b, c] = hashWords(hash);
    return this.map.get(a, b, c) !== 0;
  }
}

/** The three 32-bit words of a ledgerHash (12 one-byte characters). */
function hashWords(hash: string): [number, number, number] {
  const word = (i: number) => (hash.charCodeAt(i) | (hash.charCodeAt(i + 1) << 8) | (hash.charCodeAt(i + 2) << 16) | (hash.charCodeAt(i + 3) << 24)) >>> 0;
  return [word(0), word(4), word(8)];
}

/** The intent `sort` is settled: its ids are delivered, `failed` excepted. */
function settle(bucket: Bucket, sort: string, failed: ReadonlySet<string>): void {
  const intent = bucket.pending.get(sort);
  if (!intent) return;
  for (const hash of intent.hashes) if (!failed.has(hash)) bucket.delivered.add(hash);
  bucket.pending.delete(sort);
}

const bucketKey = (shardId: string, hour: number): string => `${shardId}#${hour}`;
const maxKey = (a: string | undefined, b: string): string => (a === undefined || b > a ? b : a);

function groupByHour(entries: readonly LedgerEntry[]): Map<number, LedgerEntry[]> {
  const groups = new Map<number, LedgerEntry[]>();
  for (const entry of entries) {
    const group = groups.get(entry.hour);
    if (group) group.push(entry);
    else groups.set(entry.hour, [entry]);
  }
  return groups;
}

function packHashes(hashes: readonly string[]): Uint8Array {
  return Buffer.from(hashes.join(''), 'latin1');
}

function unpackHashes(bytes: Uint8Array | undefined): string[] {
  if (!bytes) return [];
  const text = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('latin1');
  const hashes: string[] = [];
  for (let i = 0; i + ID_HASH_BYTES <= text.length; i += ID_HASH_BYTES) hashes.push(text.slice(i, i + ID_HASH_BYTES));
  return hashes;
}

/**
 * The parents of a shard of events-raw, from ListShards, read once per stream and again when a shard
 * is not in the last answer (a resharding since).
 */
export class ShardLineage {
  private readonly shards = new Map<string, Map<string, Shard>>();

  constructor(private readonly client: KinesisClient) {}

  readonly ancestorsOf = async (stream: string, shardId: string): Promise<string[]> => {
    let known = this.shards.get(stream);
    if (!known?.has(shardId)) {
      known = new Map();
      let nextToken: string | undefined;
      do {
        const page = await this.client.send(new ListShardsCommand(nextToken ? { NextToken: nextToken } : { StreamName: stream }));
        for (const shard of page.Shards ?? []) if (shard.ShardId) known.set(shard.ShardId, shard);
        nextToken = page.NextToken;
      } while (nextToken);
      this.shards.set(stream, known);
    }
    const ancestors: string[] = [];
    const visit = (id: string) => {
      const shard = known!.get(id);
      for (const parent of [shard?.ParentShardId, shard?.AdjacentParentShardId]) {
        if (parent && !ancestors.includes(parent)) {
          ancestors.push(parent);
          visit(parent);
        }
      }
    };
    visit(shardId);
    return ancestors;
  };
}
