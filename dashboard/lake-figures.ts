// The dashboard's figures from the lake, with DuckDB over s3rver's directory (as `npm run query` reads it):
// events and visitors per minute, top pages, countries, bots by reason, tracking-plan violations and unique
// visitors of the last hour, the stitched users (the identities table, all of it), and the bad-row count.
// Only the hour partitions the window touches are listed, and only objects not read before (or rewritten
// since) are read: their rows are added to one table that keeps the window and drops what falls out of it.
// So a tick costs what arrived since the last one, on a day-old lake as on a new one. A row keeps what the
// figures count and no more (64-bit hashes of the ids, the page only for a human page view, the country
// code and the bot reason): about 55 bytes an event in DuckDB, so an hour at 200 events/s is about 40 MB.
// A read that meets a half-written object (s3rver writes in place) throws; the caller keeps the previous
// figures and tries again next tick.
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { BAD_ROWS_TABLE, EVENTS_TABLE, IDENTITIES_TABLE } from '../schemas/lake-tables.js';
import { S3RVER_OBJECT_SUFFIX } from '../local/storage/lake-location.js';
import type { MinuteFigure } from './snapshot.js';

export interface LakeFigures {
  readAt: Date;
  /** Minutes of the window that have events, oldest first. */
  minutes: MinuteFigure[];
  topPages: { page: string; views: number; visitors: number }[];
  /** People's events and visitors by the country of their IP (bots left out), most visitors first. */
  countries: { country: string; events: number; visitors: number }[];
  /** People's events whose IP no database places (private, reserved or unknown). */
  unlocatedEvents: number;
  /** Bots' events and visitors by why they were flagged (schemas/enriched bot_reason). */
  bots: { reason: string; events: number; visitors: number }[];
  /** Events the tracking plans flagged (schemas/enriched plan_violations), and the commonest violations. */
  flaggedEvents: number;
  violations: { event: string; violation: string; events: number }[];
  /** The identities table (all days): user ids and devices linked, shared devices, users on several devices. */
  identities: { users: number; devices: number; sharedDevices: number; multiDeviceUsers: number };
  /** Anonymous events of the last hour (no userId), and those from a device linked to a user (stitched). */
  anonymousEvents: number;
  stitchedEvents: number;
  eventsLastHour: number;
  visitorsLastHour: number;
  /** Parquet objects the window's query read. */
  objectsRead: number;
}

const MINUTE_MS = 60_000;
const HOUR_MS = 60 * MINUTE_MS;
/** Smaller than any Parquet file ("PAR1" + footer length + "PAR1"): an object still being written. */
const MIN_PARQUET_BYTES = 12;
const literal = (text: string): string => `'${text.replace(/'/g, "''")}'`;

interface ObjectFile {
  file: string;
  size: number;
  mtimeMs: number;
}

function listDir(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

/** The Parquet objects (s3rver's files) in these directories, with their size and mtime; half-written ones left out. */
function parquetObjects(dirs: string[]): ObjectFile[] {
  const files: ObjectFile[] = [];
  for (const dir of dirs) {
    for (const name of listDir(dir).sort()) {
      if (!name.endsWith(`.parquet${S3RVER_OBJECT_SUFFIX}`)) continue;
      const file = join(dir, name);
      try {
        const { size, mtimeMs } = statSync(file);
        if (size >= MIN_PARQUET_BYTES) files.push({ file, size, mtimeMs });
      } catch {
        // Replaced between the listing and the stat: next tick.
      }
    }
  }
  return files;
}

export class LakeFigureReader {
  private connection: Promise<{ instance: DuckDBInstance; connection: DuckDBConnection }> | undefined;
  /** The objects whose rows are in the `recent` table: their id there, and the size and mtime they had when read. */
  private readonly loaded = new Map<string, { id: number; size: number; mtimeMs: number }>();
  /** The same for the `links` table (identities objects, all days). */
  private readonly loadedLinks = new Map<string, { id: number; size: number; mtimeMs: number }>();
  private nextFileId = 0;
  private readonly badRowLines = new Map<string, { size: number; mtimeMs: number; lines: number }>();

  constructor(
    /** The lake bucket's directory: <data dir>/s3/<bucket>. */
    readonly lakeDirectory: string,
    readonly windowMinutes = 60,
    readonly topPageCount = 10,
    readonly countryCount = 10,
    readonly violationCount = 8,
  ) {}

  /** The Parquet objects of events/ whose hour partition overlaps [from, to], with their size and mtime. */
  recentEventObjects(fromMs: number, toMs: number): ObjectFile[] {
    const dirs: string[] = [];
    for (let hour = Math.floor(fromMs / HOUR_MS) * HOUR_MS; hour <= toMs; hour += HOUR_MS) {
      const iso = new Date(hour).toISOString();
      dirs.push(join(this.lakeDirectory, EVENTS_TABLE.prefix, `dt=${iso.slice(0, 10)}`, `hour=${iso.slice(11, 13)}`));
    }
    return parquetObjects(dirs);
  }

  /** Every Parquet object of identities/ (by kind of link): the table is small (a row per link an hour per container). */
  identityObjects(): ObjectFile[] {
    const root = join(this.lakeDirectory, IDENTITIES_TABLE.prefix);
    return parquetObjects(listDir(root).filter((d) => d.startsWith('link=')).map((kind) => join(root, kind)));
  }

  /**
   * Adds the rows of the objects not read before (or rewritten since) to `table`, in one transaction: a
   * half-written object fails the read, and the table stays as it was. `insert` is the INSERT of one object.
   */
  private async loadObjects(
    connection: DuckDBConnection,
    table: string,
    loaded: Map<string, { id: number; size: number; mtimeMs: number }>,
    files: ObjectFile[],
    insert: (file: string, id: number) => Promise<void>,
  ): Promise<void> {
    const fresh = files.filter(({ file, size, mtimeMs }) => {
      const known = loaded.get(file);
      return !known || known.size !== size || known.mtimeMs !== mtimeMs;
    });
    if (fresh.length > 0) {
      await connection.run('BEGIN TRANSACTION');
      const ids: number[] = [];
      try {
        for (const { file } of fresh) {
          // A rewritten object (the local Firehose redoing a range after a crash) replaces its earlier rows.
          const previous = loaded.get(file);
          if (previous) await connection.run(`DELETE FROM ${table} WHERE file = ${previous.id}`);
          const id = previous?.id ?? this.nextFileId++;
          ids.push(id);
          await insert(file, id);
        }
        await connection.run('COMMIT');
      } catch (error) {
        await connection.run('ROLLBACK');
        throw error;
      }
      fresh.forEach(({ file, size, mtimeMs }, index) => loaded.set(file, { id: ids[index]!, size, mtimeMs }));
    }
    const listed = new Set(files.map(({ file }) => file));
    for (const [file, { id }] of loaded) {
      if (listed.has(file)) continue;
      loaded.delete(file);
      await connection.run(`DELETE FROM ${table} WHERE file = ${id}`);
    }
  }

  async read(now = Date.now()): Promise<LakeFigures> {
    const from = Math.floor((now - this.windowMinutes * MINUTE_MS) / MINUTE_MS) * MINUTE_MS;
    const files = this.recentEventObjects(from, now);

    const { connection } = await this.connect();
    const windowStart = `epoch_ms(${from}::BIGINT)`;
    /** The object's columns: objects written before a column existed have none, and read NULL for it. */
    const columnsOf = async (file: string) => {
      const names = new Set((await connection.runAndReadAll(`SELECT name FROM parquet_schema(${literal(file)})`)).getRowObjectsJS().map((r) => String(r['name'])));
      return (name: string) => (names.has(name) ? name : 'NULL');
    };
    await this.loadObjects(connection, 'recent', this.loaded, files, async (file, id) => {
      const column = await columnsOf(file);
      await connection.run(
        `INSERT INTO recent
         SELECT ${id}, event_time, hash(message_id),
                CASE WHEN COALESCE(anonymous_id, user_id) IS NULL THEN NULL ELSE hash(COALESCE(anonymous_id, user_id)) END,
                CASE WHEN type = 'page' AND is_bot IS NOT TRUE THEN COALESCE(page_path, context_page_path, '(unknown)') END,
                ${column('geo_country')},
                CASE WHEN is_bot THEN COALESCE(${column('bot_reason')}, 'user_agent') END,
                user_id IS NOT NULL,
                CASE WHEN ${column('plan_violations')} IS NOT NULL THEN COALESCE(event, type) END,
                ${column('plan_violations')}
         FROM read_parquet(${literal(file)}, union_by_name = true)
         WHERE event_time >= ${windowStart}`,
      );
    });
    await this.loadObjects(connection, 'links', this.loadedLinks, this.identityObjects(), async (file, id) => {
      await connection.run(
        `INSERT INTO links
         SELECT ${id}, CASE WHEN anonymous_id IS NULL THEN NULL ELSE hash(anonymous_id) END, hash(user_id)
         FROM read_parquet(${literal(file)}, union_by_name = true)`,
      );
    });
    await connection.run(`DELETE FROM recent WHERE event_time < ${windowStart}`);
    const rows = async (sql: string) => (await connection.runAndReadAll(sql)).getRowObjectsJS();
    // Exact counts, as the Athena queries do: Firehose delivers at least once.
    const minutes = (
      await rows(`SELECT epoch(date_trunc('minute', event_time))::BIGINT AS t, count(DISTINCT message) AS events,
                         count(DISTINCT visitor) AS visitors
                  FROM recent GROUP BY 1 ORDER BY 1`)
    ).map((r) => ({ t: Number(r['t']), events: Number(r['events']), visitors: Number(r['visitors']) }));
    const [totals] = await rows(`SELECT count(DISTINCT message) AS events, count(DISTINCT visitor) AS visitors FROM recent`);
    const topPages = (
      await rows(`SELECT page, count(DISTINCT message) AS views, count(DISTINCT visitor) AS visitors
                  FROM recent WHERE page IS NOT NULL
                  GROUP BY page ORDER BY views DESC, page LIMIT ${this.topPageCount}`)
    ).map((r) => ({ page: String(r['page']), views: Number(r['views']), visitors: Number(r['visitors']) }));
    const countries = (
      await rows(`SELECT country, count(DISTINCT message) AS events, count(DISTINCT visitor) AS visitors
                  FROM recent WHERE bot_reason IS NULL AND country IS NOT NULL
                  GROUP BY country ORDER BY visitors DESC, events DESC, country LIMIT ${this.countryCount}`)
    ).map((r) => ({ country: String(r['country']), events: Number(r['events']), visitors: Number(r['visitors']) }));
    const [unlocated] = await rows(`SELECT count(DISTINCT message) AS events FROM recent WHERE bot_reason IS NULL AND country IS NULL`);
    const bots = (
      await rows(`SELECT bot_reason AS reason, count(DISTINCT message) AS events, count(DISTINCT visitor) AS visitors
                  FROM recent WHERE bot_reason IS NOT NULL GROUP BY 1 ORDER BY events DESC, reason`)
    ).map((r) => ({ reason: String(r['reason']), events: Number(r['events']), visitors: Number(r['visitors']) }));
    const [flagged] = await rows(`SELECT count(DISTINCT message) AS events FROM recent WHERE plan_violations IS NOT NULL`);
    const violations = (
      await rows(`SELECT plan_event AS event, violation, count(DISTINCT message) AS events
                  FROM (SELECT plan_event, message, unnest(string_split(plan_violations, '; ')) AS violation FROM recent WHERE plan_violations IS NOT NULL)
                  GROUP BY 1, 2 ORDER BY events DESC, event, violation LIMIT ${this.violationCount}`)
    ).map((r) => ({ event: String(r['event']), violation: String(r['violation']), events: Number(r['events']) }));
    const [identities] = await rows(`SELECT
        (SELECT count(DISTINCT person) FROM links) AS users,
        (SELECT count(DISTINCT device) FROM links) AS devices,
        (SELECT count(*) FROM (SELECT device FROM links WHERE device IS NOT NULL GROUP BY device HAVING count(DISTINCT person) > 1)) AS shared_devices,
        (SELECT count(*) FROM (SELECT person FROM links WHERE device IS NOT NULL GROUP BY person HAVING count(DISTINCT device) > 1)) AS multi_device_users,
        (SELECT count(DISTINCT message) FROM recent WHERE NOT identified) AS anonymous_events,
        (SELECT count(DISTINCT message) FROM recent WHERE NOT identified AND visitor IN (SELECT device FROM links WHERE device IS NOT NULL)) AS stitched_events`);
    return {
      readAt: new Date(now),
      minutes,
      topPages,
      countries,
      unlocatedEvents: Number(unlocated?.['events'] ?? 0),
      bots,
      flaggedEvents: Number(flagged?.['events'] ?? 0),
      violations,
      identities: {
        users: Number(identities?.['users'] ?? 0),
        devices: Number(identities?.['devices'] ?? 0),
        sharedDevices: Number(identities?.['shared_devices'] ?? 0),
        multiDeviceUsers: Number(identities?.['multi_device_users'] ?? 0),
      },
      anonymousEvents: Number(identities?.['anonymous_events'] ?? 0),
      stitchedEvents: Number(identities?.['stitched_events'] ?? 0),
      eventsLastHour: Number(totals?.['events'] ?? 0),
      visitorsLastHour: Number(totals?.['visitors'] ?? 0),
      objectsRead: files.length,
    };
  }

  /**
   * Lines of every bad-rows object (one bad row each), all days. An object's count is kept while its size and
   * mtime stay the same, so a tick reads only new or rewritten objects.
   */
  countBadRows(): number {
    const root = join(this.lakeDirectory, BAD_ROWS_TABLE.prefix);
    let total = 0;
    let days: string[];
    try {
      days = readdirSync(root).filter((d) => d.startsWith('dt='));
    } catch {
      return 0;
    }
    for (const day of days) {
      let names: string[];
      try {
        names = readdirSync(join(root, day));
      } catch {
        continue;
      }
      for (const name of names) {
        if (!name.endsWith(`.jsonl${S3RVER_OBJECT_SUFFIX}`)) continue;
        const file = join(root, day, name);
        try {
          const { size, mtimeMs } = statSync(file);
          let known = this.badRowLines.get(file);
          if (!known || known.size !== size || known.mtimeMs !== mtimeMs) {
            const text = readFileSync(file, 'utf8');
            known = { size, mtimeMs, lines: text.split('\n').filter((line) => line.trim() !== '').length };
            this.badRowLines.set(file, known);
          }
          total += known.lines;
        } catch {
          // Being (re)written: counted next tick.
        }
      }
    }
    return total;
  }

  async close(): Promise<void> {
    const opened = this.connection;
    this.connection = undefined;
    if (!opened) return;
    const { instance, connection } = await opened;
    connection.closeSync();
    instance.closeSync();
  }

  private connect(): Promise<{ instance: DuckDBInstance; connection: DuckDBConnection }> {
    this.connection ??= (async () => {
      // Small and single-threaded: the dashboard shares two cores with the whole stack.
      const instance = await DuckDBInstance.create(':memory:', { threads: '1', memory_limit: '256MB' });
      const connection = await instance.connect();
      await connection.run(
        // message and visitor: hash() of the ids (64 bits: collisions in an hour's ids are negligible).
        `CREATE TABLE recent (file UINTEGER, event_time TIMESTAMP, message UBIGINT, visitor UBIGINT, page VARCHAR, country VARCHAR, bot_reason VARCHAR,
                              identified BOOLEAN, plan_event VARCHAR, plan_violations VARCHAR)`,
      );
      // The identity links: device and user as hash() of the ids, like `recent`'s visitor.
      await connection.run(`CREATE TABLE links (file UINTEGER, device UBIGINT, person UBIGINT)`);
      this.loaded.clear();
      this.loadedLinks.clear();
      return { instance, connection };
    })();
    // A failed open is tried again next tick.
    this.connection.catch(() => (this.connection = undefined));
    return this.connection;
  }
}
