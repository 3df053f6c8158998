// The skeleton both Kinesis consumers (enrich, alert) run on a batch, with the I/O done once per batch:
//   1. decode every record (CPU only), keeping the first record of each id: later ones in the batch are repeats;
//   2. one dedup look-up of the batch's ids (a table that refuses makes them all unresolved: retried);
//   3. the stage's delivery of what is new (enrich: events-enriched; alert: SNS), done by the stage;
//   4. the marks of what was delivered, never before the delivery (check → act → mark, dedup-store.ts).
// Each record ends with an outcome keyed by sequence number; the handler turns the `retry` ones into
// batchItemFailures (partial-batch.ts), so Lambda retries exactly those.
import type { Logger } from '@aws-lambda-powertools/logger';
import type { KinesisStreamRecord } from 'aws-lambda';
import { isUtf8 } from 'node:buffer';
import type { DedupStore, LookupResult, MarkResult } from './dedup-store.js';
import { DedupTableError } from './errors.js';
import { exceedsJsonDepth, tooDeepReason } from './json-depth.js';
import { rawRecord, type RawRecord } from './kinesis-record.js';

/** A record the stage can act on: its id (messageId, anomaly id) and what it decoded to. */
export interface Candidate<T> {
  raw: RawRecord;
  id: string;
  value: T;
}

export interface DecodedBatch<T, R> {
  raws: RawRecord[];
  /** The first record of each id, in sequence order. */
  candidates: Candidate<T>[];
  /** Later records of an id already in the batch. */
  repeats: Candidate<T>[];
  /** Records the stage refused (never retried: retrying cannot fix them), with its reason. */
  refused: { raw: RawRecord; reason: R }[];
}

/**
 * Step 1. `decode` returns the record's id and value, or throws; an error `isRefusal` accepts refuses the
 * record, any other is a bug and propagates (the batch fails and Lambda bisects it).
 */
export function decodeBatch<T, R>(
  records: readonly KinesisStreamRecord[],
  decode: (raw: RawRecord) => { id: string; value: T },
  refusal: (error: unknown) => R | undefined,
): DecodedBatch<T, R> {
  const raws = records.map(rawRecord);
  const batch: DecodedBatch<T, R> = { raws, candidates: [], repeats: [], refused: [] };
  const ids = new Set<string>();
  for (const raw of raws) {
    let decoded: { id: string; value: T };
    try {
      decoded = decode(raw);
    } catch (error) {
      const reason = refusal(error);
      if (reason === undefined) throw error;
      batch.refused.push({ raw, reason });
      continue;
    }
    const candidate = { raw, ...decoded };
    if (ids.has(decoded.id)) batch.repeats.push(candidate);
    else {
      ids.add(decoded.id);
      batch.candidates.push(candidate);
    }
  }
  return batch;
}

/** Step 2. The dedup table's answer for the ids; when it refuses, every id is unresolved and retried. */
export async function lookUpIds(
  dedup: Pick<DedupStore, 'lookup'>,
  ids: readonly string[],
  deadline: number,
  logger: Pick<Logger, 'error'>,
): Promise<LookupResult> {
  if (ids.length === 0) return { seen: new Set(), unresolved: new Set() };
  try {
    return await dedup.lookup([...ids], { deadline });
  } catch (error) {
    if (!(error instanceof DedupTableError)) throw error;
    logger.error('dedup table refused the look-up', error);
    return { seen: new Set(), unresolved: new Set(ids) };
  }
}

/** Step 4. Marks the delivered ids; ids left unmarked are logged: a redelivery may act on them once more. */
export async function markDelivered(
  dedup: Pick<DedupStore, 'mark'>,
  ids: readonly string[],
  deadline: number,
  logger: Pick<Logger, 'warn'>,
  what: string,
): Promise<MarkResult | undefined> {
  if (ids.length === 0) return undefined;
  const marks = await dedup.mark([...ids], { deadline });
  if (marks.failed.length > 0) {
    logger.warn(`${what} could not be marked; a redelivery may deliver them again`, { unmarked: marks.failed.length, lastError: marks.lastError });
  }
  return marks;
}

/**
 * The record's JSON value. Throws the stage's error (`refuse(message)`) for bytes that are not UTF-8 JSON;
 * `tooDeep` for JSON nested deeper than ingest allows (a producer writing to the stream directly).
 */
export function decodeJson(data: Buffer, refuse: (message: string, cause?: unknown) => Error, tooDeep: (message: string) => Error = refuse): unknown {
  if (!isUtf8(data)) throw refuse('record data is not valid UTF-8');
  let value: unknown;
  try {
    value = JSON.parse(data.toString('utf8')) as unknown;
  } catch (error) {
    throw refuse(`record data is not JSON: ${(error as Error).message}`, error);
  }
  if (exceedsJsonDepth(value)) throw tooDeep(tooDeepReason('record data'));
  return value;
}
