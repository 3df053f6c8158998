import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { Tracker, type TrackerError, type TrackerOptions } from '../../../tracker/src/tracker.js';
import { VERSION } from '../../../tracker/src/version.js';
import { FakeWindow, MemoryStorage } from './fake-window.js';

const HOST = 'https://ingest.example';
const T0 = Date.parse('2026-11-22T10:00:00.000Z');

function start(win: FakeWindow, options: Partial<TrackerOptions> = {}) {
  const errors: TrackerError[] = [];
  const tracker = new Tracker({ writeKey: 'wk_test', host: HOST, autoPage: false, onError: (e) => errors.push(e), ...options }, win);
  return { tracker, errors };
}

beforeEach(() => {
  vi.useFakeTimers({ now: T0 });
});
afterEach(() => {
  vi.useRealTimers();
  vi.restoreAllMocks();
});

describe('events', () => {
  it('builds Segment-spec events: fresh messageId, event time in timestamp, sentAt at send time, library and page context', async () => {
    // Prepare
    const win = new FakeWindow({ href: 'https://shop.example/pricing?utm_source=news#plans', referrer: 'https://search.example/', title: 'Pricing' });
    const { tracker } = start(win, { flushInterval: 5_000 });

    // Act
    tracker.track('Trial Started', { plan: 'pro' });
    tracker.track('Trial Started', { plan: 'pro' });
    await vi.advanceTimersByTimeAsync(5_000);

    // Assess
    expect(win.requests).toHaveLength(1);
    const [request] = win.requests;
    expect(request!.url).toBe(`${HOST}/v1/batch`);
    expect(request!.init).toMatchObject({ method: 'POST', keepalive: true, credentials: 'omit', headers: { 'content-type': 'text/plain' } });
    expect(request!.body.writeKey).toBe('wk_test');
    expect(request!.body.sentAt).toBe(new Date(T0 + 5_000).toISOString());
    const [first, second] = request!.body.batch;
    expect(first).toMatchObject({
      type: 'track',
      event: 'Trial Started',
      properties: { plan: 'pro' },
      anonymousId: tracker.anonymousId(),
      timestamp: new Date(T0).toISOString(),
      context: {
        library: { name: 'clickstream-tracker', version: VERSION },
        // UTM stays in the URL: the enrich step parses it. The fragment is not part of the page.
        page: { url: 'https://shop.example/pricing?utm_source=news', path: '/pricing', search: '?utm_source=news', referrer: 'https://search.example/', title: 'Pricing' },
        userAgent: 'Mozilla/5.0 (FakeBrowser)',
        locale: 'en-GB',
        screen: { width: 1440, height: 900, density: 2 },
        sessionId: T0,
        sessionStart: true,
      },
    });
    expect(first!.messageId).toMatch(/^[0-9a-f-]{36}$/);
    expect(second!.messageId).not.toBe(first!.messageId);
    expect(second!['context']).not.toHaveProperty('sessionStart');
  });

  it('makes v4 UUIDs without crypto.randomUUID (insecure context) and without crypto at all', () => {
    for (const crypto of ['getRandomValues', 'none'] as const) {
      const win = new FakeWindow({ crypto });
      const { tracker } = start(win);
      tracker.track('A');
      expect(tracker.anonymousId()).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    }
  });

  it('identify sets userId on later events; reset forgets it and starts a new anonymous id and session', async () => {
    const win = new FakeWindow();
    const { tracker } = start(win);
    const firstAnonymousId = tracker.anonymousId();

    tracker.identify('user-42', { email: 'a@b.example' });
    tracker.track('Signed Up');
    vi.setSystemTime(T0 + 60_000);
    tracker.reset();
    tracker.track('After Logout');
    await tracker.flush();

    const [identify, signedUp, afterLogout] = win.sentEvents();
    expect(identify).toMatchObject({ type: 'identify', userId: 'user-42', anonymousId: firstAnonymousId, traits: { email: 'a@b.example' } });
    expect(signedUp).toMatchObject({ userId: 'user-42', anonymousId: firstAnonymousId });
    expect(afterLogout).not.toHaveProperty('userId');
    expect(afterLogout!.anonymousId).not.toBe(firstAnonymousId);
    expect(afterLogout!['context']).toMatchObject({ sessionId: T0 + 60_000, sessionStart: true });
  });

  it('drops an event over the API limit of 32 KB instead of queueing it, and says so', () => {
    const win = new FakeWindow();
    const { tracker, errors } = start(win);
    tracker.track('Huge', { blob: 'x'.repeat(33 * 1024) });
    expect(tracker.stats()).toMatchObject({ queued: 0, lost: 1 });
    expect(errors[0]).toMatchObject({ type: 'too-large' });
  });
});

describe('batching', () => {
  it('sends when flushAt events are queued, without waiting for the interval', async () => {
    const win = new FakeWindow();
    const { tracker } = start(win, { flushAt: 3, flushInterval: 60_000 });

    tracker.track('A');
    tracker.track('B');
    await vi.advanceTimersByTimeAsync(1_000);
    expect(win.requests).toHaveLength(0);
    tracker.track('C');
    await vi.advanceTimersByTimeAsync(0);

    expect(win.requests).toHaveLength(1);
    expect(win.requests[0]!.body.batch.map((e) => e['event'])).toEqual(['A', 'B', 'C']);
    expect(tracker.stats()).toMatchObject({ queued: 0, accepted: 3 });
  });

  it('sends a partial batch flushInterval after the first queued event', async () => {
    const win = new FakeWindow();
    const { tracker } = start(win, { flushAt: 20, flushInterval: 5_000 });

    tracker.track('A');
    await vi.advanceTimersByTimeAsync(3_000);
    tracker.track('B'); // does not push the deadline back
    await vi.advanceTimersByTimeAsync(1_999);
    expect(win.requests).toHaveLength(0);
    await vi.advanceTimersByTimeAsync(1);

    expect(win.requests).toHaveLength(1);
    expect(win.requests[0]!.body.batch).toHaveLength(2);
  });

  it('splits a large queue into requests under the 64 KiB keepalive budget, in order', async () => {
    const win = new FakeWindow();
    const { tracker } = start(win, { flushAt: 1_000 });
    for (let i = 0; i < 40; i++) tracker.track(`E${i}`, { padding: 'x'.repeat(2_000) });

    await tracker.flush();

    expect(win.requests.length).toBeGreaterThan(1);
    for (const request of win.requests) expect(Buffer.byteLength(request.init.body)).toBeLessThanOrEqual(32 * 1024);
    expect(win.sentEvents().map((e) => e['event'])).toEqual(Array.from({ length: 40 }, (_, i) => `E${i}`));
  });
});

describe('retries', () => {
  it('retries a 503 after Retry-After with the same messageIds and a new sentAt', async () => {
    const win = new FakeWindow();
    const { tracker, errors } = start(win);
    win.answers.push({ status: 503, headers: { 'Retry-After': '2' }, body: { success: false, accepted: 0, rejected: [] } });
    tracker.track('A');
    tracker.track('B');

    await tracker.flush();
    expect(win.requests).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1_999);
    expect(win.requests).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1);

    expect(win.requests).toHaveLength(2);
    const [first, retry] = win.requests;
    expect(retry!.body.batch.map((e) => e.messageId)).toEqual(first!.body.batch.map((e) => e.messageId));
    expect(retry!.body.batch).toEqual(first!.body.batch);
    expect(retry!.body.sentAt).toBe(new Date(T0 + 2_000).toISOString());
    expect(tracker.stats()).toMatchObject({ queued: 0, accepted: 2, lost: 0 });
    expect(errors).toEqual([]);
  });

  it('backs off exponentially with jitter on 429, 5xx and network errors, up to retryMaxDelay', async () => {
    const win = new FakeWindow();
    vi.spyOn(Math, 'random').mockReturnValue(1); // the top of each jitter range
    const { tracker } = start(win, { retryBaseDelay: 1_000, retryMaxDelay: 4_000 });
    win.answers.push({ status: 429 }, { status: 500 }, 'network-error', { status: 502 }, { status: 200 });
    tracker.track('A');

    await tracker.flush();
    const sentAt: number[] = [Date.now()];
    while (win.requests.length < 5) {
      await vi.advanceTimersByTimeAsync(100);
      if (win.requests.length > sentAt.length) sentAt.push(Date.now());
    }

    const gaps = sentAt.slice(1).map((t, i) => t - sentAt[i]!);
    expect(gaps).toEqual([1_000, 2_000, 4_000, 4_000]);
    expect(new Set(win.requests.map((r) => r.body.batch[0]!.messageId)).size).toBe(1);
  });

  it('uses the lower half of the range with the least jitter', async () => {
    const win = new FakeWindow();
    vi.spyOn(Math, 'random').mockReturnValue(0);
    const { tracker } = start(win, { retryBaseDelay: 1_000 });
    win.answers.push({ status: 503 }, { status: 503 });
    tracker.track('A');

    await tracker.flush();
    await vi.advanceTimersByTimeAsync(499);
    expect(win.requests).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(win.requests).toHaveLength(2);
    await vi.advanceTimersByTimeAsync(1_000);
    expect(win.requests).toHaveLength(3);
  });

  it.each([400, 401, 413, 415])('never retries a %i: drops the events and reports why', async (status) => {
    const win = new FakeWindow();
    const { tracker, errors } = start(win);
    const rejected = status === 400 ? [{ index: 0, messageId: 'x', reason: '(event) needs one of userId, anonymousId' }] : [];
    win.answers.push({ status, body: { success: false, message: `refused with ${status}`, ...(status === 400 ? { accepted: 0, rejected } : {}) } });
    tracker.track('A');

    await tracker.flush();
    await vi.advanceTimersByTimeAsync(10 * 60_000);

    expect(win.requests).toHaveLength(1);
    expect(tracker.stats()).toMatchObject({ queued: 0, lost: 1 });
    expect(errors).toEqual([
      {
        type: 'refused',
        status,
        message: `refused with ${status}`,
        messageIds: [win.requests[0]!.body.batch[0]!.messageId],
        rejected,
      },
    ]);
  });

  it('reports the events a 200 names as rejected, with their reasons, and does not resend them', async () => {
    const win = new FakeWindow();
    const { tracker, errors } = start(win);
    tracker.track('A');
    tracker.track('B');
    win.answers.push({ status: 200, body: { success: true, accepted: 1, rejected: [{ index: 1, messageId: null, reason: 'event is 40000 bytes' }] } });

    await tracker.flush();
    await vi.advanceTimersByTimeAsync(60_000);

    expect(win.requests).toHaveLength(1);
    expect(errors).toEqual([
      expect.objectContaining({ type: 'rejected', status: 200, messageIds: [win.requests[0]!.body.batch[1]!.messageId], message: 'event is 40000 bytes' }),
    ]);
    expect(tracker.stats()).toMatchObject({ queued: 0, accepted: 1, lost: 1 });
  });

  it('gives up on an event after maxRetries failed sends and reports it', async () => {
    const win = new FakeWindow();
    const { tracker, errors } = start(win, { maxRetries: 2, retryBaseDelay: 10, retryMaxDelay: 10 });
    win.answers.push({ status: 500 }, { status: 500 }, { status: 500 }, { status: 500 });
    tracker.track('A');

    await tracker.flush();
    await vi.advanceTimersByTimeAsync(1_000);

    expect(win.requests).toHaveLength(3);
    expect(errors).toEqual([expect.objectContaining({ type: 'gave-up', status: 500 })]);
    expect(tracker.stats().queued).toBe(0);
  });
});

describe('offline queue', () => {
  it('keeps events while offline, survives a reload, and sends them once when online fires', async () => {
    const storage = new MemoryStorage();
    const before = new FakeWindow({ localStorage: storage });
    before.navigator.onLine = false;
    const { tracker: first } = start(before);
    first.track('A');
    first.track('B');
    await first.flush();
    await vi.advanceTimersByTimeAsync(60_000);
    expect(before.requests).toHaveLength(0);

    // Reload, still offline: the queue comes back from storage.
    const after = new FakeWindow({ localStorage: storage });
    after.navigator.onLine = false;
    const { tracker: second } = start(after);
    expect(second.stats().queued).toBe(2);
    second.track('C');
    await vi.advanceTimersByTimeAsync(60_000);
    expect(after.requests).toHaveLength(0);

    after.navigator.onLine = true;
    after.dispatch('online');
    await vi.advanceTimersByTimeAsync(0);

    expect(after.sentEvents().map((e) => e['event'])).toEqual(['A', 'B', 'C']);
    expect(after.requests).toHaveLength(1);
    expect(second.stats().queued).toBe(0);
    expect(storage.getItem('cs_queue')).toBeNull();
  });

  it('does not count network errors while offline as failed attempts', async () => {
    const win = new FakeWindow();
    const { tracker, errors } = start(win, { maxRetries: 1 });
    win.answers.push('network-error', 'network-error', 'network-error');
    tracker.track('A');
    const request = tracker.flush();
    win.navigator.onLine = false; // the connection dropped while the request was on its way
    await request;
    win.navigator.onLine = true;
    win.dispatch('online');
    await vi.advanceTimersByTimeAsync(0);

    expect(win.requests).toHaveLength(2);
    expect(errors).toEqual([]);
  });

  it('drops the oldest events over maxQueueSize and counts them', async () => {
    const storage = new MemoryStorage();
    const win = new FakeWindow({ localStorage: storage });
    win.navigator.onLine = false;
    const { tracker, errors } = start(win, { maxQueueSize: 3 });

    for (const name of ['A', 'B', 'C', 'D', 'E']) tracker.track(name);

    expect(tracker.stats()).toEqual({ queued: 3, accepted: 0, lost: 2, dropped: 2 });
    expect(errors.map((e) => e.type)).toEqual(['queue-full', 'queue-full']);
    expect((JSON.parse(storage.getItem('cs_queue')!) as { event: string }[]).map((e) => e.event)).toEqual(['C', 'D', 'E']);
    win.navigator.onLine = true;
    win.dispatch('online');
    await vi.advanceTimersByTimeAsync(0);
    expect(win.sentEvents().map((e) => e['event'])).toEqual(['C', 'D', 'E']);
  });
});

describe('page hide', () => {
  it('hands queued events to sendBeacon as a text/plain Blob with the write key in the body', () => {
    const win = new FakeWindow();
    const { tracker } = start(win);
    tracker.track('A');
    tracker.track('B');

    win.dispatch('pagehide');

    expect(win.requests).toHaveLength(0);
    expect(win.beacons).toHaveLength(1);
    const [beacon] = win.beacons;
    expect(beacon!.url).toBe(`${HOST}/v1/batch`);
    expect(beacon!.blob.type).toBe('text/plain');
    expect(beacon!.body.writeKey).toBe('wk_test');
    expect(beacon!.body.batch.map((e) => e['event'])).toEqual(['A', 'B']);
    expect(tracker.stats().queued).toBe(0);
  });

  it('keeps the events for the next visit when the browser refuses the beacon', () => {
    const storage = new MemoryStorage();
    const win = new FakeWindow({ localStorage: storage });
    const { tracker } = start(win);
    win.beaconAccepts = false;
    tracker.track('A');

    win.dispatch('pagehide');

    expect(tracker.stats().queued).toBe(1);
    expect(storage.getItem('cs_queue')).toContain('"event":"A"');
  });

  it('does not beacon the events of the keepalive fetch in flight', async () => {
    const win = new FakeWindow();
    const { tracker } = start(win);
    tracker.track('A');
    const inFlight = tracker.flush();
    tracker.track('B');

    win.dispatch('pagehide');
    await inFlight;

    expect(win.requests.flatMap((r) => r.body.batch.map((e) => e['event']))).toEqual(['A']);
    expect(win.beacons.flatMap((b) => b.body.batch.map((e) => e['event']))).toEqual(['B']);
  });

  it('flushes with a keepalive fetch when the tab is hidden', async () => {
    const win = new FakeWindow();
    const { tracker } = start(win);
    tracker.track('A');

    win.document.visibilityState = 'hidden';
    win.dispatchOnDocument('visibilitychange');
    await vi.advanceTimersByTimeAsync(0);

    expect(win.requests).toHaveLength(1);
    expect(tracker.stats().queued).toBe(0);
  });

  it('falls back to fetch without sendBeacon', async () => {
    const win = new FakeWindow({ sendBeacon: false });
    start(win).tracker.track('A');
    win.dispatch('pagehide');
    await vi.advanceTimersByTimeAsync(0);
    expect(win.requests).toHaveLength(1);
  });
});

describe('identity and session', () => {
  it('keeps the anonymous id across reloads in localStorage', () => {
    const storage = new MemoryStorage();
    const first = start(new FakeWindow({ localStorage: storage })).tracker.anonymousId();
    const second = start(new FakeWindow({ localStorage: storage })).tracker.anonymousId();
    expect(second).toBe(first);
  });

  it('falls back to a cookie when localStorage throws, and to memory without either', () => {
    const win = new FakeWindow({ localStorage: 'throws' });
    const { tracker } = start(win);
    expect(win.document.cookie).toContain(`cs_anonymous_id=${tracker.anonymousId()}`);
    tracker.track('A'); // the queue lives in memory then
    expect(tracker.stats().queued).toBe(1);

    const bare = new FakeWindow({ localStorage: 'absent' });
    Object.defineProperty(bare.document, 'cookie', { get: () => '', set: () => undefined });
    expect(start(bare).tracker.anonymousId()).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('keeps the session for 30 minutes of inactivity, across reloads, then starts a new one', async () => {
    const storage = new MemoryStorage();
    const win = new FakeWindow({ localStorage: storage });
    const { tracker } = start(win);
    tracker.track('A');
    vi.setSystemTime(T0 + 29 * 60_000);
    tracker.track('B');
    // A reload 29 minutes after B: same session.
    vi.setSystemTime(T0 + 58 * 60_000);
    const reloadedWindow = new FakeWindow({ localStorage: storage });
    const reloaded = start(reloadedWindow);
    reloaded.tracker.track('C');
    // Then 30 minutes and 1 ms of silence: a new session.
    vi.setSystemTime(T0 + 88 * 60_000 + 1);
    reloaded.tracker.track('D');
    await tracker.flush();
    await reloaded.tracker.flush();

    const all = [...win.sentEvents(), ...reloadedWindow.sentEvents()];
    const byEvent = Object.fromEntries(all.map((e) => [e['event'], e['context'] as { sessionId: number; sessionStart?: true }]));
    expect(byEvent['A']).toEqual(expect.objectContaining({ sessionId: T0, sessionStart: true }));
    expect(byEvent['B']).toEqual(expect.objectContaining({ sessionId: T0 }));
    expect(byEvent['B']).not.toHaveProperty('sessionStart');
    expect(byEvent['C']).toEqual(expect.objectContaining({ sessionId: T0 }));
    expect(byEvent['D']).toEqual(expect.objectContaining({ sessionId: T0 + 88 * 60_000 + 1, sessionStart: true }));
  });
});

describe('page views', () => {
  it('sends a page view on start and on every SPA route change, with the previous route as referrer', async () => {
    const win = new FakeWindow({ href: 'https://shop.example/', referrer: 'https://search.example/?q=anvils', title: 'Home' });
    const { tracker } = start(win, { autoPage: true });

    win.history.pushState({}, '', '/products?sort=price');
    win.document.title = 'Products'; // the app sets the title after the route change
    await vi.advanceTimersByTimeAsync(0);
    win.history.replaceState({ scroll: 10 }, '', '/products?sort=price'); // same URL: not a page view
    win.history.pushState({}, '', '/products?sort=price#reviews'); // in-page anchor: not a page view
    await vi.advanceTimersByTimeAsync(0);
    win.navigate('/'); // the back button
    win.document.title = 'Home';
    win.dispatch('popstate');
    await vi.advanceTimersByTimeAsync(0);
    await tracker.flush();

    const pages = win.sentEvents().filter((e) => e['type'] === 'page');
    expect(pages.map((e) => e['properties'])).toEqual([
      { path: '/', url: 'https://shop.example/', search: '', title: 'Home', referrer: 'https://search.example/?q=anvils' },
      { path: '/products', url: 'https://shop.example/products?sort=price', search: '?sort=price', title: 'Products', referrer: 'https://shop.example/' },
      { path: '/', url: 'https://shop.example/', search: '', title: 'Home', referrer: 'https://shop.example/products?sort=price' },
    ]);
    expect(pages.map((e) => (e['context'] as { page: unknown }).page)).toEqual(pages.map((e) => e['properties']));
  });

  it('page(name, properties) merges the name and properties over the page fields', async () => {
    const win = new FakeWindow({ href: 'https://shop.example/docs' });
    const { tracker } = start(win);
    tracker.page('Docs', { section: 'api' });
    await tracker.flush();
    expect(win.sentEvents()[0]).toMatchObject({ type: 'page', name: 'Docs', properties: { name: 'Docs', section: 'api', path: '/docs' } });
  });
});

describe('hidden tab during a retry delay', () => {
  it('waits for the delay the server asked for instead of sending at once', async () => {
    const win = new FakeWindow();
    const { tracker } = start(win);
    win.answers.push({ status: 429, headers: { 'retry-after': '30' } });
    tracker.track('A');
    await tracker.flush();

    win.document.visibilityState = 'hidden';
    win.dispatchOnDocument('visibilitychange');
    await vi.advanceTimersByTimeAsync(29_000);
    expect(win.requests).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1_000);
    expect(win.requests).toHaveLength(2);
  });
});
