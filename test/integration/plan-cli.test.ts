// `npm run plan` (commands/plan.ts) over a lake laid out as s3rver stores it: drafts a plan for every track event
// and for identify's traits that have none, which the events it was drafted from pass, keeps existing plans, and
// regenerates the bundle the enrich function imports.
import { DuckDBInstance } from '@duckdb/node-api';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { draftPlan, runPlanCli } from '../../commands/plan.js';
import { TrackingPlans } from '../../functions/enrich/tracking-plan.js';
import { createRecordTransformer } from '../../functions/firehose-transform/transform-records.js';
import { writeParquet } from '../../local/firehose/parquet.js';
import { lakeDirectory, S3RVER_OBJECT_SUFFIX } from '../../local/storage/lake-location.js';
import type { FlatRow } from '../../schemas/lake-rows.js';
import { EVENTS_TABLE } from '../../schemas/lake-tables.js';
import type { SegmentEvent } from '../../schemas/index.js';
import { readTrackingPlans } from '../../schemas/tracking-plans.js';
import { enrichedEvent, firehoseEvent } from '../helpers/lake.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
let dataDir = '';
let schemas = '';

const events = [
  ...Array.from({ length: 30 }, (_, i) => ({ type: 'track', event: 'Video Played', properties: { video_id: `v-${i % 4}`, position: i % 2 ? 12.5 : 3, quality: i % 3 ? 'hd' : 'sd', ...(i % 5 ? {} : { muted: true }) } })),
  { type: 'track', event: 'Order Completed', properties: { order_id: 'o-1', revenue: 10, currency: 'EUR' } },
  { type: 'identify', userId: 'u-1', traits: { email: 'a@example.com' } },
  { type: 'page', name: '/', properties: {} },
].map((e, i) => ({ ...e, messageId: `p-${i}`, anonymousId: 'anon-1', timestamp: '2026-11-22T10:00:00.000Z', originalTimestamp: '2026-11-22T10:00:00.000Z', receivedAt: '2026-11-22T10:00:01.000Z' }));

async function cli(...argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const code = await runPlanCli(argv, { stdout: (t) => (stdout += t), stderr: (t) => (stderr += t) }, ROOT, schemas);
  return { code, stdout, stderr };
}

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'plan-cli-'));
  schemas = join(dataDir, 'schemas');
  // The repository's plans (Order Completed, Signed Up, identify's traits), in a copy the test may write to.
  cpSync(join(ROOT, 'schemas', 'events'), join(schemas, 'events'), { recursive: true });
  cpSync(join(ROOT, 'schemas', 'traits'), join(schemas, 'traits'), { recursive: true });
  const enriched = events.map((e) => enrichedEvent(e));
  const rows = createRecordTransformer({ logger: { warn: () => {}, info: () => {} } })(firehoseEvent(enriched).records).response.records.map(
    (r) => JSON.parse(Buffer.from(r.data!, 'base64').toString('utf8')) as FlatRow,
  );
  const instance = await DuckDBInstance.create(':memory:');
  const connection = await instance.connect();
  await writeParquet(connection, EVENTS_TABLE, rows, join(lakeDirectory(dataDir), 'events', 'dt=2026-11-22/hour=10', `e-1.parquet${S3RVER_OBJECT_SUFFIX}`));
  // Firehose is at least once: the same rows again must not count twice.
  await writeParquet(connection, EVENTS_TABLE, rows, join(lakeDirectory(dataDir), 'events', 'dt=2026-11-22/hour=10', `e-2.parquet${S3RVER_OBJECT_SUFFIX}`));
  connection.closeSync();
  instance.closeSync();
});

afterAll(() => {
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

it('drafts what the events carry: types, enums of few values, properties every event has as required', () => {
  const draft = draftPlan('Video Played', events.slice(0, 30).map((e) => e.properties as Record<string, unknown>));
  expect(draft).toMatchObject({
    title: 'Video Played',
    'x-violation': 'flag',
    type: 'object',
    properties: { video_id: { type: 'string', enum: ['v-0', 'v-1', 'v-2', 'v-3'] }, position: { type: 'number' }, quality: { type: 'string', enum: ['hd', 'sd'] }, muted: { type: 'boolean' } },
    required: ['position', 'quality', 'video_id'],
  });
  expect(draftPlan('x', [{ a: 1 }, { b: 'x' }], 0.5)['required']).toEqual(['a', 'b']);
});

it('prints drafts with --dry-run and writes nothing', async () => {
  const { code, stdout } = await cli('--data-dir', dataDir, '--dry-run');
  expect(code).toBe(0);
  expect(stdout).toContain('"title": "Video Played"');
  expect(existsSync(join(schemas, 'events', 'video-played'))).toBe(false);
});

it('writes a draft for each event without a plan, keeps the others, and regenerates the bundle; the events pass their draft', async () => {
  const { code, stderr } = await cli('--data-dir', dataDir);
  expect(code, stderr).toBe(0);
  expect(stderr).toContain('drafted   Video Played: ');
  expect(stderr).toMatch(/kept {6}Order Completed: it has a plan \(events\/order-completed\/1-0-0\.json\)/);
  expect(stderr).toMatch(/kept {6}identify: it has a plan/);
  const draft = JSON.parse(readFileSync(join(schemas, 'events', 'video-played', '1-0-0.json'), 'utf8')) as { description: string };
  expect(draft.description).toContain('from 30 events');
  const bundle = JSON.parse(readFileSync(join(schemas, 'tracking-plans.generated.json'), 'utf8'));
  expect(bundle).toEqual(readTrackingPlans(schemas));
  const plans = new TrackingPlans(bundle);
  for (const e of events.slice(0, 30)) expect(plans.check(e as unknown as SegmentEvent)).toMatchObject({ plan: 'Video Played 1-0-0', violations: [] });
  expect(plans.check({ ...events[0], properties: { video_id: 'v-9', position: 'start' } } as unknown as SegmentEvent)?.violations).toEqual([
    'properties.quality: is required',
    'properties.position: must be number',
    'properties.video_id: must be one of v-0, v-1, v-2, v-3',
  ]);
});

it('says what to do when there is no lake', async () => {
  const { code, stderr } = await cli('--data-dir', join(dataDir, 'nothing-here'));
  expect(code).toBe(1);
  expect(stderr).toContain('Run `npm start` first');
});
