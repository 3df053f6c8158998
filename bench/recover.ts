// Recovery on a lake of 100,000 events (BENCH_RECOVER_EVENTS), in this process's local stack: 5% of the
// events posted are broken (a number where the track spec wants the event's name), so they become bad rows.
// Then `npm run recover` with a fix, timed; how long until every recovered event is in the lake; and a
// second run, which must send nothing. Counts before and after, from the lake as `npm run query` reads it.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { runRecoverCli } from '../commands/recover.js';
import type { RecoveryReport } from '../functions/recover/recover.js';
import { startLocalStack, type LocalStack } from '../local/stack.js';
import { figure, postEvents, withLocalLake, type Figures, type Suite } from './harness.js';

const EVENTS = Number(process.env['BENCH_RECOVER_EVENTS'] ?? 100_000);
const BROKEN_EVERY = 20; // 5%
const BATCH = 500;
const IN_FLIGHT = 4;

interface LakeCounts {
  rows: number;
  distinct: number;
  recovered: number;
  badRows: number;
  openBadRows: number;
}

async function lakeCounts(stack: LocalStack): Promise<LakeCounts> {
  try {
    return await withLocalLake(stack.dataDir, stack.endpoints.lakeBucket, async (connection) => {
      const one = async (sql: string) => Number((await connection.runAndReadAll(sql)).getRowObjectsJS()[0]?.['n'] ?? 0);
      return {
        rows: await one(`SELECT count(*) AS n FROM events WHERE message_id LIKE 'rec-%'`),
        distinct: await one(`SELECT count(DISTINCT message_id) AS n FROM events WHERE message_id LIKE 'rec-%'`),
        recovered: await one(`SELECT count(DISTINCT message_id) AS n FROM events WHERE message_id LIKE 'rec-broken-%'`),
        badRows: await one(`SELECT count(DISTINCT sequence_number) AS n FROM bad_rows`),
        openBadRows: await one(`SELECT count(DISTINCT b.sequence_number) AS n FROM bad_rows b ANTI JOIN recovered_bad_rows r ON r.sequence_number = b.sequence_number AND r.shard_id = b.shard_id`),
      };
    });
  } catch {
    return { rows: -1, distinct: -1, recovered: -1, badRows: -1, openBadRows: -1 }; // an object still being written: ask again
  }
}

async function until(what: string, stack: LocalStack, done: (c: LakeCounts) => boolean, timeoutMs = 600_000): Promise<LakeCounts> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const counts = await lakeCounts(stack);
    if (done(counts)) return counts;
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs / 1000} s (${JSON.stringify(counts)})`);
    await sleep(1_000);
  }
}

const event = (n: number) => ({
  type: 'track',
  event: n % BROKEN_EVERY === 0 ? 4242 : 'Product Viewed',
  messageId: n % BROKEN_EVERY === 0 ? `rec-broken-${n}` : `rec-${n}`,
  anonymousId: `anon-${n % 5_003}`,
  properties: { sku: `sku-${n % 211}`, price: n % 50 },
  context: { page: { path: `/p/${n % 97}`, url: `https://shop.example.com/p/${n % 97}` } },
});

async function recover(endpointsFile: string, fixFile: string): Promise<{ report: RecoveryReport; seconds: number }> {
  let out = '';
  let err = '';
  const t0 = performance.now();
  const code = await runRecoverCli(['--from', new Date().toISOString().slice(0, 10), '--fix', fixFile, '--endpoints-file', endpointsFile, '--json'], { stdout: (t) => (out += t), stderr: (t) => (err += t) });
  if (code !== 0) throw new Error(`npm run recover failed: ${err}`);
  return { report: JSON.parse(out) as RecoveryReport, seconds: (performance.now() - t0) / 1000 };
}

export const recoverBench: Suite = {
  name: 'recover',
  async run(): Promise<Figures> {
    process.env['POWERTOOLS_LOG_LEVEL'] ??= 'ERROR';
    const dataDir = await mkdtemp(join(tmpdir(), 'bench-recover-'));
    const endpointsFile = join(dataDir, 'endpoints.json');
    const stack = await startLocalStack({ dataDir, endpointsFile });
    try {
      // The lake: EVENTS posted as fast as ingest takes them, BATCH a request.
      await postEvents(stack.endpoints, EVENTS, event, { batch: BATCH, inFlight: IN_FLIGHT });
      const broken = Math.ceil(EVENTS / BROKEN_EVERY);
      const before = await until('the lake and the bad rows', stack, (c) => c.distinct === EVENTS - broken && c.badRows === broken);

      const fixFile = join(dataDir, 'fix.json');
      await writeFile(fixFile, JSON.stringify([{ op: 'test', path: '/event', value: 4242 }, { op: 'replace', path: '/event', value: 'Product Viewed' }]));
      const first = await recover(endpointsFile, fixFile);
      const t0 = performance.now();
      const after = await until('the recovered events in the lake', stack, (c) => c.distinct === EVENTS && c.openBadRows === 0);
      const inLakeSeconds = first.seconds + (performance.now() - t0) / 1000;
      const second = await recover(endpointsFile, fixFile);
      await sleep(10_000); // what a second send would have added would be in the lake by now
      const final = await lakeCounts(stack);

      const exactlyOnce = final.rows === EVENTS && final.distinct === EVENTS;
      return {
        'recover.lake_events_before': figure(before.distinct, 'events'),
        'recover.bad_rows_before': figure(before.badRows, 'rows'),
        'recover.recovered': figure(first.report.recovered, 'rows', { target: `all ${broken}`, met: first.report.recovered === broken }),
        'recover.run_seconds': figure(first.seconds, 's'),
        'recover.rows_per_second': figure(first.report.recovered / first.seconds, 'rows/s'),
        'recover.until_in_lake_seconds': figure(inLakeSeconds, 's'),
        'recover.lake_events_after': figure(after.distinct, 'events'),
        'recover.open_bad_rows_after': figure(after.openBadRows, 'rows', { target: '0', met: after.openBadRows === 0 }),
        'recover.second_run_sent': figure(second.report.recovered, 'rows', { target: '0', met: second.report.recovered === 0 }),
        'recover.second_run_seconds': figure(second.seconds, 's'),
        'recover.lake_exactly_once': figure(exactlyOnce ? 1 : 0, 'bool', { met: exactlyOnce }),
      };
    } finally {
      await stack.stop();
      await rm(dataDir, { recursive: true, force: true });
    }
  },
};
