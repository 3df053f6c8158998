// Snowplow's trackers, unchanged, against the local stack: @snowplow/browser-tracker in Chromium on a page
// of another origin (its default POST transport, and GET with eventMethod 'get'), and
// @snowplow/node-tracker. Page views, page pings (activity tracking), structured, self-describing and
// screen view events, transactions: every eid sent is in the lake (`events`, read as `npm run query`
// reads it) exactly once with the fields of the mapping (functions/ingest/snowplow.ts), and the same
// events are counted in the Flink job's 1-minute totals. An item that cannot be mapped is a bad row of
// its own failure type; an app id the stage does not know is refused.
import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { buildEcommerceTransaction, buildEcommerceTransactionItem, buildPageView, buildScreenView, buildSelfDescribingEvent, buildStructEvent, newTracker } from '@snowplow/node-tracker';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runQueryCli } from '../../commands/query.js';
import { payloadDataItems, queryStringItem, toSegmentEvent, trackerParameters, type TrackerParameters } from '../../functions/ingest/snowplow.js';
import { REPOSITORY_ROOT } from '../../local/stack.js';
import { startSdkStack, type SdkStack } from '../helpers/sdk-stack.js';
import { basicAuth, readAllRecords } from '../integration/kinesis-records.js';
import { launchChromium, skipWithoutChromium } from './chromium.js';
import { bundleForBrowser, inPage, openSdkPage, serveSdkPage, type PageServer, type SdkPage, type WireRequest } from './sdk-page.js';

// CI installs a JDK and builds the job's jar (.ci/run): there the Flink part must run, never skip.
const javaPresent = process.env['CI'] === 'true' || spawnSync('java', ['-version']).status === 0;

const WEB_APP_ID = 'shop-web';
const SERVER_APP_ID = 'shop-api';
const TP2 = '/com.snowplowanalytics.snowplow/tp2';

/** One tracker event as it went on the wire, and how the ingest answered its request. */
interface SentItem {
  params: TrackerParameters;
  userAgent: string | undefined;
  transport: 'browser POST' | 'browser GET' | 'node POST';
}

/** The part of the browser tracker the page functions use (this file is compiled without the DOM lib). */
interface SnowplowGlobals {
  snowplow: Record<string, (...args: unknown[]) => unknown>;
  document: { body: { style: { minHeight: string } } };
}

/** In the page: a tracker with default settings but the app id (and the method), then a page view with activity tracking on. */
const startTracking = ({ snowplow, document }: SnowplowGlobals, args: { collector: string; appId: string; method: 'post' | 'get' }) => {
  snowplow['newTracker']!('sp', args.collector, {
    appId: args.appId,
    ...(args.method === 'get' ? { eventMethod: 'get' } : {}),
    plugins: [snowplow['ScreenTrackingPlugin']!()],
  });
  document.body.style.minHeight = '6000px';
  // Activity tracking starts with the next page view, so it is enabled first.
  snowplow['enableActivityTracking']!({ minimumVisitLength: 1, heartbeatDelay: 1 });
  snowplow['trackPageView']!();
};

/** In the page: a structured event, a self-describing one with an entity, a signed-in user's event, a screen view. */
const trackEvents = ({ snowplow }: SnowplowGlobals, args: { run: string; userId: string; screenId: string }) => {
  // No more heartbeats: every ping sent is then one the test waits for.
  snowplow['disableActivityTracking']!();
  snowplow['trackStructEvent']!({ category: 'shop', action: 'add-to-basket', label: args.run, property: 'red', value: 2.5 });
  snowplow['trackSelfDescribingEvent']!({
    event: { schema: 'iglu:com.acme/checkout_started/jsonschema/1-0-0', data: { basketValue: 42.5, currency: 'EUR', run: args.run } },
    context: [{ schema: 'iglu:com.acme/experiment/jsonschema/1-0-0', data: { variant: 'b' } }],
  });
  snowplow['setUserId']!(args.userId);
  snowplow['trackStructEvent']!({ category: 'account', action: 'signed-in', label: args.run });
  snowplow['trackScreenView']!({ name: 'Checkout', id: args.screenId });
  snowplow['flushBuffer']!();
};

/** The tracker items of the page's requests to the ingest. */
function itemsOnWire(requests: WireRequest[], ingestOrigin: string, transport: SentItem['transport']): SentItem[] {
  return requests
    .filter((r) => r.origin === ingestOrigin && r.type !== 'Preflight')
    .flatMap((r) => {
      const items = r.method === 'GET' ? [queryStringItem(r.path.split('?')[1])] : payloadDataItems(JSON.parse(r.body ?? 'null'));
      return items.map((item) => ({ params: trackerParameters(item) as TrackerParameters, userAgent: r.headers['user-agent'], transport }));
    });
}

const count = (items: SentItem[], e: string) => items.filter((i) => i.params['e'] === e).length;

describe.skipIf(skipWithoutChromium())("Snowplow's trackers, unchanged, to the local stack", () => {
  let browser: Browser;
  let server: PageServer;
  let sdk: SdkStack;
  let ingestOrigin: string;
  /** The same ingest as a Lambda function URL (serverless.yml ingestFunctionUrl), which answers CORS itself. */
  let functionUrlOrigin: string;
  const sent: SentItem[] = [];

  beforeAll(async () => {
    const launched = launchChromium();
    launched.catch(() => undefined);
    const script = await bundleForBrowser(['@snowplow/browser-tracker', '@snowplow/browser-plugin-screen-tracking'], 'snowplow');
    let connectTo: string[] = [];
    server = await serveSdkPage({ script, connectTo: () => connectTo, title: 'Snowplow shop' });
    sdk = await startSdkStack({
      allowedOrigins: [server.origin],
      snowplowAppIds: [WEB_APP_ID, SERVER_APP_ID],
      firehose: { bufferIntervalMs: 1_000 },
      // One shard per stream: the job's source keeps one watermark per reader, not per shard, so with two
      // shards read at different speeds a minute can close before the slower shard's events of it arrive
      // (analytics/flink/README.md). This test is about what the trackers' events become, not that.
      shardCount: 1,
      analytics: javaPresent,
      log: () => undefined,
    });
    if (javaPresent && !sdk.stack.analytics.running) throw new Error(sdk.stack.analytics.reason);
    ingestOrigin = new URL(sdk.ingestUrl).origin;
    functionUrlOrigin = new URL(sdk.stack.endpoints.ingestFunctionUrl!).origin;
    connectTo = [ingestOrigin, functionUrlOrigin];
    browser = await launched;
  }, 300_000);

  afterAll(async () => {
    await browser?.close();
    await server?.close();
    await sdk?.stop();
  });

  /** The browser tracker on the page, with `method`, sending to `collector`; returns what it put on the wire. */
  async function browserRun(method: 'post' | 'get', collector = ingestOrigin): Promise<{ sdkPage: SdkPage; items: SentItem[] }> {
    const transport = method === 'get' ? 'browser GET' : 'browser POST';
    const ingestOrigin = collector;
    const sdkPage = await openSdkPage(browser, server, ingestOrigin);
    await inPage(sdkPage.page, startTracking, { collector: ingestOrigin, appId: WEB_APP_ID, method });
    // Scrolling, then the heartbeat: page pings.
    await sdkPage.page.mouse.move(200, 200);
    for (let i = 0; i < 5; i++) {
      await sdkPage.page.mouse.wheel(0, 300);
      await sleep(300);
    }
    await sdkPage.waitFor('a page ping', (requests) => count(itemsOnWire(requests, ingestOrigin, transport), 'pp') >= 1);
    await inPage(sdkPage.page, trackEvents, { run: randomUUID(), userId: `user-${method}`, screenId: randomUUID() });
    await sdkPage.waitFor('every event on the wire', (requests) => {
      const items = itemsOnWire(requests, ingestOrigin, transport);
      return count(items, 'pv') === 1 && count(items, 'se') === 2 && count(items, 'ue') === 2;
    });
    await sdkPage.settled(15_000);
    await sleep(1_500); // a ping already due when tracking was turned off
    await sdkPage.settled(15_000);
    await sdkPage.close();
    const items = itemsOnWire(sdkPage.requests, ingestOrigin, transport);
    sent.push(...items);
    return { sdkPage, items };
  }

  /** Every request to the ingest finished 2xx, with the page's origin echoed and credentials allowed. */
  function expectAcceptedWithCredentials(sdkPage: SdkPage, ingestOrigin: string): void {
    expect(sdkPage.outside).toEqual([]);
    expect(sdkPage.requests.filter((r) => r.failure !== null).map((r) => `${r.method} ${r.path}: ${r.failure}`)).toEqual([]);
    expect(sdkPage.pageErrors).toEqual([]);
    for (const request of sdkPage.requests.filter((r) => r.origin === ingestOrigin)) {
      const label = `${request.type} ${request.method} ${request.path.slice(0, 60)} → ${request.status}`;
      expect(request.status, label).toBeGreaterThanOrEqual(200);
      expect(request.status, label).toBeLessThan(300);
      expect(request.headers['origin'], label).toBe(server.origin);
      // fetch with credentials: 'include' is let through only with the origin itself and allow-credentials.
      expect(request.responseHeaders['access-control-allow-origin'], label).toBe(server.origin);
      expect(request.responseHeaders['access-control-allow-credentials'], label).toBe('true');
    }
  }

  it('browser tracker, default POST: batches to /com.snowplowanalytics.snowplow/tp2 as JSON with credentials, each answered 200 with every item accepted', { timeout: 90_000 }, async () => {
    const { sdkPage, items } = await browserRun('post');
    expectAcceptedWithCredentials(sdkPage, ingestOrigin);
    const posts = sdkPage.requests.filter((r) => r.origin === ingestOrigin && r.type !== 'Preflight');
    expect(posts.length).toBeGreaterThan(0);
    for (const post of posts) {
      expect(`${post.method} ${post.path}`).toBe(`POST ${TP2}`);
      expect(post.headers['content-type']).toBe('application/json; charset=UTF-8');
      expect(post.headers['sec-fetch-mode']).toBe('cors');
      const body = JSON.parse(post.body!) as { schema: string; data: unknown[] };
      expect(body.schema).toBe('iglu:com.snowplowanalytics.snowplow/payload_data/jsonschema/1-0-4');
      expect(JSON.parse(post.responseBody!)).toEqual({ success: true, accepted: body.data.length, rejected: [] });
    }
    // JSON is not a CORS-safelisted type: the browser asked first.
    const preflights = sdkPage.requests.filter((r) => r.type === 'Preflight');
    expect(preflights.length).toBeGreaterThan(0);
    for (const preflight of preflights) expect(preflight.headers['access-control-request-headers']).toBe('content-type');
    // The events: the tracker's own JSON forms (ue_pr, co) over POST.
    expect(count(items, 'pp')).toBeGreaterThanOrEqual(1);
    expect(items.every((i) => i.params['aid'] === WEB_APP_ID && i.params['p'] === 'web' && i.params['tv'] === 'js-4.10.1')).toBe(true);
    expect(items.filter((i) => i.params['e'] === 'ue').every((i) => i.params['ue_pr'] !== undefined && i.params['co'] !== undefined)).toBe(true);
  });

  it('browser tracker, eventMethod get: one GET /i per event, answered with a 1x1 GIF', { timeout: 90_000 }, async () => {
    const { sdkPage, items } = await browserRun('get');
    expectAcceptedWithCredentials(sdkPage, ingestOrigin);
    const gets = sdkPage.requests.filter((r) => r.origin === ingestOrigin && r.type !== 'Preflight');
    expect(gets).toHaveLength(items.length);
    for (const get of gets) {
      expect(get.method).toBe('GET');
      expect(get.path.startsWith('/i?')).toBe(true);
      expect(get.responseHeaders['content-type']).toBe('image/gif');
    }
    // A GET with no custom header is a simple request: no preflight.
    expect(sdkPage.requests.filter((r) => r.type === 'Preflight')).toEqual([]);
    // The base64 forms (ue_px, cx) over GET.
    expect(items.filter((i) => i.params['e'] === 'ue').every((i) => i.params['ue_px'] !== undefined && i.params['cx'] !== undefined)).toBe(true);
  });

  it('browser tracker, default POST, through the ingest function URL: the function answers the preflight and the credentialed posts itself', { timeout: 90_000 }, async () => {
    const { sdkPage, items } = await browserRun('post', functionUrlOrigin);
    expectAcceptedWithCredentials(sdkPage, functionUrlOrigin);
    const preflights = sdkPage.requests.filter((r) => r.origin === functionUrlOrigin && r.type === 'Preflight');
    expect(preflights.length).toBeGreaterThan(0);
    for (const preflight of preflights) expect(preflight.status).toBe(204);
    expect(sdkPage.requests.filter((r) => r.origin === ingestOrigin)).toEqual([]);
    expect(count(items, 'pv')).toBe(1);
  });

  it("Snowplow's Node tracker: its default emitter, every request answered 200", { timeout: 60_000 }, async () => {
    const statuses: number[] = [];
    const tracker = newTracker(
      { namespace: 'sp', appId: SERVER_APP_ID },
      {
        endpoint: ingestOrigin,
        // The tracker's own fetch, watched: what it sent and what the ingest answered.
        customFetch: async (request: Request, options?: RequestInit) => {
          const body = await request.clone().text();
          const response = await fetch(request, options);
          statuses.push(response.status);
          for (const item of payloadDataItems(JSON.parse(body))) sent.push({ params: trackerParameters(item) as TrackerParameters, userAgent: request.headers.get('user-agent') ?? undefined, transport: 'node POST' });
          return response;
        },
      },
    );
    tracker.setUserId('user-node');
    tracker.setDomainUserId(randomUUID());
    tracker.track(buildPageView({ pageUrl: 'https://shop.example/checkout', pageTitle: 'Checkout', referrer: 'https://shop.example/basket' }));
    tracker.track(buildStructEvent({ category: 'shop', action: 'add-to-basket', label: 'sku-1', property: 'red', value: 2.5 }));
    tracker.track(buildSelfDescribingEvent({ event: { schema: 'iglu:com.acme/checkout_started/jsonschema/1-0-0', data: { basketValue: 42.5, currency: 'EUR' } } }), [
      { schema: 'iglu:com.acme/experiment/jsonschema/1-0-0', data: { variant: 'b' } },
    ]);
    tracker.track(buildScreenView({ name: 'Receipt', id: randomUUID() }));
    tracker.track(buildEcommerceTransaction({ orderId: 'order-1', total: 52.5, tax: 4.2, shipping: 5, currency: 'EUR' }));
    tracker.track(buildEcommerceTransactionItem({ orderId: 'order-1', sku: 'sku-1', name: 'Red shoe', price: 47.5, quantity: 1, currency: 'EUR' }));
    await tracker.flush();
    expect(statuses.length).toBeGreaterThan(0);
    expect(statuses.every((s) => s === 200)).toBe(true);
    const node = sent.filter((i) => i.transport === 'node POST');
    expect(node.map((i) => i.params['e']).sort()).toEqual(['pv', 'se', 'ti', 'tr', 'ue', 'ue']);
    // The Node tracker sends base64 (ue_px, cx) over POST too.
    expect(node.filter((i) => i.params['e'] === 'ue').every((i) => i.params['ue_px'] !== undefined)).toBe(true);
  });

  const query = async (sql: string): Promise<Record<string, unknown>[]> => {
    let out = '';
    let err = '';
    const code = await runQueryCli(['--data-dir', sdk.stack.dataDir, '--json', sql], { stdout: (t) => (out += t), stderr: (t) => (err += t) }, REPOSITORY_ROOT);
    if (code !== 0) throw new Error(err);
    return out.trim().split('\n').filter(Boolean).map((line) => JSON.parse(line) as Record<string, unknown>);
  };

  it('every eid sent is in the lake exactly once, with the mapped fields', { timeout: 90_000 }, async () => {
    const transports = new Set(sent.map((i) => i.transport));
    expect(transports).toEqual(new Set(['browser POST', 'browser GET', 'node POST']));
    const eids = [...new Set(sent.map((i) => i.params['eid']!))];
    expect(eids.length).toBe(sent.length); // no tracker retried an event
    const idList = eids.map((id) => `'${id}'`).join(',');
    const lakeCount = `SELECT count(*) AS total, count(DISTINCT message_id) AS distinct_ids FROM events WHERE message_id IN (${idList})`;
    const deadline = Date.now() + 45_000;
    while ((await query(lakeCount))[0]!['distinct_ids'] !== eids.length && Date.now() < deadline) await sleep(1_000);
    await sleep(1_500); // a late duplicate would be stored by now
    expect(await query(lakeCount)).toEqual([{ total: eids.length, distinct_ids: eids.length }]);

    const rows = await query(
      `SELECT message_id, type, event, name, anonymous_id, user_id, context_page_url, context_user_agent, browser_name, properties,
              json_extract_string(context, '$.snowplow.appId') AS app_id, json_extract_string(context, '$.snowplow.schema') AS schema,
              json_extract_string(context, '$.snowplow.eventType') AS event_type, json_array_length(json_extract(context, '$.snowplow.entities')) AS entities
         FROM events WHERE message_id IN (${idList})`,
    );
    const byId = new Map(rows.map((r) => [r['message_id'], r]));
    for (const item of sent) {
      const expected = toSegmentEvent(item.params, { userAgent: item.userAgent });
      if (!expected.ok) throw new Error(expected.reason);
      const want = expected.event as Record<string, unknown> & { context: { page?: { url?: string }; userAgent?: string; snowplow: Record<string, unknown> } };
      const got = byId.get(item.params['eid']);
      const label = `${item.transport} e=${item.params['e']} ${item.params['eid']}`;
      expect(got, label).toMatchObject({
        type: want['type'],
        event: want['event'] ?? null,
        name: want['name'] ?? null,
        anonymous_id: want['anonymousId'] ?? null,
        user_id: want['userId'] ?? null,
        context_page_url: want.context.page?.url ?? null,
        app_id: item.params['aid'],
        event_type: item.params['e'],
        schema: (want.context.snowplow['schema'] as string | undefined) ?? null,
        entities: (want.context.snowplow['entities'] as unknown[] | undefined)?.length ?? null,
      });
      expect(JSON.parse(String(got!['properties'] ?? '{}')), label).toEqual(want['properties'] ?? {});
      if (item.transport !== 'node POST') {
        // The browser's own User-Agent, parsed by enrich: these are Chromium's events, not a bot's.
        expect(got!['context_user_agent'], label).toBe(item.userAgent);
        expect(got!['browser_name'], label).toMatch(/Chrom/);
      } else {
        expect(got!['context_user_agent'], label).toBeNull();
      }
    }
    if (process.env['SNOWPLOW_REPORT']) {
      // What each tracker sent and what landed, for a person to read: SNOWPLOW_REPORT=1 npx vitest run test/browser/sdk-snowplow.test.ts
      const landed = new Map(rows.map((r) => [r['message_id'], r]));
      console.info(sent.map((i) => `${i.transport.padEnd(12)} e=${i.params['e']!.padEnd(3)} → ${['type', 'event', 'name', 'anonymous_id', 'user_id', 'schema'].map((c) => `${c}=${String(landed.get(i.params['eid'])?.[c] ?? '')}`).join(' ')}`).join('\n'));
    }
    // What the mapping table promises, spot-checked on the lake's own columns.
    const web = rows.filter((r) => r['app_id'] === WEB_APP_ID);
    // One page view per browser run: POST and GET to the HTTP API, POST to the function URL.
    expect(web.filter((r) => r['type'] === 'page').map((r) => r['name'])).toEqual(['Snowplow shop', 'Snowplow shop', 'Snowplow shop']);
    expect(web.filter((r) => r['type'] === 'screen').map((r) => r['name'])).toEqual(['Checkout', 'Checkout', 'Checkout']);
    expect(new Set(web.filter((r) => r['type'] === 'track').map((r) => r['event']))).toEqual(new Set(['page_ping', 'add-to-basket', 'signed-in', 'checkout_started']));
    expect(rows.filter((r) => r['event'] === 'checkout_started').every((r) => r['schema'] === 'iglu:com.acme/checkout_started/jsonschema/1-0-0')).toBe(true);
  });

  it('an item that cannot be mapped is a bad row (adapter_failure) with its parameters; an unknown app id is refused', { timeout: 60_000 }, async () => {
    const eid = randomUUID();
    const odd = { e: 'ad', eid, aid: SERVER_APP_ID, p: 'srv', tv: 'custom-1.0', uid: 'user-odd', dtm: String(Date.now()) };
    const post = (data: unknown[]) =>
      fetch(`${sdk.ingestUrl}${TP2}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json; charset=UTF-8' },
        body: JSON.stringify({ schema: 'iglu:com.snowplowanalytics.snowplow/payload_data/jsonschema/1-0-4', data }),
      });
    const response = await post([odd]);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ success: true, accepted: 1, rejected: [], unmapped: [{ index: 0, messageId: eid, reason: expect.stringMatching(/^e=ad is not an event type/) }] });

    const stranger = await post([{ ...odd, eid: randomUUID(), aid: 'stranger' }]);
    expect(stranger.status).toBe(401);
    expect(await stranger.json()).toEqual({ success: false, message: 'unknown app id "stranger"' });
    const pixel = await fetch(`${sdk.ingestUrl}/i?e=pv&aid=stranger&eid=${randomUUID()}&duid=d`);
    expect(pixel.status).toBe(401);

    const badRows = `SELECT failure_type, reason, payload FROM bad_rows WHERE message_id = '${eid}'`;
    const deadline = Date.now() + 30_000;
    while ((await query(badRows)).length === 0 && Date.now() < deadline) await sleep(1_000);
    const [row, ...more] = await query(badRows);
    expect(more).toEqual([]);
    expect(row).toMatchObject({ failure_type: 'adapter_failure', reason: expect.stringMatching(/^snowplow: e=ad is not an event type/) });
    expect(JSON.parse(String(row!['payload']))).toMatchObject({ adapterFailure: { protocol: 'snowplow', parameters: odd } });
  });

  it.skipIf(!javaPresent)("the same events are counted in the Flink job's 1-minute totals", { timeout: 240_000 }, async () => {
    // Everything this stack holds is this file's events: per minute of event time, the lake's counts.
    const perMinute = await query(
      `SELECT strftime(date_trunc('minute', event_time), '%Y-%m-%dT%H:%M:%S.000Z') AS window_start, count(*) AS events,
              count(*) FILTER (WHERE type = 'page') AS page_views, count(*) FILTER (WHERE type = 'screen') AS screen_views,
              count(*) FILTER (WHERE type = 'track') AS track_events
         FROM events GROUP BY 1 ORDER BY 1`,
    );
    expect(perMinute.reduce((sum, w) => sum + Number(w['events']), 0)).toBe(sent.length);
    // A window closes when the watermark (the newest event time - 5 s) passes its end: one more event, after.
    const lastEnd = Date.parse(String(perMinute.at(-1)!['window_start'])) + 60_000;
    await sleep(Math.max(0, lastEnd + 6_000 - Date.now()));
    const clock = await fetch(`${sdk.ingestUrl}/v1/batch`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: basicAuth(sdk.writeKey) },
      body: JSON.stringify({ batch: [{ type: 'track', event: 'Clock', userId: 'clock', messageId: `clock-${randomUUID()}` }] }),
    });
    expect(clock.status).toBe(200);

    const windows = new Set(perMinute.map((w) => w['window_start']));
    const deadline = Date.now() + 150_000;
    let totals: Record<string, unknown>[] = [];
    while (Date.now() < deadline) {
      totals = (await readAllRecords(sdk.kinesis, sdk.stack.endpoints.streams.aggregates)).map((r) => r.data).filter((row) => row['kind'] === 'total_minute' && windows.has(row['window_start']));
      if (totals.length === windows.size) break;
      await sleep(2_000);
    }
    const fromFlink = totals
      .map((t) => ({ window_start: t['window_start'], events: t['events'], page_views: t['page_views'], screen_views: t['screen_views'], track_events: t['track_events'] }))
      .sort((a, b) => String(a.window_start).localeCompare(String(b.window_start)));
    expect(fromFlink).toEqual(perMinute.map((w) => ({ ...w, events: Number(w['events']), page_views: Number(w['page_views']), screen_views: Number(w['screen_views']), track_events: Number(w['track_events']) })));
  });
});
