// One buffer of a shard → its S3 objects, as Firehose makes them: the REAL transform Lambda invoked through
// the local Lambda runtime (retried, its response checked against Firehose's contract), Ok rows grouped by
// their partition keys into the evaluated prefix and converted to Parquet, the rest as Firehose's JSON error
// documents under the error prefix. No I/O but DuckDB's temporary files.
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
import type { DeliveryStreamDefinition } from '../template/delivery-streams.js';
import { evaluatePrefix, formatTimestamp, lambdaPartitionKeysOf } from './prefix.js';
import { type ShardRecord } from '../kinesis/shard-reader.js';

/** A Lambda handler as Firehose calls it. */
export type FirehoseProcessorHandler = (event: FirehoseTransformationEvent, context: Context) => unknown;

/** Lambda's synchronous response limit. */
const MAX_RESPONSE_BYTES = 6 * 1024 * 1024;

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
    // Bounded: a delivery stream converts 1 MB buffers, and an unbounded instance keeps what it once
    // allocated, so a long-running stack would grow (measured in the soak benchmark).
    const instance = await DuckDBInstance.create(':memory:', { threads: '1', memory_limit: '128MB' });
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
    const directPut = definition.source.kind === 'direct-put';
    const firehoseRecords = records.map((r) => toFirehoseRecord(shardId, r, definition.source.kind));
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
              ...(directPut ? {} : { sequenceNumber: source.sequenceNumber, subSequenceNumber: 0 }),
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
    const { source } = this.definition;
    const event: FirehoseTransformationEvent = {
      invocationId: randomUUID(),
      deliveryStreamArn: this.definition.arn,
      // A Direct PUT delivery stream has no source stream: its backing stream is local plumbing.
      ...(source.kind === 'kinesis' ? { sourceKinesisStreamArn: source.streamArn } : {}),
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

/**
 * Firehose's record ids are opaque; this one is unique per record of a shard and stable across retries. A
 * Direct PUT record keeps the id PutRecord(Batch) answered its producer with (direct-put.ts).
 */
export const firehoseRecordId = (sequenceNumber: string): string => `${sequenceNumber}000000`;

/** A record as the transform gets it; only a Kinesis source's records carry kinesisRecordMetadata. */
export function toFirehoseRecord(shardId: string, record: ShardRecord, source: 'kinesis' | 'direct-put' = 'kinesis'): FirehoseTransformationEventRecord {
  const common = { recordId: firehoseRecordId(record.sequenceNumber), approximateArrivalTimestamp: record.arrivalMs, data: record.data.toString('base64') };
  if (source === 'direct-put') return common;
  return {
    ...common,
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
export function objectId(shardId: string, first: string, last: string, part: string): string {
  const hex = createHash('sha256').update(`${shardId}\n${first}\n${last}\n${part}`).digest('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}
