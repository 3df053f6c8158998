// The named queries (analytics/athena/*.sql), unchanged, on Trino — the engine Athena v3 is built on — and on
// DuckDB, over the same multi-day lake (test/helpers/athena-scenario.ts): for several date ranges, every query
// must give the same rows on both. DuckDB's answers are checked against independent computations by
// test/unit/analytics/athena-queries.test.ts; this test carries that check over to the Athena dialect.
// Trino reads the lake through tables made from the deployed Glue tables (test/helpers/trino-lake-tables.ts)
// and binds the `?` parameters with EXECUTE IMMEDIATE … USING, as Athena binds execution parameters.
// Needs Trino (test/helpers/trino-server.ts) and a Java >= 24: in CI a missing one fails; elsewhere the test skips.
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLakeViews, runAthenaQueryLocally } from '../../analytics/athena/duckdb-lake.js';
import { loadAthenaQueries, loadAthenaViews, type AthenaQuery } from '../../analytics/athena/queries.js';
import { readTemplates } from '../../local/template/templates.js';
import { DUPLICATED_ROWS, scenarioEvents, writeScenarioLake } from '../helpers/athena-scenario.js';
import { trinoQuery, type TrinoColumn } from '../helpers/trino-client.js';
import { trinoLakeTables } from '../helpers/trino-lake-tables.js';
import { startTrino, TRINO_VERSION, trinoUnavailable, type TrinoServer } from '../helpers/trino-server.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const SCHEMA = 'clickstream';

/**
 * Values for the queries' parameters: a range around every day of the scenario (partitions, late copies, visits
 * across midnight), and two days in the middle, so that sessions and visitors are cut at both ends of the range.
 */
const RANGES: Record<string, string>[] = [
  { from_dt: '2026-11-20', to_dt: '2026-11-30' },
  { from_dt: '2026-11-22', to_dt: '2026-11-23' },
];

const inCi = !['', '0', 'false'].includes((process.env['CI'] ?? '').toLowerCase());
const unavailable = trinoUnavailable();
if (unavailable && inCi) throw new Error(`${unavailable}. CI must run this test: .ci/run's "Trino" section installs Trino and checks for the Java.`);
if (unavailable) console.warn(`[athena-on-trino] skipped: ${unavailable}`);

const queries = await loadAthenaQueries();
const views = await loadAthenaViews();

// ---------------------------------------------------------------------------------------------
// Rows of both engines in one form: timestamps as ISO strings, numbers as numbers.

type Value = string | number | boolean | null;
type Row = Record<string, Value>;

function fromTrino(columns: TrinoColumn[], rows: unknown[][]): Row[] {
  return rows.map((row) =>
    Object.fromEntries(
      columns.map((column, i) => {
        const value = row[i];
        if (value === null || value === undefined) return [column.name, null];
        // timestamp(3) comes as '2026-11-22 11:00:00.500', in UTC (the session's zone); DuckDB gives dates as midnight UTC.
        if (column.type.startsWith('timestamp')) return [column.name, new Date(`${String(value).replace(' ', 'T')}Z`).toISOString()];
        if (column.type === 'date') return [column.name, new Date(`${String(value)}T00:00:00Z`).toISOString()];
        if (/^(tinyint|smallint|integer|bigint|real|double|decimal)/.test(column.type)) return [column.name, Number(value)];
        return [column.name, value as Value];
      }),
    ),
  );
}

const fromDuckDb = (rows: Record<string, unknown>[]): Row[] =>
  rows.map((row) => Object.fromEntries(Object.entries(row).map(([k, v]) => [k, v instanceof Date ? v.toISOString() : (v as Value)])));

/** Doubles may differ in their last bits (another summation order); anything more is a difference. */
const close = (a: number, b: number): boolean => Math.abs(a - b) <= 1e-9 * Math.max(1, Math.abs(a), Math.abs(b));

/**
 * approx_percentile is approximate on both engines, each its own way: Trino's q-digest returns a value of the
 * data a rank or so away, DuckDB's t-digest interpolates between values (the scenario's p95 lateness of
 * 2026-11-21: exact 9805 s, Trino 10463 s, DuckDB 10134 s). Their answers agree within 5 % (or 1 for small
 * integers); a wrong column, percentile or group is further off than that.
 */
const closeApproximately = (a: number, b: number): boolean => Math.abs(a - b) <= Math.max(1, 0.05 * Math.max(Math.abs(a), Math.abs(b)));

/** The output columns of a query computed by an approx_* aggregate: `approx_…(…) AS name`. */
const approximateColumns = (sql: string): Set<string> =>
  new Set([...sql.matchAll(/\bapprox_\w+\s*\((?:[^()]|\([^()]*\))*\)\s+AS\s+(\w+)/gi)].map((m) => m[1]!.toLowerCase()));

/** Trino's rows with each number that is close to DuckDB's replaced by DuckDB's, so toEqual shows only real differences. */
const alignNumbers = (trino: Row[], duckdb: Row[], approximate: Set<string>): Row[] =>
  trino.map((row, i) =>
    Object.fromEntries(
      Object.entries(row).map(([k, v]) => {
        const other = duckdb[i]?.[k];
        const near = approximate.has(k) ? closeApproximately : close;
        return [k, typeof v === 'number' && typeof other === 'number' && near(v, other) ? other : v];
      }),
    ),
  );

/** True when the statement ends in an ORDER BY of its own (not one inside parentheses: a window, a CTE, a subquery). */
function hasFinalOrderBy(sql: string): boolean {
  const code = sql.replace(/--[^\n]*/g, '').replace(/'(?:[^']|'')*'/g, "''");
  let depth = 0;
  let found = false;
  for (const token of code.matchAll(/\(|\)|\bORDER\s+BY\b/gi)) {
    if (token[0] === '(') depth++;
    else if (token[0] === ')') depth--;
    else if (depth === 0) found = true;
  }
  return found;
}

const sortedRows = (rows: Row[]): Row[] => [...rows].sort((a, b) => (JSON.stringify(a) < JSON.stringify(b) ? -1 : 1));

const sqlLiteral = (text: string): string => `'${text.replace(/'/g, "''")}'`;

// ---------------------------------------------------------------------------------------------

// Each test runs a few queries on a cold JVM that shares two cores with the rest of the suite.
describe.skipIf(unavailable)(`the named queries on Trino ${TRINO_VERSION} give DuckDB's rows`, { timeout: 60_000 }, () => {
  const events = scenarioEvents();
  let root = '';
  let trino: TrinoServer | undefined;
  let instance: DuckDBInstance;
  let connection: DuckDBConnection;
  let queryMs = 0;
  const onTrino = (sql: string) => trinoQuery(trino!.url, sql, { catalog: trino!.catalog, schema: SCHEMA });

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'clickstream-lake-'));
    const writeLake = async () => {
      instance = await DuckDBInstance.create(':memory:');
      connection = await instance.connect();
      await writeScenarioLake(connection, root, events);
      await createLakeViews(connection, root);
    };
    // The JVM starts while DuckDB writes the lake.
    [trino] = await Promise.all([startTrino(), writeLake()]);
    await onTrino(`CREATE SCHEMA ${trino.catalog}.${SCHEMA}`);
    for (const table of trinoLakeTables(readTemplates(join(ROOT, 'serverless.yml')), root, SCHEMA)) {
      await mkdir(table.directory, { recursive: true });
      await onTrino(table.createTable);
    }
    // The Glue views (infra/resolvers.cjs:athenaViews deploys the same text), each after the views it reads.
    for (const view of views) await onTrino(`CREATE VIEW ${trino.catalog}.${SCHEMA}.${view.name} AS\n${view.sql}`);
  }, 180_000);

  afterAll(async () => {
    if (trino) console.log(`[athena-on-trino] Trino ${TRINO_VERSION} started in ${(trino.startupMs / 1000).toFixed(1)} s; the named queries took ${(queryMs / 1000).toFixed(1)} s on it`);
    await trino?.stop();
    connection?.closeSync();
    if (root) await rm(root, { recursive: true, force: true });
  });

  it('reads every row of the lake, through projected partitions, with the Glue column types', async () => {
    const days = [...new Set(events.map((e) => e.enrichment.event_date))].sort();
    const { rows } = await onTrino('SELECT count(*), count(DISTINCT message_id), count(DISTINCT dt), min(dt), max(dt) FROM events');
    expect(rows).toEqual([[events.length + DUPLICATED_ROWS, events.length, days.length, days[0], days.at(-1)]]);
    const { rows: described } = await onTrino('DESCRIBE events');
    const types = Object.fromEntries(described.map(([name, type]) => [name, type]));
    expect(types).toMatchObject({ event_time: 'timestamp(3)', event_hour: 'integer', lateness_seconds: 'bigint', is_bot: 'boolean', dt: 'varchar', hour: 'integer' });
    // The JSON SerDe's timestamp.formats at work: failed_at is parsed, to the millisecond, as DuckDB parses it.
    const badRows = 'SELECT count(*) AS n, min(failed_at) AS first FROM bad_rows';
    const trinoBadRows = await onTrino(badRows);
    expect(fromTrino(trinoBadRows.columns, trinoBadRows.rows)).toEqual(fromDuckDb((await connection.runAndReadAll(badRows)).getRowObjectsJS().map((r) => ({ ...r, n: Number(r['n']) }))));
  });

  it('has the views with the columns their headers declare (the Glue view\'s columns)', async () => {
    for (const view of views) {
      const { rows } = await onTrino(`DESCRIBE ${view.name}`);
      expect(rows.map(([name, type]) => ({ name, type })), view.name).toEqual(view.columns);
    }
  });

  it.each(queries.map((q): [string, AthenaQuery] => [q.name, q]))('%s', async (_name, query) => {
    const ordered = hasFinalOrderBy(query.sql);
    const approximate = approximateColumns(query.sql);
    for (const range of RANGES) {
      const missing = query.parameters.filter((p) => range[p] === undefined);
      if (missing.length > 0) throw new Error(`${query.name} has parameters this test has no value for: ${missing.join(', ')} (add them to RANGES)`);
      const values = query.parameters.map((p) => range[p]!);

      const duckdb = fromDuckDb(await runAthenaQueryLocally(connection, query, range));
      if (range === RANGES[0]) expect(duckdb.length, `${query.name} finds nothing in the scenario: the comparison would prove little`).toBeGreaterThan(0);
      const began = Date.now();
      const result = await onTrino(`EXECUTE IMMEDIATE ${sqlLiteral(query.sql)}${values.length > 0 ? ` USING ${values.map(sqlLiteral).join(', ')}` : ''}`).catch((error: Error) => {
        throw new Error(`${query.name} fails on Trino ${TRINO_VERSION} with ${JSON.stringify(range)}: ${error.message}`);
      });
      queryMs += Date.now() - began;
      const trinoRows = fromTrino(result.columns, result.rows);

      const label = `${query.name} ${JSON.stringify(range)}`;
      if (duckdb[0]) expect(result.columns.map((c) => c.name), `${label}: columns`).toEqual(Object.keys(duckdb[0]));
      const [t, d] = ordered ? [trinoRows, duckdb] : [sortedRows(trinoRows), sortedRows(duckdb)];
      expect(alignNumbers(t, d, approximate), label).toEqual(d);
    }
  });
});
