// Recovery of bad rows: the rows of chosen days, failure types and reasons, optionally fixed (./fix.ts),
// validated against today's schemas, and sent back to events-raw with their original messageId, so they
// go through the enrich stage like any event. Each recovered row is recorded under bad-rows-recovered/
// (table `recovered_bad_rows`, schemas/recovered-bad-row): a second run skips it, and `open_bad_rows` stops counting it. Should the
// record be lost after the send, the rerun sends it again and the enrich stage's dedup (by messageId)
// drops the copy: a second run changes nothing in the lake.
//
// The same code runs deployed (./handler.ts) and locally (`npm run recover`).
import { createHash } from 'node:crypto';
import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { validateEvent, type BadRow, type RecoveredBadRow, type SegmentEvent } from '../../schemas/index.js';
import { DEFAULT_MAX_EVENT_BYTES } from '../enrich/config.js';
import { withServerFields } from '../ingest/server-fields.js';
import { toSegmentEvent } from '../ingest/snowplow.js';
import { adapterFailureOf } from '../shared/adapter-failure.js';
import { exceedsJsonDepth, tooDeepReason } from '../shared/json-depth.js';
import type { KinesisBatchWriter, StreamRecord } from '../shared/kinesis-batch-writer.js';
import { partitionKeyFor } from '../shared/partition-key.js';
import { runIdAt } from '../shared/run-id.js';
import { applyFix, parseFix, type FixStep } from './fix.js';

export const BAD_ROWS_PREFIX = 'bad-rows/';
export const RECOVERED_PREFIX = 'bad-rows-recovered/';
export const REPORTS_PREFIX = 'audit/recover/';

export interface RecoverRequest {
  /** First and last day of bad_rows (its dt partition: the day the batch reached events-raw), inclusive, YYYY-MM-DD. */
  from: string;
  to: string;
  /** Only these failure types (default: all). */
  failureTypes?: string[];
  /** Only rows whose reason contains this text. */
  reasonContains?: string;
  fix?: FixStep[];
  /** Report what would be recovered, send and write nothing. */
  dryRun?: boolean;
}

export interface RecoveryReport {
  runId: string;
  startedAt: string;
  finishedAt: string;
  request: RecoverRequest;
  /** Bad rows read in the days asked for, and how many of them the filters chose. */
  read: number;
  selected: number;
  alreadyRecovered: number;
  recovered: number;
  /** Of the recovered, how many the fix changed. */
  fixed: number;
  stillFailing: number;
  /** Why rows still fail, most frequent first, with up to 5 messageIds each. */
  failures: { reason: string; rows: number; examples: string[] }[];
  /** Objects written: the recovered rows' record and this report. */
  recordKey: string | null;
  reportKey: string | null;
}

export interface RecoverDependencies {
  s3: Pick<S3Client, 'send'>;
  bucket: string;
  writer: Pick<KinesisBatchWriter, 'write'>;
  now?: () => number;
  /** Epoch ms by which the sends must be done (a Lambda's remaining time). */
  deadline?: number;
}

/** A recovery request as a person or a script sends it (JSON), checked; throws FixError or RangeError with the reason. */
export function parseRecoverRequest(input: unknown): RecoverRequest {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) throw new RangeError('a recovery request is a JSON object: {"from": "YYYY-MM-DD", "to": "YYYY-MM-DD", …}');
  const { from, to, failureTypes, reasonContains, fix, dryRun, ...rest } = input as Record<string, unknown>;
  const unknown = Object.keys(rest);
  if (unknown.length > 0) throw new RangeError(`unknown field(s) ${unknown.join(', ')}: use from, to, failureTypes, reasonContains, fix, dryRun`);
  if (typeof from !== 'string' || typeof to !== 'string') throw new RangeError('from and to (YYYY-MM-DD) are required');
  daysOf(from, to);
  if (failureTypes !== undefined && (!Array.isArray(failureTypes) || !failureTypes.every((t) => typeof t === 'string'))) throw new RangeError('failureTypes must be a list of failure types');
  if (reasonContains !== undefined && typeof reasonContains !== 'string') throw new RangeError('reasonContains must be a string');
  if (dryRun !== undefined && typeof dryRun !== 'boolean') throw new RangeError('dryRun must be true or false');
  return {
    from,
    to,
    ...(failureTypes === undefined ? {} : { failureTypes: failureTypes as string[] }),
    ...(reasonContains === undefined ? {} : { reasonContains }),
    ...(fix === undefined ? {} : { fix: parseFix(fix) }),
    ...(dryRun === undefined ? {} : { dryRun }),
  };
}

const rowId = (row: Pick<BadRow, 'stream' | 'shard_id' | 'sequence_number'>): string => `${row.stream}/${row.shard_id}/${row.sequence_number}`;

/** The days from `from` to `to`, inclusive; throws on a range that is not one. */
export function daysOf(from: string, to: string): string[] {
  const day = /^\d{4}-\d{2}-\d{2}$/;
  if (!day.test(from) || !day.test(to) || Number.isNaN(Date.parse(from)) || Number.isNaN(Date.parse(to))) throw new RangeError(`from and to must be days, YYYY-MM-DD; got ${from} and ${to}`);
  const days: string[] = [];
  for (let t = Date.parse(from); t <= Date.parse(to); t += 86_400_000) days.push(new Date(t).toISOString().slice(0, 10));
  if (days.length === 0) throw new RangeError(`from (${from}) is after to (${to})`);
  if (days.length > 366) throw new RangeError(`at most 366 days at a time; ${from} to ${to} is ${days.length}`);
  return days;
}

async function listKeys(s3: RecoverDependencies['s3'], bucket: string, prefix: string): Promise<string[]> {
  const keys: string[] = [];
  let token: string | undefined;
  do {
    const page = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ...(token ? { ContinuationToken: token } : {}) }));
    for (const object of page.Contents ?? []) if (object.Key) keys.push(object.Key);
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
  return keys;
}

async function readLines<T>(s3: RecoverDependencies['s3'], bucket: string, key: string): Promise<T[]> {
  const object = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  const text = (await object.Body?.transformToString('utf8')) ?? '';
  return text
    .split('\n')
    .filter((line) => line.trim().length > 0)
    .map((line) => JSON.parse(line) as T);
}

/** What a bad row becomes: an event to send, or the reason it still fails. */
export type RowOutcome = { ok: true; event: SegmentEvent & { messageId: string }; fixed: boolean } | { ok: false; reason: string };

/** A bad row, fixed and validated again: the event to send back, or why it still fails. Pure. */
export function recoverRow(row: BadRow, fix: readonly FixStep[] = []): RowOutcome {
  const text = row.payload_encoding === 'base64' ? Buffer.from(row.payload, 'base64').toString('utf8') : row.payload;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { ok: false, reason: 'the payload is not JSON' };
  }
  // A stable id for rows that carry none, so a rerun sends the same event and the enrich stage's dedup drops it.
  const fallbackId = `recovered-${createHash('sha256').update(rowId(row)).digest('hex').slice(0, 32)}`;

  const unmapped = adapterFailureOf(value);
  if (unmapped) {
    // A tracker event that could not be mapped: the fix applies to its parameters, then today's mapping.
    const { document, applied } = applyFix(unmapped.parameters, fix);
    const mapped = toSegmentEvent(document as Record<string, string>, { userAgent: unmapped.userAgent });
    if (!mapped.ok) return { ok: false, reason: `${unmapped.protocol}: ${mapped.reason}` };
    const receivedAtMs = Date.parse(unmapped.receivedAt);
    const event = { messageId: fallbackId, ...mapped.event } as SegmentEvent;
    const withFields = withServerFields(event, { receivedAtMs, receivedAt: unmapped.receivedAt, sourceIp: unmapped.sourceIp, userAgent: unmapped.userAgent, writeKey: '' });
    return validated(withFields, applied && fix.length > 0);
  }
  const { document, applied } = applyFix(value, fix);
  if (typeof document !== 'object' || document === null || Array.isArray(document)) return { ok: false, reason: 'the payload is not a JSON object' };
  const event = document as SegmentEvent;
  if (typeof event.messageId !== 'string' || event.messageId.length === 0) event.messageId = row.message_id ?? fallbackId;
  return validated(event, applied && fix.length > 0);
}

function validated(event: SegmentEvent, fixed: boolean): RowOutcome {
  if (exceedsJsonDepth(event)) return { ok: false, reason: tooDeepReason('event') };
  const valid = validateEvent(event);
  if (!valid.ok) return { ok: false, reason: valid.reason };
  const bytes = Buffer.byteLength(JSON.stringify(valid.value), 'utf8');
  // The enrich stage's limit: a larger event would be a bad row again.
  if (bytes > DEFAULT_MAX_EVENT_BYTES) return { ok: false, reason: `event is ${bytes} bytes; the limit is ${DEFAULT_MAX_EVENT_BYTES}` };
  return { ok: true, event: valid.value as SegmentEvent & { messageId: string }, fixed };
}

/** Runs one recovery: reads, fixes, validates, sends, records, reports. */
export async function recoverBadRows(request: RecoverRequest, deps: RecoverDependencies): Promise<RecoveryReport> {
  const now = deps.now ?? Date.now;
  const runId = runIdAt(now());
  const startedAt = new Date(now()).toISOString();
  const days = daysOf(request.from, request.to);

  // What earlier runs recovered: those rows are skipped.
  const done = new Set<string>();
  for (const key of await listKeys(deps.s3, deps.bucket, RECOVERED_PREFIX)) {
    for (const line of await readLines<RecoveredBadRow>(deps.s3, deps.bucket, key)) done.add(rowId(line));
  }

  let read = 0;
  let alreadyRecovered = 0;
  const chosen: BadRow[] = [];
  const seen = new Set<string>();
  for (const day of days) {
    for (const key of await listKeys(deps.s3, deps.bucket, `${BAD_ROWS_PREFIX}dt=${day}/`)) {
      for (const row of await readLines<BadRow>(deps.s3, deps.bucket, key)) {
        read++;
        if (request.failureTypes && !request.failureTypes.includes(row.failure_type)) continue;
        if (request.reasonContains !== undefined && !row.reason.includes(request.reasonContains)) continue;
        // A retried enrich batch may have stored a row twice (under the same key: overwritten; rarely two keys).
        const id = rowId(row);
        if (seen.has(id)) continue;
        seen.add(id);
        if (done.has(id)) {
          alreadyRecovered++;
          continue;
        }
        chosen.push(row);
      }
    }
  }

  const failures = new Map<string, { rows: number; examples: string[] }>();
  const toSend: { row: BadRow; record: StreamRecord; messageId: string; fixed: boolean }[] = [];
  for (const row of chosen) {
    const outcome = recoverRow(row, request.fix);
    if (!outcome.ok) {
      const entry = failures.get(outcome.reason) ?? { rows: 0, examples: [] };
      entry.rows++;
      if (entry.examples.length < 5) entry.examples.push(row.message_id ?? rowId(row));
      failures.set(outcome.reason, entry);
      continue;
    }
    const data = Buffer.from(JSON.stringify(outcome.event), 'utf8');
    toSend.push({ row, record: { data, partitionKey: partitionKeyFor(outcome.event) }, messageId: outcome.event.messageId, fixed: outcome.fixed });
  }

  let sent = toSend;
  if (!request.dryRun && toSend.length > 0) {
    const result = await deps.writer.write(
      toSend.map((s) => s.record),
      { deadline: deps.deadline ?? now() + 300_000 },
    );
    const failed = new Set(result.failed);
    // Records the stream did not take in time are not recorded as recovered: the next run sends them.
    sent = toSend.filter((_, index) => !failed.has(index));
    if (failed.size > 0) failures.set(`not sent: the stream did not take them in time (${result.lastErrorCode ?? 'deadline'}); run again`, { rows: failed.size, examples: toSend.filter((_, i) => failed.has(i)).slice(0, 5).map((s) => s.messageId) });
  }

  const recoveredAt = new Date(now()).toISOString();
  let recordKey: string | null = null;
  if (!request.dryRun && sent.length > 0) {
    recordKey = `${RECOVERED_PREFIX}dt=${recoveredAt.slice(0, 10)}/${runId}.jsonl`;
    const lines = sent.map(({ row, messageId, fixed }): RecoveredBadRow => ({
      stream: row.stream,
      shard_id: row.shard_id,
      sequence_number: row.sequence_number,
      failure_type: row.failure_type,
      message_id: messageId,
      run_id: runId,
      recovered_at: recoveredAt,
      fixed,
    }));
    await deps.s3.send(new PutObjectCommand({ Bucket: deps.bucket, Key: recordKey, Body: lines.map((l) => JSON.stringify(l)).join('\n') + '\n', ContentType: 'application/x-ndjson' }));
  }

  const report: RecoveryReport = {
    runId,
    startedAt,
    finishedAt: new Date(now()).toISOString(),
    request,
    read,
    selected: chosen.length + alreadyRecovered,
    alreadyRecovered,
    // In a dry run: what would be.
    recovered: sent.length,
    fixed: sent.filter((s) => s.fixed).length,
    stillFailing: [...failures.values()].reduce((n, f) => n + f.rows, 0),
    failures: [...failures].map(([reason, f]) => ({ reason, ...f })).sort((a, b) => b.rows - a.rows || a.reason.localeCompare(b.reason)),
    recordKey,
    reportKey: null,
  };
  if (request.dryRun) return report;
  report.reportKey = `${REPORTS_PREFIX}${runId}.json`;
  await deps.s3.send(new PutObjectCommand({ Bucket: deps.bucket, Key: report.reportKey, Body: `${JSON.stringify(report, null, 2)}\n`, ContentType: 'application/json' }));
  return report;
}
