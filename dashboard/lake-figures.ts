// The dashboard's figures from the lake, with DuckDB over s3rver's directory (as `npm run query` reads it):
// events and visitors per minute, top pages, countries, bots by reason, tracking-plan violations and unique
// visitors of the last hour, the stitched users (the identities table, all of it), and the bad-row count.
// Only the hour partitions the window touches are listed, and only objects not read before (or rewritten
// since) are read. DuckDB reads them; their rows are kept in typed arrays (about 37 bytes an event) and
// counted into window-counts.ts, which takes rows away as their minute leaves the window. So a tick costs
// what arrived or left since the last one, not the hour: about 25 ms of CPU at a full hour at 200 events/s,
// where recounting the hour in DuckDB took about 900 ms (`npm run bench dashboard-lake`).
// A read that meets a half-written object (s3rver writes in place) leaves that object for the next tick.
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { BAD_ROWS_TABLE, EVENTS_TABLE, IDENTITIES_TABLE } from '../schemas/lake-tables.js';
import { S3RVER_OBJECT_SUFFIX } from '../local/storage/lake-location.js';
import { code, HAS_VISITOR, IDENTIFIED, WindowCounts, type ObjectRows, type WindowFigures } from './window-counts.js';

/** The window's counts (window-counts.ts), the identities table's and what the read saw. */
export interface LakeFigures extends WindowFigures {
  readAt: Date;
  /** The identities table (all days): user ids and devices linked, shared devices, users on several devices. */
  identities: { users: number; devices: number; sharedDevices: number; multiDeviceUsers: number };
  /** Parquet objects in the window's hour partitions. */
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

/** The rows of a statement's result (its columns after the object's name) at these indexes, as ObjectRows. */
function objectRows(columns: unknown[][], picked: number[]): ObjectRows {
  const [minute = [], messageHigh = [], messageLow = [], visitorHigh = [], visitorLow = [], identified = [], page = [], country = [], bot = [], plan = []] = columns;
  const pick = (values: unknown[]) => picked.map((row) => values[row]);
  const rows: ObjectRows = {
    rows: picked.length,
    oldestMinute: Infinity,
    newestMinute: -Infinity,
    minute: Int32Array.from(picked, (row) => Number(minute[row])),
    message: new Uint32Array(picked.length * 2),
    visitor: new Uint32Array(picked.length * 2),
    flags: new Uint8Array(picked.length),
    page: code(pick(page)),
    country: code(pick(country)),
    bot: code(pick(bot)),
    plan: code(pick(plan)),
  };
  picked.forEach((row, i) => {
    rows.oldestMinute = Math.min(rows.oldestMinute, rows.minute[i]!);
    rows.newestMinute = Math.max(rows.newestMinute, rows.minute[i]!);
    rows.message[i * 2] = Number(messageHigh[row]);
    rows.message[i * 2 + 1] = Number(messageLow[row]);
    const hasVisitor = visitorHigh[row] !== null && visitorHigh[row] !== undefined;
    if (hasVisitor) {
      rows.visitor[i * 2] = Number(visitorHigh[row]);
      rows.visitor[i * 2 + 1] = Number(visitorLow[row]);
    }
    rows.flags[i] = (hasVisitor ? HAS_VISITOR : 0) | (identified[row] === true ? IDENTIFIED : 0);
  });
  return rows;
}

const noRows = objectRows([], []);

/** The objects not read before, or rewritten since (another size or mtime than when they were read). */
function notReadSince(files: ObjectFile[], read: ReadonlyMap<string, { size: number; mtimeMs: number }>): ObjectFile[] {
  return files.filter(({ file, size, mtimeMs }) => {
    const known = read.get(file);
    return !known || known.size !== size || known.mtimeMs !== mtimeMs;
  });
}

/** An events object read: its rows, and from which minute on they are in the window's counts. */
interface LoadedObject {
  size: number;
  mtimeMs: number;
  rows: ObjectRows;
  countedFrom: number;
}

/** Objects read in one statement (a cold start reads the hour's objects in statements of this many). */
const OBJECTS_PER_READ = 50;

interface FiguresDatabase {
  instance: DuckDBInstance;
  connection: DuckDBConnection;
}

/**
 * The reader's DuckDB: small and single-threaded, since the dashboard shares two cores with the whole stack.
 * DuckDB's external file cache (on by default) keeps pieces of every Parquet file it reads, 8 to 12 KB or
 * more a file, up to the memory limit: with a new object every few seconds, the dashboard grew by about a
 * megabyte a minute. The objects are local files, each read once, which the OS page cache holds anyway.
 */
export async function openFiguresDatabase(): Promise<FiguresDatabase> {
  const instance = await DuckDBInstance.create(':memory:', { threads: '1', memory_limit: '256MB', enable_external_file_cache: 'false' });
  return { instance, connection: await instance.connect() };
}

export class LakeFigureReader {
  private connection: Promise<FiguresDatabase> | undefined;
  /** The events objects read (in the window's hour partitions). */
  private readonly loaded = new Map<string, LoadedObject>();
  /** The objects whose rows are in the `links` table (identities objects, all days): their id there, size and mtime. */
  private readonly loadedLinks = new Map<string, { id: number; size: number; mtimeMs: number }>();
  private nextFileId = 0;
  /** The links table's figures, as of its last change. */
  private identities: LakeFigures['identities'] = { users: 0, devices: 0, sharedDevices: 0, multiDeviceUsers: 0 };
  private counts = new WindowCounts();
  /** The window's first minute at the last read: rows before it are out of the counts. */
  private windowFrom = -Infinity;
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

  async read(now = Date.now()): Promise<LakeFigures> {
    const from = Math.floor((now - this.windowMinutes * MINUTE_MS) / MINUTE_MS) * MINUTE_MS;
    const fromMinute = from / MINUTE_MS;
    const clockBack = fromMinute < this.windowFrom;
    if (clockBack) {
      // The clock went back: the rows that left the window are counted again, from a fresh read.
      this.counts = new WindowCounts();
      this.loaded.clear();
    }
    const { connection } = await this.connect();
    const files = this.recentEventObjects(from, now);
    const fresh = notReadSince(files, this.loaded);
    for (let start = 0; start < fresh.length; start += OBJECTS_PER_READ) {
      await this.readEvents(connection, fresh.slice(start, start + OBJECTS_PER_READ), from);
    }
    const listed = new Set(files.map(({ file }) => file));
    for (const [file, object] of this.loaded) {
      if (!listed.has(file)) {
        // Erased, or its hour partition left the window.
        this.counts.change(object.rows, -1, object.countedFrom);
        this.loaded.delete(file);
      } else if (object.countedFrom < fromMinute && object.rows.oldestMinute < fromMinute) {
        this.counts.change(object.rows, -1, object.countedFrom, fromMinute);
        object.countedFrom = fromMinute;
        // Nothing of it left in the window: its rows are let go (the object stays known, and is not read again).
        if (object.rows.newestMinute < fromMinute) object.rows = noRows;
      }
    }
    this.windowFrom = fromMinute;
    // The links change rarely: their figures and devices are worked out again only when they do.
    const linksChanged = await this.loadLinks(connection);
    if (linksChanged) {
      const [identities] = (
        await connection.runAndReadAll(`SELECT
          (SELECT count(DISTINCT person) FROM links) AS users,
          (SELECT count(DISTINCT device) FROM links) AS devices,
          (SELECT count(*) FROM (SELECT device FROM links WHERE device IS NOT NULL GROUP BY device HAVING count(DISTINCT person) > 1)) AS shared_devices,
          (SELECT count(*) FROM (SELECT person FROM links WHERE device IS NOT NULL GROUP BY person HAVING count(DISTINCT device) > 1)) AS multi_device_users`)
      ).getRowObjectsJS();
      this.identities = {
        users: Number(identities?.['users'] ?? 0),
        devices: Number(identities?.['devices'] ?? 0),
        sharedDevices: Number(identities?.['shared_devices'] ?? 0),
        multiDeviceUsers: Number(identities?.['multi_device_users'] ?? 0),
      };
    }
    if (linksChanged || clockBack) {
      const result = await connection.runAndReadAll(`SELECT DISTINCT (device >> 32)::UINTEGER, (device & 4294967295::UBIGINT)::UINTEGER FROM links WHERE device IS NOT NULL`);
      const [high = [], low = []] = result.getColumns();
      this.counts.linkDevices(high.map((word, row) => [Number(word), Number(low[row])]));
    }
    return {
      readAt: new Date(now),
      ...this.counts.figures({ pages: this.topPageCount, countries: this.countryCount, violations: this.violationCount }),
      identities: { ...this.identities },
      objectsRead: files.length,
    };
  }

  /**
   * Reads these objects' rows from `from` on, in one statement, and counts them (a rewritten object's earlier
   * rows are taken away first). If the statement fails (an object half-written: s3rver writes in place), each
   * object is read on its own, and the ones that fail are left as they were until the next tick.
   */
  private async readEvents(connection: DuckDBConnection, objects: ObjectFile[], from: number): Promise<void> {
    let columns: unknown[][];
    try {
      columns = await this.selectEvents(connection, objects, from);
    } catch {
      if (objects.length > 1) for (const object of objects) await this.readEvents(connection, [object], from);
      return;
    }
    const fromMinute = from / MINUTE_MS;
    const [position = [], ...values] = columns;
    const rowsOf = objects.map((): number[] => []);
    position.forEach((at, row) => rowsOf[Number(at) - 1]?.push(row));
    for (const [index, { file, size, mtimeMs }] of objects.entries()) {
      const previous = this.loaded.get(file);
      if (previous) this.counts.change(previous.rows, -1, previous.countedFrom);
      const rows = objectRows(values, rowsOf[index]!);
      this.counts.change(rows, 1, fromMinute);
      this.loaded.set(file, { size, mtimeMs, rows, countedFrom: fromMinute });
    }
  }

  /** The objects' rows from `from` on: the object's position in `objects` (from 1), then ObjectRows' columns (see objectRows). */
  private async selectEvents(connection: DuckDBConnection, objects: ObjectFile[], from: number): Promise<unknown[][]> {
    const list = `[${objects.map(({ file }) => literal(file)).join(', ')}]`;
    // Objects written before a column existed have none, and read NULL for it.
    const names = new Set((await connection.runAndReadAll(`SELECT DISTINCT name FROM parquet_schema(${list})`)).getColumns()[0]?.map(String));
    const column = (name: string) => (names.has(name) ? name : 'NULL');
    const visitor = 'COALESCE(anonymous_id, user_id)';
    const result = await connection.runAndReadAll(
      `SELECT list_position(${list}, filename)::INTEGER, (epoch_ms(event_time) // ${MINUTE_MS})::INTEGER,
              (hash(message_id) >> 32)::UINTEGER, (hash(message_id) & 4294967295::UBIGINT)::UINTEGER,
              CASE WHEN ${visitor} IS NOT NULL THEN (hash(${visitor}) >> 32)::UINTEGER END,
              CASE WHEN ${visitor} IS NOT NULL THEN (hash(${visitor}) & 4294967295::UBIGINT)::UINTEGER END,
              user_id IS NOT NULL,
              CASE WHEN type = 'page' AND is_bot IS NOT TRUE THEN COALESCE(page_path, context_page_path, '(unknown)') END,
              CASE WHEN is_bot IS NOT TRUE THEN ${column('geo_country')} END,
              CASE WHEN is_bot THEN COALESCE(${column('bot_reason')}, 'user_agent') END,
              CASE WHEN ${column('plan_violations')} IS NOT NULL THEN COALESCE(event, type) || chr(0) || ${column('plan_violations')} END
       FROM read_parquet(${list}, union_by_name = true, filename = true)
       WHERE event_time >= epoch_ms(${from}::BIGINT)`,
    );
    return result.getColumns();
  }

  /**
   * Adds the rows of the identities objects not read before (or rewritten since) to `links`, in one
   * transaction (a half-written object fails the read, and the table stays as it was), and drops the rows of
   * objects gone. True if the table changed.
   */
  private async loadLinks(connection: DuckDBConnection): Promise<boolean> {
    const files = this.identityObjects();
    const loaded = this.loadedLinks;
    const fresh = notReadSince(files, loaded);
    if (fresh.length > 0) {
      await connection.run('BEGIN TRANSACTION');
      const ids: number[] = [];
      try {
        for (const { file } of fresh) {
          // A rewritten object replaces its earlier rows.
          const previous = loaded.get(file);
          if (previous) await connection.run(`DELETE FROM links WHERE file = ${previous.id}`);
          const id = previous?.id ?? this.nextFileId++;
          ids.push(id);
          await connection.run(
            `INSERT INTO links
             SELECT ${id}, CASE WHEN anonymous_id IS NULL THEN NULL ELSE hash(anonymous_id) END, hash(user_id)
             FROM read_parquet(${literal(file)}, union_by_name = true)`,
          );
        }
        await connection.run('COMMIT');
      } catch (error) {
        await connection.run('ROLLBACK');
        throw error;
      }
      fresh.forEach(({ file, size, mtimeMs }, index) => loaded.set(file, { id: ids[index]!, size, mtimeMs }));
    }
    const listed = new Set(files.map(({ file }) => file));
    let dropped = false;
    for (const [file, { id }] of loaded) {
      if (listed.has(file)) continue;
      loaded.delete(file);
      await connection.run(`DELETE FROM links WHERE file = ${id}`);
      dropped = true;
    }
    return fresh.length > 0 || dropped;
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

  private connect(): Promise<FiguresDatabase> {
    this.connection ??= (async () => {
      const opened = await openFiguresDatabase();
      // The identity links: device and user as hash() of the ids, as ObjectRows keeps a visitor.
      await opened.connection.run(`CREATE TABLE links (file UINTEGER, device UBIGINT, person UBIGINT)`);
      this.loadedLinks.clear();
      return opened;
    })();
    // A failed open is tried again next tick.
    this.connection.catch(() => (this.connection = undefined));
    return this.connection;
  }
}
