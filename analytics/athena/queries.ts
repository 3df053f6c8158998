// The Athena analyses in this folder, one .sql file each. Every file starts with a header comment: its
// first line says what it answers (the named query's description), and a line
//   -- Parameters (positional ?): from_dt, to_dt
// names the values of its `?` placeholders in the order they appear. Athena binds them as execution
// parameters (the console asks for them), DuckDB as prepared-statement values: the same text runs on both.
// infra/resolvers.cjs reads the same files into AWS::Athena::NamedQuery resources at package time.
import { readdir, readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';

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
