// Runs every analytics/athena/*.sql on DuckDB over the scenario lake of test/helpers/athena-scenario.ts (written
// the way the pipeline writes it). The answers are checked against the same questions computed in TypeScript
// over the source events.
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DUCKDB_SUBSTITUTIONS, toDuckDbSql } from '../../../analytics/athena/dialect.js';
import { createLakeViews, duckDbType, runAthenaQueryLocally } from '../../../analytics/athena/duckdb-lake.js';
import { ATHENA_TYPES, loadAthenaQueries, loadAthenaViews, type AthenaQuery } from '../../../analytics/athena/queries.js';
import type { HiveType } from '../../../schemas/lake-tables.js';
import type { EnrichedEvent } from '../../../schemas/index.js';
import { DUPLICATED_ROWS, REJECTED_REASON, scenarioEvents, scenarioIdentityRows, writeScenarioLake } from '../../helpers/athena-scenario.js';
import { resolveIdentities, type Resolution } from '../../helpers/identity-resolution.js';

const RANGE = { from_dt: '2026-11-21', to_dt: '2026-11-22' };
const MINUTE = 60_000;

// ---------------------------------------------------------------------------------------------
// The same questions in TypeScript, over the source events (not over the lake).

function expectedPlanViolations(events: EnrichedEvent[]) {
  const rows = new Map<string, { event_name: string; property: string; problem: string; outcome: string; ids: Set<string> }>();
  const add = (event: string, violations: string, outcome: string, id: string) => {
    for (const violation of violations.split('; ')) {
      const [property, problem] = violation.split(': ') as [string, string];
      const key = [event, property, problem, outcome].join('|');
      const row = rows.get(key) ?? { event_name: event, property, problem, outcome, ids: new Set<string>() };
      rows.set(key, row.ids.add(id) && row);
    }
  };
  for (const e of events) if (inRange(e) && e.enrichment.plan_violations) add(String((e as { event?: string }).event ?? e.type), e.enrichment.plan_violations, 'flagged', e.messageId);
  add('Signed Up', REJECTED_REASON, 'rejected', 'bad-4');
  return [...rows.values()]
    .map(({ ids, ...row }) => ({ ...row, events: ids.size }))
    .sort((a, b) => b.events - a.events || [a.event_name, a.property, a.problem, a.outcome].join('|').localeCompare([b.event_name, b.property, b.problem, b.outcome].join('|')));
}

const inRange = (e: EnrichedEvent) => e.enrichment.event_date >= RANGE.from_dt && e.enrichment.event_date <= RANGE.to_dt;
const visitorOf = (e: EnrichedEvent) => String(e.anonymousId ?? e.userId);
const timeOf = (e: EnrichedEvent) => Date.parse(e.timestamp);
const countBy = <K>(items: readonly EnrichedEvent[], key: (e: EnrichedEvent) => K) => {
  const groups = new Map<K, EnrichedEvent[]>();
  for (const e of items) groups.set(key(e), [...(groups.get(key(e)) ?? []), e]);
  return groups;
};
const distinct = (items: readonly EnrichedEvent[], key: (e: EnrichedEvent) => unknown) => new Set(items.map(key).filter((k) => k !== undefined && k !== null)).size;
const round = (x: number, digits: number) => Math.round(x * 10 ** digits) / 10 ** digits;

function expectedTopPages(events: EnrichedEvent[]) {
  const views = events.filter((e) => inRange(e) && e.type === 'page' && !e.enrichment.is_bot);
  return [...countBy(views, (e) => e.enrichment.page_path ?? e.context?.page?.path ?? '(unknown)')]
    .map(([page, es]) => ({ page, views: distinct(es, (e) => e.messageId), visitors: distinct(es, visitorOf) }))
    .sort((a, b) => b.views - a.views || (a.page < b.page ? -1 : 1));
}

function expectedVisitorsPerDay(events: EnrichedEvent[]) {
  const humans = events.filter((e) => inRange(e) && !e.enrichment.is_bot);
  return [...countBy(humans, (e) => e.enrichment.event_date)]
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([day, es]) => ({ day, visitors: distinct(es, visitorOf), identified_users: distinct(es, (e) => e.userId), events: distinct(es, (e) => e.messageId) }));
}

function expectedSessions(events: EnrichedEvent[]) {
  const humans = events.filter((e) => inRange(e) && !e.enrichment.is_bot);
  const visits: { day: string; visitor: string; start: number; end: number; events: number }[] = [];
  for (const [visitor, es] of countBy(humans, visitorOf)) {
    const sorted = [...es].sort((a, b) => timeOf(a) - timeOf(b) || (a.messageId < b.messageId ? -1 : 1));
    for (const e of sorted) {
      const last = visits.at(-1);
      if (last && last.visitor === visitor && timeOf(e) - last.end <= 30 * MINUTE) {
        last.end = timeOf(e);
        last.events++;
      } else visits.push({ day: new Date(timeOf(e)).toISOString().slice(0, 10), visitor, start: timeOf(e), end: timeOf(e), events: 1 });
    }
  }
  const byDay = new Map<string, typeof visits>();
  for (const s of visits) byDay.set(s.day, [...(byDay.get(s.day) ?? []), s]);
  return [...byDay]
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([day, ss]) => ({
      day,
      sessions: ss.length,
      visitors: new Set(ss.map((s) => s.visitor)).size,
      avg_duration_seconds: round(ss.reduce((sum, s) => sum + (s.end - s.start) / 1000, 0) / ss.length, 1),
      avg_events_per_session: round(ss.reduce((sum, s) => sum + s.events, 0) / ss.length, 2),
      bounce_rate: round(ss.filter((s) => s.events === 1).length / ss.length, 4),
    }));
}

function expectedFunnel(events: EnrichedEvent[], people: Resolution) {
  const humans = events.filter((e) => inRange(e) && !e.enrichment.is_bot);
  const DAY = 24 * 60 * MINUTE;
  let [s1, s2, s3] = [0, 0, 0];
  for (const es of countBy(humans, (e) => people.userOf(e) ?? String(e.anonymousId)).values()) {
    const first = (pred: (e: EnrichedEvent) => boolean) => Math.min(...es.filter(pred).map(timeOf));
    const t1 = first((e) => e.type === 'page' && (e.enrichment.page_path ?? e.context?.page?.path) === '/pricing');
    if (!Number.isFinite(t1)) continue;
    s1++;
    const t2 = first((e) => e.type === 'track' && e.event === 'Signup Started' && timeOf(e) >= t1 && timeOf(e) <= t1 + DAY);
    if (!Number.isFinite(t2)) continue;
    s2++;
    const t3 = first((e) => e.type === 'track' && e.event === 'Signed Up' && timeOf(e) >= t2 && timeOf(e) <= t1 + DAY);
    if (Number.isFinite(t3)) s3++;
  }
  return [
    { step: 1, step_name: 'page /pricing', visitors: s1, share_of_step_1: 1 },
    { step: 2, step_name: 'track Signup Started', visitors: s2, share_of_step_1: round(s2 / s1, 4) },
    { step: 3, step_name: 'track Signed Up', visitors: s3, share_of_step_1: round(s3 / s1, 4) },
  ];
}

/** first_touch: each person's first event in the range. */
function expectedFirstTouch(events: EnrichedEvent[], people: Resolution) {
  const firsts = new Map<string, EnrichedEvent>();
  const order = (a: EnrichedEvent, b: EnrichedEvent) => timeOf(a) - timeOf(b) || (a.messageId < b.messageId ? -1 : 1);
  for (const e of [...events].sort(order)) {
    const person = people.userOf(e);
    if (person && !e.enrichment.is_bot && inRange(e) && !firsts.has(person)) firsts.set(person, e);
  }
  const counted = [...firsts.values()];
  const key = (e: EnrichedEvent) => {
    const { referrer_host: r, page_host: p, utm_source, utm_medium, utm_campaign } = e.enrichment;
    return JSON.stringify([r === null ? '(direct)' : r === p ? '(internal)' : r, utm_source ?? '(none)', utm_medium ?? '(none)', utm_campaign ?? '(none)']);
  };
  return [...countBy(counted, key)]
    .map(([k, es]) => {
      const [first_referrer, utm_source, utm_medium, utm_campaign] = JSON.parse(k) as string[];
      return { first_referrer, utm_source, utm_medium, utm_campaign, users: es.length, anonymous_first_touch: es.filter((e) => people.resolvedBy(e) === 'device').length };
    })
    .sort((a, b) => b.users - a.users || JSON.stringify(Object.values(a).slice(0, 4)).localeCompare(JSON.stringify(Object.values(b).slice(0, 4))));
}

/** sessions_per_user: a person's events across devices, a new session after 30 minutes without one. */
function expectedSessionsPerUser(events: EnrichedEvent[], people: Resolution) {
  const mine = events.filter((e) => inRange(e) && !e.enrichment.is_bot && people.userOf(e) !== null);
  return [...countBy(mine, (e) => people.userOf(e)!)]
    .map(([person, es]) => {
      const times = es.map(timeOf).sort((a, b) => a - b);
      const sessions = times.filter((t, i) => i === 0 || t - times[i - 1]! > 30 * MINUTE).length;
      const day = (ms: number) => new Date(ms).toISOString().slice(0, 10);
      return {
        resolved_user_id: person,
        sessions,
        events: es.length,
        devices: distinct(es, (e) => e.anonymousId),
        anonymous_events: es.filter((e) => people.resolvedBy(e) === 'device').length,
        first_day: day(times[0]!),
        last_day: day(times.at(-1)!),
      };
    })
    .sort((a, b) => b.sessions - a.sessions || b.events - a.events || (a.resolved_user_id < b.resolved_user_id ? -1 : 1))
    .slice(0, 100);
}

function expectedReferrers(events: EnrichedEvent[]) {
  const entrances = events.filter((e) => {
    const { referrer_host: r, page_host: p, is_bot } = e.enrichment;
    return inRange(e) && e.type === 'page' && !is_bot && (r === null || p === null || r !== p);
  });
  const key = (e: EnrichedEvent) => {
    const x = e.enrichment;
    return JSON.stringify([x.referrer_host ?? '(direct)', x.utm_source ?? '(none)', x.utm_medium ?? '(none)', x.utm_campaign ?? '(none)']);
  };
  return [...countBy(entrances, key)]
    .map(([k, es]) => {
      const [referrer, utm_source, utm_medium, utm_campaign] = JSON.parse(k) as string[];
      return { referrer, utm_source, utm_medium, utm_campaign, visitors: distinct(es, visitorOf), page_views: distinct(es, (e) => e.messageId) };
    })
    .sort((a, b) => b.visitors - a.visitors || b.page_views - a.page_views || JSON.stringify(Object.values(a).slice(0, 4)).localeCompare(JSON.stringify(Object.values(b).slice(0, 4))));
}

function expectedBotShare(events: EnrichedEvent[]) {
  return [...countBy(events.filter(inRange), (e) => e.enrichment.event_date)]
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([day, es]) => {
      const bots = es.filter((e) => e.enrichment.is_bot);
      return {
        day,
        events: distinct(es, (e) => e.messageId),
        bot_events: distinct(bots, (e) => e.messageId),
        bot_event_share: round(distinct(bots, (e) => e.messageId) / distinct(es, (e) => e.messageId), 4),
        visitors: distinct(es, visitorOf),
        bot_visitors: distinct(bots, visitorOf),
      };
    });
}

function expectedLateEvents(events: EnrichedEvent[]) {
  return [...countBy(events.filter(inRange), (e) => e.enrichment.event_date)]
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([day, es]) => ({
      day,
      events: es.length,
      late_events: es.filter((e) => e.enrichment.is_late).length,
      max_lateness_seconds: Math.max(...es.map((e) => e.enrichment.lateness_seconds)),
      arrived_after_their_day: es.filter((e) => e.receivedAt.slice(0, 10) > day).length,
    }));
}

// ---------------------------------------------------------------------------------------------

describe('Athena analyses on DuckDB over a Parquet lake', () => {
  let root = '';
  let instance: DuckDBInstance;
  let connection: DuckDBConnection;
  let queries: AthenaQuery[];
  const events = scenarioEvents();
  const people = resolveIdentities(scenarioIdentityRows(events));
  const run = (name: string) => runAthenaQueryLocally(connection, queries.find((q) => q.name === name)!, RANGE);

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'clickstream-lake-'));
    queries = await loadAthenaQueries();
    instance = await DuckDBInstance.create(':memory:');
    connection = await instance.connect();

    await writeScenarioLake(connection, root, events);
    await createLakeViews(connection, root);
  }, 60_000);

  afterAll(async () => {
    connection?.closeSync();
    if (root) await rm(root, { recursive: true, force: true });
  });

  it('has a scenario that exercises the questions (late, bots, sessions, a funnel, another day outside the range)', () => {
    expect(events.length).toBeGreaterThan(150);
    expect(events.some((e) => e.enrichment.is_bot)).toBe(true);
    expect(events.some((e) => e.enrichment.is_late)).toBe(true);
    expect(events.some((e) => !inRange(e))).toBe(true);
    expect(expectedFunnel(events, people)[2]!.visitors).toBeGreaterThan(0);
    // Stitching matters in it: anonymous events that belong to a person, and a person on two devices.
    expect(events.filter((e) => inRange(e) && people.resolvedBy(e) === 'device').length).toBeGreaterThan(5);
    expect(expectedSessionsPerUser(events, people).some((p) => p.devices > 1)).toBe(true);
  });

  it('reads the Parquet files with the Glue column types', async () => {
    const described = (await connection.runAndReadAll('DESCRIBE events')).getRowObjectsJS();
    const types = Object.fromEntries(described.map((r) => [r['column_name'], r['column_type']]));
    expect(types).toMatchObject({ event_time: 'TIMESTAMP', event_hour: 'INTEGER', lateness_seconds: 'BIGINT', is_bot: 'BOOLEAN', dt: 'VARCHAR', hour: 'INTEGER', properties: 'VARCHAR' });
    const rows = (await connection.runAndReadAll('SELECT count(*) AS n, count(DISTINCT message_id) AS ids FROM events')).getRowObjectsJS();
    expect(rows[0]).toEqual({ n: BigInt(events.length + DUPLICATED_ROWS), ids: BigInt(events.length) });
  });

  it('runs every analytics/athena/*.sql file', async () => {
    expect(queries.map((q) => q.name).sort()).toEqual([
      'bad_rows_by_failure_type', 'bot_share', 'first_touch', 'funnel', 'late_events', 'referrers_and_campaigns', 'sessions', 'sessions_per_user', 'top_pages', 'tracking_plan_violations', 'unique_visitors_per_day',
    ]);
    for (const query of queries) {
      const rows = await runAthenaQueryLocally(connection, query, RANGE);
      expect(rows.length, query.name).toBeGreaterThan(0);
    }
  });

  it('applies only the documented substitutions', () => {
    const late = queries.find((q) => q.name === 'late_events')!.sql;
    expect(toDuckDbSql(late)).toContain('approx_quantile(lateness_seconds, 0.5)');
    expect(DUCKDB_SUBSTITUTIONS).toHaveLength(1);
    for (const q of queries.filter((q) => q.name !== 'late_events')) expect(toDuckDbSql(q.sql), q.name).toBe(q.sql);
  });

  it('top_pages', async () => {
    expect(await run('top_pages')).toEqual(expectedTopPages(events));
  });

  it('unique_visitors_per_day', async () => {
    expect(await run('unique_visitors_per_day')).toEqual(expectedVisitorsPerDay(events));
  });

  it('sessions (30-minute gap)', async () => {
    const expected = expectedSessions(events);
    const actual = await run('sessions');
    expect(actual.map(({ day, sessions, visitors, bounce_rate }) => ({ day, sessions, visitors, bounce_rate }))).toEqual(
      expected.map(({ day, sessions, visitors, bounce_rate }) => ({ day, sessions, visitors, bounce_rate })),
    );
    actual.forEach((row, i) => {
      expect(row['avg_duration_seconds']).toBeCloseTo(expected[i]!.avg_duration_seconds, 0);
      expect(row['avg_events_per_session']).toBeCloseTo(expected[i]!.avg_events_per_session, 1);
    });
  });

  it('funnel (/pricing → Signup Started → Signed Up within 24 h), by person', async () => {
    expect(await run('funnel')).toEqual(expectedFunnel(events, people));
  });

  it('has the views with the columns and types their headers declare', async () => {
    const duckDbTypeOf = (athena: string) => duckDbType(Object.entries(ATHENA_TYPES).find(([, a]) => a === athena)![0] as HiveType);
    for (const view of await loadAthenaViews()) {
      const described = (await connection.runAndReadAll(`DESCRIBE ${view.name}`)).getRowObjectsJS();
      expect(described.map((r) => `${r['column_name']} ${r['column_type']}`), view.name).toEqual(view.columns.map((c) => `${c.name} ${duckDbTypeOf(c.type)}`));
    }
  });

  it('events_resolved: every event with the person the stitching rules give it', async () => {
    const rows = (await connection.runAndReadAll('SELECT DISTINCT message_id, resolved_user_id, resolved_by FROM events_resolved ORDER BY message_id')).getRowObjectsJS();
    const expected = [...events]
      .sort((a, b) => (a.messageId < b.messageId ? -1 : 1))
      .map((e) => ({ message_id: e.messageId, resolved_user_id: people.userOf(e), resolved_by: people.resolvedBy(e) }));
    expect(rows).toEqual(expected);
    const byId = new Map(rows.map((r) => [r['message_id'], r]));
    // The stories: the phone's anonymous campaign visit is story-a's; the shared computer's events go to the next one to log in.
    expect(byId.get('msg-story-000')).toMatchObject({ resolved_user_id: 'story-a', resolved_by: 'device' });
    expect(['msg-story-007', 'msg-story-010', 'msg-story-011', 'msg-story-014'].map((id) => byId.get(id)?.['resolved_user_id'])).toEqual(['story-b1', 'story-b2', 'story-b2', 'story-b2']);
  });

  it('first_touch: each person by their first event, anonymous or not', async () => {
    const expected = expectedFirstTouch(events, people);
    expect(expected.some((r) => r.anonymous_first_touch > 0)).toBe(true);
    expect(await run('first_touch')).toEqual(expected);
  });

  it('sessions_per_user: sessions of each person across devices', async () => {
    expect(await run('sessions_per_user')).toEqual(expectedSessionsPerUser(events, people));
  });

  it('referrers_and_campaigns', async () => {
    const sortKey = (r: Record<string, unknown>) => JSON.stringify([r['referrer'], r['utm_source'], r['utm_medium'], r['utm_campaign']]);
    const bySortKey = (a: Record<string, unknown>, b: Record<string, unknown>) => sortKey(a).localeCompare(sortKey(b));
    expect((await run('referrers_and_campaigns')).sort(bySortKey)).toEqual(expectedReferrers(events).sort(bySortKey));
  });

  it('bot_share', async () => {
    expect(await run('bot_share')).toEqual(expectedBotShare(events));
  });

  it('late_events', async () => {
    const actual = await run('late_events');
    expect(actual.map(({ day, events: n, late_events, max_lateness_seconds, arrived_after_their_day }) => ({ day, events: n, late_events, max_lateness_seconds, arrived_after_their_day }))).toEqual(
      expectedLateEvents(events),
    );
    for (const row of actual) {
      expect(row['p50_lateness_seconds'] as number).toBeLessThanOrEqual(row['p95_lateness_seconds'] as number);
      expect(row['p95_lateness_seconds'] as number).toBeLessThanOrEqual(row['max_lateness_seconds'] as number);
    }
  });

  it('tracking_plan_violations: per event, property and problem, flagged events and rejected ones', async () => {
    const rows = await run('tracking_plan_violations');
    const expected = expectedPlanViolations(events);
    expect(expected.map((r) => r.outcome)).toContain('flagged');
    expect(rows.map(({ event_name, property, problem, outcome, events: n }) => ({ event_name, property, problem, outcome, events: n }))).toEqual(expected);
  });

  it('bad_rows_by_failure_type counts a replayed bad row once, and a recovered one as recovered, not open', async () => {
    const rows = await run('bad_rows_by_failure_type');
    expect(rows.map(({ day, failure_type, bad_rows, open_rows, recovered_rows, message_ids }) => ({ day, failure_type, bad_rows, open_rows, recovered_rows, message_ids }))).toEqual([
      { day: '2026-11-21', failure_type: 'invalid_json', bad_rows: 1, open_rows: 1, recovered_rows: 0, message_ids: 0 },
      { day: '2026-11-22', failure_type: 'schema_violation', bad_rows: 2, open_rows: 1, recovered_rows: 1, message_ids: 2 },
      { day: '2026-11-22', failure_type: 'invalid_json', bad_rows: 1, open_rows: 1, recovered_rows: 0, message_ids: 0 },
      { day: '2026-11-22', failure_type: 'tracking_plan_violation', bad_rows: 1, open_rows: 1, recovered_rows: 0, message_ids: 1 },
    ]);
    expect(rows[1]!['latest_reason']).toBe('/event must be string');
    expect(rows[1]!['last_failed_at']).toEqual(new Date('2026-11-22T11:00:00.500Z'));
  });
});
