// One batch of the anomalies stream, end to end, on the consumers' skeleton (functions/shared/consumer-batch.ts):
//   1. decode and validate every record against schemas/anomalies, dropping repeats of an id in the batch;
//   2. one dedup look-up for the batch's ids (the shared DedupStore: the Flink sinks are at least once,
//      and a restore replays rows with the same deterministic id);
//   3. one publish of every new alert;
//   4. the marks of the published ids.
// Lambda bisects a batch that crashes, and after the retries sends the batch's range to the on-failure DLQ.
import type { Logger } from '@aws-lambda-powertools/logger';
import type { KinesisStreamRecord } from 'aws-lambda';
import { validateAnomalyRow, type AnomalyRow } from '../../schemas/index.js';
import type { DedupStore } from '../shared/dedup-store.js';
import { decodeBatch, decodeJson, lookUpIds, markDelivered } from '../shared/consumer-batch.js';
import { emfFields } from '../shared/metrics.js';
import { alertMessage } from './alert-message.js';
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
  const value = decodeJson(data, (message, cause) => new InvalidAnomalyError(message, { cause }));
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
    const { raws, candidates, repeats, refused } = decodeBatch(
      records,
      (raw) => {
        const alert = alertMessage(decodeAnomaly(raw.data));
        return { id: alert.id, value: alert };
      },
      (error) => (error instanceof InvalidAnomalyError ? error.message : undefined),
    );
    for (const { raw, reason } of refused) {
      // Not retried and not alerted: the same record also reaches the lake's errors/processing-failed/
      // through the anomalies delivery stream, where it can be inspected.
      deps.logger.error('anomalies record is not an anomaly row; skipped', { sequenceNumber: raw.sequenceNumber, shardId: raw.shardId, reason });
      outcomes.set(raw.sequenceNumber, { status: 'invalid', reason });
    }
    for (const repeat of repeats) outcomes.set(repeat.raw.sequenceNumber, { status: 'duplicate', where: 'batch' });

    // 2. One look-up for the whole batch.
    const workDeadline = deadline - FINISH_RESERVE_MS;
    const { seen, unresolved } = await lookUpIds(
      deps.dedup,
      candidates.map((c) => c.id),
      workDeadline,
      deps.logger,
    );
    const toPublish = candidates.filter(({ raw, id }) => {
      if (seen.has(id)) outcomes.set(raw.sequenceNumber, { status: 'duplicate', where: 'table' });
      else if (unresolved.has(id)) outcomes.set(raw.sequenceNumber, { status: 'retry', reason: 'dedup look-up did not answer in time' });
      else return true;
      return false;
    });

    // 3. One publish of every new alert.
    let failed = new Set<string>();
    let publishError: string | undefined;
    if (toPublish.length > 0) {
      try {
        ({ failed, lastError: publishError } = await deps.publisher.publish(
          toPublish.map((c) => c.value),
          { deadline: workDeadline },
        ));
      } catch (error) {
        if (!(error instanceof AlertPublishError)) throw error;
        deps.logger.error('alert destination refused the publish', error);
        failed = new Set(toPublish.map((c) => c.id));
        publishError = error.message;
      }
    }
    const published: string[] = [];
    for (const { raw, id } of toPublish) {
      if (failed.has(id)) {
        outcomes.set(raw.sequenceNumber, { status: 'retry', reason: `not published to ${deps.publisher.destination} (${publishError ?? 'deadline'})` });
      } else {
        outcomes.set(raw.sequenceNumber, { status: 'published' });
        published.push(id);
      }
    }

    // 4. Marked only once published: a crash in between re-publishes on the retry (at least once), never loses.
    const marks = await markDelivered(deps.dedup, published, deadline, deps.logger, 'published alerts');
    for (const outcome of outcomes.values()) {
      if (outcome.status === 'published') counters.published++;
      else if (outcome.status === 'duplicate') counters.duplicates++;
      else if (outcome.status === 'invalid') counters.invalid++;
      else counters.retried++;
    }
    counters.markFailures = marks?.failed.length ?? 0;
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
