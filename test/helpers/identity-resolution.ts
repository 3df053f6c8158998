// The stitching rules of analytics/athena/views (README, "Identity stitching") computed in TypeScript, a second
// way, to check the views' answers: a graph walk over the identity rows instead of joins.
import type { EnrichedEvent, IdentityRow } from '../../schemas/index.js';

export interface Resolution {
  /** The person an event belongs to, or null for a device never identified. */
  userOf(event: Pick<EnrichedEvent, 'userId' | 'anonymousId' | 'timestamp'>): string | null;
  resolvedBy(event: Pick<EnrichedEvent, 'userId' | 'anonymousId' | 'timestamp'>): 'user_id' | 'device' | null;
  /** The id an aliased id stands for (itself when never aliased). */
  canonical(userId: string): string;
}

const MAX_ALIAS_STEPS = 4;

export function resolveIdentities(rows: readonly IdentityRow[]): Resolution {
  // Aliases: when each (from, to) was first seen; each id's newest one.
  const aliasedAt = new Map<string, number>();
  for (const r of rows) {
    if (r.link !== 'alias' || !r.previous_id) continue;
    const key = JSON.stringify([r.previous_id, r.user_id]);
    aliasedAt.set(key, Math.min(aliasedAt.get(key) ?? Infinity, Date.parse(r.first_seen)));
  }
  const newest = new Map<string, { to: string; at: number }>();
  for (const [key, at] of aliasedAt) {
    const [from, to] = JSON.parse(key) as [string, string];
    const current = newest.get(from);
    if (!current || at > current.at || (at === current.at && to > current.to)) newest.set(from, { to, at });
  }
  // Two ids aliased to each other: only the newer alias is followed.
  const successor = new Map<string, string>();
  for (const [from, { to, at }] of newest) {
    const back = newest.get(to);
    const undone = back !== undefined && back.to === from && (back.at > at || (back.at === at && back.to > to));
    if (!undone) successor.set(from, to);
  }
  const canonical = (id: string): string => {
    let current = id;
    for (let step = 0; step < MAX_ALIAS_STEPS && successor.has(current); step++) current = successor.get(current)!;
    return current;
  };

  // Devices: every user seen on them, resolved, with the first time.
  const userIds = new Set(rows.map((r) => r.user_id));
  const devices = new Map<string, Map<string, number>>();
  const seenOn = (device: string, user: string, firstSeen: string) => {
    const users = devices.get(device) ?? new Map<string, number>();
    const resolved = canonical(user);
    users.set(resolved, Math.min(users.get(resolved) ?? Infinity, Date.parse(firstSeen)));
    devices.set(device, users);
  };
  for (const r of rows) {
    if (r.anonymous_id) seenOn(r.anonymous_id, r.user_id, r.first_seen);
    if (r.link === 'alias' && r.previous_id && !userIds.has(r.previous_id)) seenOn(r.previous_id, r.user_id, r.first_seen);
  }
  const ownerOf = (device: string, atMs: number): string | null => {
    const users = [...(devices.get(device) ?? new Map<string, number>())].sort(([ua, a], [ub, b]) => a - b || (ua < ub ? -1 : ua > ub ? 1 : 0));
    if (users.length === 0) return null;
    // The next user first seen at or after the event, else the last one.
    return (users.find(([, first]) => atMs <= first) ?? users.at(-1)!)[0];
  };

  const resolvedBy: Resolution['resolvedBy'] = (e) => {
    if (e.userId !== undefined && e.userId !== null) return 'user_id';
    return e.anonymousId && ownerOf(String(e.anonymousId), Date.parse(e.timestamp)) ? 'device' : null;
  };
  const userOf: Resolution['userOf'] = (e) => {
    if (e.userId !== undefined && e.userId !== null) return canonical(String(e.userId));
    return e.anonymousId ? ownerOf(String(e.anonymousId), Date.parse(e.timestamp)) : null;
  };
  return { userOf, resolvedBy, canonical };
}
