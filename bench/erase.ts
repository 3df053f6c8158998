// Erasure and replay on a lake of 100,000 events (BENCH_ERASE_EVENTS) over two days and 48 hourly partitions, in this
// process's local stack. Ten people (PEOPLE) are erased by their userId alone; each used two devices and
// identified on one of them, so their anonymous events before sign-in go too. Timed: `npm run erase` end to
// end (its two passes and the settle wait between them). Counted from the lake as `npm run query` reads it,
// before and after: their rows (none after), everyone else's rows per partition and a hash of every column
// of every row (unchanged), and the objects. Then `npm run replay` of all of events-raw through the enrich
// stage again, timed: every event already in the lake is dropped as a duplicate and every erased one by the
// suppression list, so the lake must read exactly as before the replay.
import { readdirSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { runEraseCli } from '../commands/erase.js';
import { runRedriveCli } from '../commands/redrive.js';
import type { RedriveReport } from '../functions/redrive/redrive.js';
import type { ErasureReport } from '../functions/erase/erase.js';
import { startLocalStack, type LocalStack } from '../local/stack.js';
import { lakeDirectory, S3RVER_OBJECT_SUFFIX } from '../local/storage/lake-location.js';
import { figure, postEvents, withLocalLake, type Figures, type Suite } from './harness.js';

const EVENTS = Number(process.env['BENCH_ERASE_EVENTS'] ?? 100_000);
const PEOPLE = 10;
const EVERY = 200; // one event in EVERY is one of theirs: 0.5%
const START = Date.parse('2026-11-28T00:00:00.000Z');
const HOURS = 48;

const person = (n: number) => Math.floor(n / EVERY) % PEOPLE;
const event = (n: number) => {
  const originalTimestamp = new Date(START + (n % HOURS) * 3_600_000 + (n % 3_600) * 1_000).toISOString();
  const base = { type: 'track', event: 'Product Viewed', messageId: `era-${n}`, originalTimestamp, properties: { sku: `sku-${n % 211}` } };
  if (n % EVERY !== 0) return { ...base, anonymousId: `anon-${n % 5_003}`, ...(n % 7 === 0 ? { userId: `user-${n % 1_009}` } : {}) };
  const p = person(n);
  // Theirs: signed in on the laptop; anonymous, then an identify, on the phone.
  const k = Math.floor(n / EVERY / PEOPLE);
  if (k === 1) return { ...base, type: 'identify', event: undefined, userId: `erased-${p}`, anonymousId: `erased-${p}-phone` };
  return k % 2 === 0 ? { ...base, userId: `erased-${p}`, anonymousId: `erased-${p}-laptop` } : { ...base, anonymousId: `erased-${p}-phone` };
};

const THEIRS = `(user_id LIKE 'erased-%' OR anonymous_id LIKE 'erased-%')`;

interface LakeState {
  events: number;
  theirs: number;
  partitions: number;
  objects: number;
  /** Everyone else: rows and a hash of all their columns, per partition. */
  others: string;
}

async function lakeState(stack: LocalStack): Promise<LakeState | undefined> {
  try {
    return await withLocalLake(stack.dataDir, stack.endpoints.lakeBucket, async (connection) => {
      const rows = async (sql: string) => (await connection.runAndReadAll(sql)).getRowObjectsJS();
      const one = async (sql: string) => Number((await rows(sql))[0]?.['n'] ?? 0);
      const others = await rows(`SELECT dt, hour, count(*) AS n, sum(hash(e)) AS h FROM events e WHERE message_id LIKE 'era-%' AND NOT ${THEIRS} GROUP BY ALL ORDER BY ALL`);
      return {
        events: await one(`SELECT count(DISTINCT message_id) AS n FROM events WHERE message_id LIKE 'era-%'`),
        theirs: await one(`SELECT count(*) AS n FROM events WHERE ${THEIRS}`),
        partitions: await one(`SELECT count(DISTINCT dt || hour) AS n FROM events WHERE message_id LIKE 'era-%'`),
        objects: readdirSync(join(lakeDirectory(stack.dataDir, stack.endpoints.lakeBucket ?? undefined), 'events'), { recursive: true }).filter((f) => String(f).endsWith(S3RVER_OBJECT_SUFFIX)).length,
        others: JSON.stringify(others, (_, v: unknown) => (typeof v === 'bigint' ? v.toString() : v)),
      };
    });
  } catch {
    return undefined; // an object still being written: ask again
  }
}

async function erase(endpointsFile: string, args: string[]): Promise<{ report: ErasureReport; seconds: number }> {
  let out = '';
  let err = '';
  const t0 = performance.now();
  const code = await runEraseCli([...args, '--endpoints-file', endpointsFile, '--json'], { stdout: (t) => (out += t), stderr: (t) => (err += t) });
  if (code !== 0) throw new Error(`npm run erase failed: ${err}`);
  return { report: JSON.parse(out) as ErasureReport, seconds: (performance.now() - t0) / 1000 };
}

export const eraseBench: Suite = {
  name: 'erase',
  async run(): Promise<Figures> {
    process.env['POWERTOOLS_LOG_LEVEL'] ??= 'ERROR';
    const dataDir = await mkdtemp(join(tmpdir(), 'bench-erase-'));
    const endpointsFile = join(dataDir, 'endpoints.json');
    const stack = await startLocalStack({ dataDir, endpointsFile });
    try {
      const postedFrom = new Date(Date.now() - 1_000).toISOString();
      await postEvents(stack.endpoints, EVENTS, event);
      const deadline = Date.now() + 600_000;
      let before: LakeState | undefined;
      while (!before || before.events !== EVENTS) {
        if (Date.now() > deadline) throw new Error(`the lake did not get all ${EVENTS} events: ${JSON.stringify(before)}`);
        await sleep(1_000);
        before = await lakeState(stack);
      }
      const userIds = Array.from({ length: PEOPLE }, (_, p) => ['--user-id', `erased-${p}`]).flat();
      const dry = await erase(endpointsFile, [...userIds, '--dry-run']);
      const run = await erase(endpointsFile, userIds);
      let after: LakeState | undefined;
      while (!after) after = await lakeState(stack);
      const again = await erase(endpointsFile, userIds);

      // Replay everything: nothing may land twice, and nobody erased may come back.
      const replayStarted = performance.now();
      let replayOut = '';
      let replayErr = '';
      const replayCode = await runRedriveCli('replay', ['--from', postedFrom, '--to', new Date().toISOString(), '--endpoints-file', endpointsFile, '--json'], { stdout: (t) => (replayOut += t), stderr: (t) => (replayErr += t) });
      if (replayCode !== 0) throw new Error(`npm run replay failed: ${replayErr}`);
      const replaySeconds = (performance.now() - replayStarted) / 1000;
      const replayed = (JSON.parse(replayOut) as RedriveReport).totals;
      await sleep(15_000); // what a replay would have added is in the lake by now (local Firehose buffer: 5 s)
      let afterReplay: LakeState | undefined;
      while (!afterReplay) afterReplay = await lakeState(stack);
      const replayChangedNothing = afterReplay.others === after.others && afterReplay.theirs === 0 && afterReplay.events === after.events;

      const againRemoved = Object.values(again.report.tables).reduce((sum, t) => sum + t.rowsRemoved, 0);
      const removed = Object.values(run.report.tables).reduce((sum, t) => sum + t.rowsRemoved, 0);
      const othersUnchanged = after.others === before.others;
      const pass1 = run.report.passes.find((p) => p.pass === 1)!;
      return {
        'erase.lake_events': figure(before.events, 'events'),
        'erase.lake_partitions': figure(before.partitions, 'partitions'),
        'erase.lake_objects': figure(before.objects, 'objects'),
        'erase.people': figure(PEOPLE, 'people (by userId; their anonymousIds found)'),
        'erase.their_rows_before': figure(before.theirs, 'rows'),
        'erase.rows_removed': figure(removed, 'rows', { target: `all ${before.theirs}`, met: removed === before.theirs }),
        'erase.their_rows_after': figure(after.theirs, 'rows', { target: '0', met: after.theirs === 0 }),
        'erase.others_unchanged': figure(othersUnchanged ? 1 : 0, 'bool', { target: 'every other row, every column, same partition', met: othersUnchanged }),
        'erase.objects_rewritten': figure(run.report.tables.events.objectsRewritten + run.report.tables.events.objectsDeleted, 'objects'),
        'erase.dry_run_seconds': figure(dry.seconds, 's'),
        'erase.lake_pass_seconds': figure(pass1.seconds, 's'),
        'erase.run_seconds': figure(run.seconds, 's'), // the lake pass, the settle wait, the second pass
        'erase.settle_seconds': figure(stack.endpoints.erasure.settleSeconds, 's'),
        'replay.records': figure(replayed.records, 'records', { target: `all ${EVENTS} on events-raw`, met: replayed.records === EVENTS }),
        'replay.seconds': figure(replaySeconds, 's'),
        'replay.records_per_second': figure(replayed.records / replaySeconds, 'records/s'),
        'replay.lake_unchanged': figure(replayChangedNothing ? 1 : 0, 'bool', { target: 'no duplicate, nobody erased back', met: replayChangedNothing }),
        'erase.second_run_removed': figure(againRemoved, 'rows', { target: '0', met: againRemoved === 0 }),
      };
    } finally {
      await stack.stop();
      await rm(dataDir, { recursive: true, force: true });
    }
  },
};
