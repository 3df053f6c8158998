import { randomUUID } from 'node:crypto';

export interface DemoTrafficOptions {
  ingestUrl: string;
  writeKey: string;
  /** Events per second, sent as one batch per second. */
  rate: number;
  /** Same seed, same sequence of visits (message ids stay unique per run so restarts never look like retries). */
  seed?: number;
  log?: (message: string) => void;
}

export interface DemoTraffic {
  /** Events the ingest API acknowledged so far. */
  readonly accepted: number;
  /** Stops scheduling and waits for the batch in flight. */
  stop(): Promise<void>;
}

interface DemoUser {
  anonymousId: string;
  userId: string;
  identified: boolean;
  path: string;
}

const PAGES = ['/', '/products', '/products/sku-1', '/products/sku-2', '/products/sku-3', '/cart', '/checkout'];
const TRACK_EVENT_BY_PAGE: Record<string, string> = {
  '/products/sku-1': 'Product Viewed',
  '/products/sku-2': 'Product Viewed',
  '/products/sku-3': 'Product Viewed',
  '/cart': 'Product Added',
  '/checkout': 'Checkout Started',
};
const DEMO_USER_COUNT = 6;
const SITE = 'http://demo.local';

/** mulberry32: tiny, fast and good enough to make the demo reproducible. */
function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Builds the next `count` events of a few users browsing the demo shop. */
export function demoEventGenerator(seed: number, runId: string): (count: number) => Array<Record<string, unknown>> {
  const random = seededRandom(seed);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
  const users: DemoUser[] = Array.from({ length: DEMO_USER_COUNT }, (_, index) => ({
    anonymousId: `anon-${seed}-${index}`,
    userId: `user-${index}`,
    identified: false,
    path: '/',
  }));
  let sequence = 0;

  return (count) =>
    Array.from({ length: count }, () => {
      const user = pick(users);
      const common = {
        messageId: `demo-${runId}-${sequence++}`,
        anonymousId: user.anonymousId,
        ...(user.identified ? { userId: user.userId } : {}),
        timestamp: new Date().toISOString(),
        context: { page: { url: `${SITE}${user.path}`, path: user.path }, library: { name: 'clickstream-demo', version: '1' } },
      };
      const roll = random();
      if (!user.identified && roll < 0.05) {
        user.identified = true;
        return { ...common, type: 'identify', userId: user.userId, traits: { plan: pick(['free', 'pro']) } };
      }
      const trackEvent = TRACK_EVENT_BY_PAGE[user.path];
      if (trackEvent && roll < 0.45) {
        return { ...common, type: 'track', event: trackEvent, properties: { path: user.path } };
      }
      const referrer = `${SITE}${user.path}`;
      user.path = pick(PAGES);
      return {
        ...common,
        type: 'page',
        name: user.path,
        context: { ...common.context, page: { url: `${SITE}${user.path}`, path: user.path, referrer } },
      };
    });
}

export function startDemoTraffic(options: DemoTrafficOptions): DemoTraffic {
  const log = options.log ?? ((message: string) => console.log(message));
  const nextEvents = demoEventGenerator(options.seed ?? 42, randomUUID().slice(0, 8));
  const authorization = `Basic ${Buffer.from(`${options.writeKey}:`).toString('base64')}`;
  const reportedProblems = new Set<string>();
  let accepted = 0;
  let owed = 0;
  let inFlight: Promise<void> = Promise.resolve();

  const sendBatch = async (): Promise<void> => {
    owed += options.rate;
    const count = Math.floor(owed);
    if (count === 0) return;
    owed -= count;
    try {
      const response = await fetch(`${options.ingestUrl}/v1/batch`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization },
        body: JSON.stringify({ batch: nextEvents(count), sentAt: new Date().toISOString() }),
      });
      const answer = await response.text();
      if (response.ok) accepted += (JSON.parse(answer) as { accepted?: number }).accepted ?? 0;
      else reportOnce(`ingest answered ${response.status}: ${answer}`);
    } catch (error) {
      reportOnce(`could not reach ${options.ingestUrl}: ${(error as Error).message}`);
    }
  };
  // One line per kind of problem, so a stopped API does not flood the terminal.
  const reportOnce = (problem: string) => {
    if (reportedProblems.has(problem)) return;
    reportedProblems.add(problem);
    log(`[demo] ${problem}`);
  };

  const timer = setInterval(() => {
    inFlight = inFlight.then(sendBatch);
  }, 1_000);
  return {
    get accepted() {
      return accepted;
    },
    stop: async () => {
      clearInterval(timer);
      await inFlight;
    },
  };
}
