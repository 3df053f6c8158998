// One local delivery stream: reads every shard of its source, buffers each shard by size and interval,
// hands a full buffer to the BufferConverter, PUTs the objects and moves the shard's checkpoint. The source
// is the Kinesis stream of the template, or, for a Direct PUT delivery stream, the hidden backing stream the
// local Firehose API (direct-put.ts) appends to: read the same way, so delivered the same way.
//
// Exactly once across restarts. Each shard is buffered on its own, and every object of a buffer is named
// after (shard, first and last sequence number of the buffer). Before writing a buffer, its range is saved
// with the checkpoint (CheckpointStore.plan); the checkpoint moves past the range only once every object
// of it is stored. A crash before the plan: nothing was written, the records are read again. A crash after
// it: the restart re-reads exactly that range (not whatever the buffering would make of it then), the
// transform is deterministic, so the same objects are written under the same keys and overwrite the
// earlier ones instead of adding duplicates.
import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { KinesisClient } from '@aws-sdk/client-kinesis';
import { join } from 'node:path';
import { CheckpointStore } from '../kinesis/checkpoints.js';
import { ensureStream } from '../kinesis/streams.js';
import type { DeliveryStreamDefinition } from '../template/delivery-streams.js';
import { ShardReader, type ShardRecord } from '../kinesis/shard-reader.js';
import { ShardWorkers } from '../kinesis/shard-workers.js';
import { BufferConverter, type DeliveryObject, type ErrorOutputType, type FirehoseProcessorHandler } from './buffer-converter.js';

/** Local buffering: objects close much sooner than with the deployed hints, so the lake is seconds behind. */
export const LOCAL_FIREHOSE_DEFAULTS = { bufferSizeBytes: 1024 * 1024, bufferIntervalMs: 5_000 } as const;

const GET_RECORDS_LIMIT = 10_000;
const MAX_BACKOFF_MS = 5_000;

/** How long stop() keeps reading what the stopped producers wrote last. */
const STOP_DRAIN_MS = 10_000;

export interface DeliveryStreamStats {
  deliveryStream: string;
  /** The Kinesis source stream, or `direct-put` (whose backing stream is in `directPut`). */
  sourceStream: string;
  /** Direct PUT: the hidden stream the Firehose API appends to, and what the API accepted (local/firehose/firehose.ts fills the counts in). */
  directPut: { backingStream: string; requests: number; recordsAccepted: number; recordsFailed: number } | null;
  /** Records read from the source (each once, emulator re-deliveries left out); for Direct PUT, from the backing stream. */
  recordsIn: number;
  /** Rows written under the prefix. */
  recordsDelivered: number;
  dropped: number;
  /** Records written to the error prefix, by error output type. */
  failedRecords: Record<ErrorOutputType, number>;
  invocations: number;
  /** Invocations that threw, timed out or answered out of contract (each retry counts). */
  failedInvocations: number;
  objectsWritten: number;
  bytesWritten: number;
  buffersDelivered: number;
  /** Buffers delivered again after a restart, from their saved range. */
  rangesRedelivered: number;
  redeliveriesSkipped: number;
  /** Records read and not yet stored. */
  bufferedRecords: number;
  /** now − arrival of the oldest record not yet stored; 0 when nothing waits. */
  lagMs: number;
  /** The largest MillisBehindLatest of the last GetRecords of each shard. */
  millisBehindLatest: number | null;
  shards: Record<string, { checkpoint: string | undefined; buffered: number; millisBehindLatest: number | null }>;
}

export interface DeliveryHooks {
  /** Runs after a buffer's objects are stored and before the checkpoint moves: tests simulate a crash here. */
  afterObjectsStored?: (info: { shardId: string; first: string; last: string; keys: string[] }) => void | Promise<void>;
}

export interface DeliveryStreamOptions {
  definition: DeliveryStreamDefinition;
  /** The transform Lambda; required when the definition has a processor. */
  processor?: FirehoseProcessorHandler;
  kinesis: KinesisClient;
  s3: S3Client;
  /** Checkpoints live under <dataDir>/firehose/. */
  dataDir: string;
  bufferSizeBytes?: number;
  bufferIntervalMs?: number;
  /** Wait between GetRecords calls on a shard that has nothing new. */
  idlePollMs?: number;
  shardDiscoveryMs?: number;
  logger?: Pick<Console, 'info' | 'warn' | 'error'>;
  hooks?: DeliveryHooks;
}

export interface LocalDeliveryStream {
  definition: DeliveryStreamDefinition;
  bufferSizeBytes: number;
  bufferIntervalMs: number;
  stats(): DeliveryStreamStats;
  /** Reads what the source still has (up to 10 s), stores what is buffered, saves the checkpoints, then resolves. */
  stop(): Promise<void>;
  /** Stops like a crash: nothing more is stored or checkpointed. For tests. */
  abort(): Promise<void>;
}

export async function startDeliveryStream(options: DeliveryStreamOptions): Promise<LocalDeliveryStream> {
  const { definition } = options;
  if (definition.processor && !options.processor) throw new Error(`${definition.name}: its processor Lambda ${definition.processor.functionKey} was not given`);
  // The backing stream is the local Firehose's own: whichever of it and the API starts first creates it.
  if (definition.source.kind === 'direct-put') await ensureStream(options.kinesis, definition.source.streamName, definition.source.shardCount, 30_000);
  const loop = new DeliveryLoop(options, await BufferConverter.create(options.definition, options.processor, join(options.dataDir, 'firehose', options.definition.name, 'tmp')));
  await loop.start();
  return {
    definition: options.definition,
    bufferSizeBytes: loop.bufferSizeBytes,
    bufferIntervalMs: loop.bufferIntervalMs,
    stats: () => loop.stats(),
    stop: () => loop.stop(),
    abort: () => loop.abort(),
  };
}

class DeliveryLoop {
  readonly bufferSizeBytes: number;
  readonly bufferIntervalMs: number;
  readonly checkpoints: CheckpointStore;
  readonly logger: Pick<Console, 'info' | 'warn' | 'error'>;
  readonly label: string;
  aborted = false;
  readonly counters = {
    recordsIn: 0,
    recordsDelivered: 0,
    dropped: 0,
    failedRecords: { 'processing-failed': 0, 'format-conversion-failed': 0, 'partitioning-failed': 0 } as Record<ErrorOutputType, number>,
    invocations: 0,
    failedInvocations: 0,
    objectsWritten: 0,
    bytesWritten: 0,
    buffersDelivered: 0,
    rangesRedelivered: 0,
  };
  private readonly shards: ShardWorkers<ShardDelivery>;
  private finished: Promise<void> | undefined;

  constructor(
    readonly options: DeliveryStreamOptions,
    readonly converter: BufferConverter,
  ) {
    const { definition } = options;
    this.bufferSizeBytes = options.bufferSizeBytes ?? LOCAL_FIREHOSE_DEFAULTS.bufferSizeBytes;
    this.bufferIntervalMs = options.bufferIntervalMs ?? LOCAL_FIREHOSE_DEFAULTS.bufferIntervalMs;
    this.checkpoints = new CheckpointStore(join(options.dataDir, 'firehose', `${definition.name}.json`), definition.source.streamArn);
    this.logger = options.logger ?? console;
    this.label = `[firehose ${definition.name}<-${sourceName(definition)}]`;
    this.shards = new ShardWorkers({
      kinesis: options.kinesis,
      streamName: definition.source.streamName,
      ...(options.shardDiscoveryMs === undefined ? {} : { discoveryMs: options.shardDiscoveryMs }),
      create: (shardId) => new ShardDelivery(this, shardId),
      label: this.label,
      logger: this.logger,
    });
  }

  start(): Promise<void> {
    return this.shards.start();
  }

  stop(): Promise<void> {
    return this.finish(false);
  }

  abort(): Promise<void> {
    return this.finish(true);
  }

  private finish(abort: boolean): Promise<void> {
    return (this.finished ??= (async () => {
      this.aborted = abort;
      await this.shards.stop();
      if (!abort) this.checkpoints.save();
      this.converter.close();
    })());
  }

  stats(): DeliveryStreamStats {
    const shards: DeliveryStreamStats['shards'] = {};
    let lagMs = 0;
    let bufferedRecords = 0;
    let behind: number | null = null;
    for (const [shardId, shard] of this.shards.workers) {
      shards[shardId] = { checkpoint: this.checkpoints.get(shardId), buffered: shard.buffer.length, millisBehindLatest: shard.reader.millisBehindLatest };
      bufferedRecords += shard.buffer.length;
      if (shard.buffer.length > 0) lagMs = Math.max(lagMs, Date.now() - shard.buffer[0]!.arrivalMs);
      if (shard.reader.millisBehindLatest !== null) behind = Math.max(behind ?? 0, shard.reader.millisBehindLatest);
    }
    const { definition } = this.options;
    return {
      deliveryStream: definition.name,
      sourceStream: sourceName(definition),
      directPut: definition.source.kind === 'direct-put' ? { backingStream: definition.source.streamName, requests: 0, recordsAccepted: 0, recordsFailed: 0 } : null,
      ...this.counters,
      failedRecords: { ...this.counters.failedRecords },
      redeliveriesSkipped: [...this.shards.workers.values()].reduce((n, s) => n + s.reader.redeliveriesSkipped, 0),
      bufferedRecords,
      lagMs,
      millisBehindLatest: behind,
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

  async put(object: DeliveryObject): Promise<void> {
    await this.options.s3.send(
      new PutObjectCommand({ Bucket: this.options.definition.bucket, Key: object.key, Body: object.body, ContentType: object.contentType }),
    );
  }
}

/** What the delivery stream reads from, for people: the Kinesis stream, or `direct-put`. */
export const sourceName = (definition: DeliveryStreamDefinition): string => (definition.source.kind === 'direct-put' ? 'direct-put' : definition.source.streamName);

class ShardDelivery {
  readonly reader: ShardReader;
  buffer: ShardRecord[] = [];
  private bufferBytes = 0;
  /** When the oldest buffered record was read: the buffering interval runs from there. */
  private bufferedSince = 0;
  private failures = 0;

  constructor(
    private readonly loop: DeliveryLoop,
    readonly shardId: string,
  ) {
    this.reader = new ShardReader({
      kinesis: loop.options.kinesis,
      streamName: loop.options.definition.source.streamName,
      shardId,
      after: loop.checkpoints.get(shardId),
      logger: loop.logger,
      label: loop.label,
    });
  }

  async run(): Promise<void> {
    const { loop } = this;
    while (!loop.stopping) {
      const due = this.due();
      if (due) {
        await this.deliver(due.records, due.replay);
        continue;
      }
      const { records, caughtUp, closed } = await this.reader.read(GET_RECORDS_LIMIT);
      this.take(records);
      if (closed && this.buffer.length === 0) return;
      if (records.length === 0 && caughtUp) {
        const untilInterval = this.buffer.length > 0 ? this.bufferedSince + loop.bufferIntervalMs - Date.now() : Number.POSITIVE_INFINITY;
        await loop.sleep(Math.min(loop.options.idlePollMs ?? 250, untilInterval));
      }
    }
    if (loop.aborted) return;
    // Stop: the stack stops the producers first, so read what they wrote last (up to a deadline), then store
    // what is buffered. A saved range not fully read again stays planned for the next start.
    const drainUntil = Date.now() + STOP_DRAIN_MS;
    while (Date.now() < drainUntil) {
      const { records, caughtUp, closed } = await this.reader.read(GET_RECORDS_LIMIT);
      this.take(records);
      if ((records.length === 0 && caughtUp) || closed) break;
    }
    for (let due = this.due(true); due && !loop.aborted; due = this.due(true)) {
      if (!(await this.deliver(due.records, due.replay))) return;
    }
  }

  private take(records: readonly ShardRecord[]): void {
    for (const record of records) {
      if (this.buffer.length === 0) this.bufferedSince = Date.now();
      this.buffer.push(record);
      this.bufferBytes += record.data.byteLength;
    }
    this.loop.counters.recordsIn += records.length;
  }

  /** The records to deliver now: a saved range once it is read again, or a full / expired buffer. */
  private due(flushAll = false): { records: ShardRecord[]; replay: boolean } | undefined {
    if (this.buffer.length === 0) return undefined;
    const plan = this.loop.checkpoints.planned(this.shardId);
    if (plan) {
      const last = BigInt(plan.last);
      if (!this.buffer.some((r) => r.sequence >= last)) return undefined;
      const end = this.buffer.findIndex((r) => r.sequence > last);
      return { records: this.buffer.slice(0, end < 0 ? this.buffer.length : end), replay: true };
    }
    const full = this.bufferBytes >= this.loop.bufferSizeBytes;
    if (!flushAll && !full && Date.now() < this.bufferedSince + this.loop.bufferIntervalMs) return undefined;
    let take = 0;
    let bytes = 0;
    while (take < this.buffer.length && (take === 0 || bytes + this.buffer[take]!.data.byteLength <= this.loop.bufferSizeBytes)) {
      bytes += this.buffer[take]!.data.byteLength;
      take++;
    }
    return { records: this.buffer.slice(0, take), replay: false };
  }

  /** Plans, converts, stores and checkpoints one range; false when it could not (it stays planned). */
  private async deliver(records: ShardRecord[], replay: boolean): Promise<boolean> {
    const { loop, shardId } = this;
    const first = records[0]!.sequenceNumber;
    const last = records.at(-1)!.sequenceNumber;
    if (!replay) loop.checkpoints.plan(shardId, { first, last });
    try {
      const converted = await loop.converter.convert(shardId, records);
      loop.counters.invocations += converted.invocations;
      loop.counters.failedInvocations += converted.failedInvocations;
      for (const object of converted.objects) await loop.put(object);
      await loop.options.hooks?.afterObjectsStored?.({ shardId, first, last, keys: converted.objects.map((o) => o.key) });
      if (loop.aborted) return false;
      loop.checkpoints.advance(shardId, last);
      this.buffer.splice(0, records.length);
      this.bufferBytes -= records.reduce((n, r) => n + r.data.byteLength, 0);
      if (this.buffer.length > 0) this.bufferedSince = Date.now();
      const counters = loop.counters;
      counters.recordsDelivered += converted.ok;
      counters.dropped += converted.dropped;
      for (const [type, n] of Object.entries(converted.failed) as [ErrorOutputType, number][]) counters.failedRecords[type] += n;
      counters.objectsWritten += converted.objects.length;
      counters.bytesWritten += converted.objects.reduce((n, o) => n + o.body.byteLength, 0);
      counters.buffersDelivered++;
      if (replay) counters.rangesRedelivered++;
      this.failures = 0;
      return true;
    } catch (error) {
      if (loop.aborted) return false;
      this.failures++;
      // Firehose retries S3 delivery (for up to 24 h); the range stays planned, so a retry writes the same keys.
      loop.logger.warn(`${loop.label} ${shardId} delivery of ${first}..${last} failed (attempt ${this.failures}); retrying: ${(error as Error).message}`);
      if (loop.stopping && this.failures >= 3) return false;
      await loop.sleep(Math.min(MAX_BACKOFF_MS, 200 * 2 ** (this.failures - 1)));
      return false;
    }
  }
}
