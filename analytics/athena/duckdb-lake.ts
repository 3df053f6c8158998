// The lake on a laptop, read with DuckDB: the same layout as s3://<lake>/ under a directory, typed with the
// schema-derived column types (schemas/lake-tables.ts). Used by `npm run query` (over s3rver's directory),
// the dashboard, the Athena query tests and the benches. The local Firehose writes it (local/firehose/parquet.ts).
//   <root>/events/dt=YYYY-MM-DD/hour=HH/<file>.parquet   rows as the Firehose transform emits them
//   <root>/bad-rows/dt=YYYY-MM-DD/<file>.jsonl           bad rows as the enrich stage writes them
//   <root>/bad-rows-recovered/dt=YYYY-MM-DD/<run>.jsonl   the bad rows recoveries sent back
//   <root>/identities/link=<kind>/<file>.parquet         the identity links of the enrich stage
// and the views of analytics/athena/views/ over them (events_resolved, …), as Glue has them.
import type { DuckDBConnection, DuckDBValue } from '@duckdb/node-api';
import { join } from 'node:path';
import { BAD_ROWS_TABLE, EVENTS_TABLE, IDENTITIES_TABLE, RECOVERED_BAD_ROWS_TABLE, type HiveType, type LakeTable } from '../../schemas/lake-tables.js';
import { toDuckDbSql } from './dialect.js';
import { loadAthenaViews, type AthenaQuery } from './queries.js';

const DUCKDB_TYPES: Record<HiveType, string> = {
  string: 'VARCHAR',
  bigint: 'BIGINT',
  int: 'INTEGER',
  double: 'DOUBLE',
  boolean: 'BOOLEAN',
  timestamp: 'TIMESTAMP',
};

export const duckDbType = (type: HiveType): string => DUCKDB_TYPES[type];

export const ident = (name: string): string => `"${name.replace(/"/g, '""')}"`;
export const literal = (text: string): string => `'${text.replace(/'/g, "''")}'`;
export const struct = (entries: [string, string][]): string => `{${entries.map(([k, v]) => `${literal(k)}: ${literal(v)}`).join(', ')}}`;

/** Path of an events object, as Firehose names the prefix: events/dt=YYYY-MM-DD/hour=HH/. */
export const eventsObjectPath = (root: string, dt: string, hour: string, file: string): string =>
  join(root, EVENTS_TABLE.prefix, `dt=${dt}`, `hour=${hour}`, file);

async function hasFiles(connection: DuckDBConnection, pattern: string): Promise<boolean> {
  const reader = await connection.runAndReadAll(`SELECT count(*) AS n FROM glob(${literal(pattern)})`);
  return Number(reader.getRowObjectsJS()[0]?.['n'] ?? 0) > 0;
}

/** An empty relation with the table's columns, for a lake that has no object of it yet. */
const emptyRelation = (table: LakeTable): string =>
  `SELECT ${[...table.columns, ...table.partitionKeys].map((c) => `CAST(NULL AS ${duckDbType(c.type)}) AS ${ident(c.name)}`).join(', ')} WHERE false`;

export interface LakeViewOptions {
  /**
   * What follows each object's key in its file name: '' for a plain directory, '._S3rver_object' for the
   * directory of an s3rver bucket (s3rver stores object <key> as the file <key>._S3rver_object).
   */
  objectSuffix?: string;
  /**
   * Parquet tables without columns in schemas/lake-tables.ts yet (the Flink outputs), each read from
   * <root>/<folder>/ with its hive partitions when the folder has objects. Name → folder.
   */
  untypedParquetTables?: Record<string, string>;
}

/**
 * s3rver writes an object's file in place, so a read while the running stack stores (or, after a restart,
 * rewrites) an object can meet it half written. Such a read is retried; other errors are not.
 */
export async function retryTornReads<T>(run: () => Promise<T>, attempts = 4): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await run();
    } catch (error) {
      const torn = /too small to be a Parquet file|No magic bytes found|Parquet file .* corrupt|Unexpected end of file/i.test((error as Error).message);
      if (!torn || attempt >= attempts) throw error;
      await new Promise((resolveWait) => setTimeout(resolveWait, 250 * attempt));
    }
  }
}

/**
 * Views `events`, `identities`, `bad_rows`, `recovered_bad_rows`, the Glue views (and the untyped tables that
 * have data) over a local lake directory, typed like the Glue tables. Creating a view reads its objects (DuckDB
 * binds the columns), so a half-written one is met here too: retried as a read.
 */
export const createLakeViews = (connection: DuckDBConnection, root: string, options: LakeViewOptions = {}): Promise<string[]> =>
  retryTornReads(() => createLakeViewsOnce(connection, root, options));

async function createLakeViewsOnce(connection: DuckDBConnection, root: string, options: LakeViewOptions): Promise<string[]> {
  const suffix = options.objectSuffix ?? '';
  const hiveTypes = (t: LakeTable) => struct(t.partitionKeys.map((k): [string, string] => [k.name, duckDbType(k.type)]));

  // The Parquet tables Firehose writes by their partition keys (events: dt/hour, identities: link), typed like their Glue tables.
  for (const table of [EVENTS_TABLE, IDENTITIES_TABLE]) {
    const objects = join(root, table.prefix, ...table.partitionKeys.map((k) => `${k.name}=*`), `*.parquet${suffix}`);
    const sql = (await hasFiles(connection, objects))
      ? `SELECT * FROM read_parquet(${literal(objects)}, hive_partitioning = true, hive_types = ${hiveTypes(table)}, union_by_name = true)`
      : emptyRelation(table);
    await connection.run(`CREATE OR REPLACE VIEW ${table.name} AS ${sql}`);
  }

  // The JSON-lines tables: the enrich stage's bad rows and the ones recoveries sent back.
  for (const table of [BAD_ROWS_TABLE, RECOVERED_BAD_ROWS_TABLE]) {
    const objects = join(root, table.prefix, 'dt=*', `*.jsonl${suffix}`);
    const columns = struct(table.columns.map((c): [string, string] => [c.name, duckDbType(c.type)]));
    const sql = (await hasFiles(connection, objects))
      ? `SELECT * FROM read_json(${literal(objects)}, format = 'newline_delimited', columns = ${columns}, hive_partitioning = true, hive_types = ${hiveTypes(table)})`
      : emptyRelation(table);
    await connection.run(`CREATE OR REPLACE VIEW ${table.name} AS ${sql}`);
  }

  const views: string[] = [EVENTS_TABLE.name, IDENTITIES_TABLE.name, BAD_ROWS_TABLE.name, RECOVERED_BAD_ROWS_TABLE.name];
  // The Glue views, from the same SQL.
  for (const view of await loadAthenaViews()) {
    await connection.run(`CREATE OR REPLACE VIEW ${ident(view.name)} AS ${toDuckDbSql(view.sql)}`);
    views.push(view.name);
  }
  for (const [name, folder] of Object.entries(options.untypedParquetTables ?? {})) {
    const objects = join(root, folder, '**', `*${suffix}`);
    if (!(await hasFiles(connection, objects))) continue;
    await connection.run(`CREATE OR REPLACE VIEW ${ident(name)} AS SELECT * FROM read_parquet(${literal(objects)}, hive_partitioning = true, union_by_name = true)`);
    views.push(name);
  }
  return views;
}

type Plain = string | number | boolean | null | Date | Plain[] | { [key: string]: Plain };

const plain = (value: unknown): Plain => {
  if (typeof value === 'bigint') return Number(value);
  if (Array.isArray(value)) return value.map(plain);
  if (value instanceof Date || value === null || typeof value !== 'object') return value as Plain;
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, plain(v)]));
};

/** Runs an Athena query on the local views, after the documented dialect substitutions. */
export async function runAthenaQueryLocally(
  connection: DuckDBConnection,
  query: AthenaQuery,
  values: Record<string, string>,
): Promise<Record<string, Plain>[]> {
  const missing = query.parameters.filter((p) => values[p] === undefined);
  if (missing.length > 0) throw new Error(`${query.name} needs ${missing.join(', ')}`);
  const bound: DuckDBValue[] = query.parameters.map((p) => values[p]!);
  const reader = await connection.runAndReadAll(toDuckDbSql(query.sql), bound);
  return reader.getRowObjectsJS().map((row) => plain(row) as Record<string, Plain>);
}
