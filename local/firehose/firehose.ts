// A local Firehose: one delivery loop per `AWS::KinesisFirehose::DeliveryStream` of the template
// (local/template/delivery-streams.ts), with Firehose's semantics (Firehose developer guide: "Transform source data",
// "Handle failure in data transformation", "Dynamic partitioning", "Convert input data format",
// "Custom prefixes for Amazon S3 objects"):
//   - reads every shard of the source stream in the emulator, and buffers by size and interval;
//   - invokes the REAL transform Lambda with FirehoseTransformationEvents of at most the processor's
//     BufferSizeInMBs, retried NumberOfRetries times when it throws, times out or answers out of contract;
//   - Ok rows are grouped by metadata.partitionKeys into the evaluated Prefix and converted to Parquet
//     (Snappy) with the Glue table's columns via DuckDB; Dropped rows are counted; ProcessingFailed rows,
//     failed invocations, rows the Hive JSON SerDe would refuse and rows without their partition keys go
//     to the ErrorOutputPrefix as Firehose's JSON error documents;
//   - objects are PUT through the S3 API, named <deliveryStreamName>-1-YYYY-MM-DD-HH-mm-ss-<id>.
//
// Exactly once across restarts. Each shard is buffered on its own, and every object of a buffer is named
// after (shard, first and last sequence number of the buffer). Before writing a buffer, its range is saved
// with the checkpoint (CheckpointStore.plan); the checkpoint moves past the range only once every object
// of it is stored. A crash before the plan: nothing was written, the records are read again. A crash after
// it: the restart re-reads exactly that range (not whatever the buffering would make of it then), the
// transform is deterministic, so the same objects are written under the same keys and overwrite the
// earlier ones instead of adding duplicates.
//
// Deviations, on purpose: buffers are per shard, not per delivery stream (so names can be derived from a
// shard's range); a new delivery stream reads from TRIM_HORIZON, not LATEST, so nothing enriched before
// its first start is missed; the buffering hints are local (1 MB / 5 s by default), not the deployed ones.
import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { KinesisClient } from '@aws-sdk/client-kinesis';
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import type {
  Context,
  FirehoseTransformationEvent,
  FirehoseTransformationEventRecord,
  FirehoseTransformationResultRecord,
} from 'aws-lambda';
import { createHash, randomUUID } from 'node:crypto';
import { mkdirSync, rmSync } from 'node:fs';
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { writeParquet } from './parquet.js';
import { assertFirehoseCompatible, type FlatRow } from '../../schemas/lake-rows.js';
import { LOCAL_REGION } from '../aws-env.js';
import { invokeLambda, LambdaTimeoutError } from '../lambda/runtime.js';
import { BackgroundTasks } from '../background-tasks.js';
import { CheckpointStore } from '../kinesis/checkpoints.js';
import type { DeliveryStreamDefinition } from '../template/delivery-streams.js';
import { evaluatePrefix, formatTimestamp, lambdaPartitionKeysOf } from './prefix.js';
import { ShardReader, type ShardRecord } from '../kinesis/shard-reader.js';
import { listShardIds } from '../kinesis/streams.js';

/** A Lambda handler as Firehose calls it. */
export type FirehoseProcessorHandler = (event: FirehoseTransformationEvent, context: Context) => unknown;

export const LOCAL_FIREHOSE_DEFAULTS = { bufferSizeBytes: 1024 * 1024, bufferIntervalMs: 5_000 } as const;

/** Lambda's synchronous response limit. */
const MAX_RESPONSE_BYTES = 6 * 1024 * 1024;
const GET_RECORDS_LIMIT = 10_000;
const MAX_BACKOFF_MS = 5_000;
/** How long stop() keeps reading what the stopped producers wrote last. */
const STOP_DRAIN_MS = 10_000;

export type ErrorOutputType = 'processing-failed' | 'format-conversion-failed' | 'partitioning-failed';

/** Firehose's JSON error document for one record (processing-failed; format-conversion-failed adds more). */
export interface FirehoseErrorDocument {
  attemptsMade: number;
  arrivalTimestamp: number;
  errorCode: string;
  errorMessage: string;
  attemptEndingTimestamp: number;
  rawData: string;
  lambdaArn?: string;
  sequenceNumber?: string;
  subSequenceNumber?: number;
  dataCatalogTable?: { catalogId: string; databaseName: string; tableName: string; region: string; versionId: string };
}

export interface DeliveryObject {
  key: string;
  body: Buffer;
  contentType: string;
  /** `data` under the prefix, or the error output type. */
  kind: 'data' | ErrorOutputType;
  records: number;
}

export interface ConvertedBuffer {
  objects: DeliveryObject[];
  ok: number;
  dropped: number;
  failed: Record<ErrorOutputType, number>;
  invocations: number;
  failedInvocations: number;
}

export interface DeliveryStreamStats {
  deliveryStream: string;
  sourceStream: string;
  /** Records read from the source (each once, emulator re-deliveries left out). */
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
  if (options.definition.processor && !options.processor) throw new Error(`${options.definition.name}: its processor Lambda ${options.definition.processor.functionKey} was not given`);
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

export interface LocalFirehose {
  deliveryStreams: LocalDeliveryStream[];
  stats(): DeliveryStreamStats[];
  stop(): Promise<void>;
}

/** One delivery loop per definition, each with its processor from `processors` (by function key). */
export async function startLocalFirehose(
  options: Omit<DeliveryStreamOptions, 'definition' | 'processor'> & {
    definitions: readonly DeliveryStreamDefinition[];
    processors: Record<string, FirehoseProcessorHandler>;
  },
): Promise<LocalFirehose> {
  const { definitions, processors, ...shared } = options;
  const deliveryStreams: LocalDeliveryStream[] = [];
  try {
    for (const definition of definitions) {
      const processor = definition.processor ? processors[definition.processor.functionKey] : undefined;
      deliveryStreams.push(await startDeliveryStream({ ...shared, definition, ...(processor ? { processor } : {}) }));
    }
  } catch (error) {
    await Promise.allSettled(deliveryStreams.map((d) => d.stop()));
    throw error;
  }
  return {
    deliveryStreams,
    stats: () => deliveryStreams.map((d) => d.stats()),
    stop: async () => {
      await Promise.all(deliveryStreams.map((d) => d.stop()));
    },
  };
}

// ---------------------------------------------------------------------------------------------
// One buffer → its objects: transform, partition, convert, error documents. No I/O but DuckDB's temp files.

interface Invocation {
  records: FirehoseTransformationEventRecord[];
  sources: ShardRecord[];
}

type InvocationOutcome =
  | { ok: true; results: Map<string, FirehoseTransformationResultRecord>; attempts: number; endedAt: number }
  | { ok: false; errorCode: string; errorMessage: string; attempts: number; endedAt: number };

class InvocationError extends Error {
  constructor(
    readonly errorCode: string,
    message: string,
  ) {
    super(message);
  }
}

export class BufferConverter {
  private lock: Promise<unknown> = Promise.resolve();
  private readonly requiredKeys: string[];

  private constructor(
    readonly definition: DeliveryStreamDefinition,
    private readonly processor: FirehoseProcessorHandler | undefined,
    private readonly instance: DuckDBInstance,
    private readonly connection: DuckDBConnection,
    private readonly tmpDir: string,
  ) {
    this.requiredKeys = definition.dynamicPartitioning ? lambdaPartitionKeysOf(definition.prefix) : [];
  }

  static async create(definition: DeliveryStreamDefinition, processor: FirehoseProcessorHandler | undefined, tmpDir: string): Promise<BufferConverter> {
    rmSync(tmpDir, { recursive: true, force: true });
    mkdirSync(tmpDir, { recursive: true });
    const instance = await DuckDBInstance.create(':memory:');
    return new BufferConverter(definition, processor, instance, await instance.connect(), tmpDir);
  }

  close(): void {
    this.connection.closeSync();
    this.instance.closeSync();
    rmSync(this.tmpDir, { recursive: true, force: true });
  }

  /** The objects one shard's buffer becomes. Names depend only on the shard and the buffer's range. */
  async convert(shardId: string, records: readonly ShardRecord[]): Promise<ConvertedBuffer> {
    const { definition } = this;
    const first = records[0]!.sequenceNumber;
    const last = records.at(-1)!.sequenceNumber;
    const result: ConvertedBuffer = {
      objects: [],
      ok: 0,
      dropped: 0,
      failed: { 'processing-failed': 0, 'format-conversion-failed': 0, 'partitioning-failed': 0 },
      invocations: 0,
      failedInvocations: 0,
    };
    const firehoseRecords = records.map((r) => toFirehoseRecord(shardId, r));
    const data = new Map<string, { keys: Record<string, string>; rows: FlatRow[]; raw: Buffer[]; oldestMs: number }>();
    const errors = new Map<ErrorOutputType, { documents: FirehoseErrorDocument[]; oldestMs: number }>();
    const fail = (type: ErrorOutputType, source: ShardRecord, document: Omit<FirehoseErrorDocument, 'arrivalTimestamp'>) => {
      const group = errors.get(type) ?? { documents: [], oldestMs: source.arrivalMs };
      group.documents.push({ ...document, arrivalTimestamp: source.arrivalMs });
      group.oldestMs = Math.min(group.oldestMs, source.arrivalMs);
      errors.set(type, group);
      result.failed[type]++;
    };

    const invocations = this.processor ? this.invocations(firehoseRecords, records) : [{ records: firehoseRecords, sources: [...records] }];
    for (const invocation of invocations) {
      const outcome: InvocationOutcome = this.processor
        ? await this.invoke(invocation, result)
        : { ok: true, results: new Map(invocation.records.map((r) => [r.recordId, { recordId: r.recordId, result: 'Ok', data: r.data }])), attempts: 1, endedAt: Date.now() };
      invocation.records.forEach((input, i) => {
        const source = invocation.sources[i]!;
        const lambdaArn = definition.processor?.arn;
        if (!outcome.ok) {
          fail('processing-failed', source, {
            attemptsMade: outcome.attempts,
            errorCode: outcome.errorCode,
            errorMessage: outcome.errorMessage,
            attemptEndingTimestamp: outcome.endedAt,
            rawData: input.data,
            ...(lambdaArn ? { lambdaArn } : {}),
          });
          return;
        }
        const answer = outcome.results.get(input.recordId)!;
        if (answer.result === 'Dropped') {
          result.dropped++;
          return;
        }
        if (answer.result === 'ProcessingFailed') {
          fail('processing-failed', source, {
            attemptsMade: outcome.attempts,
            errorCode: 'Lambda.ProcessingFailedStatus',
            errorMessage: 'The Lambda function answered ProcessingFailed for this record.',
            attemptEndingTimestamp: outcome.endedAt,
            rawData: input.data,
            ...(lambdaArn ? { lambdaArn } : {}),
          });
          return;
        }
        const transformed = answer.data ?? '';
        const partitionKeys = answer.metadata?.partitionKeys ?? {};
        const missing = this.requiredKeys.filter((k) => typeof partitionKeys[k] !== 'string' || partitionKeys[k] === '');
        if (missing.length > 0) {
          fail('partitioning-failed', source, {
            attemptsMade: 1,
            errorCode: 'DynamicPartitioning.PartitionKeyMissing',
            errorMessage: `metadata.partitionKeys lacks ${missing.join(', ')}, which the prefix ${definition.prefix} needs`,
            attemptEndingTimestamp: Date.now(),
            rawData: transformed,
          });
          return;
        }
        let row: FlatRow | undefined;
        if (definition.table) {
          try {
            const value: unknown = JSON.parse(Buffer.from(transformed, 'base64').toString('utf8'));
            assertFirehoseCompatible(value, definition.table.columns);
            row = value;
          } catch (error) {
            fail('format-conversion-failed', source, {
              attemptsMade: 1,
              errorCode: 'DataFormatConversion.MalformedData',
              errorMessage: `The Hive JSON SerDe would not read this record into ${definition.table.name}: ${(error as Error).message}`,
              attemptEndingTimestamp: Date.now(),
              rawData: transformed,
              sequenceNumber: source.sequenceNumber,
              subSequenceNumber: 0,
              dataCatalogTable: { catalogId: '000000000000', databaseName: 'local', tableName: definition.table.name, region: LOCAL_REGION, versionId: 'LATEST' },
            });
            return;
          }
        }
        const keys = Object.fromEntries(this.requiredKeys.map((k) => [k, partitionKeys[k]!]));
        const groupKey = JSON.stringify(keys);
        const group = data.get(groupKey) ?? { keys, rows: [], raw: [], oldestMs: source.arrivalMs };
        if (row) group.rows.push(row);
        else group.raw.push(Buffer.from(transformed, 'base64'));
        group.oldestMs = Math.min(group.oldestMs, source.arrivalMs);
        data.set(groupKey, group);
        result.ok++;
      });
    }

    for (const [groupKey, group] of data) {
      const prefix = evaluatePrefix(definition.prefix, { partitionKeys: group.keys, timestampMs: group.oldestMs, randomString: objectId(shardId, first, last, groupKey).slice(0, 8) });
      const name = this.objectName(group.oldestMs, shardId, first, last, groupKey);
      const body = definition.table ? await this.parquet(group.rows) : Buffer.concat(group.raw);
      const records = definition.table ? group.rows.length : group.raw.length;
      result.objects.push({
        key: `${prefix}${name}${definition.table ? '.parquet' : ''}`,
        body,
        contentType: definition.table ? 'application/vnd.apache.parquet' : 'application/octet-stream',
        kind: 'data',
        records,
      });
    }
    for (const [type, group] of errors) {
      const prefix = evaluatePrefix(definition.errorPrefix, { timestampMs: group.oldestMs, errorOutputType: type, randomString: objectId(shardId, first, last, type).slice(0, 8) });
      result.objects.push({
        key: `${prefix}${this.objectName(group.oldestMs, shardId, first, last, type)}`,
        body: Buffer.from(group.documents.map((d) => JSON.stringify(d)).join('\n') + '\n'),
        contentType: 'application/x-ndjson',
        kind: type,
        records: group.documents.length,
      });
    }
    return result;
  }

  /** <deliveryStreamName>-<version>-<oldest arrival yyyy-MM-dd-HH-mm-ss>-<id>, the id derived from the range. */
  private objectName(oldestMs: number, shardId: string, first: string, last: string, part: string): string {
    return `${this.definition.name}-1-${formatTimestamp(oldestMs, 'yyyy-MM-dd-HH-mm-ss')}-${objectId(shardId, first, last, part)}`;
  }

  /** Splits a buffer into invocations of at most the processor's BufferSizeInMBs of input. */
  private invocations(records: FirehoseTransformationEventRecord[], sources: readonly ShardRecord[]): Invocation[] {
    const limit = this.definition.processor!.invocationBytes;
    const out: Invocation[] = [];
    let current: Invocation = { records: [], sources: [] };
    let bytes = 0;
    records.forEach((record, i) => {
      const size = sources[i]!.data.byteLength;
      if (current.records.length > 0 && bytes + size > limit) {
        out.push(current);
        current = { records: [], sources: [] };
        bytes = 0;
      }
      current.records.push(record);
      current.sources.push(sources[i]!);
      bytes += size;
    });
    if (current.records.length > 0) out.push(current);
    return out;
  }

  /** Invokes the processor, retrying NumberOfRetries times when the invocation fails as a whole. */
  private async invoke(invocation: Invocation, result: ConvertedBuffer): Promise<InvocationOutcome> {
    const processor = this.definition.processor!;
    const event: FirehoseTransformationEvent = {
      invocationId: randomUUID(),
      deliveryStreamArn: this.definition.arn,
      sourceKinesisStreamArn: this.definition.source.streamArn,
      region: LOCAL_REGION,
      records: invocation.records,
    };
    let last: InvocationError | undefined;
    const attempts = processor.numberOfRetries + 1;
    for (let attempt = 1; attempt <= attempts; attempt++) {
      result.invocations++;
      try {
        const response = await this.callWithTimeout(event);
        return { ok: true, results: checkResponse(response, invocation.records), attempts: attempt, endedAt: Date.now() };
      } catch (error) {
        result.failedInvocations++;
        last = error instanceof InvocationError ? error : new InvocationError('Lambda.FunctionError', `The Lambda function was invoked but returned an error: ${(error as Error)?.message ?? String(error)}`);
        if (attempt < attempts) await new Promise((r) => setTimeout(r, 100 * attempt));
      }
    }
    return { ok: false, errorCode: last!.errorCode, errorMessage: last!.message, attempts, endedAt: Date.now() };
  }

  private async callWithTimeout(event: FirehoseTransformationEvent): Promise<unknown> {
    try {
      return await invokeLambda(this.definition.processor!, this.processor!, event);
    } catch (error) {
      if (error instanceof LambdaTimeoutError) throw new InvocationError('Lambda.FunctionTimedOut', error.message);
      throw error;
    }
  }

  /** Parquet (Snappy) with the table's columns; DuckDB work is serialised across shards. */
  private parquet(rows: readonly FlatRow[]): Promise<Buffer> {
    const run = this.lock.then(async () => {
      const file = join(this.tmpDir, `${randomUUID()}.parquet`);
      try {
        await writeParquet(this.connection, this.definition.table!, rows, file);
        return await readFile(file);
      } finally {
        await rm(file, { force: true });
      }
    });
    this.lock = run.catch(() => undefined);
    return run;
  }
}

/** Firehose's reading of a transform's response: every recordId once, a known result, base64 data when Ok. */
function checkResponse(response: unknown, records: readonly FirehoseTransformationEventRecord[]): Map<string, FirehoseTransformationResultRecord> {
  const entries = typeof response === 'object' && response !== null ? (response as { records?: unknown }).records : undefined;
  if (!Array.isArray(entries)) throw new InvocationError('Lambda.JsonProcessingException', 'The response is not an object with a records list.');
  if (Buffer.byteLength(JSON.stringify(response)) > MAX_RESPONSE_BYTES) {
    throw new InvocationError('Lambda.InvokeLimitExceeded', `The response exceeds Lambda's ${MAX_RESPONSE_BYTES}-byte limit.`);
  }
  const expected = new Set(records.map((r) => r.recordId));
  const results = new Map<string, FirehoseTransformationResultRecord>();
  for (const entry of entries as FirehoseTransformationResultRecord[]) {
    const id = typeof entry === 'object' && entry !== null ? entry.recordId : undefined;
    if (typeof id !== 'string' || !expected.has(id)) throw new InvocationError('Lambda.MissingRecordId', `recordId ${JSON.stringify(id)} is not one of the invocation's records.`);
    if (results.has(id)) throw new InvocationError('Lambda.DuplicatedRecordId', `recordId ${id} is answered more than once.`);
    if (entry.result !== 'Ok' && entry.result !== 'Dropped' && entry.result !== 'ProcessingFailed') {
      throw new InvocationError('Lambda.JsonProcessingException', `result ${JSON.stringify(entry.result)} of ${id} is not Ok, Dropped or ProcessingFailed.`);
    }
    if (entry.result === 'Ok' && typeof entry.data !== 'string') throw new InvocationError('Lambda.JsonProcessingException', `Ok record ${id} has no base64 data.`);
    results.set(id, entry);
  }
  if (results.size !== expected.size) throw new InvocationError('Lambda.MissingRecordId', `${expected.size - results.size} record(s) of the invocation are not answered.`);
  return results;
}

function toFirehoseRecord(shardId: string, record: ShardRecord): FirehoseTransformationEventRecord {
  return {
    // Firehose's ids are opaque; this one is unique per record of a shard and stable across retries.
    recordId: `${record.sequenceNumber}000000`,
    approximateArrivalTimestamp: record.arrivalMs,
    data: record.data.toString('base64'),
    kinesisRecordMetadata: {
      shardId,
      partitionKey: record.partitionKey,
      approximateArrivalTimestamp: record.arrivalMs,
      sequenceNumber: record.sequenceNumber,
      subsequenceNumber: '0',
    },
  };
}

/** A stable id of a buffer's part: the same range of the same shard always gets the same id. */
function objectId(shardId: string, first: string, last: string, part: string): string {
  const hex = createHash('sha256').update(`${shardId}\n${first}\n${last}\n${part}`).digest('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}

// ---------------------------------------------------------------------------------------------
// The loop: shards, buffers, PUTs, checkpoints.

class DeliveryLoop {
  readonly bufferSizeBytes: number;
  readonly bufferIntervalMs: number;
  readonly checkpoints: CheckpointStore;
  readonly logger: Pick<Console, 'info' | 'warn' | 'error'>;
  readonly label: string;
  private readonly tasks = new BackgroundTasks();
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
  private readonly shards = new Map<string, ShardDelivery>();
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
    this.label = `[firehose ${definition.name}<-${definition.source.streamName}]`;
  }

  async start(): Promise<void> {
    await this.discoverShards();
    this.track(
      (async () => {
        while (!this.stopping) {
          await this.sleep(this.options.shardDiscoveryMs ?? 10_000);
          if (this.stopping) return;
          await this.discoverShards().catch((error: unknown) => this.logger.warn(`${this.label} ListShards failed; trying again later: ${(error as Error).message}`));
        }
      })(),
    );
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
      await this.tasks.stopAndWait();
      if (!abort) this.checkpoints.save();
      this.converter.close();
    })());
  }

  stats(): DeliveryStreamStats {
    const shards: DeliveryStreamStats['shards'] = {};
    let lagMs = 0;
    let bufferedRecords = 0;
    let behind: number | null = null;
    for (const [shardId, shard] of this.shards) {
      shards[shardId] = { checkpoint: this.checkpoints.get(shardId), buffered: shard.buffer.length, millisBehindLatest: shard.reader.millisBehindLatest };
      bufferedRecords += shard.buffer.length;
      if (shard.buffer.length > 0) lagMs = Math.max(lagMs, Date.now() - shard.buffer[0]!.arrivalMs);
      if (shard.reader.millisBehindLatest !== null) behind = Math.max(behind ?? 0, shard.reader.millisBehindLatest);
    }
    return {
      deliveryStream: this.options.definition.name,
      sourceStream: this.options.definition.source.streamName,
      ...this.counters,
      failedRecords: { ...this.counters.failedRecords },
      redeliveriesSkipped: [...this.shards.values()].reduce((n, s) => n + s.reader.redeliveriesSkipped, 0),
      bufferedRecords,
      lagMs,
      millisBehindLatest: behind,
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


  private async discoverShards(): Promise<void> {
    for (const shardId of await listShardIds(this.options.kinesis, this.options.definition.source.streamName)) {
      if (this.shards.has(shardId)) continue;
      const shard = new ShardDelivery(this, shardId);
      this.shards.set(shardId, shard);
      this.track(shard.run().catch((error: unknown) => this.logger.error(`${this.label} ${shardId} stopped on an unexpected error`, error)));
    }
  }

  async put(object: DeliveryObject): Promise<void> {
    await this.options.s3.send(
      new PutObjectCommand({ Bucket: this.options.definition.bucket, Key: object.key, Body: object.body, ContentType: object.contentType }),
    );
  }
}

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
