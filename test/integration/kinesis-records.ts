// Reads a whole stream back from the emulator, every shard from TRIM_HORIZON, for assertions.
import { GetRecordsCommand, GetShardIteratorCommand, type KinesisClient } from '@aws-sdk/client-kinesis';
import { listShardIds } from '../../local/kinesis/streams.js';

export interface StreamRecord {
  shardId: string;
  partitionKey: string;
  sequenceNumber: string;
  data: Record<string, unknown>;
}

export async function readAllRecords(client: KinesisClient, streamName: string): Promise<StreamRecord[]> {
  const records: StreamRecord[] = [];
  for (const shardId of await listShardIds(client, streamName)) {
    const start = await client.send(new GetShardIteratorCommand({ StreamName: streamName, ShardId: shardId, ShardIteratorType: 'TRIM_HORIZON' }));
    let iterator = start.ShardIterator;
    const seen = new Set<string>();
    while (iterator) {
      const page = await client.send(new GetRecordsCommand({ ShardIterator: iterator, Limit: 10_000 }));
      for (const record of page.Records ?? []) {
        // An emulator may return a record twice across iterators (kinesis-mock#1186 did): count it once.
        if (seen.has(record.SequenceNumber!)) continue;
        seen.add(record.SequenceNumber!);
        records.push({
          shardId,
          partitionKey: record.PartitionKey!,
          sequenceNumber: record.SequenceNumber!,
          data: JSON.parse(Buffer.from(record.Data!).toString('utf8')) as Record<string, unknown>,
        });
      }
      if ((page.Records ?? []).length === 0 && page.MillisBehindLatest === 0) break;
      iterator = page.NextShardIterator;
    }
  }
  return records;
}

/** Records whose payload messageId is one of `messageIds`, keyed by messageId. */
export async function recordsByMessageId(client: KinesisClient, streamName: string, messageIds: string[]): Promise<Map<string, StreamRecord>> {
  const wanted = new Set(messageIds);
  const found = new Map<string, StreamRecord>();
  for (const record of await readAllRecords(client, streamName)) {
    const messageId = record.data.messageId;
    if (typeof messageId === 'string' && wanted.has(messageId)) found.set(messageId, record);
  }
  return found;
}

export function basicAuth(writeKey: string): string {
  return `Basic ${Buffer.from(`${writeKey}:`).toString('base64')}`;
}
