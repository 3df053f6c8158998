// Recovery of bad rows on the local stack, as a person runs it (`npm run recover`): events that became bad
// rows (a schema violation from the Segment API, an unmappable Snowplow event) are fixed by declared steps,
// sent back through the running pipeline with their messageId, and land in the lake once; a second run
// changes nothing; the named query counts them as recovered, no longer open.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { runRecoverCli } from '../../commands/recover.js';
import type { RecoveryReport } from '../../functions/recover/recover.js';
import { createLocalS3Client } from '../../local/storage/s3.js';
import { startLocalStack, type LocalStack } from '../../local/stack.js';
import { readBadRows } from './bad-rows.js';
import { basicAuth } from './kinesis-records.js';
import { queryLake, until } from './local-lake.js';

let stack: LocalStack;
let dataDir: string;
let endpointsFile: string;

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'clickstream-recover-'));
  endpointsFile = join(dataDir, 'endpoints.json');
  process.env['POWERTOOLS_LOG_LEVEL'] ??= 'WARN';
  stack = await startLocalStack({ dataDir, endpointsFile, firehose: { bufferIntervalMs: 1_000 } });
}, 120_000);

afterAll(async () => {
  await stack?.stop();
  rmSync(dataDir, { recursive: true, force: true });
});

const query = (sql: string[]) => queryLake(stack.dataDir, ...sql);

async function recover(...args: string[]): Promise<RecoveryReport> {
  let out = '';
  let err = '';
  const code = await runRecoverCli([...args, '--endpoints-file', endpointsFile, '--json'], { stdout: (t) => (out += t), stderr: (t) => (err += t) });
  expect(code, err).toBe(0);
  return JSON.parse(out) as RecoveryReport;
}

it('fixes bad rows, sends them back once, and a second run changes nothing', { timeout: 180_000 }, async () => {
  const run = randomUUID().slice(0, 8);
  const good = Array.from({ length: 5 }, (_, i) => ({ type: 'track', event: 'Order Completed', anonymousId: `a-${run}`, messageId: `good-${run}-${i}` }));
  // A number where the track spec wants the event's name: a schema violation at the enrich stage.
  const broken = Array.from({ length: 4 }, (_, i) => ({ type: 'track', event: 4242, anonymousId: `a-${run}`, messageId: `broken-${run}-${i}`, properties: { n: i } }));
  const batch = await fetch(`${stack.endpoints.ingestUrl}/v1/batch`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: basicAuth(stack.endpoints.writeKey) },
    body: JSON.stringify({ batch: [...good, ...broken] }),
  });
  expect(batch.status).toBe(200);
  // A Snowplow structured event whose value is not a number: an adapter failure.
  const eid = `snowplow-${run}`;
  const snowplow = await fetch(`${stack.endpoints.ingestUrl}/i?e=se&aid=local-web&eid=${eid}&duid=d-${run}&se_ca=shop&se_ac=add&se_va=two&dtm=${Date.now()}`);
  expect(snowplow.status).toBe(200); // accepted: kept as an adapter failure, answered with the pixel

  const s3 = createLocalS3Client(stack.endpoints.s3!);
  try {
    const bad = await until('the bad rows', () => readBadRows(s3, stack.endpoints.lakeBucket!), (rows) => rows.filter((r) => r.row.message_id?.includes(run)).length === 5);
    expect(bad.filter((r) => r.row.failure_type === 'schema_violation')).toHaveLength(4);
    expect(bad.filter((r) => r.row.failure_type === 'adapter_failure')).toHaveLength(1);
    const today = new Date().toISOString().slice(0, 10);

    // Without a fix nothing passes: each row is named with its reason.
    const dry = await recover('--from', today, '--dry-run');
    expect(dry).toMatchObject({ selected: 5, recovered: 0, stillFailing: 5, recordKey: null, reportKey: null });

    // The fix for the schema violations (a test step keeps it off other rows), then the one for the Snowplow event.
    const fixFile = join(dataDir, 'fix.json');
    writeFileSync(fixFile, JSON.stringify([{ op: 'test', path: '/event', value: 4242 }, { op: 'replace', path: '/event', value: 'Order Completed' }]));
    const first = await recover('--from', today, '--failure-type', 'schema_violation', '--fix', fixFile);
    expect(first).toMatchObject({ read: 5, selected: 4, recovered: 4, fixed: 4, stillFailing: 0 });
    writeFileSync(fixFile, JSON.stringify([{ op: 'replace', path: '/se_va', value: '2' }]));
    const snowplowRun = await recover('--from', today, '--failure-type', 'adapter_failure', '--fix', fixFile);
    expect(snowplowRun).toMatchObject({ selected: 1, recovered: 1, fixed: 1 });

    // In the lake once each, as fixed, with their original ids.
    const recoveredIds = [...broken.map((e) => e.messageId), eid].sort();
    const inLake = `SELECT message_id, event, count(*) AS copies FROM events WHERE message_id LIKE '%${run}%' GROUP BY 1, 2 ORDER BY 1`;
    const lake = await until('the recovered events in the lake', () => query([inLake]), (rows) => rows.length === good.length + recoveredIds.length);
    expect(lake.filter((r) => recoveredIds.includes(String(r['message_id'])))).toEqual(
      recoveredIds.map((id) => ({ message_id: id, event: id === eid ? 'add' : 'Order Completed', copies: 1 })),
    );

    // A second run of both: everything already recovered, nothing sent, nothing new in the lake.
    const again = await recover('--from', today);
    expect(again).toMatchObject({ selected: 5, alreadyRecovered: 5, recovered: 0, stillFailing: 0, recordKey: null });
    await sleep(3_000);
    expect((await query([inLake])).every((r) => r['copies'] === 1)).toBe(true);

    // Both counts in one query: bad rows of the day, none open, all recovered.
    const counts = await query(['--named', 'bad_rows_by_failure_type', '--from', today, '--to', today]);
    expect(counts.map(({ failure_type, bad_rows, open_rows, recovered_rows }) => ({ failure_type, bad_rows, open_rows, recovered_rows }))).toEqual([
      { failure_type: 'schema_violation', bad_rows: 4, open_rows: 0, recovered_rows: 4 },
      { failure_type: 'adapter_failure', bad_rows: 1, open_rows: 0, recovered_rows: 1 },
    ]);
  } finally {
    s3.destroy();
  }
});
