// The stitching rules of analytics/athena/views on DuckDB, one conflict at a time: merges (chains, an alias
// undone, one id aliased to two users, ties, a loop), shared devices, and an alias from an anonymousId. Each
// answer is written out here and also checked against the TypeScript version of the rules.
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { toDuckDbSql } from '../../../analytics/athena/dialect.js';
import { loadAthenaViews } from '../../../analytics/athena/queries.js';
import type { IdentityRow } from '../../../schemas/index.js';
import { resolveIdentities } from '../../helpers/identity-resolution.js';

const T = (minute: number) => new Date(Date.parse('2026-11-22T10:00:00.000Z') + minute * 60_000).toISOString();
const link = (l: IdentityRow['link'], anonymous_id: string | null, user_id: string, previous_id: string | null, minute: number, lastMinute = minute): IdentityRow => ({
  link: l, anonymous_id, user_id, previous_id, first_seen: T(minute), last_seen: T(lastMinute), events: 1,
});
const alias = (from: string, to: string, minute: number) => link('alias', null, to, from, minute);

const ROWS: IdentityRow[] = [
  // A chain of five aliases: followed four steps.
  alias('a', 'b', 1), alias('b', 'c', 2), alias('c', 'd', 3), alias('d', 'e', 4), alias('e', 'f', 5),
  // An alias undone: p → q, then q → p.
  alias('p', 'q', 1), alias('q', 'p', 2),
  // One id aliased to two users: the later one.
  alias('r', 's', 1), alias('r', 'u', 2),
  // Aliased to each other in the same millisecond: the greater id.
  alias('m', 'n', 7), alias('n', 'm', 7),
  // A loop of three (a tracker bug): each id goes where four steps lead.
  alias('x', 'y', 1), alias('y', 'z', 2), alias('z', 'x', 3),
  // A shared device: ann identifies at minute 10 (and again at 40), bob at 20, cy at 30 (an event row: she sent her id on a page view).
  link('identify', 'dev-shared', 'ann', null, 10), link('identify', 'dev-shared', 'ann', null, 40), link('identify', 'dev-shared', 'bob', null, 20), link('event', 'dev-shared', 'cy', null, 30, 35),
  // A device of one user, seen twice in two batches.
  link('identify', 'dev-one', 'dee', null, 50), link('event', 'dev-one', 'dee', null, 45, 60),
  // A device whose user was later aliased: its events follow the alias.
  link('identify', 'dev-renamed', 'old-id', null, 5), alias('old-id', 'new-id', 6),
  // A server-side alias from an anonymousId: the device is linked too.
  link('alias', null, 'eve', 'anon-9', 8),
];

const EVENTS: { message_id: string; anonymous_id: string | null; user_id: string | null; minute: number }[] = [
  { message_id: 'shared-before', anonymous_id: 'dev-shared', user_id: null, minute: 0 },
  { message_id: 'shared-at-ann', anonymous_id: 'dev-shared', user_id: null, minute: 10 },
  { message_id: 'shared-after-ann', anonymous_id: 'dev-shared', user_id: null, minute: 15 },
  { message_id: 'shared-after-bob', anonymous_id: 'dev-shared', user_id: null, minute: 25 },
  { message_id: 'shared-after-all', anonymous_id: 'dev-shared', user_id: null, minute: 90 },
  { message_id: 'shared-bob-logged-in', anonymous_id: 'dev-shared', user_id: 'bob', minute: 95 },
  { message_id: 'one-weeks-before', anonymous_id: 'dev-one', user_id: null, minute: -40_000 },
  { message_id: 'one-after', anonymous_id: 'dev-one', user_id: null, minute: 70 },
  { message_id: 'renamed-anonymous', anonymous_id: 'dev-renamed', user_id: null, minute: 1 },
  { message_id: 'renamed-own', anonymous_id: 'dev-renamed', user_id: 'old-id', minute: 7 },
  { message_id: 'anon-9-before', anonymous_id: 'anon-9', user_id: null, minute: 2 },
  { message_id: 'stranger', anonymous_id: 'dev-never', user_id: null, minute: 3 },
  { message_id: 'chain', anonymous_id: null, user_id: 'a', minute: 3 },
];

describe('identity stitching rules (analytics/athena/views) on DuckDB', () => {
  let instance: DuckDBInstance;
  let connection: DuckDBConnection;
  const query = async (sql: string) => (await connection.runAndReadAll(sql)).getRowObjectsJS();
  const reference = resolveIdentities(ROWS);

  beforeAll(async () => {
    instance = await DuckDBInstance.create(':memory:');
    connection = await instance.connect();
    await connection.run('CREATE TABLE identities (link VARCHAR, anonymous_id VARCHAR, user_id VARCHAR, previous_id VARCHAR, first_seen TIMESTAMP, last_seen TIMESTAMP, events BIGINT, dt VARCHAR, hour INTEGER)');
    for (const r of ROWS) {
      await connection.run('INSERT INTO identities VALUES (?, ?, ?, ?, CAST(? AS TIMESTAMP), CAST(? AS TIMESTAMP), ?, ?, ?)', [
        r.link, r.anonymous_id, r.user_id, r.previous_id, r.first_seen.replace('Z', ''), r.last_seen.replace('Z', ''), r.events, r.first_seen.slice(0, 10), Number(r.first_seen.slice(11, 13)),
      ]);
    }
    await connection.run('CREATE TABLE events (message_id VARCHAR, anonymous_id VARCHAR, user_id VARCHAR, event_time TIMESTAMP)');
    for (const e of EVENTS) await connection.run('INSERT INTO events VALUES (?, ?, ?, CAST(? AS TIMESTAMP))', [e.message_id, e.anonymous_id, e.user_id, T(e.minute).replace('Z', '')]);
    for (const view of await loadAthenaViews()) await connection.run(`CREATE VIEW ${view.name} AS ${toDuckDbSql(view.sql)}`);
  });

  afterAll(() => connection?.closeSync());

  it('merges: newest alias, undone aliases, ties, chains of four, loops', async () => {
    const rows = Object.fromEntries((await query('SELECT user_id, resolved_user_id FROM user_aliases')).map((r) => [r['user_id'], r['resolved_user_id']]));
    expect(rows).toEqual({
      a: 'e', b: 'f', c: 'f', d: 'f', e: 'f', // four steps at most: a stops at e
      q: 'p', // p → q was undone by q → p: p stands for itself
      r: 'u', // s keeps its own events
      m: 'n', // the same millisecond: the greater id
      x: 'y', y: 'z', z: 'x', // x → y → z → x → y: four steps
      'old-id': 'new-id',
      'anon-9': 'eve',
    });
    for (const [id, resolved] of Object.entries(rows)) expect(reference.canonical(id), id).toBe(resolved);
    for (const id of ['p', 's', 'n', 'f', 'u']) expect(reference.canonical(id)).toBe(id);
  });

  it('a shared device: each anonymous event is the next user\'s to log in, then the last one\'s', async () => {
    const rows = await query("SELECT resolved_user_id, CAST(owns_after AS VARCHAR) AS owns_after, CAST(owns_until AS VARCHAR) AS owns_until, users_on_device FROM device_users WHERE anonymous_id = 'dev-shared' ORDER BY first_seen");
    expect(rows).toEqual([
      { resolved_user_id: 'ann', owns_after: null, owns_until: '2026-11-22 10:10:00', users_on_device: 3n },
      { resolved_user_id: 'bob', owns_after: '2026-11-22 10:10:00', owns_until: '2026-11-22 10:20:00', users_on_device: 3n },
      { resolved_user_id: 'cy', owns_after: '2026-11-22 10:20:00', owns_until: null, users_on_device: 3n },
    ]);
  });

  it('events_resolved: every event with its person, and events with a userId stay that user\'s', async () => {
    const rows = Object.fromEntries((await query('SELECT message_id, resolved_user_id, resolved_by FROM events_resolved')).map((r) => [r['message_id'], [r['resolved_user_id'], r['resolved_by']]]));
    expect(rows).toEqual({
      'shared-before': ['ann', 'device'],
      'shared-at-ann': ['ann', 'device'],
      'shared-after-ann': ['bob', 'device'],
      'shared-after-bob': ['cy', 'device'],
      'shared-after-all': ['cy', 'device'],
      'shared-bob-logged-in': ['bob', 'user_id'],
      'one-weeks-before': ['dee', 'device'], // four weeks before the identify: no time limit
      'one-after': ['dee', 'device'],
      'renamed-anonymous': ['new-id', 'device'],
      'renamed-own': ['new-id', 'user_id'],
      'anon-9-before': ['eve', 'device'],
      stranger: [null, null],
      chain: ['e', 'user_id'],
    });
    for (const e of EVENTS) {
      const event = { userId: e.user_id ?? undefined, anonymousId: e.anonymous_id ?? undefined, timestamp: T(e.minute) };
      expect([reference.userOf(event), reference.resolvedBy(event)], e.message_id).toEqual(rows[e.message_id]);
    }
  });

  it('gives each event one row: the devices\' time ranges do not overlap', async () => {
    expect(await query('SELECT count(*) AS n, count(DISTINCT message_id) AS ids FROM events_resolved')).toEqual([{ n: BigInt(EVENTS.length), ids: BigInt(EVENTS.length) }]);
  });
});
