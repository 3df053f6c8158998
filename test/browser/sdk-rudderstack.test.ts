// RudderStack's JS SDK v3 (@rudderstack/analytics-js/bundled: its plugins in the bundle, none from a CDN;
// bundled from node_modules) in a real Chromium, on a page of another origin than the ingest, with the
// ingest allowing only that origin and as its control plane (the source config): its default XHR
// transport (/v1/page, /v1/track, /v1/identify, JSON, after a CORS preflight) and its sendBeacon
// transport (/beacon/v1/batch?writeKey=…) reach events-enriched exactly once each, as the events sent.
import { randomUUID } from 'node:crypto';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SdkStack } from '../helpers/sdk-stack.js';
import { skipWithoutChromium } from './chromium.js';
import {
  expectCleanWire,
  expectEnrichedExactlyOnce,
  ingestPosts,
  inPage,
  openSdkPage,
  postedEvents,
  sendFromPage,
  serveSdkPage,
  startCrossOriginSdk,
  taggedWith,
  type CrossOriginSdk,
  type PageServer,
  type RunIds,
  type SdkPage,
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
interface SendArgs extends RunIds {
  dataPlaneUrl: string;
  beacon: boolean;
}

/**
 * In the page: loads the SDK with the ingest as its control plane (configUrl: the source config) and as
 * its data plane, then, once loaded, a page view, a track, an identify and a track as the
 * identified user. The SDK queues and sends on its own; the wire is read by the test.
 */
const sendEvents = ({ RudderSdk, setTimeout }: RudderGlobals, args: SendArgs) =>
  new Promise<string>((resolve, reject) => {
    const rudder = new RudderSdk.RudderAnalytics();
    setTimeout(() => reject(new Error('the SDK did not call onLoaded within 10 s')), 10_000);
    rudder.load(args.writeKey, args.dataPlaneUrl, {
      // The source config from the ingest (GET /sourceConfig), as a control plane would serve it.
      configUrl: `${args.dataPlaneUrl}/sourceConfig`,
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

/** The SDK took its source config from the ingest, once, authenticated with the write key. */
function expectSourceConfigFetched(requests: SdkPage['requests']): void {
  const fetches = requests.filter((r) => r.method === 'GET' && r.type !== 'Preflight' && r.path.startsWith('/sourceConfig'));
  expect(fetches).toHaveLength(1);
  expect(fetches[0]!.status).toBe(200);
}

describe.skipIf(skipWithoutChromium())('RudderStack JS SDK in Chromium, cross-origin, to the local stack', () => {
  let setup: CrossOriginSdk;
  let browser: Browser;
  let server: PageServer;
  let sdk: SdkStack;
  let ingestOrigin: string;

  beforeAll(async () => {
    setup = await startCrossOriginSdk('@rudderstack/analytics-js/bundled', 'RudderSdk');
    ({ browser, server, sdk, ingestOrigin } = setup);
  }, 120_000);

  afterAll(async () => {
    await setup?.close();
  });

  const run = (beacon: boolean) => sendFromPage(setup, sendEvents, { dataPlaneUrl: ingestOrigin, beacon });

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
      // JSON and the extra headers are not CORS-safelisted: the browser asked first, for the events and for
      // the source config (fetched with Basic auth).
      const preflights = sdkPage.requests.filter((r) => r.type === 'Preflight');
      expect(preflights.map((p) => `${p.headers['access-control-request-method']} ${p.path.split('?')[0]}`)).toEqual(
        expect.arrayContaining(['GET /sourceConfig', 'POST /v1/page']),
      );
      for (const preflight of preflights.filter((p) => p.headers['access-control-request-method'] === 'POST')) {
        expect(preflight.headers['access-control-request-headers']).toBe('anonymousid,authorization,content-type,sentat');
      }
      expectSourceConfigFetched(sdkPage.requests);

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
      // A beacon is a simple request: the only preflight is the source config's (GET with Basic auth).
      expect(sdkPage.requests.filter((r) => r.type === 'Preflight').map((p) => `${p.headers['access-control-request-method']} ${p.path.split('?')[0]}`)).toEqual([
        'GET /sourceConfig',
      ]);
      expectSourceConfigFetched(sdkPage.requests);

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

  it('a page on an origin the stage does not allow stores nothing, even by sendBeacon (which needs no preflight)', { timeout: 60_000 }, async () => {
    // Prepare: the same page from another port: another origin, not in the stack's allowed origins.
    const stranger = await serveSdkPage({ script: '', connectTo: () => [ingestOrigin] });
    expect(stranger.origin).not.toBe(server.origin);
    const sdkPage = await openSdkPage(browser, stranger, ingestOrigin);
    try {
      const runId = randomUUID();
      const event = { type: 'track', event: 'Stranger Event', anonymousId: `anon-${runId}`, messageId: `stranger-${runId}`, properties: { run: runId } };
      const url = `${ingestOrigin}/beacon/v1/batch?writeKey=${encodeURIComponent(sdk.writeKey)}`;

      // Act: what any page can do with a write key it has seen.
      const queued = await inPage(sdkPage.page, ({ navigator }: { navigator: { sendBeacon(url: string, body: string): boolean } }, args: { url: string; body: string }) => navigator.sendBeacon(args.url, args.body), {
        url,
        body: JSON.stringify({ batch: [event], sentAt: new Date().toISOString() }),
      });
      await sdkPage.waitFor('the beacon answered', (requests) => requests.some((r) => r.type === 'Ping' && r.done));

      // Assess: the browser sent it (no preflight stopped it), the ingest refused it, nothing was stored.
      expect(queued).toBe(true);
      const beacon = sdkPage.requests.find((r) => r.type === 'Ping')!;
      expect(beacon.headers['origin']).toBe(stranger.origin);
      expect(beacon.status).toBe(403);
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      expect(await sdk.rawEvents((e) => e['messageId'] === event.messageId)).toEqual([]);
    } finally {
      await sdkPage.close();
      await stranger.close();
    }
  });
});
