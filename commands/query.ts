// `npm run query`: SQL on the local lake with DuckDB, Athena's stand-in. DuckDB only reads files, so it works
// whether `npm start` is running or not.
//   npm run query -- "SELECT type, count(*) FROM events GROUP BY 1"
//   npm run query -- --named top_pages [--from 2026-11-01] [--to 2026-11-30]
//   npm run query -- --list                  the named queries (analytics/athena/*.sql)
//   --json                                   one JSON object per row instead of a table
//   --data-dir <path>                        the lake of that data dir (default: the running stack's, else .local/data)
// Views: the Glue tables `events` and `identities` (hive partitions dt, hour), `bad_rows` and `recovered_bad_rows` (dt), typed by
// schemas/lake-tables.ts, the Glue views of analytics/athena/views (events_resolved, …),
// and `aggregates` / `anomalies` once their folders hold Parquet.
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import { existsSync, readdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { createLakeViews, retryTornReads } from '../analytics/athena/duckdb-lake.js';
import { toDuckDbSql } from '../analytics/athena/dialect.js';
import { loadAthenaQueries } from '../analytics/athena/queries.js';
import { BAD_ROWS_TABLE, EVENTS_TABLE } from '../schemas/lake-tables.js';
import { findLocalLake, S3RVER_OBJECT_SUFFIX } from '../local/storage/lake-location.js';
import { HELP_OPTION, parseCommandLine } from './command-line.js';

const REPOSITORY_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
/** Tables without generated columns yet: read as whatever Parquet their folder holds. */
const UNTYPED_TABLES = { aggregates: 'aggregates', anomalies: 'anomalies' };
/** Parameters of the named queries and the flags that set them. */
const PARAMETER_FLAGS: Record<string, 'from' | 'to'> = { from_dt: 'from', to_dt: 'to' };
const MAX_CELL = 60;

export interface QueryCliIo {
  stdout(text: string): void;
  stderr(text: string): void;
}

const USAGE = `Usage:
  npm run query -- "<SQL>"                       SQL over events, identities, bad_rows, recovered_bad_rows, the views events_resolved, device_users, user_aliases (and aggregates, anomalies)
  npm run query -- --named <query> [--from YYYY-MM-DD] [--to YYYY-MM-DD]
  npm run query -- --list                        the named queries (analytics/athena/*.sql)
Options: --json (JSON lines), --data-dir <path> (default: the running stack's, else .local/data)`;

/** Runs the CLI; returns the exit code. */
export async function runQueryCli(argv: string[], io: QueryCliIo, repositoryRoot = REPOSITORY_ROOT): Promise<number> {
  const result = parseCommandLine(
    {
      args: argv,
      allowPositionals: true,
      strict: true,
      options: {
        named: { type: 'string' },
        from: { type: 'string' },
        to: { type: 'string' },
        json: { type: 'boolean', default: false },
        list: { type: 'boolean', default: false },
        'data-dir': { type: 'string' },
        ...HELP_OPTION,
      },
    },
    USAGE,
    io,
  );
  if ('exit' in result) return result.exit;
  const { values: flags, positionals } = result.parsed;

  const queries = await loadAthenaQueries();
  if (flags.list) {
    for (const q of queries) io.stdout(`${q.name.padEnd(26)} ${q.summary}\n`);
    return 0;
  }
  if ((positionals.length > 0) === (flags.named !== undefined)) {
    io.stderr(`Give either one SQL text or --named <query>.\n${USAGE}\n`);
    return 2;
  }
  for (const flag of ['from', 'to'] as const) {
    const value = flags[flag];
    if (value !== undefined && !/^\d{4}-\d{2}-\d{2}$/.test(value)) {
      io.stderr(`--${flag} must be a date YYYY-MM-DD, got "${value}"\n`);
      return 2;
    }
  }

  const lake = findLocalLake(repositoryRoot, flags['data-dir']);
  if (!existsSync(lake.directory)) {
    io.stderr(
      `No lake yet at ${lake.directory} (data dir from ${lake.from}).\n` +
        'Create one with `npm start`: the demo traffic reaches the lake within the Firehose buffer interval (about 5 s).\n' +
        'Or point --data-dir at the data dir of an earlier run, e.g. npm run query -- --data-dir /tmp/x --named top_pages\n',
    );
    return 1;
  }

  let sql: string;
  let values: string[] = [];
  if (flags.named !== undefined) {
    const query = queries.find((q) => q.name === flags.named);
    if (!query) {
      io.stderr(`No named query "${flags.named}". Named queries: ${queries.map((q) => q.name).join(', ')}\n`);
      return 2;
    }
    const range = defaultRange(lake.directory);
    const chosen = { from: flags.from ?? range.from, to: flags.to ?? range.to };
    const unknown = query.parameters.filter((p) => !PARAMETER_FLAGS[p]);
    if (unknown.length > 0) {
      io.stderr(`${query.name} takes parameters this CLI cannot set: ${unknown.join(', ')}\n`);
      return 2;
    }
    values = query.parameters.map((p) => chosen[PARAMETER_FLAGS[p]!]);
    sql = toDuckDbSql(query.sql);
    io.stderr(`${query.summary}\n  ${query.parameters.map((p, i) => `${p}=${values[i]}`).join(' ')}  (lake: ${lake.directory})\n`);
  } else {
    sql = positionals.join(' ');
  }

  const instance = await DuckDBInstance.create(':memory:');
  const connection = await instance.connect();
  try {
    const views = await createLakeViews(connection, lake.directory, { objectSuffix: S3RVER_OBJECT_SUFFIX, untypedParquetTables: UNTYPED_TABLES });
    const empty = async (view: string) => !(await retryTornReads(() => hasRows(connection, view)));
    if ((await empty(EVENTS_TABLE.name)) && (await empty(BAD_ROWS_TABLE.name))) {
      io.stderr(`Note: the lake at ${lake.directory} has no events or bad rows yet (views: ${views.join(', ')}).\n`);
    }
    const reader = await retryTornReads(() => (values.length > 0 ? connection.runAndReadAll(sql, values) : connection.runAndReadAll(sql)));
    const columns = reader.columnNames();
    const rows = reader.getRowObjectsJS().map((row) => Object.fromEntries(columns.map((c) => [c, plain(row[c])])));
    if (flags.json) {
      for (const row of rows) io.stdout(`${JSON.stringify(row)}\n`);
    } else {
      io.stdout(formatTable(columns, rows));
    }
    return 0;
  } catch (error) {
    io.stderr(`Query failed: ${(error as Error).message}\n`);
    return 1;
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
}

async function hasRows(connection: DuckDBConnection, view: string): Promise<boolean> {
  const reader = await connection.runAndReadAll(`SELECT 1 FROM ${view} LIMIT 1`);
  return reader.currentRowCount > 0;
}

/** The first and last dt= partition of events and bad rows; today when the lake has none. */
export function defaultRange(lakeDirectory: string): { from: string; to: string } {
  const dts = [EVENTS_TABLE.prefix, BAD_ROWS_TABLE.prefix].flatMap((prefix) => {
    const dir = join(lakeDirectory, prefix);
    if (!existsSync(dir)) return [];
    return readdirSync(dir)
      .map((name) => /^dt=(\d{4}-\d{2}-\d{2})$/.exec(name)?.[1])
      .filter((dt): dt is string => dt !== undefined);
  });
  const today = new Date().toISOString().slice(0, 10);
  if (dts.length === 0) return { from: today, to: today };
  dts.sort();
  return { from: dts[0]!, to: dts.at(-1)! };
}

type Cell = string | number | boolean | null | Cell[] | { [key: string]: Cell };

function plain(value: unknown): Cell {
  if (typeof value === 'bigint') return Number.isSafeInteger(Number(value)) ? Number(value) : value.toString();
  if (value instanceof Date) return value.toISOString();
  if (Array.isArray(value)) return value.map(plain);
  if (value !== null && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, plain(v)]));
  return (value ?? null) as Cell;
}

function cellText(value: Cell): string {
  if (value === null) return 'NULL';
  const text = typeof value === 'object' ? JSON.stringify(value) : String(value);
  const oneLine = text.replace(/\s+/g, ' ');
  return oneLine.length > MAX_CELL ? `${oneLine.slice(0, MAX_CELL - 1)}…` : oneLine;
}

/** A psql-style table: numbers right-aligned, long values cut, a row count at the end. */
export function formatTable(columns: readonly string[], rows: readonly Record<string, Cell>[]): string {
  const texts = rows.map((row) => columns.map((c) => cellText(row[c] ?? null)));
  const numeric = columns.map((c) => rows.length > 0 && rows.every((row) => row[c] === null || typeof row[c] === 'number'));
  const widths = columns.map((c, i) => Math.max(c.length, ...texts.map((t) => t[i]!.length)));
  const line = (cells: string[], alignRight: boolean[]) =>
    ` ${cells.map((cell, i) => (alignRight[i] ? cell.padStart(widths[i]!) : cell.padEnd(widths[i]!))).join(' | ')}`.trimEnd();
  const out = [
    line([...columns], columns.map(() => false)),
    widths.map((w) => '-'.repeat(w + 2)).join('+'),
    ...texts.map((t) => line(t, numeric)),
    `(${rows.length} row${rows.length === 1 ? '' : 's'})`,
  ];
  return `${out.join('\n')}\n`;
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  process.exitCode = await runQueryCli(process.argv.slice(2), {
    stdout: (text) => process.stdout.write(text),
    stderr: (text) => process.stderr.write(text),
  });
}
