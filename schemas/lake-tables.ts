// The lake's tables (Glue `events`, `bad_rows`, `aggregates`, `anomalies`, `identities`), derived from the JSON Schemas, never restated:
// the Firehose transform flattens with EVENTS_TABLE.columns, the Glue tables in infra/lake.yml read the
// same list from schemas/lake-tables.generated.json (`npm run gen:tables`, checked by
// test/unit/schemas/lake-tables.test.ts), and test/infra/template.test.ts compares the packaged template.
//
// Derivation rules, applied to schemas/enriched (the record on events-enriched) plus the fields each
// Segment event type adds (event, name, category, groupId, previousId):
//   - a scalar property becomes a column, snake_case, prefixed by its parents (context.page.url → context_page_url);
//   - the members of `enrichment` are column names already (schemas/enriched says so) and keep them;
//   - a dictionary (an object with no declared properties) at the top level becomes a JSON string column
//     (properties, traits, integrations); the Hive JSON SerDe does not turn nested JSON into strings itself;
//   - an open object with declared properties (context) is flattened, and what is left of it after its
//     declared scalars are taken out (app, device, library, screen, …, unknown keys) goes to one JSON string
//     column named after it (`context`);
//   - types: string → string, string with format date-time → timestamp, integer → int when the schema bounds
//     it to 32 bits (else bigint), number → double, boolean → boolean, string|number (Segment ids) → string.
//     Anything else (a union of unrelated types, an array) stops generation instead of guessing.
import { EVENT_TYPES } from './catalog.js';
import aggregatesSchema from './aggregates/1-0-0.json' with { type: 'json' };
import anomaliesSchema from './anomalies/1-0-0.json' with { type: 'json' };
import badRowSchema from './bad-row/1-0-0.json' with { type: 'json' };
import recoveredBadRowSchema from './recovered-bad-row/1-0-0.json' with { type: 'json' };
import enrichedSchema from './enriched/1-0-0.json' with { type: 'json' };
import identitiesSchema from './identities/1-0-0.json' with { type: 'json' };
import aliasSchema from './segment/alias/1-0-0.json' with { type: 'json' };
import commonSchema from './segment/common/1-0-0.json' with { type: 'json' };
import groupSchema from './segment/group/1-0-0.json' with { type: 'json' };
import identifySchema from './segment/identify/1-0-0.json' with { type: 'json' };
import pageSchema from './segment/page/1-0-0.json' with { type: 'json' };
import screenSchema from './segment/screen/1-0-0.json' with { type: 'json' };
import trackSchema from './segment/track/1-0-0.json' with { type: 'json' };

/** Glue / Hive column types the lake uses. */
export type HiveType = 'string' | 'bigint' | 'int' | 'double' | 'boolean' | 'timestamp';
type JsonType = 'string' | 'number' | 'integer' | 'boolean' | 'object' | 'array' | 'null';

/**
 * How a column's value is read from the source record:
 *   value: the scalar at `source`;
 *   json: the JSON text of the value at `source`;
 *   json-extras: the JSON text of the object at `source` without the paths that have columns of their own.
 */
export type ColumnEncoding = 'value' | 'json' | 'json-extras';

export interface LakeColumn {
  name: string;
  type: HiveType;
  /** Path of the value in the source record (schemas/enriched for events, schemas/bad-row for bad rows). */
  source: readonly string[];
  encoding: ColumnEncoding;
  /** The JSON types the schema allows (a Segment id may be a number; the column keeps its text). */
  jsonTypes: readonly JsonType[];
  comment?: string;
}

export interface PartitionKey {
  name: string;
  type: HiveType;
  comment: string;
}

export interface LakeTable {
  name: string;
  /** Key prefix in the lake bucket, with a trailing slash. */
  prefix: string;
  columns: readonly LakeColumn[];
  partitionKeys: readonly PartitionKey[];
}

// ---------------------------------------------------------------------------------------------
// Schema access: $ref resolution across the schema documents, by $id.

interface Schema {
  $id?: string;
  $ref?: string;
  type?: JsonType | JsonType[];
  const?: unknown;
  enum?: unknown[];
  format?: string;
  minimum?: number;
  maximum?: number;
  description?: string;
  properties?: Record<string, Schema>;
  additionalProperties?: boolean | Schema;
  allOf?: Schema[];
  definitions?: Record<string, Schema>;
}

const DOCUMENTS = [commonSchema, enrichedSchema, badRowSchema, recoveredBadRowSchema, aggregatesSchema, anomaliesSchema, identitiesSchema, trackSchema, pageSchema, screenSchema, identifySchema, groupSchema, aliasSchema] as Schema[];
const byId = new Map(DOCUMENTS.map((doc) => [doc.$id!, doc]));
const TYPE_SCHEMAS: Record<(typeof EVENT_TYPES)[number], Schema> = {
  track: trackSchema as Schema,
  page: pageSchema as Schema,
  screen: screenSchema as Schema,
  identify: identifySchema as Schema,
  group: groupSchema as Schema,
  alias: aliasSchema as Schema,
};

/** A schema node with the document it lives in, so relative $refs inside it resolve. */
interface Node {
  schema: Schema;
  base: string;
}

function deref({ schema, base }: Node): Node {
  if (!schema.$ref) return { schema, base };
  const url = new URL(schema.$ref, base);
  const docId = `${url.origin}${url.pathname}`;
  const doc = byId.get(docId);
  if (!doc) throw new Error(`lake tables: unknown schema ${docId} (from ${base})`);
  let target: unknown = doc;
  for (const part of url.hash.replace(/^#\/?/, '').split('/').filter(Boolean)) target = (target as Record<string, unknown>)[part];
  if (!target) throw new Error(`lake tables: ${schema.$ref} does not resolve (from ${base})`);
  // A $ref next to other keywords (description) keeps them: draft-07 ignores them, but the comment is useful.
  return deref({ schema: { ...(target as Schema), ...(schema.description ? { description: schema.description } : {}) }, base: docId });
}

/** The declared properties of a schema and of everything in its allOf, in declaration order (allOf first). */
function propertiesOf(node: Node): [string, Node][] {
  const { schema, base } = deref(node);
  const inherited = (schema.allOf ?? []).flatMap((part) => propertiesOf({ schema: part, base }));
  const own = Object.entries(schema.properties ?? {}).map(([name, s]): [string, Node] => [name, { schema: s, base }]);
  return [...inherited, ...own];
}

function jsonTypesOf(schema: Schema): JsonType[] {
  if (schema.type !== undefined) return Array.isArray(schema.type) ? schema.type : [schema.type];
  const literals = schema.const !== undefined ? [schema.const] : (schema.enum ?? []);
  const types = new Set(literals.map((v): JsonType => (v === null ? 'null' : (typeof v as JsonType))));
  return [...types];
}

const INT32 = { min: -(2 ** 31), max: 2 ** 31 - 1 };

function hiveTypeOf(schema: Schema, where: string): HiveType {
  const types = jsonTypesOf(schema).filter((t) => t !== 'null');
  const only = (...allowed: JsonType[]) => types.length > 0 && types.every((t) => allowed.includes(t));
  if (only('string')) return schema.format === 'date-time' ? 'timestamp' : 'string';
  if (only('integer')) {
    const bounded = schema.minimum !== undefined && schema.maximum !== undefined && schema.minimum >= INT32.min && schema.maximum <= INT32.max;
    return bounded ? 'int' : 'bigint';
  }
  if (only('number', 'integer')) return 'double';
  if (only('boolean')) return 'boolean';
  // Segment ids and `version` may be sent as numbers; the column keeps them as text.
  if (only('string', 'number', 'integer')) return 'string';
  throw new Error(`lake tables: no column type for ${where} (${JSON.stringify(schema.type ?? schema.enum ?? schema.const)})`);
}

const snake = (name: string): string => name.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toLowerCase();

// Glue column comments are at most 255 characters.
const comment = (schema: Schema): { comment?: string } =>
  schema.description ? { comment: schema.description.length <= 255 ? schema.description : `${schema.description.slice(0, 254)}…` } : {};

const isDictionary = (s: Schema): boolean => jsonTypesOf(s).includes('object') && s.properties === undefined;
const isObjectWithProperties = (s: Schema): boolean => jsonTypesOf(s).includes('object') && s.properties !== undefined;

// ---------------------------------------------------------------------------------------------
// Table-specific policy: the only choices not read from the schemas, each with its reason.

/** Objects whose members are column names already (schemas/enriched: "they become columns as they are"). */
const UNPREFIXED_OBJECTS = new Set(['enrichment']);
/** `timestamp` is a type name in Hive DDL and Flink SQL, so a column of that name needs quoting everywhere. */
const RENAMED: Record<string, string> = { timestamp: 'event_time' };

class ColumnCollector {
  readonly columns: LakeColumn[] = [];

  add(column: LakeColumn): void {
    if (!/^[a-z][a-z0-9_]*$/.test(column.name)) throw new Error(`lake tables: column name ${column.name} is not a Hive identifier`);
    const existing = this.columns.find((c) => c.name === column.name);
    if (!existing) {
      this.columns.push(column);
      return;
    }
    // The same field in several event schemas (messageId in base and enriched): one column, one type.
    if (existing.type !== column.type || existing.source.join('.') !== column.source.join('.')) {
      throw new Error(`lake tables: ${column.name} is both ${existing.type} (${existing.source.join('.')}) and ${column.type} (${column.source.join('.')})`);
    }
    existing.jsonTypes = [...new Set([...existing.jsonTypes, ...column.jsonTypes])];
    if (!existing.comment && column.comment) existing.comment = column.comment;
  }
}

/** Columns for the declared scalars under an object (recursively), named with `prefix`. */
function addScalarColumns(out: ColumnCollector, node: Node, path: string[], prefix: string): void {
  for (const [name, child] of propertiesOf(node)) {
    const schema = deref(child).schema;
    if (isObjectWithProperties(schema)) addScalarColumns(out, deref(child), [...path, name], `${prefix}${snake(name)}_`);
    else if (!isDictionary(schema)) {
      out.add({ name: `${prefix}${snake(name)}`, type: hiveTypeOf(schema, [...path, name].join('.')), source: [...path, name], encoding: 'value', jsonTypes: jsonTypesOf(schema), ...comment(schema) });
    }
    // Dictionaries below the top level stay in the parent's extras column.
  }
}

function topLevelColumns(out: ColumnCollector, name: string, node: Node): void {
  const schema = deref(node).schema;
  if (UNPREFIXED_OBJECTS.has(name)) return addScalarColumns(out, deref(node), [name], '');
  if (isDictionary(schema)) {
    return out.add({ name: snake(name), type: 'string', source: [name], encoding: 'json', jsonTypes: ['object'], comment: `${name} as JSON text` });
  }
  if (isObjectWithProperties(schema)) {
    addScalarColumns(out, deref(node), [name], `${snake(name)}_`);
    if (schema.additionalProperties !== false) {
      out.add({ name: snake(name), type: 'string', source: [name], encoding: 'json-extras', jsonTypes: ['object'],
        comment: `The rest of ${name} as JSON text: what has no ${snake(name)}_* column of its own` });
    }
    return;
  }
  const column = RENAMED[name] ?? snake(name);
  out.add({ name: column, type: hiveTypeOf(schema, name), source: [name], encoding: 'value', jsonTypes: jsonTypesOf(schema), ...comment(schema) });
}

function eventsColumns(): LakeColumn[] {
  const out = new ColumnCollector();
  const enriched: Node = { schema: enrichedSchema as Schema, base: enrichedSchema.$id };
  // Base fields first (they lead every event), then what each event type adds, then the enrich stage's own.
  const all = [
    ...propertiesOf(enriched),
    ...EVENT_TYPES.flatMap((t) => propertiesOf({ schema: TYPE_SCHEMAS[t], base: TYPE_SCHEMAS[t].$id! })),
  ];
  const ordered = [...all.filter(([n]) => n !== 'enrichment'), ...all.filter(([n]) => n === 'enrichment')];
  for (const [name, node] of ordered) topLevelColumns(out, name, node);
  return out.columns;
}

/** One column per top-level property of a flat record schema (bad rows, the Flink job's rows). */
function recordColumns(schema: { $id: string }): LakeColumn[] {
  const out = new ColumnCollector();
  for (const [name, node] of propertiesOf({ schema: schema as Schema, base: schema.$id })) topLevelColumns(out, name, node);
  return out.columns;
}

function enrichmentField(name: string): Schema {
  const field = propertiesOf({ schema: enrichedSchema as Schema, base: enrichedSchema.$id }).find(([n]) => n === 'enrichment');
  const member = propertiesOf(deref(field![1])).find(([n]) => n === name);
  if (!member) throw new Error(`lake tables: enrichment.${name} is not in schemas/enriched`);
  return deref(member[1]).schema;
}

/** events: one row per enriched event, Parquet, partitioned by the UTC date and hour of the event time. */
export const EVENTS_TABLE: LakeTable = {
  name: 'events',
  prefix: 'events/',
  columns: eventsColumns(),
  // Same values as enrichment.event_date / event_hour; Firehose writes them into the path, not the file.
  partitionKeys: [
    { name: 'dt', type: hiveTypeOf(enrichmentField('event_date'), 'enrichment.event_date'), comment: 'UTC date of the event time (YYYY-MM-DD)' },
    { name: 'hour', type: hiveTypeOf(enrichmentField('event_hour'), 'enrichment.event_hour'), comment: 'UTC hour of the event time (0-23; 2 digits in the path)' },
  ],
};

/** bad_rows: the enrich stage's bad rows, JSON lines, partitioned by the arrival date of their batch (functions/enrich/bad-rows.ts). */
export const BAD_ROWS_TABLE: LakeTable = {
  name: 'bad_rows',
  prefix: 'bad-rows/',
  columns: recordColumns(badRowSchema),
  partitionKeys: [{ name: 'dt', type: 'string', comment: 'UTC date the batch reached events-raw (YYYY-MM-DD)' }],
};

/** recovered_bad_rows: the bad rows a recovery sent back (functions/recover/recover.ts), JSON lines, by the day of the run. */
export const RECOVERED_BAD_ROWS_TABLE: LakeTable = {
  name: 'recovered_bad_rows',
  prefix: 'bad-rows-recovered/',
  columns: recordColumns(recoveredBadRowSchema),
  partitionKeys: [{ name: 'dt', type: 'string', comment: 'UTC date of the recovery run (YYYY-MM-DD)' }],
};

/** The Flink job's rows are partitioned by their window's start, the event time they describe (not arrival). */
const WINDOW_PARTITION_KEYS: readonly PartitionKey[] = [
  { name: 'dt', type: EVENTS_TABLE.partitionKeys[0]!.type, comment: 'UTC date of window_start (YYYY-MM-DD)' },
  { name: 'hour', type: EVENTS_TABLE.partitionKeys[1]!.type, comment: 'UTC hour of window_start (0-23; 2 digits in the path)' },
];

/** aggregates: the Flink job's rows on the aggregates stream (schemas/aggregates), Parquet, by dt/hour of window_start. */
export const AGGREGATES_TABLE: LakeTable = {
  name: 'aggregates',
  prefix: 'aggregates/',
  columns: recordColumns(aggregatesSchema),
  partitionKeys: WINDOW_PARTITION_KEYS,
};

/** anomalies: the Flink job's rows on the anomalies stream (schemas/anomalies), Parquet, by dt/hour of window_start. */
export const ANOMALIES_TABLE: LakeTable = {
  name: 'anomalies',
  prefix: 'anomalies/',
  columns: recordColumns(anomaliesSchema),
  partitionKeys: WINDOW_PARTITION_KEYS,
};

/**
 * identities: the links between ids the enrich stage saw (schemas/identities), Parquet, partitioned by the
 * kind of link (`link`: identify, alias, event), not by date. The views of analytics/athena/views read the
 * table whole on every query, several times over (each reference to a view is planned on its own), and
 * partition projection lists every partition of a date range (a thousand days since 2024, 25,000 hours):
 * three partitions are three listings, and alias resolution reads the small `alias` partition only.
 */
export const IDENTITIES_TABLE: LakeTable = {
  name: 'identities',
  prefix: 'identities/',
  // `link` is the partition key: Firehose writes it into the path, not the file.
  columns: recordColumns(identitiesSchema).filter((c) => c.name !== 'link'),
  partitionKeys: [{ name: 'link', type: 'string', comment: 'identify, alias or event (schemas/identities link): the kind of call that showed the link' }],
};

export const LAKE_TABLES = [EVENTS_TABLE, BAD_ROWS_TABLE, RECOVERED_BAD_ROWS_TABLE, AGGREGATES_TABLE, ANOMALIES_TABLE, IDENTITIES_TABLE] as const;

export interface GlueColumn {
  Name: string;
  Type: HiveType;
  Comment?: string;
}

export const glueColumns = (columns: readonly (LakeColumn | PartitionKey)[]): GlueColumn[] =>
  columns.map((c) => ({ Name: c.name, Type: c.type, ...(c.comment ? { Comment: c.comment } : {}) }));

/** What schemas/lake-tables.generated.json holds: the Glue columns and partition keys of each table. */
export function lakeTablesDocument(): Record<string, { columns: GlueColumn[]; partitionKeys: GlueColumn[] }> {
  return Object.fromEntries(LAKE_TABLES.map((t) => [t.name, { columns: glueColumns(t.columns), partitionKeys: glueColumns(t.partitionKeys) }]));
}
