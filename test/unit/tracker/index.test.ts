// The page-level API (what window.clickstream exposes) on the globals a browser has.
import { afterEach, beforeEach, expect, it, vi } from 'vitest';
import { FakeWindow } from './fake-window.js';

let win: FakeWindow;

beforeEach(() => {
  vi.resetModules(); // a fresh singleton per test
  win = new FakeWindow({ href: 'https://shop.example/start' });
  for (const name of ['navigator', 'document', 'location', 'history', 'localStorage', 'screen', 'fetch', 'Blob'] as const) {
    vi.stubGlobal(name, win[name]);
  }
  vi.stubGlobal('addEventListener', win.addEventListener.bind(win));
});
afterEach(() => {
  vi.unstubAllGlobals();
});

it('replays calls made before init, ignores a second init, and sends everything on flush', async () => {
  const clickstream = await import('../../../tracker/src/index.js');

  clickstream.track('Early Click', { n: 1 });
  clickstream.identify('user-1');
  expect(clickstream.anonymousId()).toBeUndefined();
  const tracker = clickstream.init({ writeKey: 'wk_test', host: 'https://ingest.example/' });
  expect(clickstream.init({ writeKey: 'other', host: 'https://elsewhere.example' })).toBe(tracker);
  clickstream.page('Checkout');
  await clickstream.flush();

  expect(win.requests.map((r) => r.url)).toEqual(['https://ingest.example/v1/batch']);
  expect(win.sentEvents().map((e) => [e['type'], e['event'] ?? e['name'] ?? null, e['userId'] ?? null])).toEqual([
    ['page', null, null],
    ['track', 'Early Click', null],
    ['identify', null, 'user-1'],
    ['page', 'Checkout', 'user-1'],
  ]);
  expect(clickstream.anonymousId()).toBe(win.sentEvents()[0]!.anonymousId);
  expect(clickstream.stats()).toMatchObject({ queued: 0, accepted: 4 });
});
