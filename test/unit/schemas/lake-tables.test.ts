import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import enrichedSchema from '../../../schemas/enriched/1-0-0.json' with { type: 'json' };
import badRowSchema from '../../../schemas/bad-row/1-0-0.json' with { type: 'json' };
import { generateLakeTables, LAKE_TABLES_FILE } from '../../../schemas/generate-lake-tables.js';
import { BAD_ROWS_TABLE, EVENTS_TABLE } from '../../../schemas/lake-tables.js';

const column = (name: string) => EVENTS_TABLE.columns.find((c) => c.name === name);

describe('lake tables derived from schemas/', () => {
  it('lake-tables.generated.json is up to date (run `npm run gen:tables`)', async () => {
    expect(await readFile(LAKE_TABLES_FILE, 'utf8')).toBe(generateLakeTables());
  });

  it('has unique lower-case Hive column names, none of them a partition key', () => {
    for (const table of [EVENTS_TABLE, BAD_ROWS_TABLE]) {
      const names = [...table.columns, ...table.partitionKeys].map((c) => c.name);
      expect(new Set(names).size, table.name).toBe(names.length);
      for (const name of names) expect(name).toMatch(/^[a-z][a-z0-9_]*$/);
    }
  });

  it('has a column for every enrichment field, named as in schemas/enriched', () => {
    const fields = Object.keys(enrichedSchema.definitions.enrichment.properties);
    expect(fields.length).toBeGreaterThan(20);
    for (const field of fields) expect(column(field)?.source, field).toEqual(['enrichment', field]);
  });

  it('maps JSON Schema types to Glue types', () => {
    expect(column('event_time')).toMatchObject({ type: 'timestamp', source: ['timestamp'] }); // date-time; `timestamp` renamed
    expect(column('received_at')?.type).toBe('timestamp');
    expect(column('enriched_at')?.type).toBe('timestamp');
    expect(column('event_hour')?.type).toBe('int'); // integer 0..23
    expect(column('lateness_seconds')?.type).toBe('bigint'); // integer, no maximum
    expect(column('is_bot')?.type).toBe('boolean');
    expect(column('anonymous_id')).toMatchObject({ type: 'string', jsonTypes: ['string', 'number'] }); // Segment ids may be numbers
    expect(column('campaign_origin')?.type).toBe('string'); // enum with null
  });

  it('flattens context with a context_ prefix and keeps its dictionaries in the context JSON column', () => {
    expect(column('context_page_url')).toMatchObject({ type: 'string', source: ['context', 'page', 'url'] });
    expect(column('context_campaign_source')?.source).toEqual(['context', 'campaign', 'source']);
    expect(column('context')).toMatchObject({ type: 'string', encoding: 'json-extras' });
    expect(column('context_library')).toBeUndefined();
  });

  it('keeps dictionaries as JSON text columns', () => {
    for (const name of ['properties', 'traits', 'integrations']) expect(column(name), name).toMatchObject({ type: 'string', encoding: 'json' });
  });

  it('includes the fields each Segment event type adds', () => {
    for (const name of ['event', 'name', 'category', 'group_id', 'previous_id']) expect(column(name)?.type, name).toBe('string');
  });

  it('partitions events by dt (string) and hour (int), typed like enrichment.event_date / event_hour', () => {
    expect(EVENTS_TABLE.partitionKeys.map((k) => [k.name, k.type])).toEqual([['dt', 'string'], ['hour', 'int']]);
    expect(EVENTS_TABLE.prefix).toBe('events/');
  });

  it('gives bad_rows one column per bad-row field, timestamps typed', () => {
    expect(BAD_ROWS_TABLE.columns.map((c) => c.name)).toEqual(Object.keys(badRowSchema.properties));
    expect(BAD_ROWS_TABLE.columns.filter((c) => c.type === 'timestamp').map((c) => c.name)).toEqual(['approximate_arrival', 'failed_at']);
    expect(BAD_ROWS_TABLE.partitionKeys.map((k) => k.name)).toEqual(['dt']);
  });
});
