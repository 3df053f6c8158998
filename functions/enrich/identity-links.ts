// The links between ids an event shows (schemas/identities), folded per batch into the rows of the lake
// table `identities`: one row per link and batch, not per event, so the table stays small.
//   identify with anonymousId and userId       → link identify: the device belongs to the user;
//   alias (previousId → userId)                 → link alias: previousId is now userId (an earlier user
//                                                 id, or an anonymousId); with the device's anonymousId;
//   any other event with anonymousId and userId → link event: Snowplow's trackers have no identify call and
//                                                 send the user id on every event, Segment's do after identify.
// The same link seen twice makes two rows; analytics/athena/identity_links.sql folds them.
import type { IdentityRow } from '../../schemas/index.js';

export type LinkSighting = Pick<IdentityRow, 'link' | 'anonymous_id' | 'user_id' | 'previous_id'> & { atMs: number };

const id = (value: unknown): string | null => (value === undefined || value === null || value === '' ? null : String(value));

/** The link an event shows, if any; `timestamp` is its corrected event time. */
export function linkOf(event: { type?: unknown; anonymousId?: unknown; userId?: unknown; previousId?: unknown; timestamp?: string }): LinkSighting | undefined {
  const atMs = event.timestamp === undefined ? NaN : Date.parse(event.timestamp);
  const userId = id(event.userId);
  if (!userId || !Number.isFinite(atMs)) return undefined;
  const anonymousId = id(event.anonymousId);
  if (event.type === 'alias') {
    const previousId = id(event.previousId);
    if (!previousId || previousId === userId) return undefined;
    return { link: 'alias', anonymous_id: anonymousId, user_id: userId, previous_id: previousId, atMs };
  }
  if (!anonymousId) return undefined;
  return { link: event.type === 'identify' ? 'identify' : 'event', anonymous_id: anonymousId, user_id: userId, previous_id: null, atMs };
}

/** One row per distinct link, with the first and last event time and the count, in a stable order. */
export function foldLinks(sightings: readonly LinkSighting[]): IdentityRow[] {
  const rows = new Map<string, IdentityRow & { firstMs: number; lastMs: number }>();
  for (const s of sightings) {
    const key = JSON.stringify([s.link, s.anonymous_id, s.user_id, s.previous_id]);
    const row = rows.get(key);
    if (!row) {
      rows.set(key, { link: s.link, anonymous_id: s.anonymous_id, user_id: s.user_id, previous_id: s.previous_id, first_seen: '', last_seen: '', events: 1, firstMs: s.atMs, lastMs: s.atMs });
      continue;
    }
    row.events++;
    row.firstMs = Math.min(row.firstMs, s.atMs);
    row.lastMs = Math.max(row.lastMs, s.atMs);
  }
  return [...rows.entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([, { firstMs, lastMs, ...row }]) => ({ ...row, first_seen: new Date(firstMs).toISOString(), last_seen: new Date(lastMs).toISOString() }));
}
