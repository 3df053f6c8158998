// Reading a lake Parquet object and writing it again without some of its rows, in plain JavaScript
// (hyparquet, hyparquet-writer): no native library in the Lambda bundle. The rewrite keeps the object's own
// schema, element for element, and the values as stored (timestamps stay integers of their unit), so a
// row that is kept reads back the same in Athena, DuckDB and Trino. One exception: INT96 timestamps
// (what Hive-era writers produce) are written as INT64 microseconds with the TIMESTAMP type, which every
// engine that reads the table reads as the same instant; the writer has no INT96.
import { cachedAsyncBuffer, parquetMetadataAsync, parquetReadObjects, type AsyncBuffer, type FileMetaData, type SchemaElement } from 'hyparquet';
import { parquetWriteBuffer } from 'hyparquet-writer';

/** Decoders that leave values as stored: timestamps as their bigint count of their own unit. */
const AS_STORED = {
  timestampFromMilliseconds: (value: bigint) => value,
  timestampFromMicroseconds: (value: bigint) => value,
  timestampFromNanoseconds: (value: bigint) => value,
};

export type ParquetRow = Record<string, unknown>;

export interface ParquetObject {
  metadata: FileMetaData;
  rows: ParquetRow[];
}

/** An ArrayBuffer of a Node Buffer's bytes (hyparquet reads ArrayBuffers). */
export const arrayBufferOf = (bytes: Uint8Array): ArrayBuffer => bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;

/** Some columns of every row, read through `file` (ranged reads: the footer and those columns' chunks). */
export async function readColumns(file: AsyncBuffer, columns: readonly string[]): Promise<ParquetRow[]> {
  const cached = cachedAsyncBuffer(file);
  const metadata = await parquetMetadataAsync(cached, { parsers: AS_STORED });
  const present = new Set(metadata.schema.slice(1).map((element) => element.name));
  const wanted = columns.filter((column) => present.has(column));
  if (wanted.length === 0 || Number(metadata.num_rows) === 0) return [];
  return parquetReadObjects({ file: cached, metadata, columns: wanted, parsers: AS_STORED });
}

/** Every row and the metadata of a whole object. */
export async function readObject(bytes: Uint8Array): Promise<ParquetObject> {
  const file = arrayBufferOf(bytes);
  const metadata = await parquetMetadataAsync(file, { parsers: AS_STORED });
  const rows = Number(metadata.num_rows) === 0 ? [] : await parquetReadObjects({ file, metadata, parsers: AS_STORED });
  return { metadata, rows };
}

/** The lake's tables are flat: a root and one leaf per column. Anything else is not rewritten here. */
function flatSchema(schema: readonly SchemaElement[]): SchemaElement[] {
  const [root, ...leaves] = schema;
  if (!root || leaves.length !== (root.num_children ?? 0) || leaves.some((leaf) => (leaf.num_children ?? 0) > 0)) {
    throw new Error('the object has nested columns; the lake tables are flat, so it is not one of theirs');
  }
  return [root, ...leaves];
}

const INT96_AS_MICROS = (element: SchemaElement): SchemaElement => ({
  name: element.name,
  type: 'INT64',
  repetition_type: element.repetition_type ?? 'OPTIONAL',
  converted_type: 'TIMESTAMP_MICROS',
  logical_type: { type: 'TIMESTAMP', isAdjustedToUTC: true, unit: 'MICROS' },
});

/** The object's rows, written with its schema (see the top of the file for the one change). */
export function writeObject(metadata: FileMetaData, rows: readonly ParquetRow[]): Uint8Array {
  const schema = flatSchema(metadata.schema);
  const out: SchemaElement[] = [schema[0]!];
  const columnData = schema.slice(1).map((element) => {
    let data: unknown[] = rows.map((row) => row[element.name] ?? null);
    if (element.type === 'INT96') {
      out.push(INT96_AS_MICROS(element));
      data = data.map((v) => (typeof v === 'bigint' ? v / 1000n : v));
    } else {
      out.push(element);
    }
    return { name: element.name, data };
  });
  const kvMetadata = (metadata.key_value_metadata ?? []).filter((kv) => kv.key !== 'ARROW:schema');
  return new Uint8Array(parquetWriteBuffer({ columnData: columnData as never, schema: out, kvMetadata, createdBy: 'clickstream erase (hyparquet-writer)' }));
}
