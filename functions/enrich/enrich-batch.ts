// One Kinesis batch, end to end, on the consumers' skeleton (functions/shared/consumer-batch.ts):
//   1. decode, validate and enrich every record (CPU only), dropping repeats of a messageId in the batch;
//   2. one dedup look-up for all the batch's ids (BatchGetItem, ≤ 100 ids per call), and the write intent an
//      interrupted earlier attempt of this batch may have left: its unmarked ids are checked on events-enriched;
//   3. the batch's write intent (one PutItem), then one KinesisBatchWriter.write of every new event;
//   4. one S3 object with the batch's bad rows, and the marks of the written ids (BatchWriteItem), side by side.
// Events of erased people (the suppression list, functions/shared/suppression.ts) are dropped in step 1,
// before they can become an event or a bad row, and counted.
import type { Logger } from '@aws-lambda-powertools/logger';
import type { KinesisStreamRecord } from 'aws-lambda';
import { validateEvent, type BadRow, type SegmentEvent } from '../../schemas/index.js';
import { adapterFailureOf } from '../shared/adapter-failure.js';
import type { DedupStore } from '../shared/dedup-store.js';
import { decodeBatch, decodeJson, lookUpIds, markDelivered } from '../shared/consumer-batch.js';
import { DedupTableError, StreamWriteError } from '../shared/errors.js';
import { personIdsOf, type SuppressionCache, type SuppressionList } from '../shared/suppression.js';
import type { RawRecord } from '../shared/kinesis-record.js';
import { emfFields } from '../shared/metrics.js';
import { MAX_RECORD_BYTES, type KinesisBatchWriter, type StreamRecord } from '../shared/kinesis-batch-writer.js';
import { partitionKeyFor } from '../shared/partition-key.js';
import { toBadRow, type BadRowWriter } from './bad-rows.js';
import type { EnrichConfig } from './config.js';
import { enrichEvent } from './enrich-event.js';
import { BadEventError, EnrichmentError, EnrichmentRecoveryError, ErasedEventError } from './errors.js';
import type { UserAgentParser } from './user-agent.js';
import type { WrittenCheck } from './written-check.js';
import { createHash } from 'node:crypto';

/** Time kept back from the look-up and the write for the bad-row upload and the marks that follow them. */
export const FINISH_RESERVE_MS = 1_500;

export type Outcome =
  | { status: 'written' }
  | { status: 'duplicate'; where: 'batch' | 'table' | 'stream' }
  | { status: 'bad_row'; failureType: BadRow['failure_type'] }
  | { status: 'erased' }
  | { status: 'retry'; reason: string };

export type BatchCounters = Record<
  | 'records'
  | 'enriched'
  | 'duplicatesInBatch'
  | 'duplicatesSeen'
  | 'badRows'
  /** Events of erased people, dropped. */
  | 'erased'
  | 'retried'
  | 'markFailures'
  /** Events an interrupted attempt had written but not marked, found on events-enriched and not written again. */
  | 'duplicatesRecovered',
  number
>;

export interface BatchResult {
  /** Outcome of every record, by sequence number. */
  outcomes: Map<string, Outcome>;
  counters: BatchCounters;
  badRowsKey?: string;
}

export interface EnrichBatchDependencies {
  writer: Pick<KinesisBatchWriter, 'write'>;
  dedup: Pick<DedupStore, 'lookup' | 'mark' | 'recordIntent' | 'intent'>;
  writtenCheck: Pick<WrittenCheck, 'find'>;
  badRows: Pick<BadRowWriter, 'write'>;
  userAgents: Pick<UserAgentParser, 'parse'>;
  /** Who was erased; read before each batch (cached, see SuppressionCache). */
  suppression: Pick<SuppressionCache, 'current'>;
  config: Pick<EnrichConfig, 'latenessBoundSeconds' | 'maxEventBytes'>;
  logger: Logger;
  now?: () => number;
}

const messageIdOf = (value: unknown): string | null => {
  const id = (value as { messageId?: unknown } | null)?.messageId;
  return typeof id === 'string' ? id : null;
};

export function createBatchEnricher(deps: EnrichBatchDependencies) {
  const now = deps.now ?? Date.now;
  const { latenessBoundSeconds, maxEventBytes } = deps.config;

  /** The record as an enriched event ready to write, keyed by messageId; throws BadEventError for a bad row. */
  function prepare(raw: RawRecord, enrichedAt: string, erased: SuppressionList): { id: string; value: StreamRecord } {
    if (raw.data.byteLength > maxEventBytes) {
      throw new BadEventError('size_violation', `record is ${raw.data.byteLength} bytes; the limit is ${maxEventBytes}`);
    }
    const value = decodeJson(
      raw.data,
      (message, cause) => new BadEventError('invalid_json', message, null, { cause }),
      (message) => new BadEventError('size_violation', message),
    );
    if (erased.erases(personIdsOf(value))) throw new ErasedEventError('the person is on the suppression list');
    const unmapped = adapterFailureOf(value);
    if (unmapped) throw new BadEventError('adapter_failure', `${unmapped.protocol}: ${unmapped.reason}`, messageIdOf(value));
    const valid = validateEvent(value);
    if (!valid.ok) throw new BadEventError('schema_violation', valid.reason, messageIdOf(value));
    // Ingest always sets messageId; a producer writing to the stream directly may not. The record's
    // bytes are the same on every redelivery, so their hash is a stable stand-in.
    const messageId = valid.value.messageId ?? `enr-${createHash('sha256').update(raw.data).digest('hex').slice(0, 32)}`;
    const event = { ...valid.value, messageId } as SegmentEvent & { messageId: string };
    let data: Buffer;
    try {
      data = Buffer.from(JSON.stringify(enrichEvent(event, { latenessBoundSeconds, userAgents: deps.userAgents, arrivalMs: raw.arrivalMs, enrichedAt })));
    } catch (error) {
      if (error instanceof BadEventError) throw error;
      // A bug or an input enrichment cannot handle: a bad row to replay after the fix, never a blocked shard.
      throw new EnrichmentError(`enrichment failed: ${error instanceof Error ? error.message : String(error)}`, messageId, { cause: error });
    }
    const partitionKey = partitionKeyFor(event);
    if (data.byteLength + Buffer.byteLength(partitionKey) > MAX_RECORD_BYTES) {
      throw new BadEventError('size_violation', `enriched event is ${data.byteLength} bytes; a Kinesis record is at most ${MAX_RECORD_BYTES}`, messageId);
    }
    return { id: messageId, value: { data, partitionKey } };
  }

  return async function enrichBatch(records: readonly KinesisStreamRecord[], { deadline }: { deadline: number }): Promise<BatchResult> {
    const outcomes = new Map<string, Outcome>();
    const counters: BatchCounters = {
      records: records.length,
      enriched: 0,
      duplicatesInBatch: 0,
      duplicatesSeen: 0,
      badRows: 0,
      erased: 0,
      retried: 0,
      markFailures: 0,
      duplicatesRecovered: 0,
    };
    if (records.length === 0) return { outcomes, counters };
    const startedAt = new Date(now()).toISOString();
    const erased = await deps.suppression.current();

    // 1. CPU phase, in sequence order.
    const { raws, candidates, repeats, refused } = decodeBatch(
      records,
      (raw) => prepare(raw, startedAt, erased),
      (error) => (error instanceof BadEventError || error instanceof ErasedEventError ? error : undefined),
    );
    for (const repeat of repeats) outcomes.set(repeat.raw.sequenceNumber, { status: 'duplicate', where: 'batch' });
    counters.duplicatesInBatch = repeats.length;
    const firstOfId = new Set(candidates.map((c) => c.id));

    // 2. One dedup look-up for the whole batch, and the intent an interrupted attempt of it may have left:
    // a redelivery starts at the same sequence number, so the same key finds it.
    const workDeadline = deadline - FINISH_RESERVE_MS;
    const ids = candidates.map((c) => c.id);
    const intentKey = `intent#${raws[0]!.shardId}#${raws[0]!.sequenceNumber}`;
    let seen = new Set<string>();
    let unresolved = new Set<string>();
    let onStream = new Set<string>();
    try {
      const [lookup, intent] = await Promise.all([lookUpIds(deps.dedup, ids, workDeadline, deps.logger), deps.dedup.intent(intentKey, { deadline: workDeadline })]);
      ({ seen, unresolved } = lookup);
      // Ids the earlier attempt was about to write and never marked: written or not, events-enriched says.
      const unmarked = new Set((intent?.ids ?? []).filter((id) => !seen.has(id) && !unresolved.has(id) && firstOfId.has(id)));
      if (intent && unmarked.size > 0) {
        onStream = await deps.writtenCheck.find(unmarked, intent.atMs, { deadline: workDeadline });
        deps.logger.warn('an earlier attempt of this batch was interrupted between its write and its marks', {
          unmarked: unmarked.size,
          alreadyWritten: onStream.size,
        });
      }
    } catch (error) {
      if (!(error instanceof DedupTableError || error instanceof EnrichmentRecoveryError)) throw error;
      deps.logger.error('the write intent of an earlier attempt could not be checked', error);
      unresolved = new Set(ids);
    }
    const recovered: string[] = [];
    const toWrite = candidates.filter((c) => {
      if (seen.has(c.id)) {
        outcomes.set(c.raw.sequenceNumber, { status: 'duplicate', where: 'table' });
        counters.duplicatesSeen++;
        return false;
      }
      if (onStream.has(c.id)) {
        // Written by the interrupted attempt: marked now, not written again.
        outcomes.set(c.raw.sequenceNumber, { status: 'duplicate', where: 'stream' });
        counters.duplicatesRecovered++;
        recovered.push(c.id);
        return false;
      }
      if (unresolved.has(c.id)) {
        outcomes.set(c.raw.sequenceNumber, { status: 'retry', reason: 'dedup look-up did not answer in time' });
        return false;
      }
      return true;
    });

    // 3. The intent, then one write of every new event.
    let failed = new Set<number>();
    let writeError: string | undefined;
    if (toWrite.length > 0) {
      try {
        await deps.dedup.recordIntent(
          intentKey,
          toWrite.map((c) => c.id),
          { deadline: workDeadline },
        );
        const result = await deps.writer.write(
          toWrite.map((c) => c.value),
          { deadline: workDeadline },
        );
        failed = new Set(result.failed);
        writeError = result.lastErrorCode;
      } catch (error) {
        if (!(error instanceof StreamWriteError || error instanceof DedupTableError)) throw error;
        deps.logger.error(error instanceof DedupTableError ? 'the write intent could not be recorded' : 'events-enriched refused the write', error);
        failed = new Set(toWrite.map((_, i) => i));
        writeError = error.message;
      }
    }
    const written: string[] = [...recovered];
    toWrite.forEach((c, i) => {
      if (failed.has(i)) {
        outcomes.set(c.raw.sequenceNumber, { status: 'retry', reason: `not written to events-enriched (${writeError ?? 'deadline'})` });
      } else {
        outcomes.set(c.raw.sequenceNumber, { status: 'written' });
        written.push(c.id);
      }
    });

    // 4. Bad rows and marks. Lambda retries a partially failed batch from its lowest failed sequence
    // number, so bad records behind that point come back: they are left to that retry rather than
    // stored twice (under this batch's key and the retry's).
    const firstRetry = raws.findIndex((raw) => outcomes.get(raw.sequenceNumber)?.status === 'retry');
    const position = new Map(raws.map((raw, index) => [raw.sequenceNumber, index]));
    const bad: { raw: RawRecord; error: BadEventError }[] = [];
    for (const { raw, reason: error } of refused) {
      if (error instanceof ErasedEventError) {
        outcomes.set(raw.sequenceNumber, { status: 'erased' });
        continue;
      }
      if (firstRetry >= 0 && position.get(raw.sequenceNumber)! > firstRetry) {
        outcomes.set(raw.sequenceNumber, { status: 'retry', reason: 'bad row deferred behind an earlier retried record' });
      } else {
        bad.push({ raw, error });
      }
    }
    const storeBadRows = async (): Promise<string | undefined> => {
      if (bad.length === 0) return undefined;
      const rows = bad.map((b) => toBadRow(b.raw, b.error, startedAt));
      try {
        const key = await deps.badRows.write(raws[0]!, rows, { deadline });
        for (const b of bad) outcomes.set(b.raw.sequenceNumber, { status: 'bad_row', failureType: b.error.failureType });
        return key;
      } catch (error) {
        // Never dropped: the records fail, Lambda retries them, and after the retries the DLQ names them.
        deps.logger.error('bad rows could not be stored; their records will be retried', error as Error);
        for (const b of bad) outcomes.set(b.raw.sequenceNumber, { status: 'retry', reason: 'bad-row upload failed' });
        return undefined;
      }
    };
    // Marked only now that the events are in events-enriched (see dedup-store.ts for why this order).
    const [badRowsKey, marks] = await Promise.all([storeBadRows(), markDelivered(deps.dedup, written, deadline, deps.logger, 'written events')]);

    for (const outcome of outcomes.values()) {
      if (outcome.status === 'written') counters.enriched++;
      else if (outcome.status === 'bad_row') counters.badRows++;
      else if (outcome.status === 'erased') counters.erased++;
      else if (outcome.status === 'retry') counters.retried++;
    }
    counters.markFailures = marks?.failed.length ?? 0;
    deps.logger.info('batch enriched', {
      shardId: raws[0]!.shardId,
      firstSequenceNumber: raws[0]!.sequenceNumber,
      ...(badRowsKey ? { badRowsKey } : {}),
      ...(writeError ? { lastWriteError: writeError } : {}),
      ...emfFields(counters, now()),
    });
    return { outcomes, counters, ...(badRowsKey ? { badRowsKey } : {}) };
  };
}
