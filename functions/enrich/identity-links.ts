// The links between ids an event shows (schemas/identities), folded per batch into the rows of the lake
// table `identities`: one row per link and batch, not per event, so the table stays small.
//   identify with anonymousId and userId       → link identify: the device belongs to the user;
//   alias (previousId → userId)                 → link alias: previousId is now userId (an earlier user
//                                                 id, or an anonymousId); with the device's anonymousId;
//   any other event with anonymousId and userId → link event: Snowplow's trackers have no identify call and
//                                                 send the user id on every event, Segment's do after identify.
// The same link seen twice makes two rows; the views of analytics/athena/views fold them.
// A device–user link is sent again only once an hour per container (RecentLinks): a signed-in user's every
// batch, and trackers that call identify on every page load, would otherwise repeat it. Only its last_seen
// loses precision (an hour at most); its first_seen, which decides whose a shared device's anonymous events
// are, is the first sighting's. Alias links, rare and each a merge, are always sent.
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

/** The device–user links this container delivered lately, so a signed-in user's batches do not repeat them. */
export class RecentLinks {
  private readonly sentAt = new Map<string, number>();

  constructor(
    readonly refreshMs = 3_600_000,
    /** About 150 bytes each: 100,000 is about 15 MB. */
    readonly maxLinks = 100_000,
  ) {}

  private static key(s: Pick<LinkSighting, 'anonymous_id' | 'user_id'>): string {
    return `${s.anonymous_id ?? ''}\u0000${s.user_id}`;
  }

  /** The sightings worth sending: every alias, and the device–user links (identify, event) not delivered in the last refreshMs. */
  worthSending(sightings: readonly LinkSighting[], nowMs: number): LinkSighting[] {
    return sightings.filter((s) => {
      if (s.link === 'alias') return true;
      const at = this.sentAt.get(RecentLinks.key(s));
      return at === undefined || nowMs - at >= this.refreshMs;
    });
  }

  /** Remembers delivered device–user links (an identify covers the `event` link of the same ids, and back). */
  delivered(sightings: readonly LinkSighting[], nowMs: number): void {
    for (const s of sightings) {
      if (s.link === 'alias') continue;
      const key = RecentLinks.key(s);
      this.sentAt.delete(key); // re-inserted last: the Map's order is the order of delivery
      this.sentAt.set(key, nowMs);
    }
    for (const key of this.sentAt.keys()) {
      if (this.sentAt.size <= this.maxLinks) break;
      this.sentAt.delete(key);
    }
  }

  get size(): number {
    return this.sentAt.size;
  }
}
