// Writes records to a Kinesis stream with PutRecords (and, through RetryingBatchWriter, to Firehose): chunks within the API's bounds, retries only the
// records that failed, with exponential backoff and full jitter, and never past the caller's deadline.
import { PutRecordsCommand, type KinesisClient, type PutRecordsRequestEntry } from '@aws-sdk/client-kinesis';
import { waitBeforeRetry, type BackoffClock } from './backoff.js';
import { StreamWriteError } from './errors.js';

/** PutRecords accepts at most 500 records and 5 MiB (data + partition keys) per call. */
export const MAX_RECORDS_PER_CALL = 500;
export const MAX_BYTES_PER_CALL = 5 * 1024 * 1024;
/** One record, data + partition key, is at most 1 MiB. */
export const MAX_RECORD_BYTES = 1024 * 1024;

export interface StreamRecord {
  data: Uint8Array;
  partitionKey: string;
}

export interface WriteResult {
  /** Indexes (into the input) of the records Kinesis did not accept before the deadline. */
  failed: number[];
  /** How many PutRecords calls were made. */
  calls: number;
  /** The last per-record or per-call error code seen, for the log line. */
  lastErrorCode?: string;
}

export interface KinesisBatchWriterOptions extends RetryingWriterOptions {
  client: KinesisClient;
  /** The stream's name or ARN (an ARN is sent as StreamARN). */
  stream: string;
}

// Per-call errors worth another try; anything else (missing stream, access denied, bad request) is not.
const RETRYABLE_ERROR_NAMES = new Set([
  'ProvisionedThroughputExceededException',
  'LimitExceededException',
  'ThrottlingException',
  'KMSThrottlingException',
  'RequestLimitExceeded', // DynamoDB account-level throttling
  'SlowDown', // S3 throttling
  'InternalFailure',
  'InternalFailureException',
  'ServiceUnavailable',
  'ServiceUnavailableException',
  'InternalServerError',
  'RequestTimeout',
  'RequestTimeoutException',
  'TimeoutError',
]);

const recordBytes = (r: StreamRecord): number => r.data.byteLength + Buffer.byteLength(r.partitionKey, 'utf8');

/** Splits indexes into calls of at most `maxRecords` records and `maxBytes` bytes (PutRecords: 500, 5 MiB), keeping their order. */
export function chunkForPutRecords(
  records: readonly StreamRecord[],
  indexes: readonly number[],
  { maxRecords = MAX_RECORDS_PER_CALL, maxBytes = MAX_BYTES_PER_CALL }: { maxRecords?: number; maxBytes?: number } = {},
): number[][] {
  const chunks: number[][] = [];
  let current: number[] = [];
  let bytes = 0;
  for (const i of indexes) {
    const size = recordBytes(records[i]!);
    if (current.length === maxRecords || (current.length > 0 && bytes + size > maxBytes)) {
      chunks.push(current);
      current = [];
      bytes = 0;
    }
    current.push(i);
    bytes += size;
  }
  if (current.length > 0) chunks.push(current);
  return chunks;
}

/** The chunk's records whose per-record result has an ErrorCode (PutRecords, PutRecordBatch), and the last code. */
export function failedEntries(chunk: readonly number[], results: readonly { ErrorCode?: string | undefined }[] | undefined): { failed: number[]; errorCode?: string } {
  const failed: number[] = [];
  let errorCode: string | undefined;
  results?.forEach((result, position) => {
    if (result.ErrorCode) {
      failed.push(chunk[position]!);
      errorCode = result.ErrorCode;
    }
  });
  return errorCode ? { failed, errorCode } : { failed };
}

/** A call that failed as a whole: every record of the chunk is tried again, unless retrying cannot help (then StreamWriteError). */
export function failedCall(chunk: number[], error: unknown, call: string, target: string): { failed: number[]; errorCode: string } {
  const name = error instanceof Error ? error.name : 'UnknownError';
  if (!isRetryableWriteError(error)) throw new StreamWriteError(`${call} failed: ${name}`, target, { cause: error });
  return { failed: chunk, errorCode: name };
}

export interface RetryingWriterOptions {
  baseDelayMs?: number;
  maxDelayMs?: number;
  /** Injectable for tests: time, randomness and waiting. */
  now?: () => number;
  random?: () => number;
  sleep?: (ms: number) => Promise<void>;
}

/**
 * The retry loop of a batch put (Kinesis PutRecords, Firehose PutRecordBatch): every pending record is put
 * in chunks, the ones that failed are put again after a backoff, until none is left or the deadline.
 */
export abstract class RetryingBatchWriter {
  private readonly baseDelayMs: number;
  private readonly maxDelayMs: number;
  protected readonly now: () => number;
  private readonly clock: BackoffClock;

  constructor(options: RetryingWriterOptions) {
    this.baseDelayMs = options.baseDelayMs ?? 50;
    this.maxDelayMs = options.maxDelayMs ?? 2_000;
    this.now = options.now ?? Date.now;
    this.clock = { now: this.now, sleep: options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms))), random: options.random ?? Math.random };
  }

  protected abstract chunk(records: readonly StreamRecord[], indexes: readonly number[]): number[][];
  /** One call with the records at `chunk`: the ones that failed (retryable), or throws for an error retrying cannot fix. */
  protected abstract putChunk(records: readonly StreamRecord[], chunk: number[], timeoutMs: number): Promise<{ failed: number[]; errorCode?: string }>;

  protected async writeAll(records: readonly StreamRecord[], deadline: number): Promise<WriteResult> {
    let pending = records.map((_, i) => i);
    let calls = 0;
    let lastErrorCode: string | undefined;

    for (let attempt = 0; pending.length > 0; attempt++) {
      if (!(await waitBeforeRetry(attempt, deadline, this.clock, { baseMs: this.baseDelayMs, maxMs: this.maxDelayMs }))) break;
      const stillPending: number[] = [];
      for (const chunk of this.chunk(records, pending)) {
        const remaining = deadline - this.now();
        if (remaining <= 0) {
          stillPending.push(...chunk);
          continue;
        }
        calls++;
        const outcome = await this.putChunk(records, chunk, remaining);
        stillPending.push(...outcome.failed);
        lastErrorCode = outcome.errorCode ?? lastErrorCode;
      }
      pending = stillPending;
    }
    return { failed: pending.sort((a, b) => a - b), calls, ...(lastErrorCode ? { lastErrorCode } : {}) };
  }
}

/** Whether another try may succeed: throttling, 5xx, or no answer at all. Used for every AWS call the functions retry. */
export function isRetryableWriteError(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  const e = error as Error & { $retryable?: unknown; $metadata?: { httpStatusCode?: number }; code?: string };
  if (e.$retryable) return true;
  if (RETRYABLE_ERROR_NAMES.has(e.name)) return true;
  const status = e.$metadata?.httpStatusCode;
  if (status !== undefined) return status >= 500 || status === 429;
  // No HTTP status at all: the request never got an answer (connection refused or reset, socket timeout).
  return true;
}

export class KinesisBatchWriter extends RetryingBatchWriter {
  private readonly client: KinesisClient;
  private readonly target: { StreamName: string } | { StreamARN: string };

  constructor(private readonly options: KinesisBatchWriterOptions) {
    super(options);
    this.client = options.client;
    this.target = options.stream.startsWith('arn:') ? { StreamARN: options.stream } : { StreamName: options.stream };
  }

  /**
   * Writes every record it can before `deadline` (epoch ms) and reports the ones it could not.
   * Throws StreamWriteError only for errors that retrying cannot fix.
   */
  async write(records: readonly StreamRecord[], { deadline }: { deadline: number }): Promise<WriteResult> {
    for (const r of records) {
      if (recordBytes(r) > MAX_RECORD_BYTES) throw new RangeError(`a Kinesis record is at most ${MAX_RECORD_BYTES} bytes`);
    }
    return this.writeAll(records, deadline);
  }

  protected chunk(records: readonly StreamRecord[], indexes: readonly number[]): number[][] {
    return chunkForPutRecords(records, indexes);
  }

  protected async putChunk(
    records: readonly StreamRecord[],
    chunk: number[],
    timeoutMs: number,
  ): Promise<{ failed: number[]; errorCode?: string }> {
    const entries: PutRecordsRequestEntry[] = chunk.map((i) => ({
      Data: records[i]!.data,
      PartitionKey: records[i]!.partitionKey,
    }));
    try {
      const response = await this.client.send(new PutRecordsCommand({ ...this.target, Records: entries }), {
        abortSignal: AbortSignal.timeout(timeoutMs),
      });
      return response.FailedRecordCount ? failedEntries(chunk, response.Records) : { failed: [] };
    } catch (error) {
      return failedCall(chunk, error, `PutRecords to ${this.options.stream}`, this.options.stream);
    }
  }
}
