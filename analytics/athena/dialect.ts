// Athena (Trino) → DuckDB: the analyses are written for Athena, the deployed engine, in the subset both
// engines share (date_diff, INTERVAL literals, window functions, max_by, CASE inside COUNT(DISTINCT)).
// Where they differ the local runner rewrites the text with the substitutions below, and only these; a
// query that needs more should be rewritten to the shared subset instead of growing this list.
export interface Substitution {
  athena: RegExp;
  duckdb: string;
  why: string;
}

export const DUCKDB_SUBSTITUTIONS: readonly Substitution[] = [
  {
    athena: /\bapprox_percentile\s*\(/gi,
    duckdb: 'approx_quantile(',
    why: 'Trino has approx_percentile(x, p) and no exact percentile; DuckDB calls the same aggregate approx_quantile(x, p)',
  },
];

/** The DuckDB text of an Athena query. */
export const toDuckDbSql = (sql: string): string => DUCKDB_SUBSTITUTIONS.reduce((text, s) => text.replace(s.athena, s.duckdb), sql);
