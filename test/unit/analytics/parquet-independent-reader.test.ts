// The Parquet the lake gets is standard: hyparquet, a reader that shares no code with the writer
// (DuckDB), reads the files, and their columns and types are the Glue table's.
import { DuckDBInstance } from '@duckdb/node-api';
import { parquetMetadata, parquetReadObjects, parquetSchema } from 'hyparquet';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeParquet } from '../../../local/firehose/parquet.js';
import type { FlatRow } from '../../../schemas/lake-rows.js';
import { transformRecord } from '../../../functions/firehose-transform/transform-records.js';
import { EVENTS_TABLE, type HiveType } from '../../../schemas/lake-tables.js';
import { enrichedEvent } from '../../helpers/lake.js';

/** What each Glue type must be in the file, as Athena reads Parquet. */
function parquetTypeOf(element: { type?: string; converted_type?: string; logical_type?: { type: string } }): HiveType | 'unknown' {
  const logical = element.logical_type?.type;
  if (element.type === 'BYTE_ARRAY' && (logical === 'STRING' || element.converted_type === 'UTF8')) return 'string';
  if (element.type === 'INT64' && (logical === 'TIMESTAMP' || element.converted_type?.startsWith('TIMESTAMP'))) return 'timestamp';
  if (element.type === 'INT96') return 'timestamp';
  if (element.type === 'INT64') return 'bigint';
  if (element.type === 'INT32') return 'int';
  if (element.type === 'DOUBLE') return 'double';
  if (element.type === 'BOOLEAN') return 'boolean';
  return 'unknown';
}

let dir: string;
let file: string;
const ids = ['pq-1', 'pq-2', 'pq-3'];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'parquet-reader-'));
  file = join(dir, 'events', 'dt=2026-11-22', 'hour=10', 'part.parquet');
  // Rows exactly as the Firehose transform emits them for Firehose's conversion.
  const rows = ids.map((messageId) => {
    const prepared = transformRecord(Buffer.from(JSON.stringify(enrichedEvent({ messageId }))).toString('base64'));
    if (prepared.ok !== true) throw new Error(prepared.ok === false ? prepared.error.message : "erased");
    return JSON.parse(Buffer.from(prepared.data, 'base64').toString('utf8')) as FlatRow;
  });
  const instance = await DuckDBInstance.create(':memory:');
  const connection = await instance.connect();
  await writeParquet(connection, EVENTS_TABLE, rows, file);
  connection.closeSync();
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('lake Parquet, read by an independent reader', () => {
  it('has exactly the Glue columns, in order, with matching types', async () => {
    const buffer = await readFile(file);
    const metadata = parquetMetadata(buffer.buffer.slice(buffer.byteOffset, buffer.byteOffset + buffer.byteLength));
    const leaves = parquetSchema(metadata).children.map((c) => c.element);
    expect(leaves.map((e) => e.name)).toEqual(EVENTS_TABLE.columns.map((c) => c.name));
    expect(leaves.map((e) => parquetTypeOf(e))).toEqual(EVENTS_TABLE.columns.map((c) => c.type));
    expect(Number(metadata.num_rows)).toBe(ids.length);
    expect(metadata.row_groups[0]!.columns[0]!.meta_data?.codec).toBe('SNAPPY');
  });

  it('reads back the rows the transform produced', async () => {
    const buffer = await readFile(file);
    const rows = await parquetReadObjects({ file: buffer.buffer.slice(buffer.byteOffset, buffer.byteOffset + buffer.byteLength) });
    expect(rows.map((r) => r['message_id'])).toEqual(ids);
    expect(rows[0]!['event_time']).toBeInstanceOf(Date);
    expect(rows[0]!['event_date']).toBe('2026-11-22');
  });
});
