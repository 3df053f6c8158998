// One batch of the anomalies stream, end to end, with the I/O done per batch (the enrich stage's pattern):
//   1. decode and validate every record against schemas/anomalies, dropping repeats of an id in the batch;
//   2. one dedup look-up for the batch's ids (the shared DedupStore: the Flink sinks are at least once,
//      and a restore replays rows with the same deterministic id);
//   3. one publish of every new alert;
//   4. the marks of the published ids.
// Each record ends with an outcome keyed by sequence number; the handler turns the `retry` ones into
// batchItemFailures (functions/shared/partial-batch.ts), so Lambda retries exactly those, bisects a batch
// that crashes, and after the retries sends the batch's range to the on-failure DLQ.
import type { Logger } from '@aws-lambda-powertools/logger';
import type { KinesisStreamRecord } from 'aws-lambda';
import { isUtf8 } from 'node:buffer';
import { validateAnomalyRow, type AnomalyRow } from '../../schemas/index.js';
import type { DedupStore } from '../shared/dedup-store.js';
import { DedupTableError } from '../shared/errors.js';
import { rawRecord, type RawRecord } from '../shared/kinesis-record.js';
import { emfFields } from '../shared/metrics.js';
import { alertMessage, type AlertMessage } from './alert-message.js';
import { AlertPublishError, InvalidAnomalyError } from './errors.js';
import type { AlertPublisher } from './publishers.js';

/** Time kept back from the look-up and the publish for the marks that follow them. */
export const FINISH_RESERVE_MS = 1_000;

export type AlertOutcome =
  | { status: 'published' }
  | { status: 'duplicate'; where: 'batch' | 'table' }
  | { status: 'invalid'; reason: string }
  | { status: 'retry'; reason: string };

export type AlertCounters = Record<'records' | 'published' | 'duplicates' | 'invalid' | 'retried' | 'markFailures', number>;

export interface AlertBatchResult {
  outcomes: Map<string, AlertOutcome>;
  counters: AlertCounters;
}

export interface AlertBatchDependencies {
  dedup: Pick<DedupStore, 'lookup' | 'mark'>;
  publisher: AlertPublisher;
  logger: Pick<Logger, 'info' | 'warn' | 'error'>;
  now?: () => number;
}

/** The record's anomaly row. Throws InvalidAnomalyError for anything else: retrying cannot fix it. */
export function decodeAnomaly(data: Buffer): AnomalyRow {
  if (!isUtf8(data)) throw new InvalidAnomalyError('record data is not valid UTF-8');
  let value: unknown;
  try {
    value = JSON.parse(data.toString('utf8'));
  } catch (error) {
    throw new InvalidAnomalyError(`record data is not JSON: ${(error as Error).message}`, { cause: error });
  }
  const valid = validateAnomalyRow(value);
  if (!valid.ok) throw new InvalidAnomalyError(`not an anomaly row (schemas/anomalies): ${valid.reason}`);
  return valid.value;
}

export function createAlertBatchProcessor(deps: AlertBatchDependencies) {
  const now = deps.now ?? Date.now;

  return async function processAlerts(records: readonly KinesisStreamRecord[], { deadline }: { deadline: number }): Promise<AlertBatchResult> {
    const outcomes = new Map<string, AlertOutcome>();
    const counters: AlertCounters = { records: records.length, published: 0, duplicates: 0, invalid: 0, retried: 0, markFailures: 0 };
    if (records.length === 0) return { outcomes, counters };

    // 1. Decode, validate, dedup within the batch (in sequence order).
    const raws = records.map(rawRecord);
    const candidates: { raw: RawRecord; alert: AlertMessage }[] = [];
    const inBatch = new Set<string>();
    for (const raw of raws) {
      let row: AnomalyRow;
      try {
        row = decodeAnomaly(raw.data);
      } catch (error) {
        if (!(error instanceof InvalidAnomalyError)) throw error;
        // Not retried and not alerted: the same record also reaches the lake's errors/processing-failed/
        // through the anomalies delivery stream, where it can be inspected.
        deps.logger.error('anomalies record is not an anomaly row; skipped', { sequenceNumber: raw.sequenceNumber, shardId: raw.shardId, reason: error.message });
        outcomes.set(raw.sequenceNumber, { status: 'invalid', reason: error.message });
        continue;
      }
      if (inBatch.has(row.id)) {
        outcomes.set(raw.sequenceNumber, { status: 'duplicate', where: 'batch' });
        continue;
      }
      inBatch.add(row.id);
      candidates.push({ raw, alert: alertMessage(row) });
    }

    // 2. One look-up for the whole batch.
    const workDeadline = deadline - FINISH_RESERVE_MS;
    const ids = candidates.map((c) => c.alert.id);
    let seen = new Set<string>();
    let unresolved = new Set<string>();
    if (ids.length > 0) {
      try {
        ({ seen, unresolved } = await deps.dedup.lookup(ids, { deadline: workDeadline }));
      } catch (error) {
        if (!(error instanceof DedupTableError)) throw error;
        deps.logger.error('dedup table refused the look-up', error);
        unresolved = new Set(ids);
      }
    }
    const toPublish = candidates.filter(({ raw, alert }) => {
      if (seen.has(alert.id)) outcomes.set(raw.sequenceNumber, { status: 'duplicate', where: 'table' });
      else if (unresolved.has(alert.id)) outcomes.set(raw.sequenceNumber, { status: 'retry', reason: 'dedup look-up did not answer in time' });
      else return true;
      return false;
    });

    // 3. One publish of every new alert.
    let failed = new Set<string>();
    let publishError: string | undefined;
    if (toPublish.length > 0) {
      try {
        ({ failed, lastError: publishError } = await deps.publisher.publish(
          toPublish.map((c) => c.alert),
          { deadline: workDeadline },
        ));
      } catch (error) {
        if (!(error instanceof AlertPublishError)) throw error;
        deps.logger.error('alert destination refused the publish', error);
        failed = new Set(toPublish.map((c) => c.alert.id));
        publishError = error.message;
      }
    }
    const published: string[] = [];
    for (const { raw, alert } of toPublish) {
      if (failed.has(alert.id)) {
        outcomes.set(raw.sequenceNumber, { status: 'retry', reason: `not published to ${deps.publisher.destination} (${publishError ?? 'deadline'})` });
      } else {
        outcomes.set(raw.sequenceNumber, { status: 'published' });
        published.push(alert.id);
      }
    }

    // 4. Marked only once published: a crash in between re-publishes on the retry (at least once), never loses.
    const marks = published.length > 0 ? await deps.dedup.mark(published, { deadline }) : undefined;
    for (const outcome of outcomes.values()) {
      if (outcome.status === 'published') counters.published++;
      else if (outcome.status === 'duplicate') counters.duplicates++;
      else if (outcome.status === 'invalid') counters.invalid++;
      else counters.retried++;
    }
    counters.markFailures = marks?.failed.length ?? 0;
    if (marks && marks.failed.length > 0) {
      deps.logger.warn('published alerts could not be marked; a redelivery may publish them again', { unmarked: marks.failed.length, lastError: marks.lastError });
    }
    deps.logger.info('alert batch', {
      shardId: raws[0]!.shardId,
      firstSequenceNumber: raws[0]!.sequenceNumber,
      destination: deps.publisher.destination,
      ...(publishError ? { lastPublishError: publishError } : {}),
      ...emfFields(counters, now()),
    });
    return { outcomes, counters };
  };
}
