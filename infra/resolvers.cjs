/* global module, require, __dirname, Buffer */
'use strict';
const { readdirSync, readFileSync } = require('node:fs');
const { join } = require('node:path');
// Small value transformations that the Serverless variable syntax cannot express.
// Loaded by osls through `${file(./infra/resolvers.cjs):<name>}` (CommonJS because osls
// `require`s it; the package itself is "type": "module", hence the .cjs suffix).
// Each export receives osls' `{ resolveVariable }` and must stay offline: no AWS calls.

/**
 * `allowedOrigins` param ("*" or "https://a.example,https://b.example") as the array httpApi.cors wants.
 * The API allows credentials (Snowplow's tracker sends them), and API Gateway refuses "*" with
 * credentials ("allow-credentials is not supported if 'allow-origin' is *"): "*" becomes its scheme
 * wildcards, which API Gateway answers by echoing the page's origin.
 */
async function allowedOriginsList({ resolveVariable }) {
  const raw = String(await resolveVariable('param:allowedOrigins'));
  const origins = raw
    .split(',')
    .map((origin) => origin.trim())
    .filter((origin) => origin.length > 0);
  if (origins.length === 0) {
    throw new Error('param allowedOrigins is empty: use "*" or a comma-separated list of origins');
  }
  return origins.includes('*') ? ['https://*', 'http://*'] : origins;
}

/**
 * Resource part of an SSM parameter ARN ("parameter/clickstream/dev/write-keys") for the
 * `writeKeysParameter` param. SSM ARNs drop the leading "/" of hierarchical names, so
 * "/a/b" and "a" map to "parameter/a/b" and "parameter/a".
 */
async function writeKeysParameterArnResource({ resolveVariable }) {
  const name = String(await resolveVariable('param:writeKeysParameter')).trim();
  if (name.length === 0 || name.includes('*')) {
    throw new Error(`param writeKeysParameter must be one SSM parameter name, got "${name}"`);
  }
  return `parameter/${name.replace(/^\/+/, '')}`;
}

/** A Kinesis stream mode param, validated so a typo fails at package time instead of mid-deploy. */
async function streamMode(resolveVariable, paramName) {
  const mode = String(await resolveVariable(`param:${paramName}`)).trim().toUpperCase();
  if (mode !== 'ON_DEMAND' && mode !== 'PROVISIONED') {
    throw new Error(`param ${paramName} must be ON_DEMAND or PROVISIONED, got "${mode}"`);
  }
  return mode;
}

/** `rawStreamMode` param (events-raw). */
const rawStreamMode = ({ resolveVariable }) => streamMode(resolveVariable, 'rawStreamMode');

/** `enrichedStreamMode` param (events-enriched; defaults to the raw stream's mode). */
const enrichedStreamMode = ({ resolveVariable }) => streamMode(resolveVariable, 'enrichedStreamMode');

/** `analyticsStreamMode` param (aggregates and anomalies, the Flink job's outputs). */
const analyticsStreamMode = ({ resolveVariable }) => streamMode(resolveVariable, 'analyticsStreamMode');

/**
 * Glue database name for the stage: Glue and Athena want lower case letters, digits and underscores
 * ("clickstream-ci-overrides" → "clickstream_ci_overrides").
 */
async function glueDatabaseName({ resolveVariable }) {
  const service = String(await resolveVariable('self:service'));
  const stage = String(await resolveVariable('sls:stage'));
  return `${service}_${stage}`.toLowerCase().replace(/[^a-z0-9_]/g, '_');
}

/**
 * `firehoseBufferSizeMB` param, checked: with record format conversion Firehose refuses a buffer under
 * 64 MiB (Firehose developer guide, "Convert input data format", API section); 128 is its maximum.
 */
async function firehoseBufferSizeMB({ resolveVariable }) {
  const size = Number(await resolveVariable('param:firehoseBufferSizeMB'));
  if (!Number.isInteger(size) || size < 64 || size > 128) {
    throw new Error(`param firehoseBufferSizeMB must be an integer from 64 to 128 (Parquet conversion needs >= 64), got ${size}`);
  }
  return size;
}

/** "top_pages" → "TopPages" */
const pascal = (name) => name.split('_').map((w) => w.charAt(0).toUpperCase() + w.slice(1)).join('');

/**
 * One AWS::Athena::NamedQuery per analytics/athena/*.sql, read at package time, so the SQL lives in its
 * file only. The description is the file's first comment line. Returned as a CloudFormation fragment
 * for serverless.yml `resources:`.
 */
async function athenaNamedQueries() {
  const dir = join(__dirname, '..', 'analytics', 'athena');
  const files = readdirSync(dir).filter((f) => f.endsWith('.sql')).sort();
  if (files.length === 0) throw new Error(`no .sql file in ${dir}`);
  const Resources = {};
  for (const file of files) {
    const name = file.slice(0, -'.sql'.length);
    if (!/^[a-z][a-z0-9_]*$/.test(name)) throw new Error(`analytics/athena/${file}: name query files in snake_case`);
    const sql = readFileSync(join(dir, file), 'utf8');
    const summary = /^--\s*(.+)$/m.exec(sql);
    if (!summary || !sql.startsWith('--')) throw new Error(`analytics/athena/${file} must start with a header comment`);
    if (sql.includes('${')) throw new Error(`analytics/athena/${file}: "\${" would be read as a Serverless variable`);
    Resources[`AthenaQuery${pascal(name)}`] = {
      Type: 'AWS::Athena::NamedQuery',
      Properties: {
        Name: name,
        Description: summary[1].trim().slice(0, 1024),
        Database: { Ref: 'GlueDatabase' },
        WorkGroup: { Ref: 'AthenaWorkGroup' },
        QueryString: sql,
      },
    };
  }
  return { Resources };
}

/** Athena's type names (as in a view's definition) → the Glue column types of the view's StorageDescriptor. */
const GLUE_TYPES = { varchar: 'string', bigint: 'bigint', integer: 'int', double: 'double', boolean: 'boolean', 'timestamp(3)': 'timestamp' };
const ATHENA_TYPES = Object.fromEntries(Object.entries(GLUE_TYPES).map(([athena, glue]) => [glue, athena]));

/**
 * One Glue view per analytics/athena/views/*.sql, read at package time, in the form Athena itself stores a
 * view it created (TableType VIRTUAL_VIEW, the definition as base64 JSON in ViewOriginalText), so the views
 * exist as soon as the stack does and are redeployed with it. The header's `-- Columns:` line gives the
 * columns, `<table>.*` every column of a lake table (schemas/lake-tables.generated.json), partition keys
 * last; analytics/athena/queries.ts reads the same header, and the tests check it against DuckDB and Trino.
 */
async function athenaViews(options) {
  const dir = join(__dirname, '..', 'analytics', 'athena', 'views');
  const tables = JSON.parse(readFileSync(join(__dirname, '..', 'schemas', 'lake-tables.generated.json'), 'utf8'));
  const database = await glueDatabaseName(options);
  const Resources = {};
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.sql')).sort()) {
    const name = file.slice(0, -'.sql'.length);
    const where = `analytics/athena/views/${file}`;
    if (!/^[a-z][a-z0-9_]*$/.test(name)) throw new Error(`${where}: name view files in snake_case`);
    const sql = readFileSync(join(dir, file), 'utf8');
    const summary = /^--\s*(.+)$/m.exec(sql);
    const columnsLine = /^--\s*Columns:\s*(.*)$/m.exec(sql);
    if (!summary || !sql.startsWith('--') || !columnsLine) throw new Error(`${where} must start with a header comment with a "-- Columns:" line`);
    if (sql.includes('${')) throw new Error(`${where}: "\${" would be read as a Serverless variable`);
    const columns = columnsLine[1].split(',').map((c) => c.trim()).filter(Boolean).flatMap((entry) => {
      const all = /^([a-z_]+)\.\*$/.exec(entry);
      if (all) {
        const table = tables[all[1]];
        if (!table) throw new Error(`${where}: ${entry} names no lake table`);
        return [...table.columns, ...table.partitionKeys].map((c) => ({ name: c.Name, type: ATHENA_TYPES[c.Type] }));
      }
      const [column, type] = entry.split(/\s+/);
      if (!GLUE_TYPES[type]) throw new Error(`${where}: column ${column} has type ${type}, not one of ${Object.keys(GLUE_TYPES).join(', ')}`);
      return [{ name: column, type }];
    });
    const definition = { originalSql: sql, catalog: 'awsdatacatalog', schema: database, columns };
    Resources[`AthenaView${pascal(name)}`] = {
      Type: 'AWS::Glue::Table',
      Properties: {
        CatalogId: { Ref: 'AWS::AccountId' },
        DatabaseName: { Ref: 'GlueDatabase' },
        TableInput: {
          Name: name,
          Description: summary[1].trim().slice(0, 2048),
          TableType: 'VIRTUAL_VIEW',
          Parameters: { presto_view: 'true', comment: 'Presto View' },
          ViewOriginalText: `/* Presto View: ${Buffer.from(JSON.stringify(definition)).toString('base64')} */`,
          ViewExpandedText: '/* Presto View */',
          StorageDescriptor: {
            Columns: columns.map((c) => ({ Name: c.name, Type: GLUE_TYPES[c.type] })),
            SerdeInfo: {},
          },
        },
      },
    };
  }
  return { Resources };
}

/**
 * `ingestFunctionUrl` param as the boolean `url:` wants: a param given on the command line
 * (--param="ingestFunctionUrl=true") arrives as a string, which osls' schema would refuse.
 */
async function ingestFunctionUrl({ resolveVariable }) {
  const raw = String(await resolveVariable('param:ingestFunctionUrl')).trim().toLowerCase();
  if (raw !== 'true' && raw !== 'false') throw new Error(`param ingestFunctionUrl must be true or false, got "${raw}"`);
  return raw === 'true';
}

/**
 * The checkov suppression of the ingest function URL, only where there is one: osls refuses an
 * extension of a resource the stack does not have. Same form and rules as infra/checkov-suppressions.yml.
 */
async function ingestFunctionUrlSuppressions(options) {
  if (!(await ingestFunctionUrl(options))) return {};
  return {
    extensions: {
      IngestLambdaFunctionUrl: {
        Metadata: {
          checkov: {
            skip: [
              {
                id: 'CKV_AWS_258', // function URL AuthType not NONE
                comment:
                  'Browser and phone SDKs cannot sign IAM (SigV4) requests; the function authenticates every request itself (write key, or a Snowplow app id tied to one), exactly as behind the HTTP API, which has no IAM auth either',
              },
            ],
          },
        },
      },
    },
  };
}

module.exports = {
  ingestFunctionUrl,
  ingestFunctionUrlSuppressions,
  allowedOriginsList,
  writeKeysParameterArnResource,
  rawStreamMode,
  enrichedStreamMode,
  analyticsStreamMode,
  glueDatabaseName,
  firehoseBufferSizeMB,
  athenaNamedQueries,
  athenaViews,
};
