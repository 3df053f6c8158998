// A deterministic lake for the named queries of analytics/athena: three days of traffic (2026-11-21..23, a few
// events the day after) with late arrivals, bots, campaigns, funnel steps, orders checked by their tracking plan,
// long pauses and visits across midnight, written the way the pipeline writes it. Enriched events go through the
// real Firehose transform and are written as Parquet with the schema-derived column types into
// events/dt=…/hour=…/, bad rows as JSON lines into bad-rows/dt=…/, a recovery's list into
// bad-rows-recovered/dt=…/. The DuckDB test checks the queries' answers on it against TypeScript computations;
// the Trino test checks that Trino gives DuckDB's rows.
import type { DuckDBConnection } from '@duckdb/node-api';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { eventsObjectPath } from '../../analytics/athena/duckdb-lake.js';
import { toBadRow } from '../../functions/enrich/bad-rows.js';
import { BadEventError } from '../../functions/enrich/errors.js';
import { TrackingPlans } from '../../functions/enrich/tracking-plan.js';
import { createRecordTransformer } from '../../functions/firehose-transform/transform-records.js';
import { IDENTITY_ROWS } from '../../functions/firehose-transform/row-mappings.js';
import { foldLinks, linkOf, type LinkSighting } from '../../functions/enrich/identity-links.js';
import { writeParquet } from '../../local/firehose/parquet.js';
import type { FlatRow } from '../../schemas/lake-rows.js';
import { EVENTS_TABLE, IDENTITIES_TABLE } from '../../schemas/lake-tables.js';
import type { EnrichedEvent, IdentityRow, RecoveredBadRow } from '../../schemas/index.js';
import { readTrackingPlans } from '../../schemas/tracking-plans.js';
import { enrichedEvent, firehoseEvent, firehoseRecord } from './lake.js';

const MINUTE = 60_000;
const BROWSER = 'Mozilla/5.0 (Macintosh; Intel Mac OS X 14_7_1) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605.1.15';
const BOT = 'Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)';
const PAGES = ['/', '/pricing', '/docs', '/blog/launch', '/signup'];

/** Deterministic pseudo-random numbers (mulberry32), so the scenario is the same on every run. */
function random(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

const PLANS = new TrackingPlans(readTrackingPlans());
/** An order; every third one breaks the Order Completed plan: revenue as text, sometimes a lower-case currency too. */
const order = (v: number) => ({ order_id: `ord-${v}`, revenue: v % 3 === 0 ? '49.00' : 49, currency: v % 6 === 0 ? 'usd' : 'USD' });

/** Traffic of 43 visitors over 2026-11-21..23: page views, funnel steps, orders, bots, campaigns, late arrivals, midnights. */
export function scenarioEvents(): EnrichedEvent[] {
  const rnd = random(20261122);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(rnd() * items.length)]!;
  const events: EnrichedEvent[] = [];
  let n = 0;
  for (let v = 0; v < 40; v++) {
    const bot = v % 9 === 4;
    const identified = v % 5 === 0 ? `user-${v}` : undefined;
    const campaign = v % 4 === 1 ? { utm: `?utm_source=newsletter&utm_medium=email&utm_campaign=nov-${v % 3}` } : { utm: '' };
    const referrer = v % 3 === 0 ? 'https://www.google.com/' : v % 3 === 1 ? undefined : 'https://news.ycombinator.com/';
    let t = Date.parse('2026-11-21T00:00:00.000Z') + Math.floor(rnd() * 60 * 60 * MINUTE); // within the first 60 h
    const funnel = v % 3 !== 2 ? Math.floor(rnd() * 4) : 0; // how far this visitor gets: 0..3 steps
    const plan: { type: 'page' | 'track'; what: string }[] = [];
    const views = 1 + Math.floor(rnd() * 6);
    for (let i = 0; i < views; i++) plan.push({ type: 'page', what: pick(PAGES) });
    if (funnel >= 1) plan.push({ type: 'page', what: '/pricing' });
    if (funnel >= 2) plan.push({ type: 'track', what: 'Signup Started' });
    if (funnel >= 3) plan.push({ type: 'track', what: 'Signed Up' });
    if (v % 7 === 3) plan.push({ type: 'track', what: 'Signup Started' }); // a step 2 with no step 1 before it
    if (v % 4 === 2) plan.push({ type: 'track', what: 'Order Completed' }); // checked by its tracking plan
    for (const [i, step] of plan.entries()) {
      // Mostly seconds to minutes apart; sometimes a long pause (a new session); once in a while over a day.
      const r = rnd();
      t += r < 0.75 ? Math.floor(rnd() * 10 * MINUTE) : r < 0.95 ? 31 * MINUTE + Math.floor(rnd() * 120 * MINUTE) : 26 * 60 * MINUTE;
      const late = (v + i) % 11 === 0;
      const lateness = late ? 2 * 60 * MINUTE + Math.floor(rnd() * 60 * MINUTE) : 200 + Math.floor(rnd() * 3_000);
      const url = `https://www.example.com${step.type === 'page' ? step.what : '/signup'}${i === 0 ? campaign.utm : ''}`;
      events.push(
        enrichedEvent({
          type: step.type,
          ...(step.type === 'page' ? { name: step.what, event: undefined } : { event: step.what }),
          messageId: `msg-${String(n++).padStart(4, '0')}`,
          anonymousId: `anon-${v}`,
          ...(identified && i > 0 ? { userId: identified } : {}),
          timestamp: new Date(t).toISOString(),
          originalTimestamp: new Date(t).toISOString(),
          receivedAt: new Date(t + lateness).toISOString(),
          properties: step.type === 'page' ? { path: step.what } : step.what === 'Order Completed' ? order(v) : { plan: 'pro' },
          context: {
            ip: `198.51.100.${v}`,
            userAgent: bot ? BOT : BROWSER,
            locale: 'en-US',
            page: { url, path: step.type === 'page' ? step.what : '/signup', ...(i === 0 && referrer ? { referrer } : { referrer: 'https://www.example.com/' }) },
            library: { name: 'analytics.js', version: '5.2.0' },
          },
        }, { plans: PLANS }),
      );
    }
  }
  // Around each midnight, on purpose: a visit from 23:50 into the next day, events at 23:59:59.999 and at
  // 00:00:00.000 (two days' partitions, one millisecond apart), and copies that reached the pipeline hours later,
  // after their day was over.
  for (const [k, day] of ['2026-11-21', '2026-11-22', '2026-11-23'].entries()) {
    const midnight = Date.parse(`${day}T00:00:00.000Z`) + 24 * 60 * MINUTE;
    for (const [i, offset] of [-10 * MINUTE, -1, 0, 12 * MINUTE].entries()) {
      const t = midnight + offset;
      const path = PAGES[(k + i) % PAGES.length]!;
      events.push(
        enrichedEvent({
          type: 'page',
          name: path,
          messageId: `msg-midnight-${k}-${i}`,
          anonymousId: `anon-midnight-${k}`,
          timestamp: new Date(t).toISOString(),
          originalTimestamp: new Date(t).toISOString(),
          receivedAt: new Date(t + (i % 2 === 1 ? 3 * 60 * MINUTE : 4_000)).toISOString(),
          properties: { path },
          context: { userAgent: BROWSER, locale: 'en-US', page: { url: `https://www.example.com${path}`, path, referrer: 'https://www.example.com/' } },
        }),
      );
    }
  }
  events.push(...identityStories());
  return events;
}

/**
 * People whose ids need stitching (README, "Identity stitching"), each a rule of analytics/athena/views:
 *   - story-a browses /pricing on a phone with a campaign, signs up on a laptop, later logs in on the phone:
 *     one person across two devices, whose first touch is the phone's anonymous campaign visit;
 *   - a shared computer: anonymous browsing, story-b1 logs in, logs out, more anonymous browsing, story-b2
 *     logs in, and browses anonymously again after;
 *   - merges: user-10 is aliased to customer-10, which is later aliased to acct-10 (a chain); user-20 is
 *     aliased to temp-20 and back (an undone alias); user-30 is aliased to x-30, then to y-30 (two targets).
 */
function identityStories(): EnrichedEvent[] {
  let n = 0;
  const at = (iso: string, fields: Record<string, unknown>, path = '/'): EnrichedEvent => {
    const t = Date.parse(iso);
    const base = {
      messageId: `msg-story-${String(n++).padStart(3, '0')}`,
      timestamp: new Date(t).toISOString(),
      originalTimestamp: new Date(t).toISOString(),
      // The stories' events were queued offline and arrived 3 hours late, all of them: with their equal
      // lateness at the top of each day, the day's p95 lateness is the same on every engine (approx_percentile
      // is approximate in its own way on each).
      receivedAt: new Date(t + 3 * 60 * MINUTE).toISOString(),
      context: { userAgent: BROWSER, locale: 'en-US', page: { url: `https://www.example.com${path}`, path, referrer: 'https://www.example.com/' }, library: { name: 'analytics.js', version: '5.2.0' } },
    };
    const type = fields['type'];
    const shape = type === 'page' ? { name: path, event: undefined, properties: { path } } : type === 'track' ? { properties: {} } : { event: undefined, properties: undefined };
    return enrichedEvent({ ...base, ...shape, ...fields });
  };
  const page = (iso: string, path: string, ids: Record<string, string>, extra: Record<string, unknown> = {}) => at(iso, { type: 'page', ...ids, ...extra }, path);
  const track = (iso: string, event: string, ids: Record<string, string>) => at(iso, { type: 'track', event, ...ids }, '/signup');
  const identify = (iso: string, anonymousId: string, userId: string) => at(iso, { type: 'identify', anonymousId, userId, traits: {} });
  // A server-side alias (no anonymousId) when none is given.
  const alias = (iso: string, previousId: string, userId: string, anonymousId?: string) => at(iso, { type: 'alias', previousId, userId, anonymousId });
  const phone = { anonymousId: 'anon-story-a-phone' };
  const laptop = { anonymousId: 'anon-story-a-laptop' };
  const shared = { anonymousId: 'anon-shared' };
  return [
    page('2026-11-22T08:00:00.000Z', '/pricing', phone, {
      context: { userAgent: BROWSER, locale: 'en-US', page: { url: 'https://www.example.com/pricing?utm_source=podcast&utm_medium=audio&utm_campaign=launch', path: '/pricing', referrer: 'https://podcasts.example.org/' } },
    }),
    page('2026-11-22T08:55:00.000Z', '/', laptop),
    track('2026-11-22T09:00:00.000Z', 'Signup Started', laptop),
    identify('2026-11-22T09:05:00.000Z', laptop.anonymousId, 'story-a'),
    track('2026-11-22T09:06:00.000Z', 'Signed Up', { ...laptop, userId: 'story-a' }),
    identify('2026-11-22T12:00:00.000Z', phone.anonymousId, 'story-a'),
    page('2026-11-22T12:01:00.000Z', '/docs', { ...phone, userId: 'story-a' }),

    page('2026-11-21T14:00:00.000Z', '/', shared),
    identify('2026-11-21T14:05:00.000Z', shared.anonymousId, 'story-b1'),
    page('2026-11-21T14:10:00.000Z', '/docs', { ...shared, userId: 'story-b1' }),
    page('2026-11-21T15:00:00.000Z', '/blog/launch', shared),
    page('2026-11-21T15:05:00.000Z', '/pricing', shared),
    identify('2026-11-21T15:10:00.000Z', shared.anonymousId, 'story-b2'),
    track('2026-11-21T15:12:00.000Z', 'Signup Started', { ...shared, userId: 'story-b2' }),
    page('2026-11-21T16:00:00.000Z', '/', shared),

    alias('2026-11-22T18:00:00.000Z', 'user-10', 'customer-10', 'anon-10'),
    alias('2026-11-22T23:00:00.000Z', 'customer-10', 'acct-10'),
    alias('2026-11-21T20:00:00.000Z', 'user-20', 'temp-20', 'anon-20'),
    alias('2026-11-21T20:30:00.000Z', 'temp-20', 'user-20', 'anon-20'),
    alias('2026-11-21T21:00:00.000Z', 'user-30', 'x-30'),
    alias('2026-11-22T21:00:00.000Z', 'user-30', 'y-30'),
  ];
}

/** The identities rows the enrich stage would write for these events: its own code, batches of 10 minutes of arrival. */
export function scenarioIdentityRows(events: readonly EnrichedEvent[]): IdentityRow[] {
  const batches = new Map<number, LinkSighting[]>();
  for (const e of events) {
    const link = linkOf(e);
    const batch = Math.floor(Date.parse(e.receivedAt) / (10 * MINUTE));
    if (link) batches.set(batch, [...(batches.get(batch) ?? []), link]);
  }
  return [...batches.keys()].sort((a, b) => a - b).flatMap((batch) => foldLinks(batches.get(batch)!));
}

/** How many rows the lake's events table holds beyond one per event: a retried delivery written twice. */
export const DUPLICATED_ROWS = 3;

/** Why the enrich stage rejected one Signed Up event (a rejecting plan): the lake's one tracking_plan_violation bad row in 2026-11-21..22. */
export const REJECTED_REASON = 'properties.method: is required; properties.plan: must be one of free, starter, pro';
/** Why it rejected one identify on 2026-11-23, under a traits plan set to reject: a payload with no "event". */
const REJECTED_TRAITS_REASON = 'traits.plan: must be one of free, starter, pro';

/**
 * Writes the scenario's lake under `root` (an empty directory): `events` through the real transform, then
 * bad rows (one replayed) and a recovery that sent one of them back.
 */
export async function writeScenarioLake(connection: DuckDBConnection, root: string, events: readonly EnrichedEvent[]): Promise<void> {
  // Events: through the real transform, then one Parquet object per partition key, as Firehose writes.
  const transform = createRecordTransformer({ logger: { warn: () => undefined, info: () => undefined } });
  const { response, failures } = transform(firehoseEvent(events).records);
  if (failures.length > 0) throw new Error(`the Firehose transform rejected scenario events: ${JSON.stringify(failures)}`);
  const partitions = new Map<string, FlatRow[]>();
  for (const record of response.records) {
    const { dt, hour } = record.metadata!.partitionKeys as { dt: string; hour: string };
    const row = JSON.parse(Buffer.from(record.data!, 'base64').toString('utf8')) as FlatRow;
    partitions.set(`${dt}/${hour}`, [...(partitions.get(`${dt}/${hour}`) ?? []), row]);
  }
  for (const [key, rows] of partitions) {
    const [dt, hour] = key.split('/') as [string, string];
    await writeParquet(connection, EVENTS_TABLE, rows, eventsObjectPath(root, dt, hour, 'firehose-1.parquet'));
  }
  // Firehose is at least once: a retried delivery wrote a few rows a second time, in another object.
  const [dt, hour] = [...partitions.keys()][0]!.split('/') as [string, string];
  await writeParquet(connection, EVENTS_TABLE, partitions.get(`${dt}/${hour}`)!.slice(0, DUPLICATED_ROWS), eventsObjectPath(root, dt, hour, 'firehose-retry.parquet'));

  // Identity links: folded per enrich batch (here, the events that arrived in the same 10 minutes), one batch
  // delivered twice, through the real transform, one Parquet object per partition (kind of link).
  const links = scenarioIdentityRows(events);
  const linkRows = transform([...links, links[0]!].map((row, n) => firehoseRecord(row, { n })), IDENTITY_ROWS);
  if (linkRows.failures.length > 0) throw new Error(`the Firehose transform rejected identity rows: ${JSON.stringify(linkRows.failures)}`);
  const linkPartitions = new Map<string, FlatRow[]>();
  for (const record of linkRows.response.records) {
    const { link } = record.metadata!.partitionKeys as { link: string };
    linkPartitions.set(link, [...(linkPartitions.get(link) ?? []), JSON.parse(Buffer.from(record.data!, 'base64').toString('utf8')) as FlatRow]);
  }
  for (const [link, rows] of linkPartitions) {
    await writeParquet(connection, IDENTITIES_TABLE, rows, join(root, IDENTITIES_TABLE.prefix, `link=${link}`, 'firehose-1.parquet'));
  }

  // Bad rows, as the enrich stage writes them, one replayed batch among them.
  const badRow = (n: number, type: 'invalid_json' | 'schema_violation' | 'tracking_plan_violation', arrival: string, reason: string, payload: object = { type: 'track', event: 'Signed Up' }) =>
    JSON.stringify(
      toBadRow(
        { sequenceNumber: String(4_965_813_241 + n), shardId: 'shardId-000000000000', stream: 'clickstream-dev-events-raw', arrivalMs: Date.parse(arrival), data: Buffer.from(type === 'invalid_json' ? '{"type":' : JSON.stringify({ ...payload, messageId: `bad-${n}` })) },
        new BadEventError(type, reason, type === 'invalid_json' ? null : `bad-${n}`),
        new Date(Date.parse(arrival) + 500).toISOString(),
      ),
    );
  await mkdir(join(root, 'bad-rows', 'dt=2026-11-21'), { recursive: true });
  await mkdir(join(root, 'bad-rows', 'dt=2026-11-22'), { recursive: true });
  const day22 = [badRow(1, 'schema_violation', '2026-11-22T09:00:00.000Z', '(event) needs one of userId, anonymousId'), badRow(2, 'schema_violation', '2026-11-22T11:00:00.000Z', '/event must be string'), badRow(3, 'invalid_json', '2026-11-22T12:00:00.000Z', 'record data is not JSON')];
  await writeFile(join(root, 'bad-rows', 'dt=2026-11-22', 'shardId-000000000000-1.jsonl'), day22.join('\n') + '\n');
  await writeFile(join(root, 'bad-rows', 'dt=2026-11-22', 'shardId-000000000000-2.jsonl'), day22[0] + '\n'); // replayed
  await writeFile(join(root, 'bad-rows', 'dt=2026-11-22', 'shardId-000000000000-3.jsonl'), badRow(4, 'tracking_plan_violation', '2026-11-22T13:00:00.000Z', REJECTED_REASON) + '\n');
  await mkdir(join(root, 'bad-rows', 'dt=2026-11-23'), { recursive: true });
  await writeFile(join(root, 'bad-rows', 'dt=2026-11-23', 'shardId-000000000000-4.jsonl'), badRow(5, 'tracking_plan_violation', '2026-11-23T14:00:00.000Z', REJECTED_TRAITS_REASON, { type: 'identify', traits: { plan: 'gold' } }) + '\n');
  await writeFile(join(root, 'bad-rows', 'dt=2026-11-21', 'shardId-000000000000-0.jsonl'), badRow(0, 'invalid_json', '2026-11-21T08:00:00.000Z', 'record data is not valid UTF-8') + '\n');
  // A recovery sent bad row 2 back (functions/recover/recover.ts writes this line).
  const recovered: RecoveredBadRow = { stream: 'clickstream-dev-events-raw', shard_id: 'shardId-000000000000', sequence_number: String(4_965_813_241 + 2), failure_type: 'schema_violation', message_id: 'bad-2', run_id: 'run-1', recovered_at: '2026-11-23T10:00:00.000Z', fixed: true };
  await mkdir(join(root, 'bad-rows-recovered', 'dt=2026-11-23'), { recursive: true });
  await writeFile(join(root, 'bad-rows-recovered', 'dt=2026-11-23', 'run-1.jsonl'), JSON.stringify(recovered) + '\n');
}
