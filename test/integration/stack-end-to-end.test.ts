// The whole local stack as `npm start` runs it: events posted over HTTP, some repeated across separate
// requests and some invalid, end up on events-enriched exactly once each or as bad rows with reasons,
// and posted = enriched + bad rows + rejected at ingest. Then the lake, through the local Firehose and
// `npm run query`: every accepted event once in `events`, the invalid ones in `bad_rows`.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createLocalKinesisClient } from '../../local/kinesis/client.js';
import { createLocalS3Client } from '../../local/storage/s3.js';
import { runQueryCli } from '../../commands/query.js';
import { REPOSITORY_ROOT, startLocalStack, type LocalStack } from '../../local/stack.js';
import { readBadRows } from './bad-rows.js';
import { basicAuth, readAllRecords } from './kinesis-records.js';

let stack: LocalStack;
let dataDir: string;

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'clickstream-e2e-'));
  stack = await startLocalStack({ dataDir, shardCount: 2, firehose: { bufferIntervalMs: 1_000 } });
}, 120_000);

afterAll(async () => {
  await stack?.stop();
  rmSync(dataDir, { recursive: true, force: true });
});

async function post(batch: unknown[]): Promise<{ status: number; body: { accepted: number; rejected: { index: number; reason: string }[] } }> {
  const response = await fetch(`${stack.endpoints.ingestUrl}/v1/batch`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: basicAuth(stack.endpoints.writeKey) },
    body: JSON.stringify({ batch, sentAt: new Date().toISOString() }),
  });
  return { status: response.status, body: (await response.json()) as never };
}

it('delivers each posted event exactly once to events-enriched and the lake (events), or to bad rows with a reason', { timeout: 120_000 }, async () => {
  const run = Date.now().toString(36);
  const valid = Array.from({ length: 30 }, (_, i) => ({
    type: i % 3 === 0 ? 'track' : 'page',
    ...(i % 3 === 0 ? { event: 'Signup Started' } : { name: `/p/${i % 5}` }),
    messageId: `e2e-${run}-${i}`,
    anonymousId: `anon-${i % 7}`,
    timestamp: new Date(Date.now() - 1_000).toISOString(),
    context: { userAgent: 'Mozilla/5.0 (Macintosh; Intel Mac OS X 14_7_1) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605.1.15' },
  }));
  const invalidAtEnrich = [0, 1].map((i) => ({ type: 'track', messageId: `e2e-${run}-bad-${i}`, anonymousId: 'anon-x' })); // no `event`
  const rejectedAtIngest = [{ type: 'track', event: 'No identity', messageId: `e2e-${run}-rej` }];

  const first = await post([...valid.slice(0, 20), ...invalidAtEnrich, ...rejectedAtIngest]);
  expect(first.status).toBe(200);
  expect(first.body.accepted).toBe(22);
  expect(first.body.rejected).toEqual([{ index: 22, messageId: `e2e-${run}-rej`, reason: '(event) needs one of userId, anonymousId' }]);
  // A client retry of part of the first request, then the rest, in separate requests.
  expect((await post(valid.slice(10, 20))).body.accepted).toBe(10);
  expect((await post(valid.slice(20))).body.accepted).toBe(10);
  expect((await post(valid.slice(0, 5))).body.accepted).toBe(5);

  const kinesis = createLocalKinesisClient(stack.endpoints.kinesis);
  const s3 = createLocalS3Client(stack.endpoints.s3!);
  try {
    const ours = (records: Awaited<ReturnType<typeof readAllRecords>>) =>
      records.filter((r) => String(r.data['messageId']).startsWith(`e2e-${run}-`));
    const deadline = Date.now() + 90_000;
    let enriched = ours(await readAllRecords(kinesis, stack.endpoints.streams.enriched));
    let bad = (await readBadRows(s3, stack.endpoints.lakeBucket!)).filter((b) => b.row.message_id?.startsWith(`e2e-${run}-`));
    while ((enriched.length < valid.length || bad.length < invalidAtEnrich.length) && Date.now() < deadline) {
      await sleep(500);
      enriched = ours(await readAllRecords(kinesis, stack.endpoints.streams.enriched));
      bad = (await readBadRows(s3, stack.endpoints.lakeBucket!)).filter((b) => b.row.message_id?.startsWith(`e2e-${run}-`));
    }
    // Let any late duplicate surface before asserting there is none.
    await sleep(2_500);
    enriched = ours(await readAllRecords(kinesis, stack.endpoints.streams.enriched));

    const ids = enriched.map((r) => r.data['messageId'] as string).sort();
    expect(ids).toEqual(valid.map((e) => e.messageId).sort());
    expect(enriched.every((r) => typeof r.data['enrichment'] === 'object')).toBe(true);
    expect(bad.map((b) => [b.row.message_id, b.row.failure_type]).sort()).toEqual(invalidAtEnrich.map((e) => [e.messageId, 'schema_violation']));
    expect(bad.every((b) => b.row.reason.includes("'event'"))).toBe(true);

    const posted = new Set([...valid, ...invalidAtEnrich, ...rejectedAtIngest].map((e) => e.messageId));
    expect(posted.size).toBe(new Set(ids).size + new Set(bad.map((b) => b.row.message_id)).size + first.body.rejected.length);

    // The lake, as an analyst sees it with `npm run query`.
    const query = async (sql: string): Promise<Record<string, unknown>[]> => {
      let out = '';
      let err = '';
      const code = await runQueryCli(['--data-dir', stack.dataDir, '--json', sql], { stdout: (t) => (out += t), stderr: (t) => (err += t) }, REPOSITORY_ROOT);
      if (code !== 0) throw new Error(err);
      return out.trim().split('\n').filter(Boolean).map((line) => JSON.parse(line) as Record<string, unknown>);
    };
    const ourEvents = `SELECT count(*) AS total, count(DISTINCT message_id) AS distinct_ids FROM events WHERE message_id LIKE 'e2e-${run}-%'`;
    const lakeDeadline = Date.now() + 30_000;
    while ((await query(ourEvents))[0]!['distinct_ids'] !== valid.length && Date.now() < lakeDeadline) await sleep(500);
    await sleep(1_500); // a late duplicate would be stored by now
    expect(await query(ourEvents)).toEqual([{ total: valid.length, distinct_ids: valid.length }]);
    const lakeIds = (await query(`SELECT message_id FROM events WHERE message_id LIKE 'e2e-${run}-%' ORDER BY 1`)).map((r) => r['message_id']);
    expect(lakeIds).toEqual(valid.map((e) => e.messageId).sort());
    const badInLake = await query(`SELECT message_id, failure_type FROM bad_rows WHERE message_id LIKE 'e2e-${run}-%' ORDER BY 1`);
    expect(badInLake).toEqual(invalidAtEnrich.map((e) => ({ message_id: e.messageId, failure_type: 'schema_violation' })));
    const firehose = stack.firehose.stats()[0]!;
    expect(firehose.failedRecords).toEqual({ 'processing-failed': 0, 'format-conversion-failed': 0, 'partitioning-failed': 0 });
  } finally {
    kinesis.destroy();
    s3.destroy();
  }
});
