// One Kinesis batch, end to end, on the consumers' skeleton (functions/shared/consumer-batch.ts):
//   1. decode, validate and enrich every record (CPU only), dropping repeats of a messageId in the batch;
//   2. one dedup look-up for all the batch's ids in the shard's ledger (./dedup-ledger.ts: in memory, plus a
//      Query of what was written since); ids an interrupted attempt was about to write are checked on
//      events-enriched (./written-check.ts);
//   3. the batch's write intent (one PutItem per event hour), then one KinesisBatchWriter.write of every new event;
//   4. one S3 object with the batch's bad rows, and the batch's ok items (one PutItem per event hour), side by side.
// Beside step 3, the batch's identity links (./identity-links.ts) go to the identities delivery stream, for
// every event written now or before: a link is idempotent, so a retry may send it again. A link not
// delivered fails its records, and Lambda retries them (they are duplicates then, and send the link again).
// Events of erased people (the suppression list, functions/shared/suppression.ts) are dropped in step 1,
// before they can become an event or a bad row, and counted.
import type { Logger } from '@aws-lambda-powertools/logger';
import type { KinesisStreamRecord } from 'aws-lambda';
import { validateEvent, type BadRow, type SegmentEvent } from '../../schemas/index.js';
import { adapterFailureOf } from '../shared/adapter-failure.js';
import { decodeBatch, decodeJson } from '../shared/consumer-batch.js';
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
import type { TrackingPlans } from './tracking-plan.js';
import type { IpFacts } from './ip-facts.js';
import type { UserAgentParser } from './user-agent.js';
import type { WrittenCheck } from './written-check.js';
import { foldLinks, linkOf, RecentLinks, type LinkSighting } from './identity-links.js';
import type { FirehoseBatchWriter } from '../shared/firehose-batch-writer.js';
import { hourOf, ledgerEntry, type DedupLedger, type IntentRef, type LedgerEntry } from './dedup-ledger.js';
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
  | 'duplicatesRecovered'
  /** Rows sent to the identities delivery stream (one per link seen in the batch). */
  | 'identityLinks',
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
  ledger: Pick<DedupLedger, 'lookup' | 'recordIntent' | 'confirm'>;
  writtenCheck: Pick<WrittenCheck, 'find'>;
  badRows: Pick<BadRowWriter, 'write'>;
  /** The identities delivery stream; none: links are not written (the setting is absent). */
  identityLinks?: Pick<FirehoseBatchWriter, 'write'>;
  /** The `event` links delivered lately (./identity-links.ts); a new one per enricher by default. */
  recentLinks?: RecentLinks;
  userAgents: Pick<UserAgentParser, 'parse'>;
  /** The tracking plans in force (none: every event passes as it is). */
  plans?: Pick<TrackingPlans, 'check'>;
  ipFacts: Pick<IpFacts, 'lookup'>;
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
  const recentLinks = deps.recentLinks ?? new RecentLinks();

  /** The record as an enriched event ready to write, keyed by messageId; throws BadEventError for a bad row. */
  function prepare(raw: RawRecord, enrichedAt: string, erased: SuppressionList): { id: string; value: Prepared } {
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
    const plan = deps.plans?.check(event);
    if (plan && plan.action === 'reject' && plan.violations.length > 0) {
      throw new BadEventError('tracking_plan_violation', plan.violations.join('; '), messageId);
    }
    let data: Buffer;
    try {
      data = Buffer.from(JSON.stringify(enrichEvent(event, { latenessBoundSeconds, userAgents: deps.userAgents, ipFacts: deps.ipFacts, arrivalMs: raw.arrivalMs, enrichedAt, plan })));
    } catch (error) {
      if (error instanceof BadEventError) throw error;
      // A bug or an input enrichment cannot handle: a bad row to replay after the fix, never a blocked shard.
      throw new EnrichmentError(`enrichment failed: ${error instanceof Error ? error.message : String(error)}`, messageId, { cause: error });
    }
    const partitionKey = partitionKeyFor(event);
    if (data.byteLength + Buffer.byteLength(partitionKey) > MAX_RECORD_BYTES) {
      throw new BadEventError('size_violation', `enriched event is ${data.byteLength} bytes; a Kinesis record is at most ${MAX_RECORD_BYTES}`, messageId);
    }
    const { hour, alsoHours } = ledgerHours(event, raw.arrivalMs);
    const link = deps.identityLinks ? linkOf(event) : undefined;
    return { id: messageId, value: { record: { data, partitionKey }, entry: ledgerEntry(messageId, hour, alsoHours), ...(link ? { link } : {}) } };
  }

  /** Sends the links; resolves to why they were not all delivered, or undefined. */
  async function writeLinks(sightings: LinkSighting[], deadline: number, counters: BatchCounters): Promise<string | undefined> {
    const startedMs = now();
    const sending = recentLinks.worthSending(sightings, startedMs);
    if (!deps.identityLinks || sending.length === 0) return undefined;
    const rows = foldLinks(sending);
    try {
      const result = await deps.identityLinks.write(rows.map((row) => Buffer.from(`${JSON.stringify(row)}\n`)), { deadline });
      counters.identityLinks = rows.length - result.failed.length;
      if (result.failed.length > 0) return result.lastErrorCode ?? 'deadline';
      recentLinks.delivered(sending, startedMs);
      return undefined;
    } catch (error) {
      if (!(error instanceof StreamWriteError)) throw error;
      deps.logger.error('the identities delivery stream refused the links', error);
      return error.message;
    }
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
      identityLinks: 0,
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

    // 2. One look-up in the shard's ledger for the whole batch. Ids an interrupted attempt was about to
    // write (this batch's own earlier attempt, or the batch it was bisected from) are checked on the stream.
    const workDeadline = deadline - FINISH_RESERVE_MS;
    const { shardId, stream, sequenceNumber: firstSequenceNumber } = raws[0]!;
    let seen = new Set<string>();
    let unresolved = new Set<string>();
    let onStream = new Set<string>();
    try {
      const lookup = await deps.ledger.lookup(stream, shardId, candidates.map((c) => c.value.entry), { deadline: workDeadline });
      ({ seen, unresolved } = lookup);
      if (lookup.uncertain.size > 0) {
        const since = Math.min(...lookup.uncertain.values());
        onStream = await deps.writtenCheck.find(new Set(lookup.uncertain.keys()), since, { deadline: workDeadline });
        deps.logger.warn('an earlier attempt was interrupted between its write and its ok', { uncertain: lookup.uncertain.size, alreadyWritten: onStream.size });
      }
    } catch (error) {
      if (!(error instanceof DedupTableError || error instanceof EnrichmentRecoveryError)) throw error;
      deps.logger.error('the dedup ledger could not be read', error);
      unresolved = new Set(candidates.map((c) => c.id));
    }
    // Written by the interrupted attempt: settled under this attempt's intent, not written again.
    const recovered: typeof candidates = [];
    const toWrite = candidates.filter((c) => {
      if (seen.has(c.id)) {
        outcomes.set(c.raw.sequenceNumber, { status: 'duplicate', where: 'table' });
        counters.duplicatesSeen++;
        return false;
      }
      if (unresolved.has(c.id)) {
        outcomes.set(c.raw.sequenceNumber, { status: 'retry', reason: 'dedup look-up did not answer in time' });
        return false;
      }
      if (onStream.has(c.id)) {
        recovered.push(c);
        return false;
      }
      return true;
    });

    // The links of every event written now or before, beside step 3.
    const linked = candidates.filter((c) => c.value.link && !unresolved.has(c.id));
    const linksDelivered = writeLinks(linked.map((c) => c.value.link!), workDeadline, counters);

    // 3. The intent (what is about to be written, and what was found written), then one write of every new event.
    const settled = [...recovered, ...toWrite].map((c) => c.value.entry);
    const notWritten = new Set<string>();
    let writeError: string | undefined;
    let intent: IntentRef | undefined;
    if (settled.length > 0) {
      let failed = new Set<number>();
      try {
        intent = await deps.ledger.recordIntent(shardId, firstSequenceNumber, settled, { deadline: workDeadline });
        if (toWrite.length > 0) {
          const result = await deps.writer.write(
            toWrite.map((c) => c.value.record),
            { deadline: workDeadline },
          );
          failed = new Set(result.failed);
          writeError = result.lastErrorCode;
        }
      } catch (error) {
        if (!(error instanceof StreamWriteError || error instanceof DedupTableError)) throw error;
        deps.logger.error(error instanceof DedupTableError ? 'the write intent could not be recorded' : 'events-enriched refused the write', error);
        failed = new Set(toWrite.map((_, i) => i));
        writeError = error.message;
      }
      toWrite.forEach((c, i) => {
        if (failed.has(i)) notWritten.add(c.id);
      });
    }
    for (const c of toWrite) {
      if (notWritten.has(c.id)) outcomes.set(c.raw.sequenceNumber, { status: 'retry', reason: `not written to events-enriched (${writeError ?? 'deadline'})` });
      else outcomes.set(c.raw.sequenceNumber, { status: 'written' });
    }
    const linkFailure = await linksDelivered;
    if (linkFailure) {
      for (const c of linked) outcomes.set(c.raw.sequenceNumber, { status: 'retry', reason: `identity links not delivered (${linkFailure})` });
    }
    for (const c of recovered) {
      if (outcomes.get(c.raw.sequenceNumber)?.status === 'retry') continue;
      if (intent) {
        outcomes.set(c.raw.sequenceNumber, { status: 'duplicate', where: 'stream' });
        counters.duplicatesRecovered++;
      } else {
        outcomes.set(c.raw.sequenceNumber, { status: 'retry', reason: `its write intent could not be recorded (${writeError ?? 'deadline'})` });
      }
    }

    // 4. Bad rows and the ok. Lambda retries a partially failed batch from its lowest failed sequence
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
    // The ok only now that the events are in events-enriched (see dedup-ledger.ts for why this order).
    const confirm = async () => {
      // Also when nothing could be written: the retry then finds the intent settled, with no stream to read.
      if (!intent) return undefined;
      const result = await deps.ledger.confirm(intent, settled, notWritten, { deadline });
      if (result.failed.length > 0) deps.logger.warn('the ok of written events could not be recorded; a look-up that meets them reads the stream back', { unconfirmed: result.failed.length, lastError: result.lastError });
      return result;
    };
    const [badRowsKey, confirmed] = await Promise.all([storeBadRows(), confirm()]);

    for (const outcome of outcomes.values()) {
      if (outcome.status === 'written') counters.enriched++;
      else if (outcome.status === 'bad_row') counters.badRows++;
      else if (outcome.status === 'erased') counters.erased++;
      else if (outcome.status === 'retry') counters.retried++;
    }
    counters.markFailures = confirmed?.failed.length ?? 0;
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

/** An enriched event ready to write, and the ledger buckets its id belongs to (./dedup-ledger.ts). */
interface Prepared {
  record: StreamRecord;
  entry: LedgerEntry;
  /** The identity link the event shows (./identity-links.ts). */
  link?: LinkSighting;
}

/**
 * The hour of the client's own timestamp, which every retry of the event carries unchanged. Ingest sets
 * originalTimestamp to the arrival time when the client sent none; such a retry arrives later, so its
 * original is looked for an hour back too.
 */
function ledgerHours(event: { originalTimestamp?: string; receivedAt?: string }, arrivalMs: number): { hour: number; alsoHours: number[] } {
  const clientMs = event.originalTimestamp === undefined ? NaN : Date.parse(event.originalTimestamp);
  if (Number.isFinite(clientMs) && event.originalTimestamp !== event.receivedAt) return { hour: hourOf(clientMs), alsoHours: [] };
  const hour = hourOf(Number.isFinite(clientMs) ? clientMs : arrivalMs);
  return { hour, alsoHours: [hour - 1] };
}
