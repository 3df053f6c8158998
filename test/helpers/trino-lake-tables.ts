// The Glue tables of the deployed stack (AWS::Glue::Table in infra/lake.yml) as Trino Hive tables over a local
// lake directory, so that Trino reads the lake the way Athena does:
//   - the columns and partition keys are schemas/lake-tables.ts's, which the template takes from
//     lake-tables.generated.json (checked here: a Glue table with columns of its own fails);
//   - the storage format follows the table's SerDe;
//   - the table's parameters and its SerDe's are carried over unchanged as table properties: Trino's Hive
//     connector reads partition projection (projection.*, storage.location.template) and the JSON SerDe's
//     timestamp.formats from them, under the same names as Athena. Only s3://<lake bucket>/ becomes the directory.
import { join } from 'node:path';
import type { Templates } from '../../local/template/templates.js';
import { isRecord } from '../../local/template/yaml.js';
import { LAKE_TABLES, type HiveType } from '../../schemas/lake-tables.js';
import { ATHENA_TYPES } from '../../analytics/athena/queries.js';

/** Trino names the Glue types as Athena does (the views' column types are the same names). */
const TRINO_TYPES: Record<HiveType, string> = ATHENA_TYPES;

/** SerializationLibrary → the Hive connector's `format` that reads with the same SerDe. */
const TRINO_FORMATS: Record<string, string> = {
  'org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe': 'PARQUET',
  'org.apache.hive.hcatalog.data.JsonSerDe': 'JSON',
};

/** Where the lake bucket's objects are in the templates: `!Sub "s3://${LakeBucket}/…"`. */
const LAKE_BUCKET_URL = 's3://${LakeBucket}/';

export interface TrinoLakeTable {
  name: string;
  /** The table's directory under the lake root (Trino wants it to exist). */
  directory: string;
  createTable: string;
}

const ident = (name: string): string => `"${name.replace(/"/g, '""')}"`;
const literal = (text: string): string => `'${text.replace(/'/g, "''")}'`;

/** A `!Sub "s3://${LakeBucket}/…"` value as a location under `root`; `${!x}` is Fn::Sub's escape for a literal `${x}`. */
function localLocation(value: unknown, root: string, where: string): string {
  const text = isRecord(value) ? value['Fn::Sub'] : undefined;
  if (typeof text !== 'string' || !text.startsWith(LAKE_BUCKET_URL)) throw new Error(`${where}: expected !Sub "${LAKE_BUCKET_URL}…", got ${JSON.stringify(value)}`);
  const path = text.slice(LAKE_BUCKET_URL.length).replace(/\$\{!/g, '${');
  if (/\$\{(?!\w+\})/.test(path)) throw new Error(`${where}: ${text} has a substitution other than \${!partition}`);
  return `local://${join(root, path)}`;
}

/** The CREATE TABLE statements of every Glue table of the templates, in `schema`, over the lake at `root`. */
export function trinoLakeTables(templates: Templates, root: string, schema: string): TrinoLakeTable[] {
  return templates.resourcesOfType('AWS::Glue::Table').map((logicalId) => {
    const where = `${logicalId} (AWS::Glue::Table)`;
    const properties = templates.resolve(templates.resources.get(logicalId)!.Properties) as Record<string, unknown>;
    const input = isRecord(properties['TableInput']) ? properties['TableInput'] : {};
    const storage = isRecord(input['StorageDescriptor']) ? input['StorageDescriptor'] : {};
    const serde = isRecord(storage['SerdeInfo']) ? storage['SerdeInfo'] : {};
    const table = LAKE_TABLES.find((t) => t.name === input['Name']);
    if (!table) throw new Error(`${where}: the Glue table ${JSON.stringify(input['Name'])} has no columns in schemas/lake-tables.ts`);
    for (const [field, value] of [['StorageDescriptor.Columns', storage['Columns']], ['PartitionKeys', input['PartitionKeys']]] as const) {
      const generated = `\${file(./schemas/lake-tables.generated.json):${table.name}.${field === 'PartitionKeys' ? 'partitionKeys' : 'columns'}}`;
      if (value !== generated) throw new Error(`${where}: ${field} must be ${generated}, the columns this check reads`);
    }
    const format = TRINO_FORMATS[String(serde['SerializationLibrary'])];
    if (!format) throw new Error(`${where}: no Trino format for the SerDe ${JSON.stringify(serde['SerializationLibrary'])}`);

    const parameters = Object.entries({ ...(isRecord(input['Parameters']) ? input['Parameters'] : {}), ...(isRecord(serde['Parameters']) ? serde['Parameters'] : {}) })
      // Trino marks the table EXTERNAL itself (external_location); its own keys are refused as extra properties.
      .filter(([key]) => key !== 'EXTERNAL')
      .map(([key, value]): [string, string] => [key, typeof value === 'string' ? value : isRecord(value) ? localLocation(value, root, `${where} ${key}`) : String(value)]);
    const location = localLocation(storage['Location'], root, `${where} StorageDescriptor.Location`);
    const columns = [...table.columns, ...table.partitionKeys].map((c) => `  ${ident(c.name)} ${TRINO_TYPES[c.type]}`);
    const createTable = [
      `CREATE TABLE ${ident(schema)}.${ident(table.name)} (`,
      columns.join(',\n'),
      ') WITH (',
      `  external_location = ${literal(location)},`,
      `  format = ${literal(format)},`,
      `  partitioned_by = ARRAY[${table.partitionKeys.map((k) => literal(k.name)).join(', ')}],`,
      `  extra_properties = MAP(ARRAY[${parameters.map(([k]) => literal(k)).join(', ')}], ARRAY[${parameters.map(([, v]) => literal(v)).join(', ')}])`,
      ')',
    ].join('\n');
    return { name: table.name, directory: location.slice('local://'.length), createTable };
  });
}
