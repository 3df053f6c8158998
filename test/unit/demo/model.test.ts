import { isIPv6 } from 'node:net';
import { describe, expect, it } from 'vitest';
import { parseUserAgent } from '../../../functions/enrich/user-agent.js';
import {
  BOTS,
  BROWSERS,
  DEMO_SITE,
  FUNNEL,
  demoEventsFor,
  expectedOutcome,
  generateTraffic,
  mulberry32,
  spikeWindow,
  trafficSends,
  type DemoEvent,
  type ScheduledSend,
} from '../../../local/demo/model.js';
import { HOME_NETWORKS } from '../../../local/demo/visitor-networks.js';
import { validateEnvelope, validateEvent } from '../../../schemas/index.js';
import { realIpFacts } from '../../helpers/ip-facts.js';

const START = Date.parse('2026-11-22T10:00:17.000Z');
const TEN_MINUTES = 10 * 60_000;
const options = { seed: 42, startMs: START, runId: 'test', rate: 5, durationMs: TEN_MINUTES };
const sends = trafficSends(options);

const isInvalid = (send: ScheduledSend, index: number) => send.meta.invalid.some((mark) => mark.index === index);
/** The valid events of the regular sends: every distinct event that should reach the lake. */
const events: DemoEvent[] = sends.filter((s) => s.meta.kind === 'regular').flatMap((s) => s.batch.filter((_, i) => !isInvalid(s, i)));
const botAgents = new Set(BOTS.map(([device]) => device.userAgent));
const humans = events.filter((e) => !botAgents.has(e.context.userAgent));
const visitorOf = (e: DemoEvent) => e.anonymousId ?? e.userId!;
const ms = (iso: string) => Date.parse(iso);

describe('determinism', () => {
  it('the same seed and start give the same sends, deep-equal over 10 simulated minutes', () => {
    expect(trafficSends(options)).toEqual(sends);
  });

  it('a different seed gives other visits', () => {
    const other = trafficSends({ ...options, seed: 43 });
    const visitors = (list: ScheduledSend[]) => new Set(list.flatMap((s) => s.batch.flatMap((e) => (e.anonymousId ? [e.anonymousId] : []))));
    const ours = visitors(sends);
    const shared = [...visitors(other)].filter((id) => ours.has(id));
    expect(shared).toEqual([]);
    expect(other.map((s) => s.batch.length)).not.toEqual(sends.map((s) => s.batch.length));
  });

  it('the run id changes only the messageIds, so a restart never looks like a retry', () => {
    const restarted = trafficSends({ ...options, runId: 'restart' });
    expect(restarted.length).toBe(sends.length);
    const strip = (list: ScheduledSend[]) => list.map((s) => s.batch.map(({ messageId: _id, ...rest }) => rest));
    expect(strip(restarted)).toEqual(strip(sends));
    const ids = new Set(sends.flatMap((s) => s.batch.map((e) => e.messageId)));
    expect(restarted.flatMap((s) => s.batch).some((e) => ids.has(e.messageId))).toBe(false);
    expect(restarted[0]!.batch[0]!.messageId).toMatch(/^demo-restart-\d+$/);
  });

  it('the event path uses no Math.random', () => {
    const original = Math.random;
    Math.random = () => {
      throw new Error('Math.random called');
    };
    try {
      expect(trafficSends({ ...options, durationMs: 60_000 }).length).toBeGreaterThan(0);
    } finally {
      Math.random = original;
    }
  });

  it('mulberry32 is a function of its seed', () => {
    const a = mulberry32(7);
    const b = mulberry32(7);
    const values = Array.from({ length: 5 }, () => a());
    expect(Array.from({ length: 5 }, () => b())).toEqual(values);
    expect(values.every((v) => v >= 0 && v < 1)).toBe(true);
  });
});

describe('schedule and shape', () => {
  it('sends are in time order, one batch per second, within the ingest limits', () => {
    for (let i = 1; i < sends.length; i++) expect(sends[i]!.atMs).toBeGreaterThanOrEqual(sends[i - 1]!.atMs);
    expect(sends[0]!.atMs).toBeGreaterThan(START);
    expect(sends.at(-1)!.atMs).toBeLessThanOrEqual(START + TEN_MINUTES);
    expect(sends.map((s) => s.meta.seq)).toEqual(sends.map((_, i) => i));
    for (const send of sends) {
      expect(send.batch.length).toBeGreaterThan(0);
      expect(send.batch.length).toBeLessThanOrEqual(100);
      expect(Buffer.byteLength(JSON.stringify({ batch: send.batch }))).toBeLessThan(500 * 1024);
    }
  });

  it('every event carries messageId, timestamp ≤ sentAt, the page, user agent and library', () => {
    for (const send of sends) {
      for (const [index, event] of send.batch.entries()) {
        expect(event.messageId).toMatch(/^demo-test-\d+$/);
        expect(event.sentAt).toBe(new Date(send.atMs).toISOString());
        expect(event.context.userAgent.length).toBeGreaterThan(20);
        expect(event.context.library).toEqual({ name: 'clickstream-demo', version: '2.0.0' });
        expect(event.context.page.url.startsWith(`${DEMO_SITE}/`)).toBe(true);
        if (!isInvalid(send, index)) expect(ms(event.timestamp)).toBeLessThanOrEqual(ms(event.sentAt));
      }
    }
  });

  it('every event not marked invalid passes the full event schema (so it reaches the lake)', () => {
    for (const event of events) {
      const result = validateEvent(event);
      expect(result, JSON.stringify(event)).toEqual({ ok: true, value: event });
    }
  });

  it("IPs are public: a visitor's from its time zone's country, a few from data centres, crawlers' from their published ranges", () => {
    const facts = realIpFacts();
    const humanFacts = humans.map((e) => ({ e, f: facts.lookup(e.context.ip) }));
    const fromHome = humanFacts.filter(({ f }) => f.network_type === null);
    const fromDataCentres = humanFacts.filter(({ f }) => f.network_type === 'data_centre');
    expect(fromHome.length + fromDataCentres.length).toBe(humans.length);
    const inTheirCountry = fromHome.filter(({ e, f }) => f.geo_country === HOME_NETWORKS[e.context.timezone]!.country).length;
    expect(inTheirCountry / fromHome.length).toBeGreaterThan(0.95);
    expect(new Set(fromHome.map(({ f }) => f.geo_country))).toEqual(new Set(Object.values(HOME_NETWORKS).map((n) => n.country)));
    const visitorsFromDataCentres = new Set(fromDataCentres.map(({ e }) => visitorOf(e))).size / new Set(humans.map(visitorOf)).size;
    expect(visitorsFromDataCentres).toBeGreaterThan(0.01);
    expect(visitorsFromDataCentres).toBeLessThan(0.08);
    expect(humans.some((e) => isIPv6(e.context.ip))).toBe(true);
    for (const e of events.filter((event) => botAgents.has(event.context.userAgent))) {
      const device = BOTS.find(([d]) => d.userAgent === e.context.userAgent)![0];
      const f = facts.lookup(e.context.ip);
      if (device.id === 'headless-chrome') expect(f.network_type, e.context.ip).toBe('data_centre');
      else expect(f, e.context.ip).toMatchObject({ network_type: 'crawler', network_name: device.id === 'googlebot' ? 'Googlebot' : 'bingbot' });
    }
  });

  it('the rate follows --rate outside the spike (within 15% over a minute)', () => {
    const spike = spikeWindow(options)!;
    const perMinute = countByMinute(events.filter((e) => ms(e.timestamp) < spike.startMs || ms(e.timestamp) >= spike.endMs));
    const full = [...perMinute.entries()].filter(([minute]) => minute * 60_000 >= START && (minute + 1) * 60_000 <= START + TEN_MINUTES);
    for (const [, count] of full) {
      expect(count).toBeGreaterThan(5 * 60 * 0.8);
      expect(count).toBeLessThan(5 * 60 * 1.25);
    }
    const mean = full.reduce((sum, [, c]) => sum + c, 0) / full.length;
    expect(Math.abs(mean - 300) / 300).toBeLessThan(0.15);
  });

  it('a low rate averages out too', () => {
    const slow = trafficSends({ ...options, rate: 1, spike: null }).flatMap((s) => (s.meta.kind === 'regular' ? s.batch : []));
    expect(slow.length / 10).toBeGreaterThan(60 * 0.85);
    expect(slow.length / 10).toBeLessThan(60 * 1.15);
  });
});

describe('realistic shares', () => {
  it('bots are 2–8% of events: Googlebot, bingbot, a headless crawler, each flagged by the enrich parser', () => {
    const share = (events.length - humans.length) / events.length;
    expect(share).toBeGreaterThanOrEqual(0.02);
    expect(share).toBeLessThanOrEqual(0.08);
    for (const [device] of BOTS) expect(parseUserAgent(device.userAgent).is_bot, device.id).toBe(true);
    for (const [device] of BROWSERS) expect(parseUserAgent(device.userAgent).is_bot, device.id).toBe(false);
  });

  it('mobile browsers are 30–60% of human events, and the enrich parser agrees on which are mobile', () => {
    const mobileAgents = new Set(BROWSERS.filter(([d]) => d.mobile).map(([d]) => d.userAgent));
    const share = humans.filter((e) => mobileAgents.has(e.context.userAgent)).length / humans.length;
    expect(share).toBeGreaterThanOrEqual(0.3);
    expect(share).toBeLessThanOrEqual(0.6);
    for (const [device] of BROWSERS) expect(parseUserAgent(device.userAgent).device_type, device.id).toBe(device.mobile ? 'mobile' : 'desktop');
    const browsers = new Set(BROWSERS.map(([d]) => parseUserAgent(d.userAgent).browser_name));
    expect(browsers).toEqual(new Set(['Chrome', 'Edge', 'Firefox', 'Safari', 'Mobile Safari']));
  });

  it('hundreds of visitors, and anonymous visitors who identify and then carry a userId', () => {
    const visitors = new Set(humans.map(visitorOf));
    expect(visitors.size).toBeGreaterThan(300);
    const journeys = [...groupBy(humans, visitorOf).values()].filter((list) => {
      const identify = list.findIndex((e) => e.type === 'identify');
      return identify > 0 && list[0]!.userId === undefined && list.slice(identify).every((e) => e.userId === list[identify]!.userId);
    });
    expect(journeys.length).toBeGreaterThan(5);
  });

  it('the funnel of funnel.sql narrows: /pricing → Signup Started → Signed Up (about 40% → 15%)', () => {
    const steps = funnel(humans);
    expect(steps[0]).toBeGreaterThan(100);
    expect(steps[1]).toBeLessThan(steps[0]);
    expect(steps[2]).toBeLessThan(steps[1]);
    expect(steps[1] / steps[0]).toBeGreaterThan(0.25);
    expect(steps[1] / steps[0]).toBeLessThan(0.6);
    expect(steps[2] / steps[0]).toBeGreaterThan(0.07);
    expect(steps[2] / steps[0]).toBeLessThan(0.3);
    // Every Signed Up comes with an identify of the same user just before.
    for (const event of humans.filter((e) => e.event === FUNNEL.completed)) {
      expect(humans.some((e) => e.type === 'identify' && e.userId === event.userId && ms(e.timestamp) <= ms(event.timestamp))).toBe(true);
    }
  });

  it('landings come from search, social, news sites, email and direct; some carry UTM tags', () => {
    const landings = humans.filter((e) => e.type === 'page' && !e.context.page.referrer.startsWith(DEMO_SITE));
    const hosts = new Set(landings.map((e) => (e.context.page.referrer ? new URL(e.context.page.referrer).hostname : '(direct)')));
    for (const host of ['www.google.com', '(direct)', 'news.ycombinator.com']) expect(hosts.has(host), host).toBe(true);
    expect(hosts.has('t.co') || hosts.has('x.com')).toBe(true);
    const tagged = landings.filter((e) => new URL(e.context.page.url).searchParams.has('utm_source'));
    expect(tagged.length / landings.length).toBeGreaterThan(0.05);
    expect(tagged.length / landings.length).toBeLessThan(0.5);
    // UTM tags are on the landing URL only: later pages of the visit have none.
    const internal = humans.filter((e) => e.type === 'page' && e.context.page.referrer.startsWith(DEMO_SITE));
    expect(internal.every((e) => !e.context.page.url.includes('utm_'))).toBe(true);
  });

  it('a few "error" tracks (Checkout Error, Signup Error) for the error-rate anomaly', () => {
    const longer = demoEventsFor(20_000, { seed: 42 });
    const errors = longer.filter((e) => e.type === 'track' && /error/i.test(e.event ?? ''));
    expect(new Set(errors.map((e) => e.event))).toEqual(new Set(['Checkout Error', 'Signup Error']));
    expect(errors.length / longer.length).toBeLessThan(0.02);
  });

  it('visits follow the dwell times: inside a visit, no gap reaches the 30-minute session gap', () => {
    for (const list of groupBy(events, visitorOf).values()) {
      const times = list.map((e) => ms(e.timestamp)).sort((a, b) => a - b);
      for (let i = 1; i < times.length; i++) expect(times[i]! - times[i - 1]!).toBeLessThan(10 * 60_000);
    }
  });
});

describe('the spike', () => {
  it('the spike minute has ≥ 3x the events of the median minute, and is marked', () => {
    const spike = spikeWindow(options)!;
    expect(spike.startMs % 60_000).toBe(0);
    expect(spike.startMs).toBeGreaterThanOrEqual(START + 8 * 60_000);
    const perMinute = countByMinute(events);
    const counts = [...perMinute.values()].sort((a, b) => a - b);
    const median = counts[Math.floor(counts.length / 2)]!;
    expect(perMinute.get(spike.startMs / 60_000)!).toBeGreaterThanOrEqual(3 * median);
    expect(sends.filter((s) => s.meta.spike).every((s) => s.atMs > spike.startMs && s.atMs <= spike.endMs)).toBe(true);
    // A flash crowd on one blog post: the per-page anomaly has a page to point at.
    const inSpike = events.filter((e) => ms(e.timestamp) >= spike.startMs && ms(e.timestamp) < spike.endMs && e.type === 'page');
    const top = [...countBy(inSpike, (e) => e.context.page.path).entries()].sort((a, b) => b[1] - a[1])[0]!;
    expect(top[0]).toBe('/blog/kinesis-vs-kafka');
  });

  it('is configurable, and off with spike: null', () => {
    const none = trafficSends({ ...options, spike: null });
    expect(none.some((s) => s.meta.spike)).toBe(false);
    expect(Math.max(...countByMinute(none.flatMap((s) => s.batch)).values())).toBeLessThan(450);
    const early = spikeWindow({ startMs: START, spike: { atMs: 60_000, durationMs: 120_000, factor: 3 } })!;
    expect(early).toEqual({ startMs: Date.parse('2026-11-22T10:02:00.000Z'), endMs: Date.parse('2026-11-22T10:04:00.000Z'), factor: 3 });
  });
});

describe('client faults, marked for reconciliation', () => {
  it('retries re-post a sent batch later: same messageIds and events, a new sentAt', () => {
    const retries = sends.filter((s) => s.meta.kind === 'retry');
    expect(retries.length).toBeGreaterThan(3);
    for (const retry of retries) {
      const original = sends[retry.meta.retryOf!]!;
      expect(original.meta.kind).toBe('regular');
      expect(retry.atMs).toBeGreaterThan(original.atMs);
      expect(retry.batch.map((e) => e.messageId)).toEqual(original.batch.map((e) => e.messageId));
      expect(retry.batch.map(({ sentAt: _s, ...rest }) => rest)).toEqual(original.batch.map(({ sentAt: _s, ...rest }) => rest));
      expect(retry.batch[0]!.sentAt).toBe(new Date(retry.atMs).toISOString());
      expect(retry.meta.invalid).toEqual([]);
    }
    // Outside retries, every messageId is unique.
    const regularIds = sends.filter((s) => s.meta.kind === 'regular').flatMap((s) => s.batch.map((e) => e.messageId));
    expect(new Set(regularIds).size).toBe(regularIds.length);
  });

  it('invalid events are marked with where the pipeline stops them, and that is what the validators say', () => {
    const marks = sends.flatMap((s) => s.meta.invalid.map((mark) => ({ mark, event: s.batch[mark.index]! })));
    expect(marks.length).toBeGreaterThanOrEqual(3);
    expect(new Set(marks.map(({ mark }) => mark.expect))).toEqual(new Set(['rejected-at-ingest', 'bad-row']));
    for (const { mark, event } of marks) {
      expect(event.messageId).toBe(mark.messageId);
      const envelope = validateEnvelope(event);
      if (mark.expect === 'rejected-at-ingest') expect(envelope.ok, mark.problem).toBe(false);
      else {
        expect(envelope.ok, mark.problem).toBe(true);
        expect(validateEvent(event).ok, mark.problem).toBe(false);
      }
    }
    // Across problems (more traffic to see all four kinds).
    const more = trafficSends({ ...options, invalidShare: 0.2, durationMs: 60_000 });
    expect(new Set(more.flatMap((s) => s.meta.invalid.map((m) => m.problem)))).toEqual(
      new Set(['missing-identity', 'malformed-timestamp', 'unknown-type', 'track-without-event']),
    );
  });

  it('expectedOutcome reconciles: posted = accepted + rejected; lake = accepted − duplicates − bad rows', () => {
    const outcome = expectedOutcome(sends);
    expect(outcome.posted).toBe(sends.reduce((n, s) => n + s.batch.length, 0));
    expect(outcome.posted).toBe(outcome.acceptedAtIngest + outcome.rejectedAtIngest);
    expect(outcome.toLake).toBe(outcome.acceptedAtIngest - outcome.retriedDuplicates - outcome.badRows);
    expect(outcome.toLake).toBe(events.length);
    expect(outcome.rejectedAtIngest).toBeGreaterThan(0);
    expect(outcome.retriedDuplicates).toBeGreaterThan(0);
  });
});

describe('demoEventsFor', () => {
  it('gives N valid events with distinct messageIds, deterministically', () => {
    const a = demoEventsFor(2_000);
    expect(a).toHaveLength(2_000);
    expect(demoEventsFor(2_000)).toEqual(a);
    expect(new Set(a.map((e) => e.messageId)).size).toBe(2_000);
    expect(a.every((e) => validateEvent(e).ok)).toBe(true);
    expect(demoEventsFor(10, { seed: 7 })).not.toEqual(a.slice(0, 10));
  });

  it('the iterator is lazy and endless without durationMs', () => {
    const traffic = generateTraffic({ seed: 1, startMs: START });
    let count = 0;
    for (const send of traffic) {
      count += send.batch.length;
      if (send.atMs > START + 3 * 3_600_000) break;
    }
    expect(count).toBeGreaterThan(3 * 3_600 * 5 * 0.8);
  });
});

function countBy<T>(items: readonly T[], key: (item: T) => string | number): Map<string | number, number> {
  const out = new Map<string | number, number>();
  for (const item of items) out.set(key(item), (out.get(key(item)) ?? 0) + 1);
  return out;
}

function countByMinute(list: readonly DemoEvent[]): Map<number, number> {
  return countBy(list, (e) => Math.floor(ms(e.timestamp) / 60_000)) as Map<number, number>;
}

function groupBy<T>(items: readonly T[], key: (item: T) => string): Map<string, T[]> {
  const out = new Map<string, T[]>();
  for (const item of items) {
    const list = out.get(key(item));
    if (list) list.push(item);
    else out.set(key(item), [item]);
  }
  return out;
}

/** analytics/athena/funnel.sql over the model's events: visitors per step, in order, within a day. */
function funnel(list: readonly DemoEvent[]): [number, number, number] {
  const steps: [number, number, number] = [0, 0, 0];
  for (const visitorEvents of groupBy(list, visitorOf).values()) {
    const at = (pick: (e: DemoEvent) => boolean, after: number) =>
      Math.min(...visitorEvents.filter((e) => pick(e) && ms(e.timestamp) >= after).map((e) => ms(e.timestamp)));
    const first = at((e) => e.type === 'page' && e.context.page.path === FUNNEL.pricingPath, -Infinity);
    if (!Number.isFinite(first)) continue;
    steps[0]++;
    const started = at((e) => e.type === 'track' && e.event === FUNNEL.started, first);
    if (!Number.isFinite(started) || started > first + 86_400_000) continue;
    steps[1]++;
    const done = at((e) => e.type === 'track' && e.event === FUNNEL.completed, started);
    if (Number.isFinite(done) && done <= first + 86_400_000) steps[2]++;
  }
  return steps;
}

describe('a long run', () => {
  // Visitors first seen in the run's first 10 minutes, and the sessions they start in its third hour.
  const earlyVisitorsInThirdHour = (maxVisitors: number): number => {
    const firstSeen = new Map<string, number>();
    let late = 0;
    for (const send of generateTraffic({ seed: 7, startMs: START, runId: 'long', rate: 10, durationMs: 3 * 3_600_000, spike: null, maxVisitors })) {
      for (const event of send.batch) {
        const visitor = event.anonymousId ?? event.userId;
        if (visitor === undefined || send.meta.kind !== 'regular') continue;
        const at = ms(event.timestamp);
        if (!firstSeen.has(visitor)) firstSeen.set(visitor, at);
        else if (at - START >= 2 * 3_600_000 && firstSeen.get(visitor)! - START < TEN_MINUTES) late++;
      }
    }
    return late;
  };

  it('remembers a bounded number of visitors: one pushed out by newer visitors never returns', () => {
    // Unbounded, visitors of the first minutes still come back hours later; with room for 200, they have been replaced.
    expect(earlyVisitorsInThirdHour(Number.POSITIVE_INFINITY)).toBeGreaterThan(0);
    expect(earlyVisitorsInThirdHour(200)).toBe(0);
  }, 60_000);
});
