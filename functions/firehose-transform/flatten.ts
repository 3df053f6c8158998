// An enriched event → one row of the events table (schemas/lake-tables.ts), as the JSON Firehose's Hive
// JSON SerDe reads: typed scalars, timestamps as epoch milliseconds, JSON columns as JSON text. NULL
// columns are left out (the SerDe reads a missing key as NULL), which keeps the Lambda response small.
import type { LakeColumn } from '../../schemas/lake-tables.js';
import type { FlatRow } from '../../schemas/lake-rows.js';

type Json = Record<string, unknown>;

const isPlainObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

function valueAt(record: Json, path: readonly string[]): unknown {
  let value: unknown = record;
  for (const key of path) {
    if (!isPlainObject(value)) return undefined;
    value = value[key];
  }
  return value;
}

/** `object` without the leaves at `paths` (relative to it), dropping objects they leave empty. Copies only what it changes. */
function withoutPaths(object: Json, paths: readonly (readonly string[])[]): Json {
  const copy: Json = { ...object };
  const byHead = new Map<string, (readonly string[])[]>();
  for (const [head, ...rest] of paths) byHead.set(head!, [...(byHead.get(head!) ?? []), rest]);
  for (const [key, rests] of byHead) {
    if (!(key in copy)) continue;
    if (rests.some((r) => r.length === 0)) delete copy[key];
    else if (isPlainObject(copy[key])) {
      const inner = withoutPaths(copy[key], rests);
      if (Object.keys(inner).length === 0) delete copy[key];
      else copy[key] = inner;
    }
  }
  return copy;
}

type Reader = (record: Json, row: FlatRow) => void;

function reader(column: LakeColumn, columns: readonly LakeColumn[]): Reader {
  const { name, source } = column;
  switch (column.encoding) {
    case 'json':
      return (record, row) => {
        const value = valueAt(record, source);
        if (value !== undefined && value !== null) row[name] = JSON.stringify(value);
      };
    case 'json-extras': {
      // The leaves that have columns of their own, relative to this object.
      const taken = columns
        .filter((c) => c.encoding === 'value' && c.source.length > source.length && source.every((s, i) => c.source[i] === s))
        .map((c) => c.source.slice(source.length));
      return (record, row) => {
        const value = valueAt(record, source);
        if (!isPlainObject(value)) {
          if (value !== undefined && value !== null) row[name] = JSON.stringify(value);
          return;
        }
        const rest = withoutPaths(value, taken);
        if (Object.keys(rest).length > 0) row[name] = JSON.stringify(rest);
      };
    }
    case 'value': {
      const numbersAsText = column.type === 'string' && column.jsonTypes.some((t) => t === 'number' || t === 'integer');
      return (record, row) => {
        const value = valueAt(record, source);
        if (value === undefined || value === null) return;
        if (column.type === 'timestamp' && typeof value === 'string') {
          const ms = Date.parse(value);
          // Left as text when it does not parse: assertFirehoseCompatible then names the column.
          row[name] = Number.isNaN(ms) ? value : ms;
        } else if (numbersAsText && typeof value === 'number') {
          row[name] = String(value);
        } else {
          row[name] = value as FlatRow[string];
        }
      };
    }
  }
}

/** Builds the flattening for a table's columns once; the returned function is the per-record work. */
export function createFlattener(columns: readonly LakeColumn[]): (record: Json) => FlatRow {
  const readers = columns.map((c) => reader(c, columns));
  return (record) => {
    const row: FlatRow = {};
    for (const read of readers) read(record, row);
    return row;
  };
}
