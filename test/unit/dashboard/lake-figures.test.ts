// The dashboard's lake reader reads each object once: new objects add their rows, a rewritten object
// replaces its rows, and rows that leave the window are dropped, with the same exact figures as a full read.
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import { mkdtempSync, rmSync, statSync, utimesSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LakeFigureReader, openFiguresDatabase } from '../../../dashboard/lake-figures.js';
import { mulberry32 } from '../../../local/demo/model.js';
import { writeParquet } from '../../../local/firehose/parquet.js';
import { S3RVER_OBJECT_SUFFIX } from '../../../local/storage/lake-location.js';
import type { FlatRow } from '../../../schemas/lake-rows.js';
import { EVENTS_TABLE, IDENTITIES_TABLE } from '../../../schemas/lake-tables.js';

const NOW = Date.parse('2026-11-22T10:30:00Z');
let lake: string;
let duckdb: DuckDBInstance;

const row = (id: string, minutesAgo: number, visitor: string, path = '/'): FlatRow => ({
  message_id: id,
  event_time: NOW - minutesAgo * 60_000,
  anonymous_id: visitor,
  type: 'page',
  page_path: path,
  is_bot: false,
});

async function object(name: string, rows: FlatRow[], hour = '10', table = EVENTS_TABLE): Promise<string> {
  const file = join(lake, 'events', 'dt=2026-11-22', `hour=${hour}`, `${name}.parquet${S3RVER_OBJECT_SUFFIX}`);
  const connection = await duckdb.connect();
  await writeParquet(connection, table, rows, file);
  connection.closeSync();
  return file;
}

beforeAll(async () => {
  lake = mkdtempSync(join(tmpdir(), 'lake-figures-'));
  duckdb = await DuckDBInstance.create(':memory:');
});
afterAll(() => {
  duckdb.closeSync();
  rmSync(lake, { recursive: true, force: true });
});

describe('LakeFigureReader', () => {
  it('adds new objects, replaces rewritten ones and forgets rows that leave the window', async () => {
    const reader = new LakeFigureReader(lake, 60);
    await object('a', [row('m1', 5, 'v1', '/pricing'), row('m2', 4, 'v2')]);
    let figures = await reader.read(NOW);
    expect([figures.eventsLastHour, figures.visitorsLastHour]).toEqual([2, 2]);

    // A new object, with a duplicate of m2 (Firehose delivers at least once): counted once.
    await object('b', [row('m2', 4, 'v2'), row('m3', 1, 'v1', '/pricing')]);
    figures = await reader.read(NOW);
    expect([figures.eventsLastHour, figures.visitorsLastHour, figures.objectsRead]).toEqual([3, 2, 2]);
    expect(figures.topPages[0]).toEqual({ page: '/pricing', views: 2, visitors: 1 });

    // The same key written again with other rows (a range redone after a crash): its old rows go.
    const rewrite = async (rows: FlatRow[]) => {
      const file = await object('a', rows);
      const { mtimeMs } = statSync(file);
      utimesSync(file, new Date(), new Date(mtimeMs + 2_000 + Math.random() * 1_000));
    };
    await rewrite([row('m1', 5, 'v1', '/pricing'), row('m5', 3, 'v3', '/new')]);
    figures = await reader.read(NOW);
    expect([figures.eventsLastHour, figures.visitorsLastHour]).toEqual([4, 3]);
    await rewrite([row('m1', 5, 'v1', '/pricing')]);
    figures = await reader.read(NOW);
    expect([figures.eventsLastHour, figures.visitorsLastHour]).toEqual([3, 2]);
    const fresh = new LakeFigureReader(lake, 60);
    expect(await fresh.read(NOW)).toMatchObject({ eventsLastHour: 3, visitorsLastHour: 2, minutes: figures.minutes, topPages: figures.topPages });
    await fresh.close();

    // An object with an event twice, and one of b's events again: each counted once. Then b goes (erased,
    // say): m3 is still counted from its copy in c, and m2 is gone.
    await object('c', [row('m6', 4, 'v4'), row('m6', 4, 'v4'), row('m3', 1, 'v1', '/pricing')]);
    figures = await reader.read(NOW);
    expect([figures.eventsLastHour, figures.visitorsLastHour]).toEqual([4, 3]);
    rmSync(join(lake, 'events', 'dt=2026-11-22', 'hour=10', `b.parquet${S3RVER_OBJECT_SUFFIX}`));
    figures = await reader.read(NOW);
    expect([figures.eventsLastHour, figures.visitorsLastHour]).toEqual([3, 2]);
    expect(figures.topPages[0]).toEqual({ page: '/pricing', views: 2, visitors: 1 });

    // 57 minutes later, only m3 is still inside the 60-minute window.
    figures = await reader.read(NOW + 57 * 60_000);
    expect(figures.eventsLastHour).toBe(1);
    expect(figures.minutes).toHaveLength(1);
    await reader.close();
  });

  it('counts people by the country of their IP and bots by reason, also in objects written before those columns', async () => {
    const geoLake = mkdtempSync(join(tmpdir(), 'lake-figures-geo-'));
    const saved = lake;
    lake = geoLake;
    try {
      const person = (id: string, visitor: string, country: string | null): FlatRow => ({ ...row(id, 2, visitor), geo_country: country });
      const bot = (id: string, visitor: string, reason: string): FlatRow => ({ ...row(id, 2, visitor), is_bot: true, bot_reason: reason });
      await object('new', [
        person('g1', 'de-1', 'DE'), person('g2', 'de-1', 'DE'), person('g3', 'de-2', 'DE'), person('g4', 'jp-1', 'JP'), person('g5', 'lan', null),
        bot('b1', 'crawl-1', 'crawler_network'), bot('b2', 'cloud-1', 'data_centre'), bot('b3', 'cloud-1', 'data_centre'),
      ]);
      // Before geo-IP: no geo_country or bot_reason column; its bots were flagged by their user agent.
      const before = { ...EVENTS_TABLE, columns: EVENTS_TABLE.columns.filter((c) => !['geo_country', 'bot_reason'].includes(c.name)) };
      await object('old', [row('o1', 3, 'old-1'), { ...row('o2', 3, 'old-bot'), is_bot: true }], '10', before);
      const reader = new LakeFigureReader(lake, 60);
      const figures = await reader.read(NOW);
      await reader.close();
      expect(figures.countries).toEqual([
        { country: 'DE', events: 3, visitors: 2 },
        { country: 'JP', events: 1, visitors: 1 },
      ]);
      expect(figures.unlocatedEvents).toBe(2); // g5 and the old object's o1
      expect(figures.bots).toEqual([
        { reason: 'data_centre', events: 2, visitors: 1 },
        { reason: 'crawler_network', events: 1, visitors: 1 },
        { reason: 'user_agent', events: 1, visitors: 1 },
      ]);
    } finally {
      lake = saved;
      rmSync(geoLake, { recursive: true, force: true });
    }
  });

  it('counts flagged events by violation, and the stitched users of the identities table (all days)', async () => {
    const planLake = mkdtempSync(join(tmpdir(), 'lake-figures-plans-'));
    const saved = lake;
    lake = planLake;
    try {
      const order = (id: string, visitor: string, violations: string | null, userId?: string): FlatRow => ({
        ...row(id, 2, visitor), type: 'track', event: 'Order Completed', plan_violations: violations, ...(userId ? { user_id: userId } : {}),
      });
      await object('plans', [
        order('p1', 'd-1', 'properties.revenue: must be number'),
        order('p2', 'd-2', 'properties.revenue: must be number; properties.currency: must match pattern "^[A-Z]{3}$"'),
        order('p3', 'd-3', null),
        order('p4', 'd-1', null, 'u-1'),
        row('p5', 1, 'd-9'),
      ]);
      const link = (anonymousId: string | null, userId: string, firstSeen: string): FlatRow => ({
        anonymous_id: anonymousId, user_id: userId, previous_id: null, first_seen: Date.parse(firstSeen), last_seen: Date.parse(firstSeen), events: 1,
      });
      const identities = async (name: string, kind: string, rows: FlatRow[]) => {
        const connection = await duckdb.connect();
        await writeParquet(connection, IDENTITIES_TABLE, rows, join(lake, 'identities', `link=${kind}`, `${name}.parquet${S3RVER_OBJECT_SUFFIX}`));
        connection.closeSync();
      };
      // Links from weeks ago count as much as today's: d-1 is u-1's, d-2 is shared by u-2 and u-3, u-2 is on two devices.
      await identities('a', 'identify', [link('d-1', 'u-1', '2026-10-01T09:00:00Z'), link('d-2', 'u-2', '2026-10-01T09:10:00Z')]);
      await identities('b', 'event', [link('d-2', 'u-3', '2026-11-22T09:00:00Z'), link('d-4', 'u-2', '2026-11-22T09:05:00Z'), link(null, 'u-5', '2026-11-22T09:06:00Z')]);
      const reader = new LakeFigureReader(lake, 60);
      const figures = await reader.read(NOW);
      expect(figures.flaggedEvents).toBe(2);
      expect(figures.violations).toEqual([
        { event: 'Order Completed', violation: 'properties.revenue: must be number', events: 2 },
        { event: 'Order Completed', violation: 'properties.currency: must match pattern "^[A-Z]{3}$"', events: 1 },
      ]);
      expect(figures.identities).toEqual({ users: 4, devices: 3, sharedDevices: 1, multiDeviceUsers: 1 });
      // Anonymous: p1, p2, p3, p5; of them p1 (d-1) and p2 (d-2) come from linked devices.
      expect([figures.anonymousEvents, figures.stitchedEvents]).toEqual([4, 2]);
      // An identities object erased (deleted) takes its links with it.
      rmSync(join(lake, 'identities', 'link=identify'), { recursive: true });
      expect((await reader.read(NOW)).identities).toEqual({ users: 3, devices: 2, sharedDevices: 0, multiDeviceUsers: 0 });
      await reader.close();
    } finally {
      lake = saved;
      rmSync(planLake, { recursive: true, force: true });
    }
  });

  it('keeps the same figures tick by tick as a first read of the lake, while objects come, are rewritten and go and the window moves', async () => {
    const randomLake = mkdtempSync(join(tmpdir(), 'lake-figures-random-'));
    const saved = lake;
    lake = randomLake;
    const next = mulberry32(11);
    const pick = <T>(values: readonly T[]): T => values[Math.floor(next() * values.length)]!;
    try {
      // Devices v0 to v4 are linked to users: their anonymous events are the stitched ones.
      const links = Array.from({ length: 5 }, (_, i): FlatRow => ({ anonymous_id: `v${i}`, user_id: `u${i % 4}`, previous_id: null, first_seen: NOW, last_seen: NOW, events: 1 }));
      const connection = await duckdb.connect();
      await writeParquet(connection, IDENTITIES_TABLE, links, join(lake, 'identities', 'link=identify', `l.parquet${S3RVER_OBJECT_SUFFIX}`));
      connection.closeSync();
      const reader = new LakeFigureReader(lake, 10, 3, 3, 3);
      const start = Date.parse('2026-11-22T10:12:00Z');
      const sent: FlatRow[] = [];
      let now = start;
      const objects: string[] = [];
      for (let step = 0; step < 50; step++) {
        const action = next();
        if (action < 0.55 || objects.length === 0) {
          // New events of the last minutes (some late), with copies of earlier ones (each copy the same event).
          const rows = Array.from({ length: 1 + Math.floor(next() * 30) }, (): FlatRow => {
            if (sent.length > 0 && next() < 0.2) return pick(sent);
            const event = {
              message_id: `r${sent.length}`,
              event_time: now - Math.floor(next() * 12 * 60_000),
              anonymous_id: next() < 0.1 ? null : `v${Math.floor(next() * 12)}`,
              ...(next() < 0.3 ? { user_id: `u${Math.floor(next() * 4)}` } : {}),
              type: pick(['page', 'track']),
              page_path: pick(['/', '/a', '/b', '/c', null]),
              event: 'Clicked',
              is_bot: next() < 0.1,
              bot_reason: pick(['user_agent', 'data_centre']),
              geo_country: pick(['DE', 'FR', 'JP', 'US', null]),
              plan_violations: pick([null, null, 'x: missing', 'x: missing; y: must be number']),
            };
            sent.push(event);
            return event;
          });
          objects.push(await object(`o${step}`, rows));
        } else if (action < 0.7) {
          // A range redone: the object's key written again with some of its events and a few others.
          const name = pick(objects);
          const rows = [...sent].sort(() => next() - 0.5).slice(0, 1 + Math.floor(next() * 10));
          await object(name.slice(name.lastIndexOf('/') + 1, name.indexOf('.parquet')), rows);
          const { mtimeMs } = statSync(name);
          utimesSync(name, new Date(), new Date(mtimeMs + 1_000 + step));
        } else if (action < 0.75) {
          rmSync(objects.splice(Math.floor(next() * objects.length), 1)[0]!);
        } else {
          // The window moves on (inside hour 10, where the objects are).
          now = Math.min(now + Math.floor(next() * 5 * 60_000), start + 45 * 60_000);
        }
        // And once the clock goes back.
        if (step === 45) now -= 3 * 60_000;
        const ticked = await reader.read(now);
        const fresh = new LakeFigureReader(lake, 10, 3, 3, 3);
        const first = await fresh.read(now);
        await fresh.close();
        expect({ ...ticked, readAt: 0 }, `step ${step}`).toEqual({ ...first, readAt: 0 });
      }
      expect(now - start).toBeGreaterThan(10 * 60_000);
      expect((await reader.read(now)).stitchedEvents).toBeGreaterThan(0);
      await reader.close();
    } finally {
      lake = saved;
      rmSync(randomLake, { recursive: true, force: true });
    }
  });

  it("keeps nothing of the Parquet objects it has read in DuckDB's memory (its external file cache is off)", async () => {
    const files: string[] = [];
    for (let i = 0; i < 20; i++) files.push(await object(`cache-${i}`, [row(`c${i}`, 2, 'v1')], '09'));
    const cached = async (connection: DuckDBConnection): Promise<number> => {
      for (const file of files) await connection.run(`SELECT count(*) FROM read_parquet('${file}')`);
      const reader = await connection.runAndReadAll(`SELECT coalesce(sum(memory_usage_bytes), 0)::BIGINT FROM duckdb_memory() WHERE tag = 'EXTERNAL_FILE_CACHE'`);
      return Number(reader.getRows()[0]![0]);
    };
    // DuckDB's default keeps pieces of each file read, so that the check below can fail.
    const plain = await DuckDBInstance.create(':memory:');
    const plainConnection = await plain.connect();
    expect(await cached(plainConnection)).toBeGreaterThan(0);
    plainConnection.closeSync();
    plain.closeSync();

    const { instance, connection } = await openFiguresDatabase();
    expect(await cached(connection)).toBe(0);
    connection.closeSync();
    instance.closeSync();
  });
});
