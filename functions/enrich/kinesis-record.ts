// A Kinesis record as the enrich stage sees it: where it came from and its bytes, decoded to JSON.
import type { KinesisStreamRecord } from 'aws-lambda';
import { isUtf8 } from 'node:buffer';
import { BadEventError } from './errors.js';

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

/** The record's JSON value. Throws BadEventError (invalid_json) for bytes that are not UTF-8 JSON. */
export function decodeJson(data: Buffer): unknown {
  if (!isUtf8(data)) throw new BadEventError('invalid_json', 'record data is not valid UTF-8');
  try {
    return JSON.parse(data.toString('utf8')) as unknown;
  } catch (error) {
    throw new BadEventError('invalid_json', `record data is not JSON: ${(error as Error).message}`, null, { cause: error });
  }
}
