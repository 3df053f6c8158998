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
import { invokeLambda } from './runtime.js';
import { ShardPoller, type Batch, type Outcome, type PolledRecord, type PollerHost, type ShardStats } from './shard-poller.js';
import { CheckpointStore } from '../kinesis/checkpoints.js';
import { kinesisStreamRecord as lambdaKinesisRecord } from '../../functions/shared/kinesis-record.js';
import { DeadLetterQueue, deadLetterFile, type KinesisOnFailureRecord } from '../storage/dead-letter-queue.js';
import type { StreamEventSource, StreamMappingSettings } from '../template/stream-event-sources.js';
import { ShardWorkers } from '../kinesis/shard-workers.js';
import { localStreamArn } from '../kinesis/streams.js';

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

const MAX_RETRY_BACKOFF_MS = 5_000;
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

class LocalEventSourceMapping implements PollerHost {
  readonly uuid: string;
  readonly settings: StreamMappingSettings;
  readonly deadLetterQueue: DeadLetterQueue | undefined;
  readonly streamArn: string;
  readonly timeoutMs: number;
  readonly checkpoints: CheckpointStore;
  readonly logger: Pick<Console, 'info' | 'warn' | 'error'>;
  readonly idlePollMs: number;
  readonly retryBackoffMs: number;
  readonly counters = { recordsIn: 0, batches: 0, retries: 0, bisections: 0, deadLetters: 0, deadLetteredRecords: 0, redeliveriesSkipped: 0 };
  private readonly shards: ShardWorkers<ShardPoller>;
  private stopped: Promise<void> | undefined;

  constructor(readonly options: EventSourceMappingOptions) {
    const { source, overrides = {} } = options;
    const { timeoutSeconds, ...settingOverrides } = overrides;
    this.settings = { ...source.settings, ...settingOverrides };
    if (this.settings.batchSize < 1) throw new Error('batchSize must be at least 1');
    this.uuid = `${source.function.functionKey}--${source.streamName}`;
    this.streamArn = localStreamArn(source.streamName);
    this.timeoutMs = (timeoutSeconds ?? source.function.timeoutSeconds) * 1000;
    this.checkpoints = new CheckpointStore(join(options.dataDir, 'event-source-mappings', `${this.uuid}.json`), this.streamArn);
    this.deadLetterQueue = source.onFailure ? new DeadLetterQueue(source.onFailure.name, deadLetterFile(options.dataDir, source.onFailure.name)) : undefined;
    this.logger = options.logger ?? console;
    this.idlePollMs = options.idlePollMs ?? 250;
    this.retryBackoffMs = options.retryBackoffMs ?? 100;
    this.shards = new ShardWorkers({
      kinesis: options.kinesis,
      streamName: source.streamName,
      ...(options.shardDiscoveryMs === undefined ? {} : { discoveryMs: options.shardDiscoveryMs }),
      create: (shardId) => new ShardPoller(this, shardId),
      label: this.label,
      logger: this.logger,
    });
  }

  get label(): string {
    return `[esm ${this.options.source.function.functionKey}<-${this.options.source.streamName}]`;
  }

  async start(): Promise<void> {
    if (this.settings.parallelizationFactor > 1) {
      this.logger.info(`${this.label} parallelizationFactor ${this.settings.parallelizationFactor} runs as 1 locally (one batch per shard at a time)`);
    }
    await this.shards.start();
  }

  stop(): Promise<void> {
    return (this.stopped ??= (async () => {
      await this.shards.stop();
      this.checkpoints.save();
    })());
  }

  stats(): EventSourceMappingStats {
    const shards: Record<string, ShardStats> = {};
    for (const [shardId, poller] of this.shards.workers) shards[shardId] = poller.stats();
    return {
      uuid: this.uuid,
      functionName: this.options.source.function.functionName,
      streamName: this.options.source.streamName,
      ...this.counters,
      shards,
    };
  }

  get stopping(): boolean {
    return this.shards.stopping;
  }

  /** Resolves after `ms`, or at once when stopping. */
  sleep(ms: number): Promise<void> {
    return this.shards.sleep(ms);
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
    return kinesisStreamRecord(record, { shardId, streamArn: this.streamArn, role });
  }

  /** Sends the batch's metadata to the on-failure destination (or only logs it without one). */
  discard(shardId: string, batch: Batch, condition: KinesisOnFailureRecord['requestContext']['condition']): void {
    const first = batch.records[0]!;
    const last = batch.records.at(-1)!;
    const message: KinesisOnFailureRecord = {
      requestContext: { requestId: randomUUID(), functionArn: this.options.source.function.arn, condition, approximateInvokeCount: batch.invokeCount },
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

/** One record of the KinesisStreamEvent Lambda hands a stream function (data in base64). */
export function kinesisStreamRecord(
  record: Pick<PolledRecord, 'partitionKey' | 'sequenceNumber' | 'data' | 'arrivalMs'>,
  where: { shardId: string; streamArn: string; role: string },
): KinesisStreamRecord {
  return lambdaKinesisRecord(record, { shardId: where.shardId, streamArn: where.streamArn, region: LOCAL_REGION, invokeIdentityArn: `arn:aws:iam::${LOCAL_ACCOUNT_ID}:role/${where.role}` });
}
