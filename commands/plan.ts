// `npm run plan`: drafts tracking plans (schemas/tracking-plans.ts) from the events already in the local lake, so a
// team starts from what its trackers really send instead of a blank page.
//   npm run plan                      drafts for every track event and for identify's traits that have no plan yet
//   npm run plan -- --dry-run         prints the drafts instead of writing them
//   --data-dir <path>                 the lake of that data dir (default: the running stack's, else .local/data)
//   --required-share <0..1>           a property is required when at least this share of the events carry it (1)
// A draft flags and never rejects ("x-violation": "flag"): read it, tighten it, then choose. An event that already has
// a plan keeps it; `npm run gen:plans` is run for you, so the next enrich (npm start) checks the new plans.
import { DuckDBInstance } from '@duckdb/node-api';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { createLakeViews } from '../analytics/athena/duckdb-lake.js';
import { findLocalLake, S3RVER_OBJECT_SUFFIX } from '../local/storage/lake-location.js';
import { generateTrackingPlans } from '../schemas/generate-tracking-plans.js';
import { planSlug, readTrackingPlans, TRACKING_PLANS_FILE } from '../schemas/tracking-plans.js';
import { HELP_OPTION, parseCommandLine, type CliIo } from './command-line.js';

const REPOSITORY_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
/** Events read per event name: enough to see every property a tracker sends, bounded for a big lake. */
const SAMPLE_PER_EVENT = 5_000;
/** A string property with at most this many distinct values over at least ENUM_MIN_EVENTS events gets an enum. */
const ENUM_MAX_VALUES = 8;
const ENUM_MIN_EVENTS = 20;

const USAGE = `Usage: npm run plan -- [--dry-run] [--data-dir <path>] [--required-share 0..1]
Drafts schemas/events/<event>/1-0-0.json (and schemas/traits/identify/1-0-0.json) from the lake's events, for
every event without a plan yet, then regenerates schemas/tracking-plans.generated.json.`;

type JsonType = 'string' | 'integer' | 'number' | 'boolean' | 'object' | 'array' | 'null';

const jsonType = (value: unknown): JsonType =>
  value === null ? 'null' : Array.isArray(value) ? 'array' : typeof value === 'number' ? (Number.isInteger(value) ? 'integer' : 'number') : (typeof value as JsonType);

/** A draft plan (a JSON Schema of an object) from sample values of that object. */
export function draftPlan(name: string, samples: readonly Record<string, unknown>[], requiredShare = 1): Record<string, unknown> {
  const seen = new Map<string, { count: number; types: Set<JsonType>; values: Set<string> }>();
  for (const sample of samples) {
    for (const [key, value] of Object.entries(sample)) {
      const entry = seen.get(key) ?? { count: 0, types: new Set<JsonType>(), values: new Set<string>() };
      entry.count++;
      entry.types.add(jsonType(value));
      if (typeof value === 'string' && entry.values.size <= ENUM_MAX_VALUES) entry.values.add(value);
      seen.set(key, entry);
    }
  }
  const properties: Record<string, Record<string, unknown>> = {};
  for (const [key, { count, types, values }] of [...seen].sort(([a], [b]) => a.localeCompare(b))) {
    // An integer seen beside fractions is a number; JSON Schema's number already includes integers.
    if (types.has('number')) types.delete('integer');
    const list = [...types].sort();
    const property: Record<string, unknown> = { type: list.length === 1 ? list[0] : list };
    if (list.length === 1 && list[0] === 'string' && values.size <= ENUM_MAX_VALUES && count >= ENUM_MIN_EVENTS) property['enum'] = [...values].sort();
    properties[key] = property;
  }
  const required = [...seen].filter(([, e]) => e.count >= requiredShare * samples.length).map(([key]) => key).sort();
  return {
    $schema: 'http://json-schema.org/draft-07/schema#',
    title: name,
    description: `Drafted by npm run plan from ${samples.length} events in the lake: review the types, enums and required list before relying on it.`,
    'x-violation': 'flag',
    type: 'object',
    properties,
    ...(required.length > 0 ? { required } : {}),
  };
}

export async function runPlanCli(argv: string[], io: CliIo, repositoryRoot = REPOSITORY_ROOT, schemasRoot = join(repositoryRoot, 'schemas')): Promise<number> {
  const result = parseCommandLine(
    { args: argv, allowPositionals: false, strict: true, options: { 'dry-run': { type: 'boolean', default: false }, 'data-dir': { type: 'string' }, 'required-share': { type: 'string' }, ...HELP_OPTION } },
    USAGE,
    io,
  );
  if ('exit' in result) return result.exit;
  const flags = result.parsed.values;
  const requiredShare = flags['required-share'] === undefined ? 1 : Number(flags['required-share']);
  if (!(requiredShare >= 0 && requiredShare <= 1)) {
    io.stderr(`--required-share must be a number from 0 to 1, got "${flags['required-share']}"\n`);
    return 2;
  }
  const lake = findLocalLake(repositoryRoot, flags['data-dir']);
  if (!existsSync(lake.directory)) {
    io.stderr(`No lake yet at ${lake.directory} (data dir from ${lake.from}). Run \`npm start\` first, or give --data-dir.\n`);
    return 1;
  }

  const existing = readTrackingPlans(schemasRoot);
  const planned = new Set(existing.events.map((p) => p.name));
  const instance = await DuckDBInstance.create(':memory:');
  const connection = await instance.connect();
  const samples = new Map<string, Record<string, unknown>[]>();
  try {
    await createLakeViews(connection, lake.directory, { objectSuffix: S3RVER_OBJECT_SUFFIX });
    // One row per message (Firehose is at least once), up to SAMPLE_PER_EVENT per event name.
    const reader = await connection.runAndReadAll(
      `SELECT name, payload FROM (
         SELECT CASE WHEN type = 'identify' THEN 'identify' ELSE event END AS name,
                CASE WHEN type = 'identify' THEN traits ELSE properties END AS payload,
                row_number() OVER (PARTITION BY CASE WHEN type = 'identify' THEN 'identify' ELSE event END ORDER BY message_id) AS n
         FROM (SELECT DISTINCT ON (message_id) * FROM events WHERE type IN ('track', 'identify') AND NOT is_bot))
       WHERE n <= ${SAMPLE_PER_EVENT} AND name IS NOT NULL`,
    );
    for (const row of reader.getRowObjectsJS()) {
      const name = String(row['name']);
      const value: unknown = typeof row['payload'] === 'string' ? JSON.parse(row['payload']) : {};
      if (typeof value === 'object' && value !== null && !Array.isArray(value)) samples.set(name, [...(samples.get(name) ?? []), value as Record<string, unknown>]);
    }
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
  if (samples.size === 0) {
    io.stderr(`The lake at ${lake.directory} has no track or identify events yet.\n`);
    return 1;
  }

  let written = 0;
  for (const [name, values] of [...samples].sort(([a], [b]) => a.localeCompare(b))) {
    const isIdentify = name === 'identify';
    if (isIdentify ? existing.identify !== null : planned.has(name)) {
      io.stderr(`kept      ${name}: it has a plan (${isIdentify ? existing.identify!.file : existing.events.find((p) => p.name === name)!.file})\n`);
      continue;
    }
    const path = isIdentify ? join(schemasRoot, 'traits', 'identify', '1-0-0.json') : join(schemasRoot, 'events', planSlug(name), '1-0-0.json');
    if (!isIdentify && existsSync(dirname(path))) {
      io.stderr(`skipped   ${name}: ${relative(schemasRoot, dirname(path))}/ belongs to another event; write this plan by hand\n`);
      continue;
    }
    const draft = `${JSON.stringify(draftPlan(name, values, requiredShare), null, 2)}\n`;
    if (flags['dry-run']) {
      io.stdout(`// ${relative(repositoryRoot, path)}\n${draft}`);
      continue;
    }
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, draft);
    written++;
    io.stderr(`drafted   ${name}: ${relative(repositoryRoot, path)} (${values.length} events)\n`);
  }
  if (written > 0) {
    writeFileSync(join(schemasRoot, basename(TRACKING_PLANS_FILE)), generateTrackingPlans(schemasRoot));
    io.stderr(`${written} draft${written === 1 ? '' : 's'} written, tracking-plans.generated.json regenerated: review them, then restart npm start to check events against them.\n`);
  }
  return 0;
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  process.exitCode = await runPlanCli(process.argv.slice(2), { stdout: (t) => process.stdout.write(t), stderr: (t) => process.stderr.write(t) });
}
