// The browser tracker in a real Chromium against the real local stack: the demo shop's page views,
// SPA route changes and clicks reach events-raw; an event queued when the page goes away arrives by
// sendBeacon; events tracked offline are delivered exactly once when the browser is back online.
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { KinesisClient } from '@aws-sdk/client-kinesis';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLocalKinesisClient } from '../../local/kinesis/client.js';
import { REPOSITORY_ROOT, startLocalStack, type LocalStack } from '../../local/stack.js';
import type * as Clickstream from '../../tracker/src/index.js';
import { serveTrackerDemo, type TrackerDemoServer } from '../../local/demo/tracker-demo.js';
import { readAllRecords } from '../integration/kinesis-records.js';
import { launchChromium, skipWithoutChromium } from './chromium.js';

/** The page's globals that the page functions below use (this file is compiled without the DOM lib). */
interface PageGlobals {
  /** What tracker.min.js puts on the page. */
  clickstream: typeof Clickstream;
  localStorage: { getItem(key: string): string | null; setItem(key: string, value: string): void };
  navigator: { sendBeacon(url: string, data?: unknown): boolean };
  Blob: new (parts: string[]) => { type: string };
}

/** Runs fn in the page (serialised, as page.evaluate does) with the page's globals. */
const inPage = <R>(page: Page, fn: (page: PageGlobals) => R | Promise<R>): Promise<R> => page.evaluate(`(${fn.toString()})(globalThis)`) as Promise<R>;

type RawEvent = Record<string, unknown> & { messageId: string; anonymousId: string; type: string; event?: string };

const ARTIFACTS = join(REPOSITORY_ROOT, 'test-artifacts');

describe.skipIf(skipWithoutChromium())('browser tracker (Chromium, local stack)', () => {
  let dataDir: string;
  let stack: LocalStack;
  let demo: TrackerDemoServer;
  let browser: Browser;
  let kinesis: KinesisClient;

  beforeAll(async () => {
    process.env['POWERTOOLS_LOG_LEVEL'] ??= 'WARN'; // the enrich consumer's per-batch INFO lines
    browser = await launchChromium();
    dataDir = mkdtempSync(join(tmpdir(), 'clickstream-browser-'));
    stack = await startLocalStack({ dataDir });
    demo = await serveTrackerDemo({ ingestUrl: stack.endpoints.ingestUrl, writeKey: stack.endpoints.writeKey });
    kinesis = createLocalKinesisClient(stack.endpoints.kinesis);
  }, 120_000);

  afterAll(async () => {
    kinesis?.destroy();
    await browser?.close();
    await demo?.close();
    await stack?.stop();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  /** events-raw records of one browser profile, polled until `done` holds or the time is up. */
  async function rawEventsOf(anonymousId: string, done: (events: RawEvent[]) => boolean, timeoutMs = 30_000): Promise<RawEvent[]> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const events = (await readAllRecords(kinesis, stack.endpoints.streams.raw))
        .map((r) => r.data as RawEvent)
        .filter((e) => e.anonymousId === anonymousId);
      if (done(events) || Date.now() > deadline) return events;
      await sleep(250);
    }
  }

  async function openShop(context: BrowserContext, path = '/'): Promise<{ page: Page; anonymousId: string; pageErrors: string[] }> {
    const page = await context.newPage();
    const pageErrors: string[] = [];
    page.on('pageerror', (error) => pageErrors.push(error.message));
    await page.goto(`${demo.url}${path}`);
    const anonymousId = await inPage(page, (g) => g.clickstream.anonymousId()!);
    return { page, anonymousId, pageErrors };
  }

  it('sends page views, SPA route changes and clicks to events-raw, and the last event by sendBeacon when the page goes away', { timeout: 90_000 }, async () => {
    // Prepare: record sendBeacon calls where they survive the page, in the origin's storage.
    const context = await browser.newContext({ viewport: { width: 1200, height: 720 } });
    const recordBeacons = ({ navigator, localStorage, Blob }: PageGlobals) => {
      const original = navigator.sendBeacon.bind(navigator);
      navigator.sendBeacon = (url, data) => {
        const accepted = original(url, data);
        const calls = JSON.parse(localStorage.getItem('test_beacons') ?? '[]') as unknown[];
        calls.push({ url: String(url), type: data instanceof Blob ? data.type : typeof data, accepted });
        localStorage.setItem('test_beacons', JSON.stringify(calls));
        return accepted;
      };
    };
    // Not on about:blank, where localStorage is off limits.
    await context.addInitScript(`if (location.protocol === 'http:') (${recordBeacons.toString()})(globalThis)`);
    const { page, anonymousId, pageErrors } = await openShop(context, '/?utm_source=newsletter&utm_campaign=spring');

    // Act: browse the shop (client-side routes), start a trial, sign up.
    await page.click('header >> text=Products');
    await page.click('header >> text=Pricing');
    await page.click('#start-trial');
    await page.click('header >> text=Sign up');
    await page.click('form#signup button[type=submit]'); // identify + track, then flush
    await inPage(page, (g) => g.clickstream.flush());
    mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: join(ARTIFACTS, 'tracker-demo.png'), fullPage: true });
    // One more event, then leave before the batch interval: only the page-hide beacon can carry it.
    await inPage(page, (g) => g.clickstream.track('Checkout Abandoned', { step: 2 }));
    expect(await inPage(page, (g) => g.clickstream.stats()!.queued)).toBe(1);
    await page.goto('about:blank');

    // Assess
    const events = await rawEventsOf(anonymousId, (all) => all.some((e) => e.event === 'Checkout Abandoned'));
    const names = events.map((e) => (e.type === 'page' ? `page ${(e['properties'] as { path: string }).path}` : `${e.type} ${e.event ?? ''}`.trim()));
    expect(names).toEqual(['page /', 'page /products', 'page /pricing', 'track Trial Started', 'page /signup', 'identify', 'track Signed Up', 'track Checkout Abandoned']);
    expect(new Set(events.map((e) => e.messageId)).size).toBe(events.length);

    const [landing, products] = events;
    expect(landing!['context']).toMatchObject({
      library: { name: 'clickstream-tracker', version: expect.any(String) },
      page: { path: '/', search: '?utm_source=newsletter&utm_campaign=spring', url: `${demo.url}/?utm_source=newsletter&utm_campaign=spring`, title: 'Welcome to Acme · Acme Shop' },
      sessionStart: true,
      userAgent: expect.stringContaining('HeadlessChrome'),
    });
    expect((products!['context'] as { page: { referrer: string } }).page.referrer).toBe(`${demo.url}/?utm_source=newsletter&utm_campaign=spring`);
    const sessionIds = new Set(events.map((e) => (e['context'] as { sessionId: number }).sessionId));
    expect(sessionIds.size).toBe(1);
    for (const event of events) {
      // Server fields: the clock-corrected event time and the receive time; the write key is never stored.
      expect(event).toMatchObject({ sentAt: expect.any(String), receivedAt: expect.any(String), originalTimestamp: expect.any(String) });
      expect(event).not.toHaveProperty('writeKey');
    }
    expect(events.find((e) => e.event === 'Signed Up')).toMatchObject({ userId: 'user-wile@acme.test', properties: { plan: 'pro' } });

    const probe = await context.newPage();
    await probe.goto(`${demo.url}/beacon-log.txt`); // any page of the shop's origin, without the tracker
    const beacons = JSON.parse((await inPage(probe, (g) => g.localStorage.getItem('test_beacons'))) ?? '[]') as unknown[];
    expect(beacons).toEqual([{ url: `${stack.endpoints.ingestUrl}/v1/batch`, type: 'text/plain', accepted: true }]);
    expect(pageErrors).toEqual([]);
    await context.close();
  });

  it('delivers events tracked offline exactly once when the browser comes back online', { timeout: 90_000 }, async () => {
    const context = await browser.newContext();
    const { page, anonymousId, pageErrors } = await openShop(context);
    await inPage(page, (g) => g.clickstream.flush());

    // Act: offline, the tracker keeps the events (also in localStorage) and sends nothing.
    await context.setOffline(true);
    await inPage(page, async ({ clickstream }) => {
      for (const n of [1, 2, 3]) clickstream.track('Offline Click', { n });
      await clickstream.flush();
    });
    await sleep(1_000);
    const whileOffline = await inPage(page, ({ clickstream, localStorage }) => ({
      stats: clickstream.stats()!,
      stored: (JSON.parse(localStorage.getItem('cs_queue') ?? '[]') as { messageId: string }[]).map((e) => e.messageId),
    }));
    await context.setOffline(false); // fires `online`: the tracker sends the queue

    // Assess
    expect(whileOffline.stats).toMatchObject({ queued: 3, lost: 0 });
    const offline = (all: RawEvent[]) => all.filter((e) => e.event === 'Offline Click');
    await rawEventsOf(anonymousId, (all) => offline(all).length >= 3);
    await sleep(2_000); // let a duplicate, if any, arrive
    const delivered = offline(await rawEventsOf(anonymousId, () => true));
    expect(delivered.map((e) => e.messageId).sort()).toEqual([...whileOffline.stored].sort());
    expect(delivered.map((e) => (e['properties'] as { n: number }).n)).toEqual([1, 2, 3]);
    expect(await inPage(page, (g) => g.clickstream.stats())).toMatchObject({ queued: 0, lost: 0 });
    expect(await inPage(page, (g) => g.localStorage.getItem('cs_queue'))).toBeNull();
    expect(pageErrors).toEqual([]);
    await context.close();
  });
});
