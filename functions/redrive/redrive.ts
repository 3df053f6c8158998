// Running a stream consumer again over records still in the stream (README "Redrive dead letters and
// replay"). Two uses, one engine:
//   redrive  each on-failure message (a shard and a sequence range a consumer gave up on) is read back
//            from the stream and handed to the same consumer; the part of a range the stream no longer
//            holds (past its retention, or a shard gone) is reported with its range, never dropped unsaid;
//   replay   every shard of a stream from a time to a time, through the consumer again, e.g. the enrich
//            stage after a fix of an enrichment.
// The consumers deduplicate by messageId, so what they had delivered before is not delivered twice: a
// redrive or a replay adds only what is missing from the lake.
//
// The consumer is given as `invoke` (a KinesisStreamEvent in, its batchItemFailures out): deployed, a
// Lambda Invoke of the consumer function itself (./handler.ts); locally, its handler in this process.
import { GetRecordsCommand, GetShardIteratorCommand, ListShardsCommand, type KinesisClient, type _Record } from '@aws-sdk/client-kinesis';
import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { KinesisStreamBatchResponse, KinesisStreamEvent, KinesisStreamRecord } from 'aws-lambda';
import { kinesisStreamRecord } from '../shared/kinesis-record.js';
import type { KinesisOnFailureRecord } from '../shared/on-failure-record.js';

export type ConsumerInvoker = (event: KinesisStreamEvent) => Promise<KinesisStreamBatchResponse | void>;

export interface StreamRunDependencies {
  kinesis: Pick<KinesisClient, 'send'>;
  invoke: ConsumerInvoker;
  /** Records handed to the consumer at once (its event source mapping's BatchSize). */
  batchSize?: number;
  /** Bytes of record data per invocation: a Lambda request is at most 6 MB, and base64 adds a third. */
  maxBatchBytes?: number;
  /** How often a record the consumer fails is handed to it again before it is reported. */
  attempts?: number;
  region?: string;
  /** Epoch ms by which the run stops reading (a Lambda's remaining time). */
  deadline?: number;
  now?: () => number;
}

/** Where a stream and shard are: the name (what every Kinesis API takes) and the ARN (what records carry). */
export interface StreamAt {
  streamName: string;
  streamArn: string;
}

export const streamNameOf = (arn: string): string => arn.slice(arn.lastIndexOf('/') + 1);

const compareSeq = (a: string, b: string): number => {
  const x = BigInt(a);
  const y = BigInt(b);
  return x < y ? -1 : x > y ? 1 : 0;
};

type Start = { sequenceNumber: string } | { timestamp: Date };

/**
 * The records of one shard from `start` (inclusive) while `keep` says so; stops at the first record
 * `keep` refuses, at the tip of the shard, or at the deadline. Throws what GetShardIterator throws.
 */
async function readShard(
  deps: StreamRunDependencies,
  where: StreamAt & { shardId: string },
  start: Start,
  keep: (record: _Record) => boolean,
): Promise<{ records: _Record[]; stoppedAtDeadline: boolean }> {
  const now = deps.now ?? Date.now;
  const iterator = await deps.kinesis.send(
    new GetShardIteratorCommand({
      StreamName: where.streamName,
      ShardId: where.shardId,
      ...('sequenceNumber' in start ? { ShardIteratorType: 'AT_SEQUENCE_NUMBER', StartingSequenceNumber: start.sequenceNumber } : { ShardIteratorType: 'AT_TIMESTAMP', Timestamp: start.timestamp }),
    }),
  );
  const records: _Record[] = [];
  let next = iterator.ShardIterator;
  while (next) {
    if (now() > (deps.deadline ?? Number.POSITIVE_INFINITY)) return { records, stoppedAtDeadline: true };
    const page = await deps.kinesis.send(new GetRecordsCommand({ ShardIterator: next, Limit: 1_000 }));
    for (const record of page.Records ?? []) {
      if (!keep(record)) return { records, stoppedAtDeadline: false };
      records.push(record);
    }
    if ((page.Records ?? []).length === 0 && (page.MillisBehindLatest ?? 0) === 0) break;
    next = page.NextShardIterator;
  }
  return { records, stoppedAtDeadline: false };
}

export interface ConsumerRun {
  records: number;
  /** Handed to the consumer and finished (written, dropped as duplicates, stored as bad rows, erased). */
  done: number;
  /** Still failing after every attempt: sequence numbers. */
  stillFailing: string[];
}

/** Hands `records` to the consumer in batches, again for the ones it fails, up to `attempts` times. */
async function runConsumer(deps: StreamRunDependencies, where: StreamAt & { shardId: string }, records: readonly _Record[]): Promise<ConsumerRun> {
  const batchSize = deps.batchSize ?? 100;
  const maxBytes = deps.maxBatchBytes ?? 4_000_000;
  const identity = `arn:aws:iam::000000000000:role/redrive`;
  const toLambda = (r: _Record): KinesisStreamRecord =>
    kinesisStreamRecord(
      { partitionKey: r.PartitionKey ?? '', sequenceNumber: r.SequenceNumber!, data: Buffer.from(r.Data ?? new Uint8Array()).toString('base64'), arrivalMs: r.ApproximateArrivalTimestamp?.getTime() ?? Date.now() },
      { shardId: where.shardId, streamArn: where.streamArn, region: deps.region ?? 'us-east-1', invokeIdentityArn: identity },
    );
  let pending = records.map(toLambda);
  for (let attempt = 0; attempt < (deps.attempts ?? 3) && pending.length > 0; attempt++) {
    const failed: KinesisStreamRecord[] = [];
    for (let i = 0; i < pending.length; ) {
      const batch: KinesisStreamRecord[] = [];
      let bytes = 0;
      while (i < pending.length && batch.length < batchSize && (batch.length === 0 || bytes + pending[i]!.kinesis.data.length <= maxBytes)) {
        bytes += pending[i]!.kinesis.data.length;
        batch.push(pending[i++]!);
      }
      let failures: Set<string>;
      try {
        const answer = await deps.invoke({ Records: batch });
        failures = new Set((answer?.batchItemFailures ?? []).map((f) => f.itemIdentifier));
      } catch {
        failures = new Set(batch.map((r) => r.kinesis.sequenceNumber));
      }
      // Lambda's contract: the first failed record and everything after it in the batch is retried.
      const first = batch.findIndex((r) => failures.has(r.kinesis.sequenceNumber));
      if (first >= 0) failed.push(...batch.slice(first));
    }
    pending = failed;
  }
  return { records: records.length, done: records.length - pending.length, stillFailing: pending.map((r) => r.kinesis.sequenceNumber) };
}

export interface DeadLetterOutcome {
  /** The message, as the on-failure destination holds it. */
  shardId: string;
  startSequenceNumber: string;
  endSequenceNumber: string;
  batchSize: number;
  condition: KinesisOnFailureRecord['requestContext']['condition'];
  /** Read back from the stream, and what the consumer did with them. */
  run: ConsumerRun;
  /** The part of the range the stream no longer holds, with why; null when every record was read back. */
  pastRetention: { fromSequenceNumber: string; toSequenceNumber: string; records: number; reason: string } | null;
  /** Done: every record is either finished or reported past retention; the message can go. */
  settled: boolean;
}

/** One on-failure message: its range read back and handed to the consumer again. */
export async function redriveDeadLetter(message: KinesisOnFailureRecord, deps: StreamRunDependencies): Promise<DeadLetterOutcome> {
  const info = message.KinesisBatchInfo;
  const where = { streamArn: info.streamArn, streamName: streamNameOf(info.streamArn), shardId: info.shardId };
  const base = { shardId: info.shardId, startSequenceNumber: info.startSequenceNumber, endSequenceNumber: info.endSequenceNumber, batchSize: info.batchSize, condition: message.requestContext.condition };
  let records: _Record[];
  try {
    ({ records } = await readShard(deps, where, { sequenceNumber: info.startSequenceNumber }, (r) => compareSeq(r.SequenceNumber!, info.endSequenceNumber) <= 0));
  } catch (error) {
    const name = (error as { name?: string }).name ?? 'Error';
    // The shard is gone (its retention passed after a reshard), or the range is older than the stream keeps.
    if (name === 'ResourceNotFoundException' || name === 'InvalidArgumentException') {
      return {
        ...base,
        run: { records: 0, done: 0, stillFailing: [] },
        pastRetention: { fromSequenceNumber: info.startSequenceNumber, toSequenceNumber: info.endSequenceNumber, records: info.batchSize, reason: `${name}: ${(error as Error).message}` },
        settled: true,
      };
    }
    throw error;
  }
  const inRange = records.filter((r) => compareSeq(r.SequenceNumber!, info.startSequenceNumber) >= 0);
  // The stream starts the iterator at its trim horizon when the start is older: the records before the
  // first one read are gone.
  const first = inRange[0]?.SequenceNumber;
  const missing = info.batchSize - inRange.length;
  const pastRetention =
    missing > 0 && (first === undefined || compareSeq(first, info.startSequenceNumber) > 0)
      ? { fromSequenceNumber: info.startSequenceNumber, toSequenceNumber: first ?? info.endSequenceNumber, records: missing, reason: first === undefined ? 'no record of the range is in the stream any more' : 'the stream no longer holds the start of the range' }
      : null;
  const run = await runConsumer(deps, where, inRange);
  return { ...base, run, pastRetention, settled: run.stillFailing.length === 0 };
}

export interface ReplayShard {
  shardId: string;
  run: ConsumerRun;
  firstSequenceNumber: string | null;
  lastSequenceNumber: string | null;
  complete: boolean;
}

/** Every shard of a stream, from `from` to `to` (arrival times), through the consumer again. */
export async function replayStream(stream: StreamAt, window: { from: Date; to: Date }, deps: StreamRunDependencies): Promise<ReplayShard[]> {
  const shards: string[] = [];
  let token: string | undefined;
  do {
    const page = await deps.kinesis.send(new ListShardsCommand(token ? { NextToken: token } : { StreamName: stream.streamName }));
    for (const shard of page.Shards ?? []) if (shard.ShardId) shards.push(shard.ShardId);
    token = page.NextToken;
  } while (token);
  const out: ReplayShard[] = [];
  for (const shardId of shards) {
    const where = { ...stream, shardId };
    let read: { records: _Record[]; stoppedAtDeadline: boolean };
    try {
      read = await readShard(deps, where, { timestamp: window.from }, (r) => (r.ApproximateArrivalTimestamp?.getTime() ?? 0) < window.to.getTime());
    } catch (error) {
      // A closed shard whose records all passed retention.
      if ((error as { name?: string }).name === 'ResourceNotFoundException') continue;
      throw error;
    }
    const run = await runConsumer(deps, where, read.records);
    out.push({ shardId, run, firstSequenceNumber: read.records[0]?.SequenceNumber ?? null, lastSequenceNumber: read.records.at(-1)?.SequenceNumber ?? null, complete: !read.stoppedAtDeadline });
  }
  return out;
}

export const REPORTS_PREFIX = 'audit/redrive/';

export interface RedriveReport {
  runId: string;
  startedAt: string;
  finishedAt: string;
  kind: 'redrive' | 'replay';
  /** redrive: one entry per on-failure message. */
  deadLetters?: (DeadLetterOutcome & { queue: string })[];
  /** replay: the stream, the window and each shard. */
  replay?: { stream: string; from: string; to: string; shards: ReplayShard[] };
  totals: { records: number; done: number; stillFailing: number; pastRetention: number };
  reportKey: string | null;
}


/** The totals of a report's entries. */
export function totalsOf(report: Pick<RedriveReport, 'deadLetters' | 'replay'>): RedriveReport['totals'] {
  const runs = [...(report.deadLetters ?? []).map((d) => d.run), ...(report.replay?.shards ?? []).map((s) => s.run)];
  return {
    records: runs.reduce((n, r) => n + r.records, 0),
    done: runs.reduce((n, r) => n + r.done, 0),
    stillFailing: runs.reduce((n, r) => n + r.stillFailing.length, 0),
    pastRetention: (report.deadLetters ?? []).reduce((n, d) => n + (d.pastRetention?.records ?? 0), 0),
  };
}

/** Writes the report to s3://<lake>/audit/redrive/<run id>.json and returns it with its key. */
export async function storeReport(s3: Pick<S3Client, 'send'>, bucket: string, report: RedriveReport): Promise<RedriveReport> {
  const reportKey = `${REPORTS_PREFIX}${report.runId}.json`;
  const stored = { ...report, reportKey };
  await s3.send(new PutObjectCommand({ Bucket: bucket, Key: reportKey, Body: `${JSON.stringify(stored, null, 2)}\n`, ContentType: 'application/json' }));
  return stored;
}
