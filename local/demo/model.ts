// The demo traffic model: a seeded, deterministic simulation of visitors on a small SaaS marketing site,
// turned into the Segment batches a client would post, each scheduled at a time. Pure: no I/O, no clock,
// no Math.random. The same options give the same sends, byte for byte (local/demo/traffic.ts posts them).
//
// What it simulates:
// - visitors (hundreds) in sessions: a landing from a source (search, social, news sites, newsletter,
//   direct; UTM tags on paid and email landings), then pages along a site map with log-normal dwell
//   times, and a few tracks per page. A visitor comes back only after more than 30 minutes, so the
//   30-minute sessionization sees the same sessions the model made.
// - the funnel of analytics/athena/funnel.sql: page /pricing → track "Signup Started" → track "Signed Up"
//   (40% of the visitors deciding at /pricing start, 37.5% of those complete: 15% overall), with an
//   identify (userId) on signup, so anonymous → known journeys exist; known users may check out, and a
//   few checkouts fail with a "Checkout Error" track (the error-rate anomaly's input).
// - desktop and mobile browsers (real user agents), a few percent of bot sessions (Googlebot, bingbot,
//   headless Chrome); public IPs (./visitor-networks.ts): a visitor's from an ISP in its time zone's country,
//   a few from data centres with a browser's user agent, crawlers' from their operators' published ranges.
// - a rate of `rate` events/s with a slow, gentle variation, and a scheduled spike (default 5x for one
//   minute, aligned to a UTC minute so the 1-minute aggregates see it whole): a flash crowd from a news
//   site, mostly bouncing.
// - client faults, marked in each send's metadata: retries (a batch posted again with the same
//   messageIds and a new sentAt) and invalid events (rejected at ingest, or accepted and turned into
//   bad rows by the enrich stage).
//
// Rate control: new sessions fill each second's budget after the events already due from sessions in
// progress; a warm-up before startMs (simulated, not sent) starts the demo in a steady state, with
// sessions in progress and visitors able to return.

import { addressIn, CRAWLER_PREFIXES, DATA_CENTRE_PREFIXES, HOME_NETWORKS } from './visitor-networks.js';

export const DEMO_SITE = 'https://www.example.com';
export const DEMO_LIBRARY = Object.freeze({ name: 'clickstream-demo', version: '2.0.0' });
/** The funnel of analytics/athena/funnel.sql. */
export const FUNNEL = Object.freeze({ pricingPath: '/pricing', started: 'Signup Started', completed: 'Signed Up' });
const SESSION_GAP_MS = 30 * 60_000;
// Of the prospects deciding at their first /pricing view: the share that starts a signup, and of those the
// share that completes it. Known users and repeat views of /pricing also count in the funnel's step 1, so
// the funnel query reads about 40% → 15% of step 1 (test/unit/demo checks the bounds).
const FUNNEL_START_SHARE = 0.55;
const FUNNEL_COMPLETE_SHARE = 0.45;

// ---------------------------------------------------------------------------------------------------
// Seeded randomness
// ---------------------------------------------------------------------------------------------------

export type Random = () => number;

/** mulberry32: a 32-bit state PRNG, fast and good enough for a reproducible simulation. */
export function mulberry32(seed: number): Random {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

class Dice {
  constructor(readonly next: Random) {}
  chance(p: number): boolean {
    return this.next() < p;
  }
  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1));
  }
  pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.next() * items.length)]!;
  }
  weighted<T>(items: readonly (readonly [T, number])[]): T {
    let total = 0;
    for (const [, weight] of items) total += weight;
    let roll = this.next() * total;
    for (const [item, weight] of items) {
      roll -= weight;
      if (roll < 0) return item;
    }
    return items[items.length - 1]![0];
  }
  /** Log-normal around a median, clamped: dwell times are skewed, with a long tail. */
  logNormalMs(medianMs: number, sigma: number, minMs: number, maxMs: number): number {
    // Box-Muller; 1 - next() keeps the log's argument above zero.
    const normal = Math.sqrt(-2 * Math.log(1 - this.next())) * Math.cos(2 * Math.PI * this.next());
    return Math.round(Math.min(maxMs, Math.max(minMs, medianMs * Math.exp(sigma * normal))));
  }
  hex(length: number): string {
    let out = '';
    while (out.length < length) out += Math.floor(this.next() * 0x1_0000_0000).toString(16).padStart(8, '0');
    return out.slice(0, length);
  }
  /** A version-4-shaped UUID, as analytics.js makes for anonymousId. */
  uuid(): string {
    const h = this.hex(32);
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-${'89ab'[this.int(0, 3)]}${h.slice(17, 20)}-${h.slice(20, 32)}`;
  }
}

// ---------------------------------------------------------------------------------------------------
// The world: devices, sources, the site
// ---------------------------------------------------------------------------------------------------

export interface DeviceProfile {
  id: string;
  userAgent: string;
  mobile: boolean;
  bot: boolean;
  screen: { width: number; height: number; density: number };
}

/** Browsers by share of human sessions (weights), with real user agent strings. */
export const BROWSERS: readonly (readonly [DeviceProfile, number])[] = [
  [{ id: 'chrome-windows', mobile: false, bot: false, screen: { width: 1920, height: 1080, density: 1 },
    userAgent: 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36' }, 30],
  [{ id: 'edge-windows', mobile: false, bot: false, screen: { width: 1536, height: 864, density: 1.25 },
    userAgent: 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.2903.70' }, 8],
  [{ id: 'firefox-windows', mobile: false, bot: false, screen: { width: 1920, height: 1080, density: 1 },
    userAgent: 'Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0' }, 6],
  [{ id: 'safari-macos', mobile: false, bot: false, screen: { width: 1512, height: 982, density: 2 },
    userAgent: 'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605.1.15' }, 12],
  [{ id: 'chrome-macos', mobile: false, bot: false, screen: { width: 1728, height: 1117, density: 2 },
    userAgent: 'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36' }, 6],
  [{ id: 'safari-iphone', mobile: true, bot: false, screen: { width: 393, height: 852, density: 3 },
    userAgent: 'Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1' }, 24],
  [{ id: 'chrome-android', mobile: true, bot: false, screen: { width: 412, height: 915, density: 2.625 },
    userAgent: 'Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.6778.81 Mobile Safari/537.36' }, 18],
];

/** Crawlers, by share of bot sessions. */
export const BOTS: readonly (readonly [DeviceProfile, number])[] = [
  [{ id: 'googlebot', mobile: false, bot: true, screen: { width: 1024, height: 1024, density: 1 },
    userAgent: 'Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)' }, 45],
  [{ id: 'bingbot', mobile: false, bot: true, screen: { width: 1024, height: 1024, density: 1 },
    userAgent: 'Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)' }, 25],
  [{ id: 'headless-chrome', mobile: false, bot: true, screen: { width: 800, height: 600, density: 1 },
    userAgent: 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/131.0.0.0 Safari/537.36' }, 30],
];

const LOCALES: readonly (readonly [readonly [string, string], number])[] = [
  [['en-US', 'America/New_York'], 22],
  [['en-US', 'America/Los_Angeles'], 14],
  [['en-GB', 'Europe/London'], 12],
  [['de-DE', 'Europe/Berlin'], 12],
  [['fr-FR', 'Europe/Paris'], 8],
  [['nl-NL', 'Europe/Amsterdam'], 5],
  [['pt-BR', 'America/Sao_Paulo'], 7],
  [['en-IN', 'Asia/Kolkata'], 10],
  [['ja-JP', 'Asia/Tokyo'], 6],
  [['en-AU', 'Australia/Sydney'], 4],
];

type PageKind = 'home' | 'product' | 'pricing' | 'docs' | 'blog' | 'signup' | 'checkout' | 'company';

interface PageSpec {
  path: string;
  title: string;
  kind: PageKind;
  dwellMedianS: number;
  /** The next page (a path) or leaving the site ('exit'), by weight. */
  next: readonly (readonly [string, number])[];
}

const BLOG_POSTS = ['/blog/real-time-analytics-on-aws', '/blog/kinesis-vs-kafka', '/blog/sessionization-in-sql'];
const DOCS = ['/docs/getting-started', '/docs/http-api', '/docs/sdks/javascript'];

const PAGES: Record<string, PageSpec> = Object.fromEntries(
  (
    [
      { path: '/', title: 'Example: real-time product analytics', kind: 'home', dwellMedianS: 12,
        next: [['/features', 20], ['/pricing', 25], ['/docs', 12], ['/blog', 12], ['/about', 4], ['exit', 30]] },
      { path: '/features', title: 'Features', kind: 'product', dwellMedianS: 30,
        next: [['/pricing', 40], ['/docs', 15], ['/', 8], ['exit', 25]] },
      { path: '/pricing', title: 'Pricing', kind: 'pricing', dwellMedianS: 35,
        next: [['/features', 10], ['/docs', 12], ['/', 5], ['exit', 40]] },
      { path: '/docs', title: 'Documentation', kind: 'docs', dwellMedianS: 20,
        next: [[DOCS[0]!, 35], [DOCS[1]!, 20], [DOCS[2]!, 20], ['/pricing', 5], ['exit', 15]] },
      { path: DOCS[0]!, title: 'Getting started', kind: 'docs', dwellMedianS: 70,
        next: [[DOCS[1]!, 30], [DOCS[2]!, 20], ['/pricing', 8], ['/docs', 5], ['exit', 40]] },
      { path: DOCS[1]!, title: 'HTTP API reference', kind: 'docs', dwellMedianS: 60,
        next: [[DOCS[0]!, 10], [DOCS[2]!, 20], ['/pricing', 8], ['exit', 45]] },
      { path: DOCS[2]!, title: 'JavaScript SDK', kind: 'docs', dwellMedianS: 55,
        next: [[DOCS[0]!, 15], [DOCS[1]!, 20], ['/pricing', 8], ['exit', 45]] },
      { path: '/blog', title: 'Blog', kind: 'blog', dwellMedianS: 15,
        next: [[BLOG_POSTS[0]!, 20], [BLOG_POSTS[1]!, 20], [BLOG_POSTS[2]!, 20], ['exit', 25]] },
      { path: BLOG_POSTS[0]!, title: 'Real-time analytics on AWS, serverless', kind: 'blog', dwellMedianS: 95,
        next: [[BLOG_POSTS[1]!, 8], [BLOG_POSTS[2]!, 7], ['/blog', 8], ['/', 8], ['/pricing', 10], ['exit', 55]] },
      { path: BLOG_POSTS[1]!, title: 'Kinesis vs Kafka for clickstreams', kind: 'blog', dwellMedianS: 120,
        next: [[BLOG_POSTS[0]!, 8], [BLOG_POSTS[2]!, 7], ['/blog', 8], ['/', 8], ['/pricing', 10], ['exit', 55]] },
      { path: BLOG_POSTS[2]!, title: 'Sessionization in SQL', kind: 'blog', dwellMedianS: 100,
        next: [[BLOG_POSTS[0]!, 8], [BLOG_POSTS[1]!, 7], ['/blog', 8], ['/docs', 8], ['/pricing', 8], ['exit', 55]] },
      { path: '/about', title: 'About us', kind: 'company', dwellMedianS: 25,
        next: [['/', 20], ['/pricing', 20], ['exit', 50]] },
      { path: '/signup', title: 'Create your account', kind: 'signup', dwellMedianS: 40, next: [['exit', 1]] },
      { path: '/checkout', title: 'Upgrade to Pro', kind: 'checkout', dwellMedianS: 45, next: [['exit', 1]] },
    ] satisfies PageSpec[]
  ).map((page) => [page.path, page]),
);

export type SourceId =
  | 'google' | 'google-ads' | 'bing' | 'duckduckgo' | 'direct' | 'twitter' | 'hacker-news' | 'reddit'
  | 'newsletter' | 'linkedin-ads' | 'github' | 'returning';

interface Source {
  id: SourceId;
  referrers: readonly string[];
  utm?: Readonly<Record<string, string | readonly string[]>>;
  /** Share of landings from this source that carry the UTM tags. */
  utmShare?: number;
  landings: readonly (readonly [string, number])[];
}

const ORGANIC_LANDINGS = [[BLOG_POSTS[0]!, 14], [BLOG_POSTS[1]!, 14], [BLOG_POSTS[2]!, 12], [DOCS[0]!, 10], [DOCS[1]!, 8], ['/', 25], ['/pricing', 10], ['/features', 7]] as const;

const SOURCES: readonly (readonly [Source, number])[] = [
  [{ id: 'google', referrers: ['https://www.google.com/'], landings: ORGANIC_LANDINGS }, 32],
  [{ id: 'google-ads', referrers: ['https://www.google.com/'], utmShare: 1, landings: [['/pricing', 50], ['/', 30], ['/features', 20]],
    utm: { utm_source: 'google', utm_medium: 'cpc', utm_campaign: 'brand-search', utm_term: ['clickstream analytics', 'segment alternative', 'kinesis analytics'] } }, 6],
  [{ id: 'bing', referrers: ['https://www.bing.com/'], landings: ORGANIC_LANDINGS }, 4],
  [{ id: 'duckduckgo', referrers: ['https://duckduckgo.com/'], landings: ORGANIC_LANDINGS }, 2],
  [{ id: 'direct', referrers: [], landings: [['/', 60], ['/docs', 15], [DOCS[0]!, 10], ['/pricing', 15]] }, 22],
  [{ id: 'twitter', referrers: ['https://t.co/', 'https://x.com/'], utmShare: 0.5, landings: [[BLOG_POSTS[0]!, 35], [BLOG_POSTS[1]!, 35], ['/', 30]],
    utm: { utm_source: 'twitter', utm_medium: 'social', utm_campaign: 'launch-week' } }, 7],
  [{ id: 'hacker-news', referrers: ['https://news.ycombinator.com/'], landings: [[BLOG_POSTS[1]!, 60], [BLOG_POSTS[2]!, 30], ['/', 10]] }, 4],
  [{ id: 'reddit', referrers: ['https://www.reddit.com/r/dataengineering/', 'https://www.reddit.com/r/aws/'], landings: [[BLOG_POSTS[0]!, 50], [BLOG_POSTS[2]!, 50]] }, 3],
  [{ id: 'newsletter', referrers: [], utmShare: 1, landings: [[BLOG_POSTS[0]!, 40], [BLOG_POSTS[2]!, 30], ['/pricing', 30]],
    utm: { utm_source: 'newsletter', utm_medium: 'email', utm_campaign: '2026-11-digest', utm_content: ['top-story', 'footer-cta'] } }, 8],
  [{ id: 'linkedin-ads', referrers: ['https://www.linkedin.com/'], utmShare: 1, landings: [['/pricing', 50], ['/features', 50]],
    utm: { utm_source: 'linkedin', utm_medium: 'paid-social', utm_campaign: 'q4-retargeting' } }, 4],
  [{ id: 'github', referrers: ['https://github.com/'], landings: [['/docs', 40], [DOCS[0]!, 40], ['/', 20]] }, 4],
];
const RETURNING: Source = { id: 'returning', referrers: [], landings: [['/', 40], ['/docs', 25], [DOCS[0]!, 15], ['/pricing', 20]] };
/** The spike's flash crowd: a post on a news site's front page. */
const FLASH_CROWD: Source = { id: 'hacker-news', referrers: ['https://news.ycombinator.com/'], landings: [[BLOG_POSTS[1]!, 1]] };

// ---------------------------------------------------------------------------------------------------
// Events and sends
// ---------------------------------------------------------------------------------------------------

export interface DemoPageContext {
  path: string;
  url: string;
  title: string;
  referrer: string;
  search: string;
}

/** A Segment event as the demo posts it. Invalid ones break one rule on purpose (see InvalidMark). */
export interface DemoEvent {
  type: string;
  messageId: string;
  anonymousId?: string;
  userId?: string;
  event?: string;
  name?: string;
  properties?: Record<string, unknown>;
  traits?: Record<string, unknown>;
  timestamp: string;
  sentAt: string;
  context: {
    ip: string;
    userAgent: string;
    locale: string;
    timezone: string;
    page: DemoPageContext;
    screen: { width: number; height: number; density: number };
    library: { name: string; version: string };
  };
}

export type InvalidProblem = 'missing-identity' | 'malformed-timestamp' | 'unknown-type' | 'track-without-event';

export interface InvalidMark {
  /** Position in the send's batch. */
  index: number;
  messageId: string;
  problem: InvalidProblem;
  /** Where the pipeline stops it: the ingest API's envelope check, or the enrich stage's full validation. */
  expect: 'rejected-at-ingest' | 'bad-row';
}

const INVALID_EXPECT: Record<InvalidProblem, InvalidMark['expect']> = {
  'missing-identity': 'rejected-at-ingest',
  'malformed-timestamp': 'rejected-at-ingest',
  'unknown-type': 'rejected-at-ingest',
  'track-without-event': 'bad-row',
};

export interface SendMeta {
  /** 0, 1, 2… in schedule order. */
  seq: number;
  /** 'retry': a client re-posting a batch it had sent (its ack was lost); same events, same messageIds. */
  kind: 'regular' | 'retry';
  /** The seq of the send a retry repeats. */
  retryOf?: number;
  /** Sent during the scheduled spike. */
  spike: boolean;
  invalid: InvalidMark[];
}

/** One POST /v1/batch, due at atMs. */
export interface ScheduledSend {
  atMs: number;
  batch: DemoEvent[];
  meta: SendMeta;
}

export interface SpikeOptions {
  /** When it starts, in ms after startMs; moved up to the next whole UTC minute. */
  atMs: number;
  durationMs: number;
  /** Rate multiplier during the spike. */
  factor: number;
}

export interface TrafficOptions {
  seed: number;
  /** Epoch ms of the first send's second; events before it are warm-up, simulated but not sent. */
  startMs: number;
  /** In messageIds only: the same seed gives the same visits, a new run id new messageIds. Default: startMs in base 36. */
  runId?: string;
  /** Target events per second (default 5). */
  rate?: number;
  /** Stop after this much simulated time (default: never; the iterator is endless). */
  durationMs?: number;
  /** Amplitude of the slow rate variation, 0..0.5 (default 0.1). */
  variation?: number;
  /** The scheduled spike (default 5x for 60 s, 8 minutes in); null for none. */
  spike?: SpikeOptions | null;
  /** Share of regular sends a client posts twice (default 0.02). */
  retryShare?: number;
  /** Invalid events per valid event (default 0.004). */
  invalidShare?: number;
  /** Share of new sessions from crawlers (default 0.025, about 4–5% of events). */
  botSessionShare?: number;
  /** Share of new human visitors (a browser's user agent) whose IP is a data centre's (default 0.03). */
  dataCentreShare?: number;
  /** Largest batch in one request (default 100; the ingest limit is 500 KB per request). */
  maxBatchEvents?: number;
  /** Simulated time before startMs (default 40 min, longer than the session gap so visitors can return; 10 min at ≥ 80 events/s). */
  warmupMs?: number;
  /** Visitors remembered so they can return (default 20,000); past it, a new visitor takes a random one's place. */
  maxVisitors?: number;
}

export const DEFAULT_MAX_VISITORS = 20_000;

export const DEFAULT_SPIKE: Readonly<SpikeOptions> = Object.freeze({ atMs: 8 * 60_000, durationMs: 60_000, factor: 5 });

// ---------------------------------------------------------------------------------------------------
// The simulation
// ---------------------------------------------------------------------------------------------------

interface Visitor {
  anonymousId: string;
  userId?: string;
  customer: boolean;
  device: DeviceProfile;
  ip: string;
  locale: string;
  timezone: string;
  /** Time of the last event of the visitor's latest planned session. */
  lastEventMs: number;
  /** The funnel decision, taken at the visitor's first /pricing view as a prospect. */
  funnelDecided: boolean;
  identifiedThisRun: boolean;
}

/** An event planned in a session: everything but messageId and sentAt, which are set when it is sent. */
interface Planned {
  atMs: number;
  order: number;
  event: Omit<DemoEvent, 'messageId' | 'sentAt' | 'timestamp'>;
}

/** A binary min-heap on (atMs, order). */
class PlanQueue {
  private readonly items: Planned[] = [];
  get size(): number {
    return this.items.length;
  }
  peek(): Planned | undefined {
    return this.items[0];
  }
  private less(a: Planned, b: Planned): boolean {
    return a.atMs < b.atMs || (a.atMs === b.atMs && a.order < b.order);
  }
  push(item: Planned): void {
    const items = this.items;
    items.push(item);
    let i = items.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.less(items[i]!, items[parent]!)) break;
      [items[i], items[parent]] = [items[parent]!, items[i]!];
      i = parent;
    }
  }
  pop(): Planned | undefined {
    const items = this.items;
    const top = items[0];
    const last = items.pop();
    if (items.length > 0 && last) {
      items[0] = last;
      let i = 0;
      for (;;) {
        const left = 2 * i + 1;
        const right = left + 1;
        let smallest = i;
        if (left < items.length && this.less(items[left]!, items[smallest]!)) smallest = left;
        if (right < items.length && this.less(items[right]!, items[smallest]!)) smallest = right;
        if (smallest === i) break;
        [items[i], items[smallest]] = [items[smallest]!, items[i]!];
        i = smallest;
      }
    }
    return top;
  }
}

class SessionPlanner {
  order = 0;
  private events: Planned[] = [];
  private atMs = 0;
  private page: DemoPageContext | undefined;
  private visitor!: Visitor;

  constructor(private readonly dice: Dice) {}

  plan(visitor: Visitor, startMs: number, source: Source, flashCrowd: boolean): Planned[] {
    const dice = this.dice;
    this.visitor = visitor;
    this.events = [];
    this.atMs = startMs;
    this.page = undefined;

    const landingPath = dice.weighted(source.landings);
    const referrer = source.referrers.length > 0 ? dice.pick(source.referrers) : '';
    let query = '';
    if (source.utm && dice.chance(source.utmShare ?? 0)) {
      const params = new URLSearchParams();
      for (const [key, value] of Object.entries(source.utm)) params.set(key, typeof value === 'string' ? value : dice.pick(value));
      query = `?${params.toString()}`;
    }
    // Known users' SDKs send their userId from the first event; a customer logs in on a first visit.
    if (visitor.customer && !visitor.identifiedThisRun) {
      this.visitor.userId ??= `usr_${dice.hex(12)}`;
    }

    let path = landingPath;
    this.pageView(path, referrer, query);
    if (visitor.customer && !visitor.identifiedThisRun) {
      visitor.identifiedThisRun = true;
      this.add(dice.int(500, 3000), { type: 'identify', traits: { plan: dice.weighted([['starter', 3], ['pro', 2]] as const), company_size: dice.pick(['1-10', '11-50', '51-200']) } });
    }
    const maxPages = visitor.device.mobile ? 8 : 14;
    for (let pages = 1; pages < maxPages; pages++) {
      const spec = PAGES[path]!;
      const dwell = flashCrowd ? dice.logNormalMs(9_000, 0.8, 1_500, 60_000) : dice.logNormalMs(spec.dwellMedianS * 1000, 0.7, 1_500, 8 * 60_000);
      this.pageTracks(spec, dwell);
      if (spec.kind === 'pricing' && !visitor.userId && !visitor.funnelDecided) {
        // The funnel: a prospect decides once, at the first /pricing view.
        visitor.funnelDecided = true;
        if (dice.chance(FUNNEL_START_SHARE)) {
          this.add(dwell, { type: 'track', event: 'CTA Clicked', properties: { button: 'Start free trial', location: 'pricing' } });
          this.atMs += dwell;
          this.signup(dice.chance(FUNNEL_COMPLETE_SHARE));
          break;
        }
      } else if (spec.kind === 'pricing' && visitor.userId && dice.chance(0.3)) {
        this.add(dwell, { type: 'track', event: 'CTA Clicked', properties: { button: 'Upgrade', location: 'pricing' } });
        this.atMs += dwell;
        this.checkout();
        break;
      }
      this.atMs += dwell;
      const next = flashCrowd && dice.chance(0.75) ? 'exit' : dice.weighted(spec.next);
      if (next === 'exit') break;
      path = next;
      this.pageView(path, this.page!.url, '');
    }
    visitor.lastEventMs = Math.max(visitor.lastEventMs, ...this.events.map((e) => e.atMs));
    return this.events;
  }

  private add(afterMs: number, event: Pick<DemoEvent, 'type'> & Partial<DemoEvent>): void {
    const v = this.visitor;
    this.events.push({
      atMs: this.atMs + afterMs,
      order: this.order++,
      event: {
        ...event,
        anonymousId: v.anonymousId,
        ...(v.userId && (v.customer || v.identifiedThisRun) ? { userId: v.userId } : {}),
        context: {
          ip: v.ip,
          userAgent: v.device.userAgent,
          locale: v.locale,
          timezone: v.timezone,
          page: this.page!,
          screen: v.device.screen,
          library: DEMO_LIBRARY,
        },
      },
    });
  }

  private pageView(path: string, referrer: string, search: string): void {
    const spec = PAGES[path]!;
    const url = `${DEMO_SITE}${path}${search}`;
    this.page = { path, url, title: spec.title, referrer, search };
    this.add(0, { type: 'page', name: spec.title, properties: { ...this.page } });
  }

  /** The tracks a page may fire while it is read (before `dwell` is over). */
  private pageTracks(spec: PageSpec, dwell: number): void {
    const dice = this.dice;
    const during = () => dice.int(Math.min(1_000, dwell - 1), Math.max(1_000, dwell - 1));
    if (spec.kind === 'home' && dice.chance(0.12)) this.add(during(), { type: 'track', event: 'CTA Clicked', properties: { button: 'Get started', location: 'hero' } });
    if (spec.kind === 'pricing' && dice.chance(0.25)) this.add(during(), { type: 'track', event: 'Pricing Toggle Clicked', properties: { billing: dice.pick(['annual', 'monthly']) } });
    if (spec.kind === 'docs' && dice.chance(0.2)) {
      this.add(during(), { type: 'track', event: 'Docs Searched', properties: { query: dice.pick(['batch api', 'write key', 'gzip', 'identify', 'retry', 'sessions']) } });
    }
    if (spec.kind === 'docs' && spec.path !== '/docs' && dice.chance(0.3)) {
      this.add(during(), { type: 'track', event: 'Code Snippet Copied', properties: { language: dice.pick(['javascript', 'curl', 'python']) } });
    }
    if (spec.kind === 'blog' && spec.path !== '/blog') {
      if (dice.chance(0.35)) this.add(Math.max(1_000, dwell - 500), { type: 'track', event: 'Article Completed', properties: { title: spec.title } });
      if (dice.chance(0.03)) this.add(during(), { type: 'track', event: 'Newsletter Subscribed', properties: { location: 'article-footer' } });
    }
  }

  /** /signup: "Signup Started", maybe a form error, then identify + "Signed Up" or abandonment. */
  private signup(completes: boolean): void {
    const dice = this.dice;
    const v = this.visitor;
    this.atMs += dice.int(1_000, 3_000);
    this.pageView('/signup', this.page!.url, '');
    const method = dice.weighted([['email', 5], ['google', 3], ['github', 2]] as const);
    const plan = dice.weighted([['free', 7], ['pro', 3]] as const);
    this.atMs += dice.int(3_000, 12_000);
    this.add(0, { type: 'track', event: FUNNEL.started, properties: { plan, method } });
    if (dice.chance(completes ? 0.15 : 0.3)) {
      this.atMs += dice.int(10_000, 40_000);
      this.add(0, { type: 'track', event: 'Signup Error', properties: { error: dice.pick(['email_taken', 'weak_password', 'captcha_failed']) } });
    }
    if (!completes) return;
    this.atMs += dice.logNormalMs(40_000, 0.5, 8_000, 5 * 60_000);
    v.userId ??= `usr_${dice.hex(12)}`;
    v.identifiedThisRun = true;
    this.add(0, { type: 'identify', traits: { email: `${v.userId}@example.com`, plan, signup_method: method } });
    this.add(dice.int(50, 400), { type: 'track', event: FUNNEL.completed, properties: { plan, method } });
    // Onboarding: the getting-started guide, sometimes straight on to an upgrade.
    this.atMs += dice.int(2_000, 8_000);
    this.pageView(DOCS[0]!, this.page!.url, '');
    const dwell = dice.logNormalMs(70_000, 0.6, 5_000, 8 * 60_000);
    this.pageTracks(PAGES[DOCS[0]!]!, dwell);
    if (plan === 'pro' && dice.chance(0.5)) {
      this.atMs += dwell;
      this.checkout();
    }
  }

  /** /checkout: "Checkout Started", then "Order Completed", a "Checkout Error", or abandonment. */
  private checkout(): void {
    const dice = this.dice;
    this.atMs += dice.int(2_000, 6_000);
    this.pageView('/checkout', this.page!.url, '');
    const value = dice.pick([49, 99, 199] as const);
    const order = { plan: 'pro', value, currency: 'USD' };
    this.atMs += dice.int(4_000, 15_000);
    this.add(0, { type: 'track', event: 'Checkout Started', properties: order });
    this.atMs += dice.logNormalMs(30_000, 0.5, 8_000, 4 * 60_000);
    const outcome = dice.weighted([['completed', 80], ['error', 12], ['abandoned', 8]] as const);
    if (outcome === 'abandoned') return;
    if (outcome === 'error') {
      this.add(0, { type: 'track', event: 'Checkout Error', properties: { ...order, error_code: dice.pick(['card_declined', 'payment_timeout', '3ds_failed']) } });
      if (!dice.chance(0.5)) return;
      this.atMs += dice.int(15_000, 60_000);
    }
    // One order in twenty sends its revenue as text, a classic tracker bug the Order Completed plan flags.
    const revenue = dice.chance(0.05) ? value.toFixed(2) : value;
    this.add(0, { type: 'track', event: 'Order Completed', properties: { ...order, order_id: `ord_${dice.hex(10)}`, revenue } });
  }
}

/** A visitor's IP: an ISP's in its time zone's country, or (dataCentreShare of visitors) a data centre's. */
function visitorIp(dice: Dice, timezone: string, dataCentreShare: number): string {
  const home = HOME_NETWORKS[timezone];
  if (!home || dice.chance(dataCentreShare)) return addressIn(dice.pick(DATA_CENTRE_PREFIXES), dice.next);
  return addressIn(dice.pick(home.prefixes), dice.next);
}

/** A crawler's IP: from its operator's published ranges; automation without one runs in a data centre. */
function botIp(dice: Dice, device: DeviceProfile): string {
  return addressIn(dice.pick(CRAWLER_PREFIXES[device.id] ?? DATA_CENTRE_PREFIXES), dice.next);
}

function invalidEvent(dice: Dice, problem: InvalidProblem, atMs: number): Omit<DemoEvent, 'messageId' | 'sentAt'> {
  const device = dice.weighted(BROWSERS);
  const page: DemoPageContext = { path: '/', url: `${DEMO_SITE}/`, title: PAGES['/']!.title, referrer: '', search: '' };
  const base = {
    anonymousId: dice.uuid(),
    timestamp: new Date(atMs).toISOString(),
    context: { ip: visitorIp(dice, 'America/New_York', 0), userAgent: device.userAgent, locale: 'en-US', timezone: 'America/New_York', page, screen: device.screen, library: DEMO_LIBRARY },
  };
  switch (problem) {
    case 'missing-identity': {
      // A server-side integration that forgot the user: no anonymousId, no userId.
      const { anonymousId: _anonymousId, ...noIdentity } = base;
      return { ...noIdentity, type: 'track', event: 'Report Exported', properties: { format: 'csv' } };
    }
    case 'malformed-timestamp':
      return { ...base, type: 'track', event: 'Video Played', properties: { video: 'intro' }, timestamp: dice.pick(['2026-02-30T25:61:00Z', 'yesterday', '17/11/2026 10:00']) };
    case 'unknown-type':
      return { ...base, type: 'pageview', name: 'Home' };
    case 'track-without-event':
      return { ...base, type: 'track', properties: { button: 'Subscribe' } };
  }
}

function alignToMinute(ms: number): number {
  return Math.ceil(ms / 60_000) * 60_000;
}

/** The start and end of the spike for these options (null without a spike). */
export function spikeWindow(options: Pick<TrafficOptions, 'startMs' | 'spike'>): { startMs: number; endMs: number; factor: number } | null {
  const spike = options.spike === undefined ? DEFAULT_SPIKE : options.spike;
  if (!spike || spike.factor <= 1 || spike.durationMs <= 0) return null;
  const startMs = alignToMinute(options.startMs + spike.atMs);
  return { startMs, endMs: startMs + spike.durationMs, factor: spike.factor };
}

/**
 * The demo's sends, in schedule order: one batch per second (split at maxBatchEvents), with the events
 * of that second, plus the retries. Endless unless durationMs is set; lazy, so a sender can pull as it goes.
 */
export function* generateTraffic(options: TrafficOptions): Generator<ScheduledSend, void, undefined> {
  const dice = new Dice(mulberry32(options.seed));
  const rate = options.rate ?? 5;
  if (!(rate > 0)) throw new RangeError(`rate must be > 0, got ${rate}`);
  const runId = options.runId ?? options.startMs.toString(36);
  const variation = Math.min(0.5, Math.max(0, options.variation ?? 0.1));
  const retryShare = options.retryShare ?? 0.02;
  const invalidShare = options.invalidShare ?? 0.004;
  const botSessionShare = options.botSessionShare ?? 0.025;
  const dataCentreShare = options.dataCentreShare ?? 0.03;
  const maxBatchEvents = Math.max(1, options.maxBatchEvents ?? 100);
  // Warm-up costs as much as sending: 40 minutes at the default rates, less (down to 10) at high rates.
  const warmupMs = Math.max(0, options.warmupMs ?? Math.round(Math.min(40, Math.max(10, (40 * 20) / rate))) * 60_000);
  const endMs = options.durationMs === undefined ? Infinity : options.startMs + options.durationMs;
  const spike = spikeWindow(options);
  // Two slow waves with seeded phases: the gentle variation around the rate.
  const phase1 = dice.next() * 2 * Math.PI;
  const phase2 = dice.next() * 2 * Math.PI;
  const rateAt = (ms: number): number => {
    const t = (ms - options.startMs) / 60_000;
    const wave = 1 + variation * (0.7 * Math.sin((2 * Math.PI * t) / 11 + phase1) + 0.3 * Math.sin((2 * Math.PI * t) / 3.7 + phase2));
    return rate * wave * (spike && ms >= spike.startMs && ms < spike.endMs ? spike.factor : 1);
  };

  const queue = new PlanQueue();
  const planner = new SessionPlanner(dice);
  // Bounded, so a stack left running for days keeps the same memory: a visitor pushed out never returns.
  const visitors: Visitor[] = [];
  const maxVisitors = Math.max(1, options.maxVisitors ?? DEFAULT_MAX_VISITORS);
  let owed = 0;
  let messageSeq = 0;
  let sendSeq = 0;
  let landingsPerSecond = rate / 6; // an estimate of normal landings, refined as it runs
  const retries: ScheduledSend[] = [];

  const newVisitor = (): Visitor => {
    const [locale, timezone] = dice.weighted(LOCALES);
    const visitor: Visitor = {
      anonymousId: dice.uuid(),
      customer: dice.chance(0.1),
      device: dice.weighted(BROWSERS),
      ip: visitorIp(dice, timezone, dataCentreShare),
      locale,
      timezone,
      lastEventMs: -Infinity,
      funnelDecided: false,
      identifiedThisRun: false,
    };
    if (visitors.length < maxVisitors) visitors.push(visitor);
    else visitors[dice.int(0, maxVisitors - 1)] = visitor;
    return visitor;
  };
  /** A visitor idle for longer than the session gap, if there is one (checked among a few at random). */
  const returningVisitor = (nowMs: number): Visitor | undefined => {
    for (let tries = 0; tries < 4 && visitors.length > 0; tries++) {
      const candidate = dice.pick(visitors);
      if (nowMs - candidate.lastEventMs > SESSION_GAP_MS + 60_000) return candidate;
    }
    return undefined;
  };
  const startSession = (atMs: number, flashCrowd: boolean): Planned[] => {
    if (!flashCrowd && dice.chance(botSessionShare)) return botSession(atMs);
    let visitor: Visitor | undefined;
    let source: Source;
    if (flashCrowd) {
      visitor = newVisitor();
      source = FLASH_CROWD;
    } else {
      visitor = dice.chance(0.25) ? returningVisitor(atMs) : undefined;
      source = visitor ? (dice.chance(0.6) ? RETURNING : dice.weighted(SOURCES)) : dice.weighted(SOURCES);
      visitor ??= newVisitor();
    }
    return planner.plan(visitor, atMs, source, flashCrowd);
  };
  const botSession = (atMs: number): Planned[] => {
    const device = dice.weighted(BOTS);
    const bot: Visitor = {
      anonymousId: dice.uuid(), // crawlers keep no cookies: a new anonymousId per crawl
      customer: false,
      device,
      ip: botIp(dice, device),
      locale: 'en-US',
      timezone: 'UTC',
      lastEventMs: -Infinity,
      funnelDecided: true,
      identifiedThisRun: false,
    };
    const out: Planned[] = [];
    const paths = Object.keys(PAGES).filter((p) => p !== '/checkout' && p !== '/signup');
    let t = atMs;
    let referrer = '';
    const pages = dice.int(4, 14);
    for (let i = 0; i < pages; i++) {
      const path = dice.pick(paths);
      const page: DemoPageContext = { path, url: `${DEMO_SITE}${path}`, title: PAGES[path]!.title, referrer, search: '' };
      out.push({
        atMs: t,
        order: planner.order++,
        event: {
          type: 'page',
          name: page.title,
          properties: { ...page },
          anonymousId: bot.anonymousId,
          context: { ip: bot.ip, userAgent: bot.device.userAgent, locale: bot.locale, timezone: bot.timezone, page, screen: bot.device.screen, library: DEMO_LIBRARY },
        },
      });
      referrer = page.url;
      t += dice.int(1_000, 5_000);
    }
    return out;
  };

  const firstTick = options.startMs - warmupMs;
  for (let tick = firstTick; ; tick += 1_000) {
    const tickEnd = tick + 1_000;
    if (tickEnd > endMs) break;
    const sending = tick >= options.startMs;

    // Events already due in this second, from sessions in progress.
    const due: Planned[] = [];
    while (queue.size > 0 && queue.peek()!.atMs < tickEnd) due.push(queue.pop()!);
    // New sessions fill the rest of the second's budget, landing at random moments within it.
    // Events over the budget (sessions in progress bunching up) are owed back by later seconds, so the
    // average holds at low rates too; the debt is capped so a spike's tail cannot cause a drop after it.
    owed += rateAt(tick);
    const landings = Math.max(0, Math.floor(owed) - due.length);
    owed = Math.max(owed - due.length - landings, -5 * rate);
    const inSpike = spike !== null && tick >= spike.startMs && tick < spike.endMs;
    const flashShare = inSpike && landings > 0 ? Math.max(0, 1 - landingsPerSecond / landings) : 0;
    if (!inSpike) landingsPerSecond = 0.98 * landingsPerSecond + 0.02 * landings;
    for (let i = 0; i < landings; i++) {
      const [first, ...rest] = startSession(tick + dice.int(0, 999), dice.chance(flashShare));
      if (first) due.push({ ...first, atMs: Math.min(first.atMs, tickEnd - 1) });
      for (const planned of rest) queue.push(planned);
    }
    if (!sending) continue;

    due.sort((a, b) => a.atMs - b.atMs || a.order - b.order);
    const sentAt = new Date(tickEnd).toISOString();
    const events: DemoEvent[] = due.map((p) => ({
      ...p.event,
      messageId: `demo-${runId}-${messageSeq++}`,
      timestamp: new Date(p.atMs).toISOString(),
      sentAt,
    }));
    // A buggy client now and then: invalid events, at random places in the batch.
    const invalid: Array<{ at: number; event: DemoEvent; problem: InvalidProblem }> = [];
    for (let i = 0; i < events.length; i++) {
      if (!dice.chance(invalidShare)) continue;
      const problem = dice.weighted([['missing-identity', 3], ['malformed-timestamp', 2], ['unknown-type', 1], ['track-without-event', 2]] as const);
      const at = dice.int(0, events.length);
      invalid.push({ at, problem, event: { ...invalidEvent(dice, problem, tick + dice.int(0, 999)), messageId: `demo-${runId}-${messageSeq++}`, sentAt } });
    }
    for (const { at, event } of invalid.sort((a, b) => b.at - a.at)) events.splice(at, 0, event);

    for (let from = 0; from < events.length; from += maxBatchEvents) {
      const batch = events.slice(from, from + maxBatchEvents);
      const marks: InvalidMark[] = [];
      batch.forEach((event, index) => {
        const problem = invalid.find((entry) => entry.event === event)?.problem;
        if (problem) marks.push({ index, messageId: event.messageId, problem, expect: INVALID_EXPECT[problem] });
      });
      const send: ScheduledSend = { atMs: tickEnd, batch, meta: { seq: sendSeq++, kind: 'regular', spike: inSpike, invalid: marks } };
      yield send;
      // A client that timed out waiting for the ack posts the same batch again (only batches without
      // invalid events, so bad rows and rejections reconcile one to one with the invalid marks).
      if (marks.length === 0 && dice.chance(retryShare)) {
        const retryAt = tickEnd + dice.int(2, 6) * 1_000;
        const retrySentAt = new Date(retryAt).toISOString();
        retries.push({
          atMs: retryAt,
          batch: batch.map((event) => ({ ...event, sentAt: retrySentAt })),
          meta: { seq: -1, kind: 'retry', retryOf: send.meta.seq, spike: false, invalid: [] },
        });
      }
    }
    // Retries due by the end of this second go out after its batch.
    for (let i = 0; i < retries.length; ) {
      const retry = retries[i]!;
      if (retry.atMs > tickEnd) {
        i++;
        continue;
      }
      retries.splice(i, 1);
      yield { ...retry, meta: { ...retry.meta, seq: sendSeq++, spike: inSpike } };
    }
  }
}

/** All sends of a finite run (durationMs required). */
export function trafficSends(options: TrafficOptions & { durationMs: number }): ScheduledSend[] {
  return [...generateTraffic(options)];
}

/**
 * The first `count` events of the demo, in time order, for benchmarks and tests: by default only valid
 * events and no retries (every messageId distinct).
 */
export function demoEventsFor(
  count: number,
  options: Partial<TrafficOptions> & { includeFaults?: boolean } = {},
): DemoEvent[] {
  const { includeFaults = false, ...rest } = options;
  const traffic = generateTraffic({
    seed: 42,
    startMs: Date.parse('2026-11-22T10:00:00.000Z'),
    runId: 'bench',
    ...rest,
    ...(includeFaults ? {} : { retryShare: 0, invalidShare: 0 }),
  });
  const out: DemoEvent[] = [];
  for (const send of traffic) {
    for (const event of send.batch) {
      if (out.length >= count) return out;
      out.push(event);
    }
    if (out.length >= count) return out;
  }
  return out;
}

export interface ExpectedOutcome {
  /** Requests and events posted. */
  requests: number;
  posted: number;
  /** What the ingest API should accept and reject (posted = accepted + rejected). */
  acceptedAtIngest: number;
  rejectedAtIngest: number;
  /** Events posted again by retries: accepted at ingest, dropped by dedup. */
  retriedDuplicates: number;
  /** Accepted events the enrich stage should turn into bad rows. */
  badRows: number;
  /** Distinct valid events: what reaches the lake. */
  toLake: number;
}

/** What the pipeline should make of these sends, from their metadata: the reconciliation's other side. */
export function expectedOutcome(sends: Iterable<ScheduledSend>): ExpectedOutcome {
  const out: ExpectedOutcome = { requests: 0, posted: 0, acceptedAtIngest: 0, rejectedAtIngest: 0, retriedDuplicates: 0, badRows: 0, toLake: 0 };
  for (const send of sends) {
    out.requests++;
    out.posted += send.batch.length;
    const rejected = send.meta.invalid.filter((mark) => mark.expect === 'rejected-at-ingest').length;
    const bad = send.meta.invalid.filter((mark) => mark.expect === 'bad-row').length;
    out.rejectedAtIngest += rejected;
    out.acceptedAtIngest += send.batch.length - rejected;
    if (send.meta.kind === 'retry') out.retriedDuplicates += send.batch.length;
    else {
      out.badRows += bad;
      out.toLake += send.batch.length - rejected - bad;
    }
  }
  return out;
}
