// Bad rows: events that cannot be enriched, kept as data (schemas/bad-row) in the lake under
// bad-rows/dt=YYYY-MM-DD/ as JSON lines, one object per batch, queryable and replayable.
import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { isUtf8 } from 'node:buffer';
import type { BadRow } from '../../schemas/index.js';
import type { BadEventError } from './errors.js';
import type { RawRecord } from '../shared/kinesis-record.js';

export function toBadRow(record: RawRecord, error: BadEventError, failedAt: string): BadRow {
  const utf8 = isUtf8(record.data);
  return {
    failure_type: error.failureType,
    reason: error.message,
    payload: utf8 ? record.data.toString('utf8') : record.data.toString('base64'),
    payload_encoding: utf8 ? 'utf-8' : 'base64',
    message_id: error.messageId,
    stream: record.stream,
    shard_id: record.shardId,
    sequence_number: record.sequenceNumber,
    approximate_arrival: new Date(record.arrivalMs).toISOString(),
    failed_at: failedAt,
  };
}

/**
 * The object key for the bad rows of a batch, a function of the batch's first record only (its shard,
 * sequence number and arrival date), so a retried batch overwrites its earlier object.
 * The last sequence number is deliberately left out: a retry re-reads from the checkpoint with
 * whatever batch size, window or bisect applies then, so its last record is not stable.
 */
export function badRowsKey(prefix: string, first: Pick<RawRecord, 'shardId' | 'sequenceNumber' | 'arrivalMs'>): string {
  const dt = new Date(first.arrivalMs).toISOString().slice(0, 10);
  return `${prefix}dt=${dt}/${first.shardId}-${first.sequenceNumber}.jsonl`;
}

export interface BadRowWriterOptions {
  client: S3Client;
  bucket: string;
  prefix: string;
  now?: () => number;
}

export class BadRowWriter {
  constructor(private readonly options: BadRowWriterOptions) {}

  /** Uploads the rows as one JSON-lines object and returns its key. SDK errors propagate. */
  async write(firstRecordOfBatch: RawRecord, rows: readonly BadRow[], { deadline }: { deadline: number }): Promise<string> {
    const key = badRowsKey(this.options.prefix, firstRecordOfBatch);
    const body = rows.map((row) => JSON.stringify(row)).join('\n') + '\n';
    await this.options.client.send(
      new PutObjectCommand({ Bucket: this.options.bucket, Key: key, Body: body, ContentType: 'application/x-ndjson' }),
      { abortSignal: AbortSignal.timeout(Math.max(1, deadline - (this.options.now ?? Date.now)())) },
    );
    return key;
  }
}
