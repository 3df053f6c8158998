// The server SDKs from npm, unchanged and with default options (only the write key and the host set),
// against the local stack: every event each one sent comes out of enrich on events-enriched exactly once,
// with its type, ids, name, properties, traits and event time. What "sent" means is read from the SDK
// itself (the request body it emitted, or the payload its callback is given), not from the test's calls.
import { randomUUID } from 'node:crypto';
import { gunzipSync } from 'node:zlib';
import { Analytics as SegmentAnalytics } from '@segment/analytics-node';
import RudderAnalytics from '@rudderstack/rudder-sdk-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSdkStack, type EnrichedEvent, type SdkStack } from '../helpers/sdk-stack.js';

let sdk: SdkStack;

beforeAll(async () => {
  sdk = await startSdkStack();
});

afterAll(async () => {
  await sdk?.stop();
});

/** An event as an SDK put it on the wire (the fields the assertions compare). */
interface SentEvent {
  type: string;
  messageId: string;
  anonymousId?: string;
  userId?: string;
  event?: string;
  name?: string;
  properties?: Record<string, unknown>;
  traits?: Record<string, unknown>;
  timestamp?: string;
  originalTimestamp?: string;
}

/** Each sent event is on events-enriched once, mapped field by field; event time within clock-skew correction. */
function expectDeliveredOnce(sent: SentEvent[], enriched: EnrichedEvent[], libraryName: string): void {
  expect(enriched.map((e) => e.messageId).sort()).toEqual(sent.map((e) => e.messageId).sort());
  const byId = new Map(enriched.map((e) => [e.messageId, e]));
  for (const original of sent) {
    const event = byId.get(original.messageId)!;
    const { type, anonymousId, userId, event: name, name: pageName, properties } = original;
    expect(event, original.messageId).toMatchObject({
      type,
      ...(anonymousId ? { anonymousId } : {}),
      ...(userId ? { userId } : {}),
      ...(name ? { event: name } : {}),
      ...(pageName ? { name: pageName } : {}),
      ...(properties ? { properties } : {}),
      ...(original.traits ? { traits: original.traits } : {}),
    });
    if (!userId) expect(event).not.toHaveProperty('userId');
    // The SDK's own clock for the event, as sent; the corrected time is that, give or take the send delay.
    const clientTime = original.originalTimestamp ?? original.timestamp!;
    expect(Date.parse(event.originalTimestamp!)).toBe(Date.parse(clientTime));
    expect(Math.abs(Date.parse(event.timestamp) - Date.parse(clientTime))).toBeLessThan(2_000);
    expect(Date.parse(event.timestamp)).toBeLessThanOrEqual(Date.parse(event.receivedAt));
    expect((event.context?.['library'] as { name?: string } | undefined)?.name).toBe(libraryName);
    expect(event.enrichment['event_date']).toBe(event.timestamp.slice(0, 10));
    // The request's User-Agent names the library, not a visitor: not the event's, and no bot.
    expect(event.context).not.toHaveProperty('userAgent');
    expect(event.enrichment['is_bot']).toBe(false);
  }
}

describe('@segment/analytics-node (default options)', () => {
  it('delivers page, track and identify exactly once, with every field mapped', { timeout: 90_000 }, async () => {
    const run = randomUUID();
    const analytics = new SegmentAnalytics({ writeKey: sdk.writeKey, host: sdk.ingestUrl });
    const sent: SentEvent[] = [];
    const statuses: number[] = [];
    analytics.on('http_request', (request) => sent.push(...(JSON.parse(String(request.body)) as { batch: SentEvent[] }).batch));
    analytics.on('http_response', (response) => statuses.push(response.status));
    const errors: unknown[] = [];
    analytics.on('error', (error) => errors.push(error));

    const anonymousId = `anon-${run}`;
    const userId = `user-${run}`;
    analytics.page({ anonymousId, name: 'Pricing', properties: { path: '/pricing', run } });
    analytics.track({ anonymousId, event: 'Plan Selected', properties: { plan: 'pro', seats: 3, run, cart: { items: [{ sku: 'a', qty: 2 }] } } });
    analytics.identify({ anonymousId, userId, traits: { email: 'wile@acme.test', run } });
    analytics.track({ userId, event: 'Order Completed', properties: { revenue: 42.5, run } });
    await analytics.closeAndFlush({ timeout: 30_000 });

    expect(errors).toEqual([]);
    expect(statuses.length).toBeGreaterThan(0);
    expect(statuses.every((s) => s === 200)).toBe(true);
    expect(sent).toHaveLength(4);
    const enriched = await sdk.enrichedEvents((e) => e.properties?.['run'] === run || e.traits?.['run'] === run, sent.length);
    expectDeliveredOnce(sent, enriched, '@segment/analytics-node');
  });
});

describe('@rudderstack/rudder-sdk-node (default options: gzip, labelled application/x-www-form-urlencoded)', () => {
  it('delivers page, screen, track and identify exactly once, with every field mapped', { timeout: 90_000 }, async () => {
    const run = randomUUID();
    const client = new RudderAnalytics(sdk.writeKey, { dataPlaneUrl: sdk.ingestUrl });
    const sent = new Map<string, SentEvent>();
    const errors: unknown[] = [];
    // The SDK hands every event's callback the request payload it posted (gzipped JSON by default).
    const delivered = (error?: unknown, data?: unknown) => {
      if (error) errors.push(error);
      const payload = Buffer.isBuffer(data) ? (JSON.parse(gunzipSync(data).toString('utf8')) as { batch: SentEvent[] }) : (data as { batch: SentEvent[] });
      for (const event of payload?.batch ?? []) sent.set(event.messageId, JSON.parse(JSON.stringify(event)) as SentEvent);
    };

    const anonymousId = `anon-${run}`;
    const userId = `user-${run}`;
    client.page({ anonymousId, name: 'Pricing', properties: { path: '/pricing', run } }, delivered);
    client.screen({ anonymousId, name: 'Settings', properties: { run } }, delivered);
    client.track({ anonymousId, event: 'Plan Selected', properties: { plan: 'pro', seats: 3, run, cart: { items: [{ sku: 'a', qty: 2 }] } } }, delivered);
    client.identify({ anonymousId, userId, traits: { email: 'wile@acme.test', run } }, delivered);
    client.track({ userId, event: 'Order Completed', properties: { revenue: 42.5, run } }, delivered);
    await client.flush();
    const deadline = Date.now() + 30_000;
    while (sent.size < 5 && errors.length === 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100));

    expect(errors).toEqual([]);
    expect(sent.size).toBe(5);
    const enriched = await sdk.enrichedEvents((e) => e.properties?.['run'] === run || e.traits?.['run'] === run, sent.size);
    expectDeliveredOnce([...sent.values()], enriched, 'analytics-node');
  });
});
