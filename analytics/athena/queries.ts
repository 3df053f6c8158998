// The Athena analyses in this folder, one .sql file each. Every file starts with a header comment: its
// first line says what it answers (the named query's description), and a line
//   -- Parameters (positional ?): from_dt, to_dt
// names the values of its `?` placeholders in the order they appear. Athena binds them as execution
// parameters (the console asks for them), DuckDB as prepared-statement values: the same text runs on both.
// infra/resolvers.cjs reads the same files into AWS::Athena::NamedQuery resources at package time.
import { readdir, readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { LAKE_TABLES, type HiveType } from '../../schemas/lake-tables.js';

export const ATHENA_SQL_DIR = fileURLToPath(new URL('.', import.meta.url));

export interface AthenaQuery {
  /** File name without .sql: the named query's Name. */
  name: string;
  sql: string;
  /** First header line. */
  summary: string;
  /** Names of the `?` placeholders, in order. */
  parameters: string[];
}

/** The SQL without comments and string literals, to look at its structure. */
const code = (sql: string): string => sql.replace(/--[^\n]*/g, '').replace(/'(?:[^']|'')*'/g, "''");

export function parseAthenaQuery(name: string, sql: string): AthenaQuery {
  const summary = /^--\s*(.+)$/m.exec(sql)?.[1]?.trim();
  if (!sql.startsWith('--') || !summary) throw new Error(`${name}.sql must start with a header comment`);
  const declared = /^--\s*Parameters \(positional \?\):\s*(.*)$/m.exec(sql);
  if (!declared) throw new Error(`${name}.sql: header needs a "-- Parameters (positional ?): a, b" line`);
  const parameters = declared[1]!.split(',').map((p) => p.trim()).filter(Boolean);
  const placeholders = (code(sql).match(/\?/g) ?? []).length;
  if (placeholders !== parameters.length) {
    throw new Error(`${name}.sql declares ${parameters.length} parameters but has ${placeholders} "?" placeholders`);
  }
  return { name, sql, summary, parameters };
}

export async function loadAthenaQueries(dir = ATHENA_SQL_DIR): Promise<AthenaQuery[]> {
  const files = (await readdir(dir)).filter((f) => f.endsWith('.sql')).sort();
  return Promise.all(files.map(async (f) => parseAthenaQuery(f.slice(0, -'.sql'.length), await readFile(`${dir}/${f}`, 'utf8'))));
}

// ---------------------------------------------------------------------------------------------
// The views (analytics/athena/views/*.sql): the same kind of file, with no parameters and two more header
// lines, deployed as Glue views (infra/resolvers.cjs:athenaViews) and created the same way locally:
//   -- Columns: name type, …     the view's columns in Athena's type names; `<table>.*` stands for every
//                                column of a lake table, partition keys last (as `SELECT t.*` gives them)
//   -- Reads: table_or_view, …   what it selects from, so views are created after the views they read.

export const ATHENA_VIEWS_DIR = fileURLToPath(new URL('./views/', import.meta.url));

/** Glue (Hive) column types as Athena (Trino) names them in a view's definition and in DESCRIBE. */
export const ATHENA_TYPES: Record<HiveType, string> = {
  string: 'varchar',
  bigint: 'bigint',
  int: 'integer',
  double: 'double',
  boolean: 'boolean',
  timestamp: 'timestamp(3)',
};

export interface ViewColumn {
  name: string;
  /** Athena's name of the type: varchar, bigint, timestamp(3), … */
  type: string;
}

export interface AthenaView {
  name: string;
  sql: string;
  summary: string;
  columns: ViewColumn[];
  reads: string[];
}

const headerList = (sql: string, label: string, file: string): string[] => {
  const line = new RegExp(`^--\\s*${label}:\\s*(.*)$`, 'm').exec(sql);
  if (!line) throw new Error(`${file}: header needs a "-- ${label}: …" line`);
  return line[1]!.split(',').map((part) => part.trim()).filter(Boolean);
};

export function parseAthenaView(name: string, sql: string): AthenaView {
  const file = `views/${name}.sql`;
  const summary = /^--\s*(.+)$/m.exec(sql)?.[1]?.trim();
  if (!sql.startsWith('--') || !summary) throw new Error(`${file} must start with a header comment`);
  if ((code(sql).match(/\?/g) ?? []).length > 0) throw new Error(`${file}: a view takes no parameters`);
  const columns = headerList(sql, 'Columns', file).flatMap((entry): ViewColumn[] => {
    const all = /^([a-z_]+)\.\*$/.exec(entry);
    if (all) {
      const table = LAKE_TABLES.find((t) => t.name === all[1]);
      if (!table) throw new Error(`${file}: ${entry} names no lake table`);
      return [...table.columns, ...table.partitionKeys].map((c) => ({ name: c.name, type: ATHENA_TYPES[c.type] }));
    }
    const [column, type, ...rest] = entry.split(/\s+/);
    if (!column || !type || rest.length > 0) throw new Error(`${file}: "${entry}" is not "name type"`);
    return [{ name: column, type }];
  });
  return { name, sql, summary, columns, reads: headerList(sql, 'Reads', file) };
}

/** Every view, each after the views it reads. */
export async function loadAthenaViews(dir = ATHENA_VIEWS_DIR): Promise<AthenaView[]> {
  const files = (await readdir(dir)).filter((f) => f.endsWith('.sql')).sort();
  const views = await Promise.all(files.map(async (f) => parseAthenaView(f.slice(0, -'.sql'.length), await readFile(`${dir}/${f}`, 'utf8'))));
  const ordered: AthenaView[] = [];
  const visit = (view: AthenaView, path: string[]): void => {
    if (ordered.includes(view)) return;
    if (path.includes(view.name)) throw new Error(`views read each other in a loop: ${[...path, view.name].join(' → ')}`);
    for (const name of view.reads) {
      const read = views.find((v) => v.name === name);
      if (read) visit(read, [...path, view.name]);
    }
    ordered.push(view);
  };
  for (const view of views) visit(view, []);
  return ordered;
}
