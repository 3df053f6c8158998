// Which of a batch's events are on events-enriched already: asked only when an earlier attempt of the same
// batch left a write intent (functions/shared/dedup-store.ts) with ids it never marked, i.e. after a crash
// or a timeout between the write and the marks. Every shard of events-enriched is read from just before the
// intent to the tip. That costs a few GetRecords calls, once per crash, and turns the only window in which
// a redelivery would write an event twice into an exactly-once one.
import { GetRecordsCommand, GetShardIteratorCommand, ListShardsCommand, type KinesisClient } from '@aws-sdk/client-kinesis';
import { EnrichmentRecoveryError } from './errors.js';

/** How far before the intent to start: covers clock skew between the function and Kinesis. */
const MARGIN_MS = 30_000;

export interface WrittenCheckOptions {
  client: KinesisClient;
  /** events-enriched: a stream name or ARN. */
  stream: string;
  now?: () => number;
}

export class WrittenCheck {
  private readonly now: () => number;
  private readonly streamRef: { StreamName: string } | { StreamARN: string };

  constructor(private readonly options: WrittenCheckOptions) {
    this.now = options.now ?? Date.now;
    this.streamRef = options.stream.startsWith('arn:') ? { StreamARN: options.stream } : { StreamName: options.stream };
  }

  /** The subset of `ids` found on the stream among the records that arrived from `sinceMs` (minus a margin) on. */
  async find(ids: ReadonlySet<string>, sinceMs: number, { deadline }: { deadline: number }): Promise<Set<string>> {
    const found = new Set<string>();
    const timeout = () => ({ abortSignal: AbortSignal.timeout(Math.max(1, deadline - this.now())) });
    try {
      const shardIds: string[] = [];
      let nextToken: string | undefined;
      do {
        const page = await this.options.client.send(new ListShardsCommand(nextToken ? { NextToken: nextToken } : { ...this.streamRef }), timeout());
        for (const shard of page.Shards ?? []) if (shard.ShardId) shardIds.push(shard.ShardId);
        nextToken = page.NextToken;
      } while (nextToken);

      const from = new Date(Math.min(sinceMs - MARGIN_MS, this.now()));
      await Promise.all(
        shardIds.map(async (ShardId) => {
          const start = await this.options.client.send(new GetShardIteratorCommand({ ...this.streamRef, ShardId, ShardIteratorType: 'AT_TIMESTAMP', Timestamp: from }), timeout());
          for (let iterator = start.ShardIterator; iterator; ) {
            if (this.now() >= deadline) throw new Error('deadline reached before the tip of the stream');
            const page = await this.options.client.send(new GetRecordsCommand({ ShardIterator: iterator, Limit: 10_000 }), timeout());
            for (const record of page.Records ?? []) {
              const messageId = messageIdOf(record.Data);
              if (messageId !== undefined && ids.has(messageId)) found.add(messageId);
            }
            if ((page.Records ?? []).length === 0 && (page.MillisBehindLatest ?? 0) === 0) break;
            iterator = page.NextShardIterator;
          }
        }),
      );
    } catch (error) {
      throw new EnrichmentRecoveryError(`could not check events-enriched for ${ids.size} unmarked id(s) of an earlier attempt: ${(error as Error).message}`, { cause: error });
    }
    return found;
  }
}

function messageIdOf(data: Uint8Array | undefined): string | undefined {
  if (!data) return undefined;
  try {
    const id = (JSON.parse(Buffer.from(data).toString('utf8')) as { messageId?: unknown }).messageId;
    return typeof id === 'string' ? id : undefined;
  } catch {
    return undefined;
  }
}
