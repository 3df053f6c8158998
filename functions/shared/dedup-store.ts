// Cross-batch dedup by id in DynamoDB, one item per id, for the alert consumer (by anomaly
// id): look the batch's ids up (BatchGetItem) before the side effect, and mark them (BatchWriteItem, with a
// TTL) only after it succeeded (published to SNS).
//
// Check → act → mark: a crash between act and mark never loses a record; the retry may act on it once
// more (at least once, with duplicates only on failures). It is race-free in normal operation because a
// retried record keeps its id, hence its partition key and shard, and Lambda processes a shard's records
// of one partition key one batch at a time.
//
// The alert consumer uses it (a few anomalies a minute). The enrich stage, at one id per event, keeps a
// ledger per shard instead, written once per batch (functions/enrich/dedup-ledger.ts).
import {
  BatchGetItemCommand,
  BatchWriteItemCommand,
  type DynamoDBClient,
  type KeysAndAttributes,
} from '@aws-sdk/client-dynamodb';
import { waitBeforeRetry, type BackoffClock } from './backoff.js';
import { DedupTableError } from './errors.js';
import { isRetryableWriteError } from './kinesis-batch-writer.js';

/** BatchGetItem reads at most 100 keys per call. */
const MAX_KEYS_PER_GET = 100;
/** BatchWriteItem writes at most 25 items per call. */
const MAX_ITEMS_PER_WRITE = 25;
/** BatchWriteItem calls in flight at once: 250 marks in one round. */
const MARK_CONCURRENCY = 10;

export interface LookupResult {
  /** Ids marked within the dedup window: already written to events-enriched. */
  seen: Set<string>;
  /** Ids the table could not be asked about before the deadline. */
  unresolved: Set<string>;
}

export interface MarkResult {
  marked: number;
  /** Ids that could not be marked before the deadline (acted on anyway; the next look-up does not see them). */
  failed: string[];
  lastError?: string;
}

export interface DedupStoreOptions {
  client: DynamoDBClient;
  table: string;
  ttlSeconds: number;
  /** The table's partition key attribute (string); messageId, the enrich table's, by default. */
  keyAttribute?: string;
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
  random?: () => number;
}

export const DEDUP_KEY = 'messageId';
export const DEDUP_EXPIRES_AT = 'expiresAt';
export class DedupStore {
  private readonly now: () => number;
  private readonly clock: BackoffClock;
  private readonly key: string;

  constructor(private readonly options: DedupStoreOptions) {
    this.key = options.keyAttribute ?? DEDUP_KEY;
    this.now = options.now ?? Date.now;
    this.clock = { now: this.now, sleep: options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms))), random: options.random ?? Math.random };
  }

  /**
   * Which ids were marked within the window. TTL deletion lags (up to days), so an item only counts
   * while its expiresAt is in the future. Throttled or unprocessed keys are retried until the deadline.
   */
  async lookup(ids: readonly string[], { deadline }: { deadline: number }): Promise<LookupResult> {
    const seen = new Set<string>();
    let pending = [...new Set(ids)];
    const nowSeconds = Math.floor(this.now() / 1000);
    for (let attempt = 0; pending.length > 0; attempt++) {
      if (!(await waitBeforeRetry(attempt, deadline, this.clock))) break;
      const next: string[] = [];
      for (let i = 0; i < pending.length; i += MAX_KEYS_PER_GET) {
        const chunk = pending.slice(i, i + MAX_KEYS_PER_GET);
        const remaining = deadline - this.now();
        if (remaining <= 0) {
          next.push(...chunk);
          continue;
        }
        next.push(...(await this.getChunk(chunk, nowSeconds, seen, remaining)));
      }
      pending = next;
    }
    return { seen, unresolved: new Set(pending) };
  }

  /**
   * Marks ids as acted on: BatchWriteItem, 25 items a call, up to 10 calls at once, unprocessed items retried
   * with backoff until the deadline. Unconditional: the look-up decided, and a shard's records of one id are
   * never processed concurrently (see the header); a put over an expired mark just renews it.
   */
  async mark(ids: readonly string[], { deadline }: { deadline: number }): Promise<MarkResult> {
    const expiresAt = String(Math.floor(this.now() / 1000) + this.options.ttlSeconds);
    const result: MarkResult = { marked: 0, failed: [] };
    const chunks: string[][] = [];
    for (let i = 0; i < ids.length; i += MAX_ITEMS_PER_WRITE) chunks.push(ids.slice(i, i + MAX_ITEMS_PER_WRITE));
    let next = 0;
    const worker = async () => {
      while (next < chunks.length) {
        let pending = chunks[next++]!;
        for (let attempt = 0; pending.length > 0; attempt++) {
          if (!(await waitBeforeRetry(attempt, deadline, this.clock))) break;
          const remaining = deadline - this.now();
          if (remaining <= 0) {
            result.lastError = 'DeadlineExceeded';
            break;
          }
          try {
            const response = await this.options.client.send(
              new BatchWriteItemCommand({
                RequestItems: { [this.options.table]: pending.map((id) => ({ PutRequest: { Item: { [this.key]: { S: id }, [DEDUP_EXPIRES_AT]: { N: expiresAt } } } })) },
              }),
              { abortSignal: AbortSignal.timeout(remaining) },
            );
            const unprocessed = new Set(
              (response.UnprocessedItems?.[this.options.table] ?? []).map((request) => request.PutRequest?.Item?.[this.key]?.S).filter((id): id is string => id !== undefined),
            );
            result.marked += pending.length - unprocessed.size;
            pending = pending.filter((id) => unprocessed.has(id));
            if (pending.length > 0) result.lastError = 'UnprocessedItems';
          } catch (error) {
            result.lastError = error instanceof Error ? error.name : 'UnknownError';
            if (!isRetryableWriteError(error)) break;
          }
        }
        result.failed.push(...pending);
      }
    };
    await Promise.all(Array.from({ length: Math.min(MARK_CONCURRENCY, chunks.length) }, worker));
    return result;
  }

  /** One BatchGetItem; returns the ids to ask again. */
  private async getChunk(chunk: string[], nowSeconds: number, seen: Set<string>, timeoutMs: number): Promise<string[]> {
    const { table } = this.options;
    const request: KeysAndAttributes = {
      Keys: chunk.map((id) => ({ [this.key]: { S: id } })),
      // Strongly consistent: a mark written by the previous invocation on this shard must be visible.
      ConsistentRead: true,
      ProjectionExpression: '#id, #exp',
      ExpressionAttributeNames: { '#id': this.key, '#exp': DEDUP_EXPIRES_AT },
    };
    try {
      const response = await this.options.client.send(new BatchGetItemCommand({ RequestItems: { [table]: request } }), {
        abortSignal: AbortSignal.timeout(timeoutMs),
      });
      for (const item of response.Responses?.[table] ?? []) {
        const id = item[this.key]?.S;
        const expiresAt = Number(item[DEDUP_EXPIRES_AT]?.N ?? '0');
        if (id !== undefined && expiresAt > nowSeconds) seen.add(id);
      }
      return (response.UnprocessedKeys?.[table]?.Keys ?? []).map((key) => key[this.key]?.S).filter((id): id is string => id !== undefined);
    } catch (error) {
      if (!isRetryableWriteError(error)) {
        const name = error instanceof Error ? error.name : 'UnknownError';
        throw new DedupTableError(`BatchGetItem on ${table} failed: ${name}`, table, { cause: error });
      }
      return chunk;
    }
  }
}
