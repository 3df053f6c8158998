// Dead-letter redrive and replay on the local stack, as a person runs them (`npm run redrive`, `npm run
// replay`): the enrich consumer is stopped, so events accepted by ingest wait on events-raw; an on-failure
// message names their range, as the event source mapping writes one when it gives up on a batch. The redrive
// reads the range back and hands it to the enrich handler: the events land once; a range the stream no longer
// holds is reported with its range; a second redrive has nothing left to do. A replay from before all of it
// goes through the enrich stage again and adds nothing twice.
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { GetRecordsCommand, GetShardIteratorCommand, ListShardsCommand } from '@aws-sdk/client-kinesis';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { runQueryCli } from '../../commands/query.js';
import { runRedriveCli } from '../../commands/redrive.js';
import type { RedriveReport } from '../../functions/redrive/redrive.js';
import { createLocalKinesisClient } from '../../local/kinesis/client.js';
import { REPOSITORY_ROOT, startLocalStack, type LocalStack } from '../../local/stack.js';
import { DeadLetterQueue, deadLetterFile } from '../../local/storage/dead-letter-queue.js';
import { basicAuth } from './kinesis-records.js';

let stack: LocalStack;
let dataDir: string;
let endpointsFile: string;

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'clickstream-redrive-'));
  endpointsFile = join(dataDir, 'endpoints.json');
  process.env['POWERTOOLS_LOG_LEVEL'] ??= 'WARN';
  stack = await startLocalStack({ dataDir, endpointsFile, shardCount: 1, firehose: { bufferIntervalMs: 500 } });
}, 120_000);

afterAll(async () => {
  await stack?.stop();
  rmSync(dataDir, { recursive: true, force: true });
});

const count = async (where: string): Promise<{ rows: number; distinct: number }> => {
  let out = '';
  let err = '';
  const code = await runQueryCli(['--data-dir', stack.dataDir, '--json', `SELECT count(*) AS rows, count(DISTINCT message_id) AS distinct_ids FROM events WHERE ${where}`], { stdout: (t) => (out += t), stderr: (t) => (err += t) }, REPOSITORY_ROOT);
  if (code !== 0) throw new Error(err);
  const row = JSON.parse(out.trim()) as { rows: number; distinct_ids: number };
  return { rows: Number(row.rows), distinct: Number(row.distinct_ids) };
};

async function until(what: string, read: () => Promise<{ rows: number }>, rows: number, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (value.rows === rows) return;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}: ${JSON.stringify(value)}`);
    await sleep(500);
  }
}

async function cli(mode: 'redrive' | 'replay', ...args: string[]): Promise<{ code: number; report: RedriveReport }> {
  let out = '';
  let err = '';
  const code = await runRedriveCli(mode, [...args, '--endpoints-file', endpointsFile, '--json'], { stdout: (t) => (out += t), stderr: (t) => (err += t) });
  if (!out) throw new Error(`npm run ${mode} printed nothing: ${err}`);
  return { code, report: JSON.parse(out) as RedriveReport };
}

const post = async (ids: string[]) => {
  const response = await fetch(`${stack.endpoints.ingestUrl}/v1/batch`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: basicAuth(stack.endpoints.writeKey) },
    body: JSON.stringify({ batch: ids.map((messageId) => ({ type: 'track', event: 'Redriven', anonymousId: 'a-redrive', messageId })) }),
  });
  expect(response.status).toBe(200);
};

it('redrives the ranges of on-failure messages into the lake once, reports what the stream no longer holds, and a replay adds nothing twice', { timeout: 240_000 }, async () => {
  const run = randomUUID().slice(0, 8);
  const started = new Date(Date.now() - 1_000).toISOString();
  const delivered = Array.from({ length: 5 }, (_, i) => `before-${run}-${i}`);
  await post(delivered);
  await until('the events delivered before', () => count(`message_id LIKE 'before-${run}-%'`), 5);

  // The consumer gives up (stopped here): what ingest accepted now waits on events-raw.
  const enrich = stack.mappings.find((m) => m.source.function.functionKey === 'enrich')!;
  await enrich.stop();
  const waiting = Array.from({ length: 30 }, (_, i) => `dead-${run}-${i}`);
  await post(waiting);

  // Their range on the stream, as the mapping's on-failure message names it.
  const kinesis = createLocalKinesisClient(stack.endpoints.kinesis);
  const shardId = (await kinesis.send(new ListShardsCommand({ StreamName: stack.endpoints.streams.raw }))).Shards![0]!.ShardId!;
  const iterator = (await kinesis.send(new GetShardIteratorCommand({ StreamName: stack.endpoints.streams.raw, ShardId: shardId, ShardIteratorType: 'TRIM_HORIZON' }))).ShardIterator;
  const records = (await kinesis.send(new GetRecordsCommand({ ShardIterator: iterator, Limit: 1_000 }))).Records!;
  const theirs = records.filter((r) => Buffer.from(r.Data!).toString('utf8').includes(`dead-${run}-`));
  expect(theirs).toHaveLength(30);
  const queue = new DeadLetterQueue(enrich.source.onFailure!.name, deadLetterFile(stack.dataDir, enrich.source.onFailure!.name));
  const message = (shard: string, first: string, last: string, batchSize: number) => ({
    requestContext: { requestId: randomUUID(), functionArn: 'arn:aws:lambda:us-east-1:000000000000:function:enrich', condition: 'RetryAttemptsExhausted' as const, approximateInvokeCount: 3 },
    responseContext: { statusCode: 200, executedVersion: '$LATEST', functionError: 'Unhandled' },
    version: '1.0' as const,
    timestamp: new Date().toISOString(),
    KinesisBatchInfo: {
      shardId: shard,
      startSequenceNumber: first,
      endSequenceNumber: last,
      approximateArrivalOfFirstRecord: new Date().toISOString(),
      approximateArrivalOfLastRecord: new Date().toISOString(),
      batchSize,
      streamArn: `arn:aws:kinesis:us-east-1:000000000000:stream/${stack.endpoints.streams.raw}`,
    },
  });
  queue.send(message(shardId, theirs[0]!.SequenceNumber!, theirs[19]!.SequenceNumber!, 20));
  queue.send(message(shardId, theirs[20]!.SequenceNumber!, theirs[29]!.SequenceNumber!, 10));
  // A shard that is gone: its records passed retention after a reshard.
  queue.send(message('shardId-000000000042', theirs[0]!.SequenceNumber!, theirs[29]!.SequenceNumber!, 30));

  const first = await cli('redrive');
  expect(first.code).toBe(0);
  expect(first.report.deadLetters).toHaveLength(3);
  expect(first.report.totals).toEqual({ records: 30, done: 30, stillFailing: 0, pastRetention: 30 });
  const gone = first.report.deadLetters!.find((d) => d.shardId === 'shardId-000000000042')!;
  expect(gone.pastRetention).toMatchObject({ fromSequenceNumber: theirs[0]!.SequenceNumber, toSequenceNumber: theirs[29]!.SequenceNumber, records: 30 });
  expect(gone.pastRetention!.reason).toMatch(/ResourceNotFound/);
  await until('the redriven events', () => count(`message_id LIKE 'dead-${run}-%'`), 30);

  // Settled messages are not taken again.
  const second = await cli('redrive');
  expect(second.report.deadLetters).toEqual([]);

  // A replay of everything since the start: each event goes through the enrich stage again, none lands twice.
  const replay = await cli('replay', '--from', started, '--to', new Date().toISOString());
  expect(replay.code).toBe(0);
  expect(replay.report.totals.records).toBe(35);
  expect(replay.report.totals.done).toBe(35);
  await sleep(5_000);
  expect(await count(`message_id LIKE 'before-${run}-%' OR message_id LIKE 'dead-${run}-%'`)).toEqual({ rows: 35, distinct: 35 });
});
