// A Kinesis record as the stream consumers see it: where it came from and its bytes.
import type { KinesisStreamRecord } from 'aws-lambda';

export interface RawRecord {
  sequenceNumber: string;
  shardId: string;
  /** Stream name, from the record's eventSourceARN. */
  stream: string;
  /** When Kinesis received the record, epoch ms. */
  arrivalMs: number;
  data: Buffer;
}

export function rawRecord(record: KinesisStreamRecord): RawRecord {
  const arn = record.eventSourceARN ?? '';
  return {
    sequenceNumber: record.kinesis.sequenceNumber,
    // eventID is "<shardId>:<sequenceNumber>".
    shardId: record.eventID.split(':')[0] ?? 'unknown-shard',
    stream: arn.slice(arn.lastIndexOf('/') + 1) || 'unknown-stream',
    arrivalMs: Math.round(record.kinesis.approximateArrivalTimestamp * 1000),
    data: Buffer.from(record.kinesis.data, 'base64'),
  };
}
