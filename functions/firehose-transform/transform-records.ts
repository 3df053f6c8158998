// One Firehose transformation batch for one lake table (./row-mappings.ts: events, aggregates, anomalies):
// every input record is answered, in order, with its recordId and
//   Ok              the flattened row (base64 JSON) and its partition keys dt/hour from the row's event time;
//   ProcessingFailed anything that is not a row of the table (not UTF-8 JSON, fails the table's schema, an
//                   unusable event time, a row the Hive JSON SerDe would refuse), with its reason logged.
//   Dropped         a row of a person on the suppression list (functions/shared/suppression.ts): erased
//                   people's rows already past the enrich stage when they were erased never land.
// Firehose writes ProcessingFailed records, as received, under errors/processing-failed/: nothing else is
// ever Dropped, so every record is in the lake or in the error prefix.
//
// The response must stay under Lambda's 6 MB synchronous response limit. Firehose's Lambda buffer
// (BufferSizeInMBs: 1 in infra/lake.yml) keeps a batch far below it, but flattening can grow a record
// (JSON columns are escaped JSON text), so the budget is enforced here too: a record whose row no longer
// fits is answered ProcessingFailed with the reason. That is the contract's own answer for a record the
// function could not transform. The alternatives are worse: an oversized response fails the whole
// invocation, which Firehose retries and then sends every record of the batch to the error prefix;
// leaving records out of the response is a recordId mismatch, which fails the batch the same way;
// Dropped would lose the record.
import type { Logger } from '@aws-lambda-powertools/logger';
import type { FirehoseTransformationEventRecord, FirehoseTransformationResult, FirehoseTransformationResultRecord } from 'aws-lambda';
import { isUtf8 } from 'node:buffer';
import { exceedsJsonDepth, tooDeepReason } from '../shared/json-depth.js';
import { FirehoseIncompatibleRowError, UntransformableRecordError } from './errors.js';
import { createFlattener } from './flatten.js';
import { assertFirehoseCompatible, LakeRowError, type FlatRow } from '../../schemas/lake-rows.js';
import type { PartitionKeys } from './partition-keys.js';
import { EVENT_ROWS, type RowMapping } from './row-mappings.js';
import { SuppressionList } from '../shared/suppression.js';

/** Lambda's synchronous response limit is 6 MB; this budget is under it however a MB is counted (10^6 or 2^20). */
export const RESPONSE_BUDGET_BYTES = 6_000_000;

export interface TransformFailure {
  recordId: string;
  kind: UntransformableRecordError['kind'];
  reason: string;
  sequenceNumber?: string;
  shardId?: string;
}

export interface TransformBatchResult {
  response: FirehoseTransformationResult;
  ok: number;
  /** Rows of erased people, answered Dropped. */
  erased: number;
  failures: TransformFailure[];
  responseBytes: number;
}

export interface RecordTransformerOptions {
  logger: Pick<Logger, 'warn' | 'info'>;
  /** Upper bound of the serialised response, in bytes. */
  maxResponseBytes?: number;
}

type Prepared = { ok: true; data: string; partitionKeys: PartitionKeys } | { ok: false; error: UntransformableRecordError } | { ok: 'erased' };

const flatteners = new WeakMap<RowMapping, (record: Record<string, unknown>) => FlatRow>();
const flattenerOf = (mapping: RowMapping) => {
  let flatten = flatteners.get(mapping);
  if (!flatten) flatteners.set(mapping, (flatten = createFlattener(mapping.table.columns)));
  return flatten;
};

/** One record → its flattened row and partition keys, or the reason it cannot be converted. */
export function transformRecord(data: string, mapping: RowMapping = EVENT_ROWS, suppression: SuppressionList = SuppressionList.EMPTY): Prepared {
  try {
    const bytes = Buffer.from(data, 'base64');
    if (!isUtf8(bytes)) throw new UntransformableRecordError('not_json', 'record data is not valid UTF-8');
    let value: unknown;
    try {
      value = JSON.parse(bytes.toString('utf8'));
    } catch (error) {
      throw new UntransformableRecordError('not_json', `record data is not JSON: ${(error as Error).message}`, { cause: error });
    }
    // Flattening serialises the JSON columns, which recursion cannot do past a few thousand levels.
    if (exceedsJsonDepth(value)) throw new UntransformableRecordError('schema_violation', tooDeepReason('record data'));
    const valid = mapping.validate(value);
    if (!valid.ok) throw new UntransformableRecordError('schema_violation', `not ${mapping.schemaName}: ${valid.reason}`);
    if (mapping.erased?.(valid.value, suppression)) return { ok: 'erased' };
    const partitionKeys = mapping.partitionKeys(valid.value);
    const row = flattenerOf(mapping)(valid.value as Record<string, unknown>);
    try {
      assertFirehoseCompatible(row, mapping.table.columns);
    } catch (error) {
      if (error instanceof LakeRowError) throw new FirehoseIncompatibleRowError(error.message, error.column);
      throw error;
    }
    return { ok: true, data: Buffer.from(JSON.stringify(row)).toString('base64'), partitionKeys };
  } catch (error) {
    if (error instanceof UntransformableRecordError) return { ok: false, error };
    // A bug in the flattening must not fail the batch (Firehose would fail every record of it): this record
    // goes to the error prefix with the reason, the others are delivered.
    const message = error instanceof Error ? error.message : String(error);
    return { ok: false, error: new UntransformableRecordError('schema_violation', `transform failed: ${message}`, { cause: error }) };
  }
}

/**
 * Serialised size of a response entry plus its comma. `data` is base64, which JSON never escapes, so it is
 * counted by length instead of serialising a copy of it.
 */
const entryBytes = (entry: FirehoseTransformationResultRecord): number =>
  Buffer.byteLength(JSON.stringify({ ...entry, data: '' })) + (entry.data?.length ?? 0) + 1;

export function createRecordTransformer({ logger, maxResponseBytes = RESPONSE_BUDGET_BYTES }: RecordTransformerOptions) {
  return function transformRecords(
    records: readonly FirehoseTransformationEventRecord[],
    mapping: RowMapping = EVENT_ROWS,
    suppression: SuppressionList = SuppressionList.EMPTY,
  ): TransformBatchResult {
    const prepared = records.map((r) => transformRecord(r.data, mapping, suppression));

    // Firehose writes a failed record's original bytes to the error prefix itself; echoing them in `data`
    // is what the AWS blueprints do, and is dropped only if even an all-failed answer would not fit.
    // {"records":[…]} with a comma after every entry but the last.
    const envelope = Buffer.byteLength(JSON.stringify({ records: [] })) - (records.length > 0 ? 1 : 0);
    const failedEntry = (r: FirehoseTransformationEventRecord, echo: boolean): FirehoseTransformationResultRecord => ({
      recordId: r.recordId,
      result: 'ProcessingFailed',
      data: echo ? r.data : '',
    });
    const allFailedBytes = records.reduce((sum, r) => sum + entryBytes(failedEntry(r, true)), envelope);
    const echo = allFailedBytes <= maxResponseBytes;
    // reserve[i]: bytes the records after i need at least (as failures), so an early big row cannot starve them.
    const reserve = new Array<number>(records.length + 1).fill(0);
    for (let i = records.length - 1; i >= 0; i--) reserve[i] = reserve[i + 1]! + entryBytes(failedEntry(records[i]!, echo));

    const out: FirehoseTransformationResultRecord[] = [];
    const failures: TransformFailure[] = [];
    let used = envelope;
    let erased = 0;
    records.forEach((record, i) => {
      const p = prepared[i]!;
      if (p.ok === 'erased') {
        const entry: FirehoseTransformationResultRecord = { recordId: record.recordId, result: 'Dropped', data: '' };
        out.push(entry);
        used += entryBytes(entry);
        erased++;
        return;
      }
      let error = p.ok ? undefined : p.error;
      if (p.ok) {
        const entry: FirehoseTransformationResultRecord = { recordId: record.recordId, result: 'Ok', data: p.data, metadata: { partitionKeys: p.partitionKeys } };
        const size = entryBytes(entry);
        if (used + size + reserve[i + 1]! <= maxResponseBytes) {
          out.push(entry);
          used += size;
          return;
        }
        error = new UntransformableRecordError(
          'response_too_large',
          `its row (${size} bytes) does not fit in the ${maxResponseBytes}-byte Lambda response after ${out.length} rows; resend it alone to deliver it`,
        );
      }
      const entry = failedEntry(record, echo);
      out.push(entry);
      used += entryBytes(entry);
      const meta = record.kinesisRecordMetadata;
      failures.push({
        recordId: record.recordId,
        kind: error!.kind,
        reason: error!.message,
        ...(meta ? { sequenceNumber: meta.sequenceNumber, shardId: meta.shardId } : {}),
      });
    });

    for (const failure of failures) logger.warn('record not converted: Firehose writes it to errors/processing-failed/', { table: mapping.table.name, ...failure });
    const responseBytes = used;
    const ok = records.length - failures.length - erased;
    logger.info('transformed batch', { table: mapping.table.name, records: records.length, ok, failed: failures.length, erased, responseBytes });
    return { response: { records: out }, ok, erased, failures, responseBytes };
  };
}
