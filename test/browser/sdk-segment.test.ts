// Segment's analytics.js 2.0 (@segment/analytics-next, bundled from node_modules) in a real Chromium, on
// a page of another origin than the ingest, with the ingest allowing only that origin: its default
// delivery (one event per request to /v1/<first letter of the type>, after a CORS preflight) and its
// batching delivery (/v1/b) reach events-enriched exactly once each, as the events the SDK sent.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SdkStack } from '../helpers/sdk-stack.js';
import { skipWithoutChromium } from './chromium.js';
import {
  expectCleanWire,
  expectEnrichedExactlyOnce,
  ingestPosts,
  postedEvents,
  sendFromPage,
  startCrossOriginSdk,
  taggedWith,
  type CrossOriginSdk,
  type PageServer,
  type RunIds,
} from './sdk-page.js';

/** The part of analytics.js the page functions use (this file is compiled without the DOM lib). */
interface SegmentAnalytics {
  page(category: string, name: string, properties: object): Promise<unknown>;
  track(event: string, properties: object): Promise<unknown>;
  identify(userId: string, traits: object): Promise<unknown>;
  user(): { anonymousId(): string | null };
}
interface SegmentGlobals {
  SegmentSdk: { AnalyticsBrowser: { load(settings: object, options: object): PromiseLike<[SegmentAnalytics, unknown]> } };
}
interface SendArgs extends RunIds {
  /** Where analytics.js fetches its settings (<cdnURL>/v1/projects/<key>/settings): the ingest. */
  cdnURL: string;
  batching: boolean;
}

/**
 * In the page: loads analytics.js with the ingest as its CDN, so it fetches its settings from the ingest,
 * which names itself as Segment.io's apiHost; then a page view, a track, an identify and a track as the
 * identified user.
 */
const sendEvents = async ({ SegmentSdk }: SegmentGlobals, args: SendArgs) => {
  const batching = { deliveryStrategy: { strategy: 'batching', config: { size: 10, timeout: 500 } } };
  const [analytics] = await SegmentSdk.AnalyticsBrowser.load(
    { writeKey: args.writeKey, cdnURL: args.cdnURL },
    args.batching ? { integrations: { 'Segment.io': batching } } : {},
  );
  await analytics.page('Docs', 'Pricing', { run: args.run, plan: 'pro' });
  await analytics.track('Trial Started', { run: args.run, plan: 'pro', seats: 3 });
  await analytics.identify(args.userId, { run: args.run, email: 'wile@acme.test', plan: 'pro' });
  await analytics.track('Checkout Completed', { run: args.run, total: 42.5, currency: 'EUR' });
  return analytics.user().anonymousId() ?? '';
};

const basicAuth = (writeKey: string) => `Basic ${Buffer.from(`${writeKey}:`).toString('base64')}`;

describe.skipIf(skipWithoutChromium())('Segment analytics.js in Chromium, cross-origin, to the local stack', () => {
  let setup: CrossOriginSdk;
  let server: PageServer;
  let sdk: SdkStack;
  let ingestOrigin: string;

  beforeAll(async () => {
    setup = await startCrossOriginSdk('@segment/analytics-next', 'SegmentSdk');
    ({ server, sdk, ingestOrigin } = setup);
  }, 120_000);

  afterAll(async () => {
    await setup?.close();
  });

  const run = (batching: boolean) => sendFromPage(setup, sendEvents, { cdnURL: ingestOrigin, batching });

  it('default delivery: one event per POST to /v1/p, /v1/t, /v1/i as text/plain with Basic auth, each on events-enriched once', { timeout: 60_000 }, async () => {
    const { sdkPage, runId, userId, anonymousId } = await run(false);
    try {
      // The wire
      await expectCleanWire(sdkPage, ingestOrigin, server.origin);
      const posts = ingestPosts(sdkPage.requests, ingestOrigin);
      expect(posts.map((r) => r.path)).toEqual(['/v1/p', '/v1/t', '/v1/i', '/v1/t']);
      for (const post of posts) {
        expect(post.type).toBe('Fetch');
        expect(post.headers['content-type']).toBe('text/plain');
        expect(post.headers['authorization']).toBe(basicAuth(sdk.writeKey));
        expect(JSON.parse(post.body!)).toMatchObject({ writeKey: sdk.writeKey, messageId: expect.any(String), timestamp: expect.any(String), sentAt: expect.any(String) });
      }
      // Authorization is not a CORS-safelisted header: the browser asked first.
      const preflights = sdkPage.requests.filter((r) => r.type === 'Preflight');
      expect(preflights.length).toBeGreaterThan(0);
      for (const preflight of preflights) {
        expect(preflight).toMatchObject({ method: 'OPTIONS', origin: ingestOrigin });
        expect(preflight.headers['access-control-request-method']).toBe('POST');
        expect(preflight.headers['access-control-request-headers']).toBe('authorization');
      }
      expect(preflights[0]!.path).toBe('/v1/p');

      const posted = postedEvents(sdkPage.requests, ingestOrigin);
      expect(posted.map((p) => p.event.type)).toEqual(['page', 'track', 'identify', 'track']);
      expect(posted.map((p) => p.event['anonymousId'])).toEqual([anonymousId, anonymousId, anonymousId, anonymousId]);
      expect(posted.map((p) => p.event['userId'] ?? null)).toEqual([null, null, userId, userId]);
      expect(posted[2]!.event['traits']).toEqual({ run: runId, email: 'wile@acme.test', plan: 'pro' });

      // events-enriched
      const enriched = await sdk.enrichedEvents((e) => e.anonymousId === anonymousId || taggedWith(e, runId), posted.length, { timeoutMs: 30_000 });
      expectEnrichedExactlyOnce(posted, enriched, 'timestamp');
      expect(enriched.find((e) => e.type === 'page')).toMatchObject({ name: 'Pricing', properties: { run: runId, plan: 'pro', path: '/', url: server.url } });

      expect(sdkPage.pageErrors).toEqual([]);
      expect(sdkPage.consoleProblems).toEqual([]);
    } finally {
      await sdkPage.close();
    }
  });

  it('batching delivery: POST /v1/b {writeKey, batch, sentAt}, each event on events-enriched once', { timeout: 60_000 }, async () => {
    const { sdkPage, runId, userId, anonymousId } = await run(true);
    try {
      await expectCleanWire(sdkPage, ingestOrigin, server.origin);
      const posts = ingestPosts(sdkPage.requests, ingestOrigin);
      expect(posts.length).toBeGreaterThan(0);
      for (const post of posts) {
        expect(post).toMatchObject({ path: '/v1/b', type: 'Fetch' });
        expect(post.headers['content-type']).toBe('text/plain');
        expect(post.headers['authorization']).toBe(basicAuth(sdk.writeKey));
        const body = JSON.parse(post.body!) as Record<string, unknown>;
        expect(Object.keys(body).sort()).toEqual(['batch', 'sentAt', 'writeKey']);
        expect(body['writeKey']).toBe(sdk.writeKey);
        expect(Number.isNaN(Date.parse(String(body['sentAt'])))).toBe(false);
        // The batch's sentAt stands for all its events.
        for (const event of body['batch'] as Record<string, unknown>[]) expect(event).not.toHaveProperty('sentAt');
      }
      const preflights = sdkPage.requests.filter((r) => r.type === 'Preflight');
      expect(preflights.length).toBeGreaterThan(0);
      for (const preflight of preflights) expect(preflight.path).toBe('/v1/b');

      const posted = postedEvents(sdkPage.requests, ingestOrigin);
      expect(posted.map((p) => p.event.type)).toEqual(['page', 'track', 'identify', 'track']);
      expect(posted.map((p) => p.event['anonymousId'])).toEqual([anonymousId, anonymousId, anonymousId, anonymousId]);
      expect(posted.map((p) => p.event['userId'] ?? null)).toEqual([null, null, userId, userId]);

      const enriched = await sdk.enrichedEvents((e) => e.anonymousId === anonymousId || taggedWith(e, runId), posted.length, { timeoutMs: 30_000 });
      expectEnrichedExactlyOnce(posted, enriched, 'timestamp');

      expect(sdkPage.pageErrors).toEqual([]);
      expect(sdkPage.consoleProblems).toEqual([]);
    } finally {
      await sdkPage.close();
    }
  });
});
