// Writes records to a Firehose delivery stream (Direct PUT) with PutRecordBatch: chunks within the API's
// bounds, retries only the records that failed, with the same backoff and deadline as the Kinesis writer.
import { PutRecordBatchCommand, type FirehoseClient } from '@aws-sdk/client-firehose';
import { chunkForPutRecords, failedCall, failedEntries, RetryingBatchWriter, type RetryingWriterOptions, type StreamRecord, type WriteResult } from './kinesis-batch-writer.js';

/** PutRecordBatch accepts at most 500 records and 4 MiB per call, and a record of at most 1,000 KiB. */
export const FIREHOSE_MAX_RECORDS_PER_CALL = 500;
export const FIREHOSE_MAX_BYTES_PER_CALL = 4 * 1024 * 1024;
export const FIREHOSE_MAX_RECORD_BYTES = 1000 * 1024;

export interface FirehoseBatchWriterOptions extends RetryingWriterOptions {
  client: FirehoseClient;
  deliveryStream: string;
}

export class FirehoseBatchWriter extends RetryingBatchWriter {
  constructor(private readonly options: FirehoseBatchWriterOptions) {
    super(options);
  }

  /** Writes every record it can before `deadline` and reports the ones it could not; throws StreamWriteError for errors retrying cannot fix. */
  async write(records: readonly Uint8Array[], { deadline }: { deadline: number }): Promise<WriteResult> {
    for (const r of records) {
      if (r.byteLength > FIREHOSE_MAX_RECORD_BYTES) throw new RangeError(`a Firehose record is at most ${FIREHOSE_MAX_RECORD_BYTES} bytes`);
    }
    return this.writeAll(records.map((data) => ({ data, partitionKey: '' })), deadline);
  }

  protected chunk(records: readonly StreamRecord[], indexes: readonly number[]): number[][] {
    return chunkForPutRecords(records, indexes, { maxRecords: FIREHOSE_MAX_RECORDS_PER_CALL, maxBytes: FIREHOSE_MAX_BYTES_PER_CALL });
  }

  protected async putChunk(records: readonly StreamRecord[], chunk: number[], timeoutMs: number): Promise<{ failed: number[]; errorCode?: string }> {
    try {
      const response = await this.options.client.send(
        new PutRecordBatchCommand({ DeliveryStreamName: this.options.deliveryStream, Records: chunk.map((i) => ({ Data: records[i]!.data })) }),
        { abortSignal: AbortSignal.timeout(timeoutMs) },
      );
      return response.FailedPutCount ? failedEntries(chunk, response.RequestResponses) : { failed: [] };
    } catch (error) {
      return failedCall(chunk, error, `PutRecordBatch to ${this.options.deliveryStream}`, this.options.deliveryStream);
    }
  }
}
