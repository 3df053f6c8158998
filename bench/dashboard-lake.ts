// The dashboard's lake reader (dashboard/lake-figures.ts) at a full hour: an hour of Parquet objects at 200
// events/s (12 objects a minute of 1,000 events, 5,003 visitors, 1% of each object repeated from the one
// before, as Firehose's at-least-once delivery can), then ticks that each find one new object, as the
// dashboard's 5-second refresh does while `npm start` runs at that rate. A tick's time and CPU beside a cold
// read of the same hour (the reader's first, which finds every object new: what a tick would cost without
// counting rows in and out), the process's highest resident memory and its growth over the ticks.
import { DuckDBInstance } from '@duckdb/node-api';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { eventsObjectPath } from '../analytics/athena/duckdb-lake.js';
import { LakeFigureReader } from '../dashboard/lake-figures.js';
import { writeParquet } from '../local/firehose/parquet.js';
import { S3RVER_OBJECT_SUFFIX } from '../local/storage/lake-location.js';
import type { FlatRow } from '../schemas/lake-rows.js';
import { EVENTS_TABLE } from '../schemas/lake-tables.js';
import { figure, type Suite } from './harness.js';

const EVENTS_PER_OBJECT = 1_000;
const OBJECT_EVERY_MS = 5_000;
const HOUR_OBJECTS = 720;
const TICKS = 120;
const VISITORS = 5_003;
const PAGES = ['/', '/pricing', '/docs', '/blog', '/signup', '/checkout', '/cart', '/about'];
const COUNTRIES = ['DE', 'FR', 'US', 'GB', 'IN', 'BR', null];

const residentMb = (): number => process.memoryUsage.rss() / 1024 / 1024;

function objectRows(index: number, startMs: number): FlatRow[] {
  return Array.from({ length: EVENTS_PER_OBJECT }, (_, i): FlatRow => {
    // The first 1% repeat the previous object's last events.
    const n = i < EVENTS_PER_OBJECT / 100 && index > 0 ? (index - 1) * EVENTS_PER_OBJECT + EVENTS_PER_OBJECT - 1 - i : index * EVENTS_PER_OBJECT + i;
    const page = n % 3 === 0;
    return {
      message_id: `bench-${n}`,
      // A repeat keeps its original's time, as a redelivered event does.
      event_time: startMs + Math.floor(n / EVENTS_PER_OBJECT) * OBJECT_EVERY_MS - 2_000 + (n % EVENTS_PER_OBJECT) * 2,
      anonymous_id: `anon-${n % VISITORS}`,
      ...(n % 7 === 0 ? { user_id: `user-${n % 997}` } : {}),
      type: page ? 'page' : 'track',
      ...(page ? { page_path: PAGES[n % PAGES.length]! } : { event: 'Product Viewed' }),
      is_bot: n % 50 === 0,
      ...(n % 50 === 0 ? { bot_reason: 'user_agent' } : {}),
      ...(COUNTRIES[n % COUNTRIES.length] ? { geo_country: COUNTRIES[n % COUNTRIES.length]! } : {}),
      ...(n % 40 === 0 ? { plan_violations: 'price: missing' } : {}),
    };
  });
}

export const dashboardLake: Suite = {
  name: 'dashboard-lake',
  async run() {
    const lake = await mkdtemp(join(tmpdir(), 'bench-dashboard-'));
    const duckdb = await DuckDBInstance.create(':memory:');
    const writer = await duckdb.connect();
    // An hour that ends inside one hour partition and starts in the one before, as a live window does.
    const startMs = Date.parse('2026-11-22T09:35:00Z');
    const write = async (index: number) => {
      const iso = new Date(startMs + index * OBJECT_EVERY_MS).toISOString();
      await writeParquet(writer, EVENTS_TABLE, objectRows(index, startMs), eventsObjectPath(lake, iso.slice(0, 10), iso.slice(11, 13), `bench-${index}.parquet${S3RVER_OBJECT_SUFFIX}`));
    };
    const nowAt = (index: number) => startMs + index * OBJECT_EVERY_MS + 1_000;
    try {
      for (let index = 0; index < HOUR_OBJECTS; index++) await write(index);

      // The first read is the cold one: every object of the hour is new to the reader.
      const reader = new LakeFigureReader(lake);
      const coldCpu = process.cpuUsage();
      const coldStart = performance.now();
      const full = await reader.read(nowAt(HOUR_OBJECTS - 1));
      const coldMs = performance.now() - coldStart;
      const coldUsed = process.cpuUsage(coldCpu);
      const coldCpuMs = (coldUsed.user + coldUsed.system) / 1000;
      let tickMs = 0;
      let tickCpuMs = 0;
      let rssMax = residentMb();
      const rssAfterCold = residentMb();
      for (let tick = 0; tick < TICKS; tick++) {
        const index = HOUR_OBJECTS + tick;
        await write(index);
        const cpu = process.cpuUsage();
        const start = performance.now();
        await reader.read(nowAt(index));
        tickMs += performance.now() - start;
        const used = process.cpuUsage(cpu);
        tickCpuMs += (used.user + used.system) / 1000;
        rssMax = Math.max(rssMax, residentMb());
      }
      // The window is full throughout the ticks: an object's events come in and a minute's go out, so the
      // process should not grow.
      const rssGrowth = residentMb() - rssAfterCold;
      const arrayBuffersMb = process.memoryUsage().arrayBuffers / 1024 / 1024;
      const lastIndex = HOUR_OBJECTS + TICKS - 1;
      const last = await reader.read(nowAt(lastIndex));
      await reader.close();
      const from = Math.floor((nowAt(lastIndex) - 3_600_000) / 60_000) * 60_000;
      // The events of the window, each once, from the rows written (made again here, so that the process's
      // memory during the ticks is the reader's).
      const expected = new Set<string | number | boolean | null>();
      for (let index = 0; index <= lastIndex; index++) {
        for (const row of objectRows(index, startMs)) if (Number(row['event_time']) >= from) expected.add(row['message_id']!);
      }
      return {
        'dashboard.tick_ms': figure(tickMs / TICKS, 'ms', { baseline: coldMs }),
        'dashboard.tick_cpu_ms': figure(tickCpuMs / TICKS, 'ms', { baseline: coldCpuMs }),
        'dashboard.cpu_share_at_5s': figure(tickCpuMs / TICKS / OBJECT_EVERY_MS, 'of a core'),
        // Each event once: the 1% repeated rows are not counted.
        'dashboard.events_last_hour': figure(last.eventsLastHour, 'events', { target: `${expected.size}, each once`, met: last.eventsLastHour === expected.size && full.eventsLastHour > 0 }),
        'dashboard.rss_max': figure(rssMax, 'MB'),
        'dashboard.rss_growth_over_ticks': figure(rssGrowth, 'MB'),
        // The reader's typed arrays (rows and counts) and the process's other buffers, at a full hour.
        'dashboard.array_buffers': figure(arrayBuffersMb, 'MB'),
      };
    } finally {
      writer.closeSync();
      duckdb.closeSync();
      await rm(lake, { recursive: true, force: true });
    }
  },
};
