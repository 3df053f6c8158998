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

/** One record of the KinesisStreamEvent Lambda hands a stream function (data in base64), as Lambda builds it. */
export function kinesisStreamRecord(
  record: { partitionKey: string; sequenceNumber: string; data: string; arrivalMs: number },
  where: { shardId: string; streamArn: string; region: string; invokeIdentityArn: string },
): KinesisStreamRecord {
  return {
    kinesis: {
      kinesisSchemaVersion: '1.0',
      partitionKey: record.partitionKey,
      sequenceNumber: record.sequenceNumber,
      data: record.data,
      approximateArrivalTimestamp: record.arrivalMs / 1000,
    },
    eventSource: 'aws:kinesis',
    eventVersion: '1.0',
    eventID: `${where.shardId}:${record.sequenceNumber}`,
    eventName: 'aws:kinesis:record',
    invokeIdentityArn: where.invokeIdentityArn,
    awsRegion: where.region,
    eventSourceARN: where.streamArn,
  };
}
