// One shard of a local event source mapping: reads in order, gathers batches (batch size, window, 6 MB),
// invokes through the mapping, and checkpoints, retries, bisects or discards by the outcome.
import type { KinesisClient } from '@aws-sdk/client-kinesis';
import type { CheckpointStore } from '../kinesis/checkpoints.js';
import type { StreamMappingSettings } from '../template/stream-event-sources.js';
import type { KinesisOnFailureRecord } from '../storage/dead-letter-queue.js';
import { ShardReader } from '../kinesis/shard-reader.js';

/** Lambda's invocation payload limit: a batch stops growing before its event would exceed it. */
const MAX_PAYLOAD_BYTES = 6 * 1024 * 1024;
const GET_RECORDS_LIMIT = 10_000;

export interface ShardStats {
  checkpoint: string | undefined;
  recordsIn: number;
  /** now − approximate arrival of the last record read from the shard; null before the first record. */
  iteratorAgeMs: number | null;
  /** From the last GetRecords: how far the reader is behind the tip of the shard. */
  millisBehindLatest: number | null;
  /** At the tip with nothing read and unfinished: every record of the shard so far is checkpointed or in the DLQ. */
  caughtUp: boolean;
}

/** What a shard's poller needs of its event source mapping. */
export interface PollerHost {
  readonly options: { kinesis: KinesisClient; source: { streamName: string } };
  readonly settings: StreamMappingSettings;
  readonly checkpoints: CheckpointStore;
  readonly logger: Pick<Console, 'info' | 'warn' | 'error'>;
  readonly label: string;
  readonly idlePollMs: number;
  readonly counters: Record<'recordsIn' | 'retries' | 'bisections' | 'redeliveriesSkipped', number>;
  readonly stopping: boolean;
  sleep(ms: number): Promise<void>;
  invoke(shardId: string, batch: Batch): Promise<Outcome>;
  retryBackoff(retries: number): number;
  discard(shardId: string, batch: Batch, condition: KinesisOnFailureRecord['requestContext']['condition']): void;
}

export interface PolledRecord {
  sequenceNumber: string;
  sequence: bigint;
  partitionKey: string;
  data: string;
  arrivalMs: number;
}

export interface Batch {
  records: PolledRecord[];
  /** Retries so far of this batch's first record (splits do not count). */
  retries: number;
  /** Invocations that included this batch's first record. */
  invokeCount: number;
  lastResponse?: KinesisOnFailureRecord['responseContext'];
}

export type Outcome =
  | { kind: 'success' }
  | { kind: 'partial'; firstFailed: number }
  | { kind: 'error'; message: string }
  | { kind: 'invalid-response'; message: string };

/** One shard: reads in order, forms batches, invokes, checkpoints. One batch in flight at a time. */
export class ShardPoller {
  private readonly reader: ShardReader;
  private closed = false;
  private buffer: PolledRecord[] = [];
  /** When the oldest buffered record was read: the batch window runs from there. */
  private bufferedSince = 0;
  /** Batches to (re)invoke before reading on: bisected halves and retries, in sequence order. */
  private readonly pending: Batch[] = [];
  private recordsIn = 0;
  private lastArrivalMs: number | undefined;
  private millisBehindLatest: number | null = null;
  private processing = false;

  constructor(
    private readonly mapping: PollerHost,
    readonly shardId: string,
  ) {
    const { settings, options } = mapping;
    this.reader = new ShardReader({
      kinesis: options.kinesis,
      streamName: options.source.streamName,
      shardId,
      after: mapping.checkpoints.get(shardId),
      startingPosition: settings.startingPosition,
      startingPositionTimestamp: settings.startingPositionTimestamp,
      logger: mapping.logger,
      label: mapping.label,
    });
  }

  stats(): ShardStats {
    return {
      checkpoint: this.mapping.checkpoints.get(this.shardId),
      recordsIn: this.recordsIn,
      iteratorAgeMs: this.lastArrivalMs === undefined ? null : Math.max(0, Date.now() - this.lastArrivalMs),
      millisBehindLatest: this.millisBehindLatest,
      caughtUp: this.millisBehindLatest === 0 && this.buffer.length === 0 && this.pending.length === 0 && !this.processing,
    };
  }

  async run(): Promise<void> {
    while (!this.mapping.stopping) {
      const batch = this.pending.shift() ?? (await this.nextBatch());
      if (batch) {
        this.processing = true;
        try {
          await this.process(batch);
        } finally {
          this.processing = false;
        }
        continue;
      }
      if (this.closed && this.buffer.length === 0) {
        this.mapping.logger.info(`${this.mapping.label} ${this.shardId} is closed and fully processed`);
        return;
      }
    }
  }

  private async process(batch: Batch): Promise<void> {
    const { settings } = this.mapping;
    if (settings.maximumRecordAgeInSeconds >= 0) {
      // Arrival times only grow along a shard, so the expired records are a prefix of the batch.
      const oldestAllowed = Date.now() - settings.maximumRecordAgeInSeconds * 1000;
      let expired = batch.records.findIndex((record) => record.arrivalMs >= oldestAllowed);
      if (expired < 0) expired = batch.records.length;
      if (expired > 0) {
        this.discard({ ...batch, records: batch.records.slice(0, expired) }, 'RecordAgeExceeded');
        batch = { ...batch, records: batch.records.slice(expired) };
        if (batch.records.length === 0) return;
      }
    }

    const outcome = await this.mapping.invoke(this.shardId, batch);
    switch (outcome.kind) {
      case 'success':
        this.checkpoint(batch.records.at(-1)!);
        return;
      case 'partial': {
        // Checkpoint before the lowest failed record and retry from it; the records after it come again too.
        const { firstFailed } = outcome;
        if (firstFailed > 0) this.checkpoint(batch.records[firstFailed - 1]!);
        const retries = firstFailed === 0 ? batch.retries + 1 : 1;
        await this.retryOrDiscard({ ...batch, records: batch.records.slice(firstFailed), retries });
        return;
      }
      case 'error':
        if (settings.bisectBatchOnFunctionError && batch.records.length > 1) {
          // Splitting does not consume the retry quota (Lambda developer guide).
          const middle = Math.ceil(batch.records.length / 2);
          this.pending.unshift({ ...batch, records: batch.records.slice(0, middle) }, { ...batch, records: batch.records.slice(middle) });
          this.mapping.counters.bisections++;
          return;
        }
        await this.retryOrDiscard({ ...batch, retries: batch.retries + 1 });
        return;
      case 'invalid-response':
        // Not a function error, so no bisect: the whole batch is retried as it was.
        await this.retryOrDiscard({ ...batch, retries: batch.retries + 1 });
        return;
    }
  }

  private async retryOrDiscard(batch: Batch): Promise<void> {
    const { maximumRetryAttempts } = this.mapping.settings;
    if (maximumRetryAttempts >= 0 && batch.retries > maximumRetryAttempts) {
      this.discard(batch, 'RetryAttemptsExhausted');
      return;
    }
    this.mapping.counters.retries++;
    this.pending.unshift(batch);
    await this.mapping.sleep(this.mapping.retryBackoff(batch.retries));
  }

  private discard(batch: Batch, condition: KinesisOnFailureRecord['requestContext']['condition']): void {
    this.mapping.discard(this.shardId, batch, condition);
    this.checkpoint(batch.records.at(-1)!);
  }

  private checkpoint(record: PolledRecord): void {
    this.mapping.checkpoints.advance(this.shardId, record.sequenceNumber);
  }

  /** The next fresh batch: full, or whatever arrived once the batch window is over; undefined when stopping. */
  private async nextBatch(): Promise<Batch | undefined> {
    const windowMs = this.mapping.settings.batchWindowSeconds * 1000;
    for (;;) {
      if (this.mapping.stopping) return undefined;
      if (this.buffer.length > 0) {
        const full = this.buffer.length >= this.mapping.settings.batchSize || payloadBytes(this.buffer) >= MAX_PAYLOAD_BYTES;
        if (full || this.closed || Date.now() >= this.bufferedSince + windowMs) return this.takeBatch();
      } else if (this.closed) {
        return undefined;
      }
      const { count, caughtUp } = await this.read();
      if (count === 0 && caughtUp) {
        const untilWindowEnds = this.buffer.length > 0 ? this.bufferedSince + windowMs - Date.now() : Number.POSITIVE_INFINITY;
        await this.mapping.sleep(Math.min(this.mapping.idlePollMs, untilWindowEnds));
      }
    }
  }

  private takeBatch(): Batch {
    const { batchSize } = this.mapping.settings;
    let size = 0;
    let take = 0;
    while (take < this.buffer.length && take < batchSize) {
      size += recordPayloadBytes(this.buffer[take]!);
      if (take > 0 && size > MAX_PAYLOAD_BYTES) break;
      take++;
    }
    const records = this.buffer.splice(0, take);
    if (this.buffer.length > 0) this.bufferedSince = Date.now();
    return { records, retries: 0, invokeCount: 0 };
  }

  /** One GetRecords call for what the batch still lacks. */
  private async read(): Promise<{ count: number; caughtUp: boolean }> {
    const wanted = Math.min(GET_RECORDS_LIMIT, this.mapping.settings.batchSize - this.buffer.length);
    if (wanted <= 0) return { count: 0, caughtUp: false };
    const skippedBefore = this.reader.redeliveriesSkipped;
    const { records, caughtUp, closed } = await this.reader.read(wanted);
    this.mapping.counters.redeliveriesSkipped += this.reader.redeliveriesSkipped - skippedBefore;
    this.millisBehindLatest = this.reader.millisBehindLatest;
    if (closed) this.closed = true;
    for (const record of records) {
      if (this.buffer.length === 0) this.bufferedSince = Date.now();
      this.buffer.push({ ...record, data: record.data.toString('base64') });
      this.lastArrivalMs = record.arrivalMs;
    }
    this.recordsIn += records.length;
    this.mapping.counters.recordsIn += records.length;
    return { count: records.length, caughtUp };
  }
}

/** Roughly what a record adds to the invocation payload: its base64 data plus the envelope. */
function recordPayloadBytes(record: PolledRecord): number {
  return record.data.length + record.partitionKey.length + 400;
}

function payloadBytes(records: readonly PolledRecord[]): number {
  return records.reduce((sum, record) => sum + recordPayloadBytes(record), 0);
}
