// Erasure on the local stack, as a person runs it (`npm run erase`): a lake of several days, hours and
// objects; one person (a userId, the anonymousIds it identified from, an alias) is erased. Then no query
// finds a row of theirs in events, the session rows of aggregates or bad rows; every other row reads back
// the same, column for column, in the same partitions; and their events that were still on their way when
// the erasure ran (one on events-raw, one already past the enrich stage on events-enriched) never land,
// even after a restart of the stack.
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { GetObjectCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import { PutRecordsCommand } from '@aws-sdk/client-kinesis';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { runEraseCli } from '../../commands/erase.js';
import type { ErasureReport } from '../../functions/erase/erase.js';
import { idHash, SUPPRESSION_LIST_KEY } from '../../functions/shared/suppression.js';
import { createLocalKinesisClient } from '../../local/kinesis/client.js';
import { createLocalS3Client } from '../../local/storage/s3.js';
import { startLocalStack, type LocalStack } from '../../local/stack.js';
import { aggregateRow } from '../helpers/analytics.js';
import { basicAuth } from './kinesis-records.js';
import { queryLake, until } from './local-lake.js';

let stack: LocalStack;
let dataDir: string;
let endpointsFile: string;
const options = () => ({ dataDir, endpointsFile, firehose: { bufferIntervalMs: 500 } });

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'clickstream-erase-'));
  endpointsFile = join(dataDir, 'endpoints.json');
  process.env['POWERTOOLS_LOG_LEVEL'] ??= 'WARN';
  stack = await startLocalStack(options());
}, 120_000);

afterAll(async () => {
  await stack?.stop();
  rmSync(dataDir, { recursive: true, force: true });
});

const query = (sql: string) => queryLake(stack.dataDir, sql);

async function post(batch: Record<string, unknown>[]): Promise<void> {
  const response = await fetch(`${stack.endpoints.ingestUrl}/v1/batch`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: basicAuth(stack.endpoints.writeKey) },
    body: JSON.stringify({ batch }),
  });
  expect(response.status, await response.text()).toBe(200);
}

it('erases a person from every partition and object, leaves every other row as it was, and drops what was on its way', { timeout: 300_000 }, async () => {
  const run = randomUUID().slice(0, 8);
  const victim = { userId: `u-victim-${run}`, devices: [`a-victim-phone-${run}`, `a-victim-laptop-${run}`], alias: `old-victim-${run}` };
  const shared = `a-shared-tablet-${run}`; // the victim and another person both used it
  const base = Date.parse('2026-11-20T08:00:00.000Z');
  const at = (day: number, hour: number, minute: number) => new Date(base + day * 86_400_000 + hour * 3_600_000 + minute * 60_000).toISOString();

  // Three days x four hours, posted in rounds so each partition gets several objects.
  let n = 0;
  const id = () => `m-${run}-${n++}`;
  for (let round = 0; round < 3; round++) {
    const batch: Record<string, unknown>[] = [];
    for (let day = 0; day < 3; day++) {
      for (let hour = 0; hour < 4; hour++) {
        const ts = at(day, hour, round * 10);
        for (let p = 0; p < 8; p++) batch.push({ type: 'page', anonymousId: `a-other-${run}-${p}`, messageId: id(), originalTimestamp: ts, properties: { path: `/p/${p}` } });
        batch.push({ type: 'track', event: 'Viewed', anonymousId: victim.devices[0], messageId: id(), originalTimestamp: ts });
        batch.push({ type: 'track', event: 'Bought', anonymousId: victim.devices[1], userId: victim.userId, messageId: id(), originalTimestamp: ts });
        batch.push({ type: 'track', event: 'Other on shared', anonymousId: shared, userId: `u-other-${run}`, messageId: id(), originalTimestamp: ts });
      }
    }
    if (round === 0) {
      batch.push({ type: 'identify', anonymousId: victim.devices[0], userId: victim.userId, messageId: id(), originalTimestamp: at(0, 0, 1), traits: { email: 'victim@example.com' } });
      batch.push({ type: 'identify', anonymousId: shared, userId: victim.userId, messageId: id(), originalTimestamp: at(1, 0, 1) });
      batch.push({ type: 'track', event: 'Anonymous on shared', anonymousId: shared, messageId: id(), originalTimestamp: at(1, 0, 2) });
      batch.push({ type: 'alias', previousId: victim.alias, userId: victim.userId, anonymousId: victim.devices[1], messageId: id(), originalTimestamp: at(2, 0, 1) });
      batch.push({ type: 'track', event: 'Under the old id', userId: victim.alias, anonymousId: `a-old-${run}`, messageId: id(), originalTimestamp: at(2, 1, 1) });
      // Bad rows: a schema violation of theirs and one of someone else.
      batch.push({ type: 'track', event: 42, userId: victim.userId, messageId: `bad-victim-${run}` });
      batch.push({ type: 'track', event: 42, userId: `u-other-${run}`, messageId: `bad-other-${run}` });
    }
    await post(batch);
    await sleep(1_200); // past the local Firehose's buffer interval: another object per partition
  }
  const total = n; // every id() is an event (the bad rows carry their own ids)

  // Session rows of aggregates, as the Flink job writes them: one of the victim's devices, one of someone else.
  const kinesis = createLocalKinesisClient(stack.endpoints.kinesis);
  const session = (visitor: string) => aggregateRow({ kind: 'session', visitor_id: visitor, window_start: at(0, 1, 0), window_end: at(0, 1, 20), events: 4 });
  await kinesis.send(
    new PutRecordsCommand({
      StreamName: stack.endpoints.streams.aggregates,
      Records: [session(victim.devices[0]!), session(`a-other-${run}-1`)].map((row, i) => ({ Data: Buffer.from(JSON.stringify(row)), PartitionKey: `s${i}` })),
    }),
  );

  const theirs = `(user_id IN ('${victim.userId}', '${victim.alias}') OR anonymous_id IN ('${victim.devices.join("','")}') OR (anonymous_id = '${shared}' AND user_id IS NULL))`;
  await until('every event in the lake', () => query(`SELECT count(*) AS n FROM events WHERE message_id LIKE 'm-${run}-%'`), (rows) => Number(rows[0]!['n']) === total);
  await until('the session rows', () => query(`SELECT count(*) AS n FROM aggregates WHERE kind = 'session' AND visitor_id LIKE '%${run}%'`), (rows) => Number(rows[0]!['n']) === 2);
  await until('the bad rows', () => query(`SELECT count(*) AS n FROM bad_rows WHERE message_id LIKE 'bad-%-${run}'`), (rows) => Number(rows[0]!['n']) === 2);

  const others = async () => query(`SELECT * FROM events WHERE message_id LIKE 'm-${run}-%' AND NOT coalesce(${theirs}, false) ORDER BY message_id`);
  const before = await others();
  expect(before).toHaveLength(total - 77);
  const theirsBefore = Number((await query(`SELECT count(*) AS n FROM events WHERE message_id LIKE 'm-${run}-%' AND ${theirs}`))[0]!['n']);
  // Two a round, day and hour; two identifies, the anonymous event on the shared device, the alias, the old id's event.
  expect(theirsBefore).toBe(3 * 3 * 4 * 2 + 5);
  const perPartitionBefore = await query(`SELECT dt, hour, count(*) AS n FROM events WHERE message_id LIKE 'm-${run}-%' AND NOT coalesce(${theirs}, false) GROUP BY ALL ORDER BY ALL`);
  expect(perPartitionBefore.length).toBeGreaterThanOrEqual(12);

  // In flight at erasure time: one event already enriched but not yet in the lake (the events delivery
  // stream stopped), one still on events-raw (the enrich consumer stopped).
  const events = stack.firehose!.deliveryStreams.find((d) => d.definition.name.endsWith('events'))!;
  await events.stop();
  // Counted before the post: the enrich stage may read the record before the post's answer arrives.
  const enrich = stack.mappings.find((m) => m.source.function.functionKey === 'enrich')!;
  const enrichedSoFar = enrich.stats().recordsIn;
  await post([{ type: 'track', event: 'Enriched before the erasure', userId: victim.userId, messageId: `inflight-enriched-${run}`, originalTimestamp: at(0, 2, 30) }]);
  await until('the enrich stage to pass it on', async () => enrich.stats().recordsIn, (count) => count > enrichedSoFar);
  await sleep(1_000);
  await enrich.stop();
  await post([
    { type: 'track', event: 'Raw at erasure time', anonymousId: victim.devices[1], messageId: `inflight-raw-${run}`, originalTimestamp: at(0, 2, 31) },
    { type: 'track', event: 'Someone else, same time', anonymousId: `a-other-${run}-0`, messageId: `inflight-other-${run}`, originalTimestamp: at(0, 2, 31) },
  ]);

  // The erasure, by the userId alone: the devices and the alias are found on their events.
  let out = '';
  let err = '';
  const code = await runEraseCli(['--user-id', victim.userId, '--endpoints-file', endpointsFile, '--json'], { stdout: (t) => (out += t), stderr: (t) => (err += t) });
  expect(code, err).toBe(0);
  const report = JSON.parse(out) as ErasureReport;
  expect(report.complete).toBe(true);
  expect(report.linked.anonymousIdHashes.sort()).toEqual([...victim.devices, shared, `a-old-${run}`].map(idHash).sort());
  expect(report.linked.userIdHashes).toEqual([idHash(victim.alias)]);
  expect(report.tables.events.rowsRemoved).toBe(theirsBefore);
  expect(report.tables.events.objectsRewritten + report.tables.events.objectsDeleted).toBeGreaterThanOrEqual(12);
  expect(report.tables.aggregates.rowsRemoved).toBe(1);
  expect(report.tables.bad_rows.rowsRemoved).toBe(1);
  // No id in the clear anywhere in what the erasure wrote.
  const s3 = createLocalS3Client(stack.endpoints.s3!);
  const auditKeys = (await s3.send(new ListObjectsV2Command({ Bucket: stack.endpoints.lakeBucket!, Prefix: 'audit/erase/' }))).Contents ?? [];
  for (const key of [...auditKeys.map((o) => o.Key!), SUPPRESSION_LIST_KEY]) {
    const text = await (await s3.send(new GetObjectCommand({ Bucket: stack.endpoints.lakeBucket!, Key: key }))).Body!.transformToString();
    expect(text).not.toContain(victim.userId);
    expect(text).not.toContain(victim.devices[0]);
  }

  // What was on its way lands after a restart, or rather, theirs does not and the other event does.
  const ports = { kinesisPort: stack.kinesisPort, dynamodbPort: stack.dynamodbPort, s3Port: stack.s3Port, firehosePort: stack.firehosePort };
  await stack.stop();
  stack = await startLocalStack({ ...options(), ...ports });
  await until('the other in-flight event', () => query(`SELECT count(*) AS n FROM events WHERE message_id = 'inflight-other-${run}'`), (rows) => Number(rows[0]!['n']) === 1);
  await sleep(3_000);

  expect(await query(`SELECT message_id FROM events WHERE message_id LIKE '%${run}%' AND ${theirs}`)).toEqual([]);
  expect(await query(`SELECT message_id FROM events WHERE message_id LIKE 'inflight-%-${run}' ORDER BY 1`)).toEqual([{ message_id: `inflight-other-${run}` }]);
  expect(await query(`SELECT visitor_id FROM aggregates WHERE kind = 'session' AND visitor_id LIKE '%${run}%'`)).toEqual([{ visitor_id: `a-other-${run}-1` }]);
  expect(await query(`SELECT message_id FROM bad_rows WHERE message_id LIKE 'bad-%-${run}'`)).toEqual([{ message_id: `bad-other-${run}` }]);
  expect(await query(`SELECT count(*) AS n FROM events WHERE user_id = '${victim.userId}' OR anonymous_id IN ('${victim.devices.join("','")}')`)).toEqual([{ n: 0 }]);
  // Everyone else: the same rows, column for column, in the same partitions.
  expect(await others()).toEqual(before);
  expect(await query(`SELECT dt, hour, count(*) AS n FROM events WHERE message_id LIKE 'm-${run}-%' GROUP BY ALL ORDER BY ALL`)).toEqual(perPartitionBefore);
  expect(perPartitionBefore.every((p) => p['n'] === 27)).toBe(true); // eight visitors and the other person on the shared device, three rounds
  // The other person on the shared device keeps their signed-in events.
  expect(Number((await query(`SELECT count(*) AS n FROM events WHERE anonymous_id = '${shared}' AND user_id = 'u-other-${run}'`))[0]!['n'])).toBe(3 * 3 * 4);

  // A second run finds nothing more.
  out = '';
  expect(await runEraseCli(['--user-id', victim.userId, '--endpoints-file', endpointsFile, '--json'], { stdout: (t) => (out += t), stderr: () => undefined })).toBe(0);
  const again = JSON.parse(out) as ErasureReport;
  expect(Object.values(again.tables).reduce((sum, t) => sum + t.rowsRemoved, 0)).toBe(0);
});
