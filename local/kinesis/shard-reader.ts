// Reads one shard of a stream in the emulator in order, for the event source mapping and the local Firehose: an
// iterator after the checkpoint (or at the starting position), a fresh one when it expires, and records at
// or below the highest sequence number already read skipped, should the emulator return a record twice
// across iterators (kinesis-mock did: kinesis-mock#1186). Sequence numbers are compared as BigInt.
import {
  ExpiredIteratorException,
  GetRecordsCommand,
  GetShardIteratorCommand,
  InvalidArgumentException,
  ResourceNotFoundException,
  type _Record,
  type GetShardIteratorCommandInput,
  type KinesisClient,
} from '@aws-sdk/client-kinesis';

export interface ShardRecord {
  sequenceNumber: string;
  sequence: bigint;
  partitionKey: string;
  data: Buffer;
  arrivalMs: number;
}

export interface ShardReadResult {
  records: ShardRecord[];
  /** Nothing new and the reader is at the tip of the shard. */
  caughtUp: boolean;
  /** The shard is closed and fully read (or no longer exists). */
  closed: boolean;
}

export interface ShardReaderOptions {
  kinesis: KinesisClient;
  streamName: string;
  shardId: string;
  /** Read after this sequence number (the checkpoint); otherwise from `startingPosition`. */
  after?: string | undefined;
  startingPosition?: 'TRIM_HORIZON' | 'LATEST' | 'AT_TIMESTAMP';
  /** Epoch seconds, for AT_TIMESTAMP. */
  startingPositionTimestamp?: number | undefined;
  logger: Pick<Console, 'warn'>;
  label: string;
}

export class ShardReader {
  private iterator: string | undefined;
  private highestRead: bigint | undefined;
  private closed = false;
  redeliveriesSkipped = 0;
  millisBehindLatest: number | null = null;

  constructor(private readonly options: ShardReaderOptions) {
    this.highestRead = options.after === undefined ? undefined : BigInt(options.after);
  }

  /** One GetRecords call. Transient errors are logged and answered as "nothing read yet". */
  async read(limit: number): Promise<ShardReadResult> {
    if (this.closed) return { records: [], caughtUp: true, closed: true };
    try {
      this.iterator ??= await this.newIterator();
      if (this.iterator === undefined) {
        this.closed = true;
        return { records: [], caughtUp: true, closed: true };
      }
      const page = await this.options.kinesis.send(new GetRecordsCommand({ ShardIterator: this.iterator, Limit: limit }));
      this.iterator = page.NextShardIterator;
      if (this.iterator === undefined) this.closed = true;
      this.millisBehindLatest = page.MillisBehindLatest ?? null;
      const records: ShardRecord[] = [];
      for (const record of page.Records ?? []) {
        const read = toShardRecord(record);
        if (this.highestRead !== undefined && read.sequence <= this.highestRead) {
          this.redeliveriesSkipped++;
          continue;
        }
        this.highestRead = read.sequence;
        records.push(read);
      }
      return { records, caughtUp: (page.Records ?? []).length === 0 && (page.MillisBehindLatest ?? 0) === 0, closed: this.closed };
    } catch (error) {
      // A new iterator after the last record read.
      this.iterator = undefined;
      if (!(error instanceof ExpiredIteratorException)) {
        this.options.logger.warn(`${this.options.label} ${this.options.shardId} GetRecords failed; retrying: ${(error as Error).message}`);
      }
      return { records: [], caughtUp: !(error instanceof ExpiredIteratorException), closed: false };
    }
  }

  private async newIterator(): Promise<string | undefined> {
    const { kinesis, streamName, shardId, startingPosition = 'TRIM_HORIZON' } = this.options;
    const base = { StreamName: streamName, ShardId: shardId };
    let input: GetShardIteratorCommandInput;
    if (this.highestRead !== undefined) {
      input = { ...base, ShardIteratorType: 'AFTER_SEQUENCE_NUMBER', StartingSequenceNumber: this.highestRead.toString() };
    } else if (startingPosition === 'AT_TIMESTAMP') {
      input = { ...base, ShardIteratorType: 'AT_TIMESTAMP', Timestamp: new Date((this.options.startingPositionTimestamp ?? 0) * 1000) };
    } else {
      input = { ...base, ShardIteratorType: startingPosition };
    }
    try {
      return (await kinesis.send(new GetShardIteratorCommand(input))).ShardIterator;
    } catch (error) {
      if (error instanceof ResourceNotFoundException) {
        this.options.logger.warn(`${this.options.label} ${shardId} no longer exists; its reader stops`);
        return undefined;
      }
      if (error instanceof InvalidArgumentException && input.ShardIteratorType === 'AFTER_SEQUENCE_NUMBER') {
        // The checkpoint names a record the stream does not have (its data was deleted): start over.
        this.options.logger.warn(`${this.options.label} ${shardId} checkpoint ${input.StartingSequenceNumber} is unknown to the stream; reading from ${startingPosition}`);
        this.highestRead = undefined;
        return this.newIterator();
      }
      throw error;
    }
  }
}

function toShardRecord(record: _Record): ShardRecord {
  const sequenceNumber = record.SequenceNumber!;
  return {
    sequenceNumber,
    sequence: BigInt(sequenceNumber),
    partitionKey: record.PartitionKey ?? '',
    data: Buffer.from(record.Data ?? new Uint8Array()),
    arrivalMs: record.ApproximateArrivalTimestamp?.getTime() ?? Date.now(),
  };
}
