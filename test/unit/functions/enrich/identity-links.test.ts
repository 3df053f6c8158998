// Which events show a link between ids, and how a batch's sightings fold into rows.
import { describe, expect, it } from 'vitest';
import { foldLinks, linkOf, RecentLinks } from '../../../../functions/enrich/identity-links.js';

const at = '2026-11-22T10:00:00.000Z';

describe('linkOf', () => {
  it('reads identify, alias and any event with both ids', () => {
    expect(linkOf({ type: 'identify', anonymousId: 'd', userId: 'u', timestamp: at })).toMatchObject({ link: 'identify', anonymous_id: 'd', user_id: 'u', previous_id: null });
    expect(linkOf({ type: 'page', anonymousId: 'd', userId: 7, timestamp: at })).toMatchObject({ link: 'event', user_id: '7' });
    expect(linkOf({ type: 'alias', previousId: 'old', userId: 'new', timestamp: at })).toMatchObject({ link: 'alias', anonymous_id: null, previous_id: 'old', user_id: 'new' });
  });

  it('finds none without two ids, in an alias to itself, or without an event time', () => {
    expect(linkOf({ type: 'track', anonymousId: 'd', timestamp: at })).toBeUndefined();
    expect(linkOf({ type: 'identify', userId: 'u', timestamp: at })).toBeUndefined(); // a server-side identify: no device
    expect(linkOf({ type: 'alias', anonymousId: 'd', previousId: 'u', userId: 'u', timestamp: at })).toBeUndefined();
    expect(linkOf({ type: 'identify', anonymousId: 'd', userId: '', timestamp: at })).toBeUndefined();
    expect(linkOf({ type: 'identify', anonymousId: 'd', userId: 'u' })).toBeUndefined();
  });
});

describe('foldLinks', () => {
  it('keeps one row per link with the first and last event time and the count', () => {
    const s = (link: 'event' | 'identify', iso: string) => ({ link, anonymous_id: 'd', user_id: 'u', previous_id: null, atMs: Date.parse(iso) });
    expect(foldLinks([s('event', '2026-11-22T10:05:00Z'), s('event', '2026-11-22T09:55:00Z'), s('identify', at), s('event', '2026-11-22T10:01:00Z')])).toEqual([
      { link: 'event', anonymous_id: 'd', user_id: 'u', previous_id: null, first_seen: '2026-11-22T09:55:00.000Z', last_seen: '2026-11-22T10:05:00.000Z', events: 3 },
      { link: 'identify', anonymous_id: 'd', user_id: 'u', previous_id: null, first_seen: at, last_seen: at, events: 1 },
    ]);
  });
});

describe('RecentLinks', () => {
  const s = (link: 'event' | 'identify', user = 'u') => ({ link, anonymous_id: 'd', user_id: user, previous_id: null, atMs: 0 });

  it('holds back a device–user link delivered in the last hour, whichever call showed it, never an alias', () => {
    const recent = new RecentLinks(3_600_000);
    const alias = { link: 'alias' as const, anonymous_id: 'd', user_id: 'u', previous_id: 'old', atMs: 0 };
    recent.delivered([s('event'), alias], 1_000);
    expect(recent.worthSending([s('event'), s('identify'), s('event', 'other'), alias], 2_000)).toEqual([s('event', 'other'), alias]);
    expect(recent.worthSending([s('identify')], 1_000 + 3_600_000)).toEqual([s('identify')]);
  });

  it('keeps at most maxLinks, forgetting the oldest delivery first', () => {
    const recent = new RecentLinks(3_600_000, 2);
    recent.delivered([s('event', 'a'), s('event', 'b')], 0);
    recent.delivered([s('event', 'a')], 1);
    recent.delivered([s('event', 'c')], 2);
    expect(recent.size).toBe(2);
    expect(recent.worthSending([s('event', 'a'), s('event', 'b'), s('event', 'c')], 3)).toEqual([s('event', 'b')]);
  });
});
