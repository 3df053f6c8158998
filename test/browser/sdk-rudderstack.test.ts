// RudderStack's JS SDK v3 (@rudderstack/analytics-js/bundled: its plugins in the bundle, none from a CDN;
// bundled from node_modules) in a real Chromium, on a page of another origin than the ingest, with the
// ingest allowing only that origin and the source config passed in (no control plane): its default XHR
// transport (/v1/page, /v1/track, /v1/identify, JSON, after a CORS preflight) and its sendBeacon
// transport (/beacon/v1/batch?writeKey=…) reach events-enriched exactly once each, as the events sent.
import { randomUUID } from 'node:crypto';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSdkStack, type SdkStack } from '../helpers/sdk-stack.js';
import { launchChromium, skipWithoutChromium } from './chromium.js';
import {
  bundleForBrowser,
  expectCleanWire,
  expectEnrichedExactlyOnce,
  ingestPosts,
  inPage,
  openSdkPage,
  postedEvents,
  serveSdkPage,
  taggedWith,
  type PageServer,
} from './sdk-page.js';

/** The part of the SDK the page functions use (this file is compiled without the DOM lib). */
interface RudderAnalytics {
  load(writeKey: string, dataPlaneUrl: string, options: object): void;
  page(category: string, name: string, properties: object): void;
  track(event: string, properties: object): void;
  identify(userId: string, traits: object): void;
  getAnonymousId(): string;
}
interface RudderGlobals {
  RudderSdk: { RudderAnalytics: new () => RudderAnalytics };
  setTimeout(fn: () => void, ms: number): unknown;
}
interface SendArgs {
  writeKey: string;
  dataPlaneUrl: string;
  run: string;
  userId: string;
  beacon: boolean;
}

/**
 * In the page: loads the SDK with the source config passed in (getSourceConfig: no control plane) and
 * the ingest as the data plane, then, once loaded, a page view, a track, an identify and a track as the
 * identified user. The SDK queues and sends on its own; the wire is read by the test.
 */
const sendEvents = ({ RudderSdk, setTimeout }: RudderGlobals, args: SendArgs) =>
  new Promise<string>((resolve, reject) => {
    const rudder = new RudderSdk.RudderAnalytics();
    setTimeout(() => reject(new Error('the SDK did not call onLoaded within 10 s')), 10_000);
    rudder.load(args.writeKey, args.dataPlaneUrl, {
      getSourceConfig: () => ({
        source: { id: 'sdk-test-source', name: 'SDK test', workspaceId: 'sdk-test-workspace', enabled: true, config: {}, destinations: [] },
      }),
      ...(args.beacon ? { useBeacon: true, beaconQueueOptions: { flushQueueInterval: 500 } } : {}),
      onLoaded: () => {
        rudder.page('Docs', 'Pricing', { run: args.run, plan: 'pro' });
        rudder.track('Trial Started', { run: args.run, plan: 'pro', seats: 3 });
        rudder.identify(args.userId, { run: args.run, email: 'wile@acme.test', plan: 'pro' });
        rudder.track('Checkout Completed', { run: args.run, total: 42.5, currency: 'EUR' });
        resolve(rudder.getAnonymousId());
      },
    });
  });

const base64 = (text: string) => Buffer.from(text).toString('base64');

describe.skipIf(skipWithoutChromium())('RudderStack JS SDK in Chromium, cross-origin, to the local stack', () => {
  let browser: Browser;
  let server: PageServer;
  let sdk: SdkStack;
  let ingestOrigin: string;

  beforeAll(async () => {
    const launched = launchChromium();
    launched.catch(() => undefined); // awaited (and its failure reported) below
    const script = await bundleForBrowser('@rudderstack/analytics-js/bundled', 'RudderSdk');
    // The page's port is known before the stack starts, so the ingest can allow exactly its origin; the
    // page's CSP reads the ingest's origin at request time.
    let connectTo = '';
    server = await serveSdkPage({ script, connectTo: () => [connectTo] });
    sdk = await startSdkStack({ allowedOrigins: [server.origin] });
    ingestOrigin = new URL(sdk.ingestUrl).origin;
    connectTo = ingestOrigin;
    expect(ingestOrigin).not.toBe(server.origin);
    browser = await launched;
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await server?.close();
    await sdk?.stop();
  });

  async function run(beacon: boolean) {
    const runId = randomUUID();
    const userId = `user-${runId.slice(0, 8)}`;
    const sdkPage = await openSdkPage(browser, server, ingestOrigin);
    try {
      const anonymousId = await inPage(sdkPage.page, sendEvents, { writeKey: sdk.writeKey, dataPlaneUrl: ingestOrigin, run: runId, userId, beacon });
      await sdkPage.waitFor('the 4 events on the wire', (requests) => postedEvents(requests, ingestOrigin).filter((p) => taggedWith(p.event, runId)).length >= 4);
      await sdkPage.settled();
      return { sdkPage, runId, userId, anonymousId };
    } catch (error) {
      await sdkPage.close();
      throw error;
    }
  }

  it('XHR transport: one event per POST to /v1/page, /v1/track, /v1/identify as JSON with AnonymousId and SentAt headers, each on events-enriched once', { timeout: 60_000 }, async () => {
    const { sdkPage, runId, userId, anonymousId } = await run(false);
    try {
      // The wire
      await expectCleanWire(sdkPage, ingestOrigin, server.origin);
      const posts = ingestPosts(sdkPage.requests, ingestOrigin);
      expect(posts.map((r) => r.path)).toEqual(['/v1/page', '/v1/track', '/v1/identify', '/v1/track']);
      for (const post of posts) {
        expect(post.type).toBe('XHR');
        expect(post.headers['content-type']).toBe('application/json;charset=UTF-8');
        expect(post.headers['authorization']).toBe(`Basic ${base64(`${sdk.writeKey}:`)}`);
        expect(post.headers['anonymousid']).toBe(base64(anonymousId));
        const body = JSON.parse(post.body!) as Record<string, unknown>;
        expect(post.headers['sentat']).toBe(body['sentAt']);
        expect(body).toMatchObject({ messageId: expect.any(String), originalTimestamp: expect.any(String), sentAt: expect.any(String), channel: 'web' });
        expect(body).not.toHaveProperty('writeKey');
      }
      // JSON and the extra headers are not CORS-safelisted: the browser asked first.
      const preflights = sdkPage.requests.filter((r) => r.type === 'Preflight');
      expect(preflights.length).toBeGreaterThan(0);
      for (const preflight of preflights) {
        expect(preflight.headers['access-control-request-method']).toBe('POST');
        expect(preflight.headers['access-control-request-headers']).toBe('anonymousid,authorization,content-type,sentat');
      }

      const posted = postedEvents(sdkPage.requests, ingestOrigin);
      expect(posted.map((p) => p.event.type)).toEqual(['page', 'track', 'identify', 'track']);
      expect(posted.map((p) => p.event['anonymousId'])).toEqual([anonymousId, anonymousId, anonymousId, anonymousId]);
      // Before identify the SDK sends "userId": ""; the identify's traits come only in context.traits.
      expect(posted.map((p) => p.event['userId'])).toEqual(['', '', userId, userId]);
      const identify = posted[2]!.event;
      expect(identify).not.toHaveProperty('traits');
      expect((identify['context'] as { traits: unknown }).traits).toEqual({ run: runId, email: 'wile@acme.test', plan: 'pro' });

      // events-enriched
      const enriched = await sdk.enrichedEvents((e) => e.anonymousId === anonymousId || taggedWith(e, runId), posted.length, { timeoutMs: 30_000 });
      expectEnrichedExactlyOnce(posted, enriched, 'originalTimestamp');
      expect(enriched.find((e) => e.type === 'identify')).toMatchObject({ userId, traits: { run: runId, email: 'wile@acme.test', plan: 'pro' } });
      expect(enriched.find((e) => e.type === 'page')).toMatchObject({ name: 'Pricing', properties: { run: runId, plan: 'pro', path: '/', url: server.url } });

      expect(sdkPage.pageErrors).toEqual([]);
      expect(sdkPage.consoleProblems).toEqual([]);
    } finally {
      await sdkPage.close();
    }
  });

  it('beacon transport: sendBeacon to /beacon/v1/batch?writeKey=… as text/plain {batch, sentAt}, each event on events-enriched once', { timeout: 60_000 }, async () => {
    const { sdkPage, runId, userId, anonymousId } = await run(true);
    try {
      await expectCleanWire(sdkPage, ingestOrigin, server.origin);
      const posts = ingestPosts(sdkPage.requests, ingestOrigin);
      expect(posts.length).toBeGreaterThan(0);
      for (const post of posts) {
        expect(post).toMatchObject({ type: 'Ping', path: `/beacon/v1/batch?writeKey=${encodeURIComponent(sdk.writeKey)}` });
        expect(post.headers['content-type']).toBe('text/plain');
        expect(post.headers).not.toHaveProperty('authorization');
        // A beacon with a CORS-safelisted content type goes without a preflight, in no-cors mode.
        expect(post.headers['sec-fetch-mode']).toBe('no-cors');
        const body = JSON.parse(post.body!) as Record<string, unknown>;
        expect(Object.keys(body).sort()).toEqual(['batch', 'sentAt']);
        expect(Number.isNaN(Date.parse(String(body['sentAt'])))).toBe(false);
      }
      expect(sdkPage.requests.filter((r) => r.type === 'Preflight')).toEqual([]);

      const posted = postedEvents(sdkPage.requests, ingestOrigin);
      expect(posted.map((p) => p.event.type)).toEqual(['page', 'track', 'identify', 'track']);
      expect(posted.map((p) => p.event['anonymousId'])).toEqual([anonymousId, anonymousId, anonymousId, anonymousId]);
      expect(posted.map((p) => p.event['userId'])).toEqual(['', '', userId, userId]);

      const enriched = await sdk.enrichedEvents((e) => e.anonymousId === anonymousId || taggedWith(e, runId), posted.length, { timeoutMs: 30_000 });
      expectEnrichedExactlyOnce(posted, enriched, 'originalTimestamp');
      expect(enriched.find((e) => e.type === 'identify')).toMatchObject({ userId, traits: { run: runId, email: 'wile@acme.test', plan: 'pro' } });

      expect(sdkPage.pageErrors).toEqual([]);
      expect(sdkPage.consoleProblems).toEqual([]);
    } finally {
      await sdkPage.close();
    }
  });
});
