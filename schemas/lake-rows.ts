// The lake's row contract: what Firehose's record format conversion accepts, checked by the transform
// Lambda before it answers Ok and by the local Firehose before it converts, so both refuse what AWS would
// refuse. Firehose reads each transformed record with the Hive JSON SerDe (DataFormatConversionConfiguration
// in infra/lake.yml) against the Glue table's columns, then writes Parquet:
//   - timestamps are epoch milliseconds (TimestampFormats: ['millis'], declared once here);
//   - numeric columns must be JSON numbers: the Hive SerDe errors on {"a":"123"} for an int column;
//   - nested JSON is not turned into a string: JSON columns carry JSON text;
//   - no periods in column names.
// Stricter than AWS on purpose in two places: an unknown key (AWS drops it silently, which would be lost
// data) and a string column given a number (AWS keeps its text; our flattening never emits one).
// Source: Amazon Data Firehose developer guide, "Convert input data format" (Hive JSON SerDe), and the
// HiveJsonSerDe API reference (TimestampFormats, `millis`).
import type { HiveType, LakeColumn } from './lake-tables.js';

/** The deserializer configuration infra/lake.yml declares: `HiveJsonSerDe: { TimestampFormats: [millis] }`. */
export const HIVE_JSON_TIMESTAMP_FORMATS = ['millis'] as const;

const INT32 = { min: -(2 ** 31), max: 2 ** 31 - 1 };
/** java.sql.Timestamp as Hive writes it to Parquet: years 0001 to 9999. */
const TIMESTAMP_MS = { min: Date.parse('0001-01-01T00:00:00.000Z'), max: Date.parse('9999-12-31T23:59:59.999Z') };

/** A row of a lake table as the transform emits it: column name → JSON value. */
export type FlatRow = Record<string, string | number | boolean | null>;

/** A row the Hive JSON SerDe (Firehose's deserializer) would refuse or silently change. */
export class LakeRowError extends Error {
  override name = 'LakeRowError';
  constructor(
    message: string,
    readonly column: string,
  ) {
    super(message);
  }
}

function checkValue(type: HiveType, value: unknown): string | undefined {
  switch (type) {
    case 'string':
      return typeof value === 'string' ? undefined : `must be a JSON string, got ${describe(value)}`;
    case 'boolean':
      return typeof value === 'boolean' ? undefined : `must be true or false, got ${describe(value)}`;
    case 'double':
      return typeof value === 'number' && Number.isFinite(value) ? undefined : `must be a finite JSON number, got ${describe(value)}`;
    case 'int':
      return Number.isInteger(value) && (value as number) >= INT32.min && (value as number) <= INT32.max
        ? undefined
        : `must be a 32-bit integer JSON number, got ${describe(value)}`;
    case 'bigint':
      return Number.isSafeInteger(value) ? undefined : `must be an integer JSON number within ±2^53, got ${describe(value)}`;
    case 'timestamp':
      return Number.isSafeInteger(value) && (value as number) >= TIMESTAMP_MS.min && (value as number) <= TIMESTAMP_MS.max
        ? undefined
        : `must be epoch milliseconds (TimestampFormats millis) between years 1 and 9999, got ${describe(value)}`;
  }
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object') return 'an object';
  const text = JSON.stringify(value) ?? String(value);
  return `${typeof value} ${text.length > 40 ? `${text.slice(0, 40)}…` : text}`;
}

const typesByTable = new WeakMap<readonly Pick<LakeColumn, 'name' | 'type'>[], Map<string, HiveType>>();

/** Column name → type, built once per column list (the check runs per record). */
function columnTypes(columns: readonly Pick<LakeColumn, 'name' | 'type'>[]): Map<string, HiveType> {
  let types = typesByTable.get(columns);
  if (!types) typesByTable.set(columns, (types = new Map(columns.map((c) => [c.name, c.type]))));
  return types;
}

/**
 * Throws LakeRowError unless Firehose's Hive JSON SerDe would read `row` into `columns`
 * unchanged. Null or absent means NULL for every column.
 */
export function assertFirehoseCompatible(row: unknown, columns: readonly Pick<LakeColumn, 'name' | 'type'>[]): asserts row is FlatRow {
  if (row === null || typeof row !== 'object' || Array.isArray(row)) {
    throw new LakeRowError(`a record must be one JSON object, got ${describe(row)}`, '(record)');
  }
  const types = columnTypes(columns);
  for (const [key, value] of Object.entries(row)) {
    const type = types.get(key);
    if (type === undefined) {
      const hint = key.includes('.') ? ' (periods are not allowed in column names)' : key !== key.toLowerCase() ? ' (columns are lower case)' : '';
      throw new LakeRowError(`${key} is not a column of the table${hint}: Firehose would drop it`, key);
    }
    if (value === null) continue;
    const problem = checkValue(type, value);
    if (problem) throw new LakeRowError(`${key} (${type}) ${problem}`, key);
  }
}
