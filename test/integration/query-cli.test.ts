// `npm run query` (commands/query.ts) over a lake laid out as s3rver stores it (<data dir>/s3/lake/<key>._S3rver_object):
// a readable table, JSON lines, the named Athena queries with their date range, and a clear answer when
// there is no lake yet.
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { DuckDBInstance } from '@duckdb/node-api';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { writeParquet } from '../../local/firehose/parquet.js';
import type { FlatRow } from '../../schemas/lake-rows.js';
import { createRecordTransformer } from '../../functions/firehose-transform/transform-records.js';
import { lakeDirectory, S3RVER_OBJECT_SUFFIX } from '../../local/storage/lake-location.js';
import { runQueryCli } from '../../commands/query.js';
import { EVENTS_TABLE } from '../../schemas/lake-tables.js';
import { enrichedEvent, firehoseEvent } from '../helpers/lake.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const BROWSER = 'Mozilla/5.0 (Macintosh; Intel Mac OS X 14_7_1) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605.1.15';
let dataDir: string;

async function cli(...argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const code = await runQueryCli(argv, { stdout: (t) => (stdout += t), stderr: (t) => (stderr += t) }, ROOT);
  return { code, stdout, stderr };
}

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'query-cli-'));
  const lake = lakeDirectory(dataDir);
  // Page views on two days, through the real transform, one Parquet object per hour as Firehose writes them.
  const views = [
    ['2026-11-21T10:05:00.000Z', '/pricing', 'anon-1'],
    ['2026-11-21T10:06:00.000Z', '/pricing', 'anon-2'],
    ['2026-11-21T10:07:00.000Z', '/', 'anon-1'],
    ['2026-11-22T08:00:00.000Z', '/pricing', 'anon-3'],
  ].map(([timestamp, path, anonymousId], i) =>
    enrichedEvent({
      type: 'page',
      name: path,
      event: undefined,
      messageId: `q-${i}`,
      anonymousId,
      timestamp,
      originalTimestamp: timestamp,
      receivedAt: timestamp,
      context: { userAgent: BROWSER, page: { url: `https://www.example.com${path}`, path } },
    }),
  );
  const transformed = createRecordTransformer({ logger: { warn: () => {}, info: () => {} } })(firehoseEvent(views).records).response.records;
  const byHour = new Map<string, FlatRow[]>();
  transformed.forEach((r) => {
    const { dt, hour } = r.metadata!.partitionKeys as { dt: string; hour: string };
    byHour.set(`dt=${dt}/hour=${hour}`, [...(byHour.get(`dt=${dt}/hour=${hour}`) ?? []), JSON.parse(Buffer.from(r.data!, 'base64').toString('utf8')) as FlatRow]);
  });
  const instance = await DuckDBInstance.create(':memory:');
  const connection = await instance.connect();
  for (const [partition, rows] of byHour) {
    await writeParquet(connection, EVENTS_TABLE, rows, join(lake, 'events', partition, `clickstream-local-events-1-x.parquet${S3RVER_OBJECT_SUFFIX}`));
  }
  connection.closeSync();
  instance.closeSync();
  await mkdir(join(lake, 'bad-rows', 'dt=2026-11-22'), { recursive: true });
  await writeFile(
    join(lake, 'bad-rows', 'dt=2026-11-22', `shardId-000000000000-1.jsonl${S3RVER_OBJECT_SUFFIX}`),
    JSON.stringify({ failure_type: 'schema_violation', reason: "must have required property 'event'", payload: '{}', payload_encoding: 'utf-8', message_id: 'bad-1' }) + '\n',
  );
  // s3rver's side files must not be read as data.
  await writeFile(join(lake, 'bad-rows', 'dt=2026-11-22', 'shardId-000000000000-1.jsonl._S3rver_metadata.json'), '{"content-type":"application/x-ndjson"}');
});

afterAll(async () => {
  await rm(dataDir, { recursive: true, force: true });
});

it('prints a readable table of any SQL over the views events and bad_rows', async () => {
  const { code, stdout } = await cli('--data-dir', dataDir, 'SELECT dt, hour, count(*) AS events FROM events GROUP BY ALL ORDER BY dt, hour');
  expect(code).toBe(0);
  expect(stdout).toBe(
    [' dt         | hour | events', '------------+------+--------', ' 2026-11-21 |   10 |      3', ' 2026-11-22 |    8 |      1', '(2 rows)', ''].join('\n'),
  );
  const bad = await cli('--data-dir', dataDir, 'SELECT dt, failure_type, message_id FROM bad_rows');
  expect(bad.stdout).toContain(' 2026-11-22 | schema_violation | bad-1');
  expect(bad.stdout).toContain('(1 row)');
});

it('prints JSON lines with --json', async () => {
  const { code, stdout } = await cli('--data-dir', dataDir, '--json', 'SELECT message_id, event_time, is_bot FROM events ORDER BY message_id');
  expect(code).toBe(0);
  const rows = stdout.trim().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>);
  expect(rows).toEqual([0, 1, 2, 3].map((i) => expect.objectContaining({ message_id: `q-${i}`, is_bot: false })));
  expect(rows[0]!['event_time']).toBe('2026-11-21T10:05:00.000Z');
});

it('runs a named Athena query, with --from/--to or over the whole lake by default', async () => {
  const ranged = await cli('--data-dir', dataDir, '--json', '--named', 'top_pages', '--from', '2026-11-21', '--to', '2026-11-21');
  expect(ranged.code).toBe(0);
  expect(ranged.stdout.trim().split('\n').map((l) => JSON.parse(l) as unknown)).toEqual([
    { page: '/pricing', views: 2, visitors: 2 },
    { page: '/', views: 1, visitors: 1 },
  ]);
  const whole = await cli('--data-dir', dataDir, '--named', 'top_pages');
  expect(whole.stderr).toContain('from_dt=2026-11-21 to_dt=2026-11-22');
  expect(whole.stdout).toContain(' /pricing |     3 |        3');

  expect((await cli('--data-dir', dataDir, '--named', 'nope')).stderr).toContain('No named query "nope". Named queries: bad_rows_by_failure_type');
  expect((await cli('--data-dir', dataDir, '--named', 'top_pages', '--from', '21.11.2026')).code).toBe(2);
});

it('says there is no lake yet, and how to make one', async () => {
  const { code, stderr } = await cli('--data-dir', join(dataDir, 'nothing-here'), 'SELECT 1');
  expect(code).toBe(1);
  expect(stderr).toContain(`No lake yet at ${lakeDirectory(join(dataDir, 'nothing-here'))}`);
  expect(stderr).toContain('npm start');
});

it('reports SQL errors without a stack trace', async () => {
  const { code, stderr } = await cli('--data-dir', dataDir, 'SELECT nope FROM events');
  expect(code).toBe(1);
  expect(stderr).toMatch(/^Query failed: .*nope/);
});

it('runs as `npm run query` (tsx commands/query.ts)', async () => {
  const { stdout } = await promisify(execFile)(join(ROOT, 'node_modules', '.bin', 'tsx'), ['commands/query.ts', '--data-dir', dataDir, '--json', 'SELECT count(*) AS n FROM events'], { cwd: ROOT });
  expect(JSON.parse(stdout)).toEqual({ n: 4 });
}, 30_000);
