// Firehose's record format conversion, locally: rows of a lake table (as the transform emits them, checked
// against schemas/lake-rows.ts) to one Snappy Parquet file with the Glue table's column types, via DuckDB.
import type { DuckDBConnection } from '@duckdb/node-api';
import { randomUUID } from 'node:crypto';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { duckDbType, literal, ident, struct } from '../../analytics/athena/duckdb-lake.js';
import type { FlatRow } from '../../schemas/lake-rows.js';
import type { LakeTable } from '../../schemas/lake-tables.js';

/**
 * Writes rows of `table` (as the Firehose transform emits them: timestamps in epoch ms, NULLs left out)
 * to one Snappy Parquet file with the table's column types, the way Firehose's conversion does.
 * Partition columns are not in the file: they are in its path.
 */
export async function writeParquet(connection: DuckDBConnection, table: LakeTable, rows: readonly FlatRow[], file: string): Promise<void> {
  await mkdir(dirname(file), { recursive: true });
  const staging = `${file}.${randomUUID()}.jsonl`;
  await writeFile(staging, rows.map((r) => JSON.stringify(r)).join('\n') + '\n');
  try {
    // Timestamps arrive as epoch milliseconds (TimestampFormats: millis), so they are read as BIGINT first.
    const readTypes = table.columns.map((c): [string, string] => [c.name, c.type === 'timestamp' ? 'BIGINT' : duckDbType(c.type)]);
    const select = table.columns
      .map((c) => (c.type === 'timestamp' ? `epoch_ms(${ident(c.name)}) AS ${ident(c.name)}` : ident(c.name)))
      .join(', ');
    await connection.run(
      `COPY (SELECT ${select} FROM read_json(${literal(staging)}, format = 'newline_delimited', columns = ${struct(readTypes)}))
       TO ${literal(file)} (FORMAT parquet, COMPRESSION snappy)`,
    );
  } finally {
    await rm(staging, { force: true });
  }
}
