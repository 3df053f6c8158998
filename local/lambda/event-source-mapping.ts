// A local Lambda event source mapping for Kinesis: polls every shard of the source stream in the emulator
// and invokes the real handler with Lambda's event, context and error semantics (Lambda developer guide,
// "Using Lambda with Kinesis", "partial batch response", "Retain discarded batch records"):
//   - a batch is up to batchSize records (and ≤ 6 MB), gathered for up to batchWindow;
//   - one batch at a time per shard, shards concurrently; a shard's order is kept;
//   - success checkpoints the batch; batchItemFailures checkpoints before the lowest failed record and
//     retries from it (records after it come again); a bad itemIdentifier fails the whole batch;
//   - a thrown error or a timeout bisects the batch when bisectBatchOnFunctionError is on (splits do not
//     count as retries), otherwise retries it; after maximumRetryAttempts, or once a record is older than
//     maximumRecordAgeInSeconds, the batch's metadata goes to the on-failure destination and the shard moves on;
//   - checkpoints persist under the data dir, so a restart resumes after the last checkpoint.
// Deviations: parallelizationFactor > 1 runs as 1 (per-key order is the same, only slower); a timed-out
// handler cannot be frozen in-process, so it keeps running in the background while the batch is retried.
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import type { KinesisClient } from '@aws-sdk/client-kinesis';
import type { Context, KinesisStreamEvent, KinesisStreamRecord } from 'aws-lambda';
import { LOCAL_ACCOUNT_ID, LOCAL_REGION } from '../aws-env.js';
import { functionArn, invokeLambda } from './runtime.js';
import { BackgroundTasks } from '../background-tasks.js';
import { CheckpointStore } from '../kinesis/checkpoints.js';
import { DeadLetterQueue, deadLetterFile, type KinesisOnFailureRecord } from '../storage/dead-letter-queue.js';
import type { StreamEventSource, StreamMappingSettings } from '../template/stream-event-sources.js';
import { ShardReader } from '../kinesis/shard-reader.js';
import { listShardIds, localStreamArn } from '../kinesis/streams.js';

/** A Lambda handler as a Kinesis event source mapping calls it. */
export type StreamHandler = (event: KinesisStreamEvent, context: Context) => unknown;

export interface EventSourceMappingOptions {
  /** The function and its `stream` event, from serverless.yml (see stream-event-sources.ts). */
  source: StreamEventSource;
  handler: StreamHandler;
  kinesis: KinesisClient;
  /** Checkpoints and the on-failure destination live under it. */
  dataDir: string;
  /** Settings that replace serverless.yml's, e.g. small retry counts in tests. */
  overrides?: Partial<StreamMappingSettings> & { timeoutSeconds?: number };
  /** Wait between GetRecords calls on a shard that has nothing new. Lambda polls idle shards about once a second. */
  idlePollMs?: number;
  /** First retry delay of a failed batch; doubles per retry up to 5 s. */
  retryBackoffMs?: number;
  /** How often ListShards runs to pick up new shards. */
  shardDiscoveryMs?: number;
  logger?: Pick<Console, 'info' | 'warn' | 'error'>;
}

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

export interface EventSourceMappingStats {
  uuid: string;
  functionName: string;
  streamName: string;
  /** Records read from the stream (each once, emulator re-deliveries left out). */
  recordsIn: number;
  /** Invocations of the handler. */
  batches: number;
  /** Re-invocations after a failure (bisected halves are not retries). */
  retries: number;
  bisections: number;
  /** Messages sent to the on-failure destination, and the records they name. */
  deadLetters: number;
  deadLetteredRecords: number;
  /** Records the emulator returned a second time and the poller skipped (kinesis-mock#1186 did; kinesalite has not been seen to). */
  redeliveriesSkipped: number;
  shards: Record<string, ShardStats>;
}

export interface EventSourceMapping {
  uuid: string;
  /** The function and stream it connects, as serverless.yml declares them. */
  source: StreamEventSource;
  settings: StreamMappingSettings;
  deadLetterQueue: DeadLetterQueue | undefined;
  stats(): EventSourceMappingStats;
  /** The on-failure destination's messages, oldest first. */
  readDeadLetters(): KinesisOnFailureRecord[];
  /** Lets the in-flight invocation of every shard finish, saves the checkpoints, then resolves. */
  stop(): Promise<void>;
}

/** Lambda's invocation payload limit: a batch stops growing before its event would exceed it. */
const MAX_PAYLOAD_BYTES = 6 * 1024 * 1024;
const MAX_RETRY_BACKOFF_MS = 5_000;
const GET_RECORDS_LIMIT = 10_000;

interface PolledRecord {
  sequenceNumber: string;
  sequence: bigint;
  partitionKey: string;
  data: string;
  arrivalMs: number;
}

interface Batch {
  records: PolledRecord[];
  /** Retries so far of this batch's first record (splits do not count). */
  retries: number;
  /** Invocations that included this batch's first record. */
  invokeCount: number;
  lastResponse?: KinesisOnFailureRecord['responseContext'];
}

type Outcome =
  | { kind: 'success' }
  | { kind: 'partial'; firstFailed: number }
  | { kind: 'error'; message: string }
  | { kind: 'invalid-response'; message: string };

export async function startEventSourceMapping(options: EventSourceMappingOptions): Promise<EventSourceMapping> {
  const mapping = new LocalEventSourceMapping(options);
  await mapping.start();
  return {
    uuid: mapping.uuid,
    source: options.source,
    settings: mapping.settings,
    deadLetterQueue: mapping.deadLetterQueue,
    stats: () => mapping.stats(),
    readDeadLetters: () => mapping.deadLetterQueue?.read() ?? [],
    stop: () => mapping.stop(),
  };
}

class LocalEventSourceMapping {
  readonly uuid: string;
  readonly settings: StreamMappingSettings;
  readonly deadLetterQueue: DeadLetterQueue | undefined;
  readonly streamArn: string;
  readonly functionArn: string;
  readonly timeoutMs: number;
  readonly checkpoints: CheckpointStore;
  readonly logger: Pick<Console, 'info' | 'warn' | 'error'>;
  readonly idlePollMs: number;
  readonly retryBackoffMs: number;
  private readonly tasks = new BackgroundTasks();
  readonly counters = { recordsIn: 0, batches: 0, retries: 0, bisections: 0, deadLetters: 0, deadLetteredRecords: 0, redeliveriesSkipped: 0 };
  private readonly pollers = new Map<string, ShardPoller>();
  private stopped: Promise<void> | undefined;

  constructor(readonly options: EventSourceMappingOptions) {
    const { source, overrides = {} } = options;
    const { timeoutSeconds, ...settingOverrides } = overrides;
    this.settings = { ...source.settings, ...settingOverrides };
    if (this.settings.batchSize < 1) throw new Error('batchSize must be at least 1');
    this.uuid = `${source.function.functionKey}--${source.streamName}`;
    this.streamArn = localStreamArn(source.streamName);
    this.functionArn = functionArn(source.function.functionName);
    this.timeoutMs = (timeoutSeconds ?? source.function.timeoutSeconds) * 1000;
    this.checkpoints = new CheckpointStore(join(options.dataDir, 'event-source-mappings', `${this.uuid}.json`), this.streamArn);
    this.deadLetterQueue = source.onFailure ? new DeadLetterQueue(source.onFailure.name, deadLetterFile(options.dataDir, source.onFailure.name)) : undefined;
    this.logger = options.logger ?? console;
    this.idlePollMs = options.idlePollMs ?? 250;
    this.retryBackoffMs = options.retryBackoffMs ?? 100;
  }

  get label(): string {
    return `[esm ${this.options.source.function.functionKey}<-${this.options.source.streamName}]`;
  }

  async start(): Promise<void> {
    if (this.settings.parallelizationFactor > 1) {
      this.logger.info(`${this.label} parallelizationFactor ${this.settings.parallelizationFactor} runs as 1 locally (one batch per shard at a time)`);
    }
    await this.discoverShards();
    this.track(this.discoveryLoop());
  }

  stop(): Promise<void> {
    return (this.stopped ??= (async () => {
      await this.tasks.stopAndWait();
      this.checkpoints.save();
    })());
  }

  stats(): EventSourceMappingStats {
    const shards: Record<string, ShardStats> = {};
    for (const [shardId, poller] of this.pollers) shards[shardId] = poller.stats();
    return {
      uuid: this.uuid,
      functionName: this.options.source.function.functionName,
      streamName: this.options.source.streamName,
      ...this.counters,
      shards,
    };
  }

  get stopping(): boolean {
    return this.tasks.stopping;
  }

  /** Resolves after `ms`, or at once when stopping. */
  sleep(ms: number): Promise<void> {
    return this.tasks.sleep(ms);
  }

  private track(task: Promise<void>): void {
    this.tasks.track(task);
  }


  private async discoveryLoop(): Promise<void> {
    while (!this.stopping) {
      await this.sleep(this.options.shardDiscoveryMs ?? 10_000);
      if (this.stopping) return;
      try {
        await this.discoverShards();
      } catch (error) {
        this.logger.warn(`${this.label} ListShards failed; trying again later: ${(error as Error).message}`);
      }
    }
  }

  private async discoverShards(): Promise<void> {
    for (const shardId of await listShardIds(this.options.kinesis, this.options.source.streamName)) {
      if (this.pollers.has(shardId)) continue;
      const poller = new ShardPoller(this, shardId);
      this.pollers.set(shardId, poller);
      this.track(
        poller.run().catch((error: unknown) => {
          this.logger.error(`${this.label} ${shardId} stopped on an unexpected error`, error);
        }),
      );
    }
  }

  /** One synchronous invocation, as Lambda does it for a stream batch. */
  async invoke(shardId: string, batch: Batch): Promise<Outcome> {
    const { source, handler } = this.options;
    const event: KinesisStreamEvent = { Records: batch.records.map((record) => this.lambdaRecord(shardId, record)) };
    this.counters.batches++;
    batch.invokeCount++;
    try {
      const result = await invokeLambda(source.function, handler, event, { timeoutSeconds: this.timeoutMs / 1000 });
      batch.lastResponse = { statusCode: 200, executedVersion: '$LATEST' };
      return this.classify(result, batch);
    } catch (error) {
      batch.lastResponse = { statusCode: 200, executedVersion: '$LATEST', functionError: 'Unhandled' };
      const message = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
      this.logger.warn(`${this.label} ${shardId} invocation of ${batch.records.length} record(s) failed: ${message}`);
      return { kind: 'error', message };
    }
  }

  /** Lambda's reading of a stream function's response ("Configuring partial batch response"). */
  private classify(result: unknown, batch: Batch): Outcome {
    if (!this.settings.reportBatchItemFailures) return { kind: 'success' };
    if (typeof result !== 'object' || result === null) return { kind: 'success' };
    const failures = (result as { batchItemFailures?: unknown }).batchItemFailures;
    if (failures === undefined || failures === null) return { kind: 'success' };
    if (!Array.isArray(failures)) return this.invalid('batchItemFailures is not a list');
    if (failures.length === 0) return { kind: 'success' };
    const indexOf = new Map(batch.records.map((record, index) => [record.sequenceNumber, index]));
    let firstFailed = Number.POSITIVE_INFINITY;
    for (const failure of failures) {
      const identifier = typeof failure === 'object' && failure !== null ? (failure as { itemIdentifier?: unknown }).itemIdentifier : undefined;
      if (typeof identifier !== 'string' || identifier === '') return this.invalid(`itemIdentifier ${JSON.stringify(identifier)} is empty, null or missing`);
      const index = indexOf.get(identifier);
      if (index === undefined) return this.invalid(`itemIdentifier "${identifier}" is not a sequence number of this batch`);
      firstFailed = Math.min(firstFailed, index);
    }
    return { kind: 'partial', firstFailed };
  }

  private invalid(message: string): Outcome {
    this.logger.warn(`${this.label} the function's batchItemFailures response is invalid (${message}): the whole batch fails`);
    return { kind: 'invalid-response', message };
  }

  private lambdaRecord(shardId: string, record: PolledRecord): KinesisStreamRecord {
    const role = this.options.source.function.role ?? `${this.options.source.function.functionName}-role`;
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
      eventID: `${shardId}:${record.sequenceNumber}`,
      eventName: 'aws:kinesis:record',
      invokeIdentityArn: `arn:aws:iam::${LOCAL_ACCOUNT_ID}:role/${role}`,
      awsRegion: LOCAL_REGION,
      eventSourceARN: this.streamArn,
    };
  }

  /** Sends the batch's metadata to the on-failure destination (or only logs it without one). */
  discard(shardId: string, batch: Batch, condition: KinesisOnFailureRecord['requestContext']['condition']): void {
    const first = batch.records[0]!;
    const last = batch.records.at(-1)!;
    const message: KinesisOnFailureRecord = {
      requestContext: { requestId: randomUUID(), functionArn: this.functionArn, condition, approximateInvokeCount: batch.invokeCount },
      ...(batch.lastResponse ? { responseContext: batch.lastResponse } : {}),
      version: '1.0',
      timestamp: new Date().toISOString(),
      KinesisBatchInfo: {
        shardId,
        startSequenceNumber: first.sequenceNumber,
        endSequenceNumber: last.sequenceNumber,
        approximateArrivalOfFirstRecord: new Date(first.arrivalMs).toISOString(),
        approximateArrivalOfLastRecord: new Date(last.arrivalMs).toISOString(),
        batchSize: batch.records.length,
        streamArn: this.streamArn,
      },
    };
    this.counters.deadLetters++;
    this.counters.deadLetteredRecords += batch.records.length;
    const range = `${shardId} ${first.sequenceNumber}..${last.sequenceNumber} (${batch.records.length} record(s))`;
    if (this.deadLetterQueue) {
      this.deadLetterQueue.send(message);
      this.logger.warn(`${this.label} ${condition}: ${range} sent to the on-failure destination ${this.deadLetterQueue.name}`);
    } else {
      this.logger.warn(`${this.label} ${condition}: ${range} discarded (no on-failure destination)`);
    }
  }

  retryBackoff(retries: number): number {
    return Math.min(MAX_RETRY_BACKOFF_MS, this.retryBackoffMs * 2 ** Math.max(0, retries - 1));
  }
}

/** One shard: reads in order, forms batches, invokes, checkpoints. One batch in flight at a time. */
class ShardPoller {
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
    private readonly mapping: LocalEventSourceMapping,
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
