// An in-memory stand-in for the dedup ledger table (functions/enrich/dedup-ledger.ts) behind
// aws-sdk-client-mock: PutItem, and Query by bucket with an optional "sort key after" condition, in sort-key
// order, a page at a time; like DynamoDB, it refuses a start key that the condition excludes. It keeps what
// was asked, to check how few calls a batch costs.
import { DynamoDBServiceException, type AttributeValue, type PutItemCommandInput, type QueryCommandInput, type QueryCommandOutput } from '@aws-sdk/client-dynamodb';
import { LEDGER_BATCH, LEDGER_BUCKET } from '../../functions/enrich/dedup-ledger.js';

export class LedgerTable {
  readonly items = new Map<string, Map<string, Record<string, AttributeValue>>>();
  readonly queries: { bucket: string; after?: string }[] = [];
  readonly puts: Record<string, AttributeValue>[] = [];
  /** Items per Query page. */
  pageSize = 1_000;
  /** When it returns an Error, the next calls throw it. */
  failWith: (() => Error | undefined) | undefined;

  readonly put = (input: PutItemCommandInput): Record<string, never> => {
    const error = this.failWith?.();
    if (error) throw error;
    const item = input.Item!;
    const bucket = item[LEDGER_BUCKET]!.S!;
    const sort = item[LEDGER_BATCH]!.S!;
    this.puts.push(item);
    if (!this.items.has(bucket)) this.items.set(bucket, new Map());
    this.items.get(bucket)!.set(sort, item);
    return {};
  };

  readonly query = (input: QueryCommandInput): Partial<QueryCommandOutput> => {
    const error = this.failWith?.();
    if (error) throw error;
    if (input.ConsistentRead !== true) throw new Error('the ledger must be read with ConsistentRead');
    const values = input.ExpressionAttributeValues!;
    const bucket = values[':b']!.S!;
    const after = values[':c']?.S;
    this.queries.push({ bucket, ...(after === undefined ? {} : { after }) });
    const start = input.ExclusiveStartKey?.[LEDGER_BATCH]?.S;
    // As DynamoDB (and dynalite): the start key must satisfy the key condition.
    if (start !== undefined && after !== undefined && !(start > after)) {
      throw new DynamoDBServiceException({ name: 'ValidationException', $fault: 'client', $metadata: {}, message: 'The provided starting key does not match the range key predicate' });
    }
    const sorted = [...(this.items.get(bucket)?.entries() ?? [])]
      .filter(([sort]) => (after === undefined || sort > after) && (start === undefined || sort > start))
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    const page = sorted.slice(0, this.pageSize);
    const last = page.at(-1);
    return {
      Items: page.map(([, item]) => item),
      ...(sorted.length > page.length && last ? { LastEvaluatedKey: { [LEDGER_BUCKET]: { S: bucket }, [LEDGER_BATCH]: { S: last[0] } } } : {}),
    };
  };

  /** Items of every bucket. */
  count(): number {
    let n = 0;
    for (const bucket of this.items.values()) n += bucket.size;
    return n;
  }
}
