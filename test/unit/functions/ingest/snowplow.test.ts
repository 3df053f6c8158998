// The Snowplow tracker protocol mapped to the Segment spec, on what the real trackers sent: the fixtures
// are recordings of @snowplow/browser-tracker 4.10.1 in Chromium (POST and GET) and @snowplow/node-tracker
// 4.8.0 (test/fixtures/snowplow/, made by sending page views, page pings, structured, self-describing
// and screen view events to a capture server).
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { adapterFailureOf } from '../../../../functions/shared/adapter-failure.js';
import { BadRequestError, HttpError } from '../../../../functions/ingest/errors.js';
import { eventsFromSnowplowItems } from '../../../../functions/ingest/events-from-request.js';
import { payloadDataItems, queryStringItem, toSegmentEvent, trackerParameters, type TrackerParameters } from '../../../../functions/ingest/snowplow.js';
import { validateEnvelope } from '../../../../schemas/index.js';

interface Recorded {
  method: string;
  path: string;
  headers: Record<string, string>;
  body: string | null;
}
const recording = (name: string): Recorded[] => JSON.parse(readFileSync(new URL(`../../../fixtures/snowplow/${name}.json`, import.meta.url), 'utf8')) as Recorded[];

/** Every event item of a recording, with the User-Agent of its request. */
function itemsOf(name: string): { params: TrackerParameters; userAgent: string | undefined }[] {
  return recording(name).flatMap((r) => {
    if (r.method === 'GET') return [{ params: queryStringItem(r.path.split('?')[1]), userAgent: r.headers['user-agent'] }];
    if (r.method !== 'POST') return [];
    return payloadDataItems(JSON.parse(r.body!)).map((item) => ({ params: trackerParameters(item) as TrackerParameters, userAgent: r.headers['user-agent'] }));
  });
}

type Event = Record<string, unknown> & { context: Record<string, unknown> & { snowplow: Record<string, unknown> } };
function mapped(params: TrackerParameters, userAgent?: string): Event {
  const result = toSegmentEvent(params, { userAgent });
  if (!result.ok) throw new Error(`not mapped: ${result.reason}`);
  return result.event as Event;
}

const base64url = (text: string) => Buffer.from(text).toString('base64url');

describe('Snowplow tracker protocol → Segment spec', () => {
  const browserPost = itemsOf('browser-post');
  const browserGet = itemsOf('browser-get');
  const node = itemsOf('node');

  it('maps every event the real trackers sent, and each one passes the Segment envelope schema', () => {
    expect(new Set(browserPost.map((i) => i.params['e']))).toEqual(new Set(['pv', 'pp', 'se', 'ue']));
    expect(new Set(node.map((i) => i.params['e']))).toEqual(new Set(['pv', 'se', 'ue']));
    for (const { params, userAgent } of [...browserPost, ...browserGet, ...node]) {
      const event = mapped(params, userAgent);
      const valid = validateEnvelope(event);
      expect(valid.ok, `${params['e']} ${params['eid']}: ${valid.ok ? '' : valid.reason}`).toBe(true);
      expect(event.messageId).toBe(params['eid']);
      expect(event.context.snowplow).toMatchObject({ appId: params['aid'], platform: params['p'], trackerVersion: params['tv'], eventType: params['e'] });
    }
  });

  it('a browser page view is a page, with the page context, the device clock, the session and the web_page entity', () => {
    const { params, userAgent } = browserPost.find((i) => i.params['e'] === 'pv')!;
    const event = mapped(params, userAgent);
    const url = new URL(params['url']!);
    expect(event).toMatchObject({
      type: 'page',
      name: params['page'],
      anonymousId: params['duid'],
      originalTimestamp: new Date(Number(params['dtm'])).toISOString(),
      sentAt: new Date(Number(params['stm'])).toISOString(),
      properties: { title: params['page'], url: params['url'] },
    });
    expect(event).not.toHaveProperty('userId');
    expect(event.context).toMatchObject({
      page: { url: params['url'], path: url.pathname, title: params['page'] },
      userAgent, // the browser's own request: the web tracker sends no ua
      locale: params['lang'],
      timezone: params['tz'],
      screen: { width: 1280, height: 720, innerWidth: 1280, innerHeight: 720 },
      library: { name: 'snowplow-js', version: '4.10.1' },
    });
    const webPage = (JSON.parse(params['co']!) as { data: { schema: string; data: { id: string } }[] }).data[0]!;
    expect(event.context.snowplow).toMatchObject({
      domainSessionId: params['sid'],
      domainSessionIndex: Number(params['vid']),
      domainUserId: params['duid'],
      pageViewId: webPage.data.id,
      entities: [webPage],
      deviceCreatedTimestamp: new Date(Number(params['dtm'])).toISOString(),
      documentSize: params['ds'],
      parameters: { cookie: '1' },
    });
  });

  it('page pings, structured events and self-describing events are tracks; a screen view is a screen', () => {
    const ping = browserPost.find((i) => i.params['e'] === 'pp')!.params;
    expect(mapped(ping)).toMatchObject({ type: 'track', event: 'page_ping', properties: { maxYOffset: Number(ping['pp_may']) } });

    const structured = browserPost.find((i) => i.params['se_ac'] === 'add-to-basket')!.params;
    expect(mapped(structured)).toMatchObject({
      type: 'track',
      event: 'add-to-basket',
      properties: { category: 'shop', action: 'add-to-basket', label: 'sku-1', property: 'red', value: 2.5 },
    });

    const selfDescribing = browserPost.filter((i) => i.params['e'] === 'ue').map((i) => mapped(i.params));
    const checkout = selfDescribing.find((e) => e['event'] === 'checkout_started')!;
    expect(checkout).toMatchObject({ type: 'track', properties: { basketValue: 42.5, currency: 'EUR' } });
    expect(checkout.context.snowplow['schema']).toBe('iglu:com.acme/checkout_started/jsonschema/1-0-0');
    // The tracker's own context first, then the one the page added: every entity is kept, in order.
    expect((checkout.context.snowplow['entities'] as { schema: string }[]).map((e) => e.schema)).toEqual(
      expect.arrayContaining(['iglu:com.acme/experiment/jsonschema/1-0-0', 'iglu:com.snowplowanalytics.snowplow/web_page/jsonschema/1-0-0']),
    );
    const screen = selfDescribing.find((e) => e.type === 'screen')!;
    expect(screen).toMatchObject({ name: 'Checkout', properties: { name: 'Checkout', id: expect.any(String) } });
    expect(screen.context.snowplow['schema']).toBe('iglu:com.snowplowanalytics.mobile/screen_view/jsonschema/1-0-0');

    const identified = browserPost.find((i) => i.params['uid'] !== undefined)!.params;
    expect(mapped(identified)).toMatchObject({ userId: 'user-42', anonymousId: identified['duid'] });
  });

  it('GET items (base64 ue_px and cx) map as their POST twins do', () => {
    const get = browserGet.find((i) => i.params['e'] === 'ue' && i.params['ue_px'] !== undefined)!.params;
    expect(get).not.toHaveProperty('ue_pr');
    const asJson: TrackerParameters = { ...get };
    delete asJson['ue_px'];
    delete asJson['cx'];
    asJson['ue_pr'] = Buffer.from(get['ue_px']!, 'base64url').toString('utf8');
    asJson['co'] = Buffer.from(get['cx']!, 'base64url').toString('utf8');
    expect(mapped(get)).toEqual(mapped(asJson));
    // And the other way round, with the standard base64 alphabet and padding some trackers use.
    const post = browserPost.find((i) => i.params['e'] === 'ue')!.params;
    const asBase64: TrackerParameters = { ...post, ue_px: Buffer.from(post['ue_pr']!).toString('base64'), cx: Buffer.from(post['co']!).toString('base64') };
    delete asBase64['ue_pr'];
    delete asBase64['co'];
    expect(mapped(asBase64)).toEqual(mapped(post));
  });

  it('a server tracker: p=srv keeps the HTTP client out of userAgent; uid and duid as set', () => {
    for (const { params, userAgent } of node) {
      expect(userAgent).toBe('node');
      const event = mapped(params, userAgent);
      expect(event.context).not.toHaveProperty('userAgent');
      expect(event).toMatchObject({ userId: params['uid'], anonymousId: params['duid'] });
      expect(event.context['library']).toEqual({ name: 'snowplow-node', version: '4.8.0' });
    }
    const ue = mapped(node.find((i) => i.params['e'] === 'ue')!.params);
    expect(ue.context.snowplow['entities']).toHaveLength(1);
  });

  it('ttm is the event time as sent: no sentAt correction', () => {
    const params = { ...browserPost[0]!.params, ttm: '1796100000000' };
    const event = mapped(params);
    expect(event['originalTimestamp']).toBe(new Date(1796100000000).toISOString());
    expect(event).not.toHaveProperty('sentAt');
    expect(event.context.snowplow['trueTimestamp']).toBe(event['originalTimestamp']);
  });

  it('transactions, mobile entities and an event without any user id', () => {
    const tr = mapped({ e: 'tr', eid: 'e1', aid: 'a', p: 'web', duid: 'd', tr_id: 'o-1', tr_tt: '99.5', tr_cu: 'EUR' });
    expect(tr).toMatchObject({ type: 'track', event: 'transaction', properties: { orderId: 'o-1', total: 99.5, currency: 'EUR' } });
    const ti = mapped({ e: 'ti', eid: 'e2', aid: 'a', p: 'web', duid: 'd', ti_id: 'o-1', ti_sk: 'sku', ti_pr: '10', ti_qu: '2' });
    expect(ti).toMatchObject({ event: 'transaction_item', properties: { orderId: 'o-1', sku: 'sku', price: 10, quantity: 2 } });

    const contexts = {
      schema: 'iglu:com.snowplowanalytics.snowplow/contexts/jsonschema/1-0-1',
      data: [
        { schema: 'iglu:com.snowplowanalytics.snowplow/client_session/jsonschema/1-0-2', data: { userId: 'install-1', sessionId: 's', sessionIndex: 3 } },
        { schema: 'iglu:com.snowplowanalytics.snowplow/mobile_context/jsonschema/1-0-3', data: { osType: 'ios', osVersion: '18.1', deviceManufacturer: 'Apple', deviceModel: 'iPhone16,1', carrier: 'Acme', networkType: 'wifi' } },
        { schema: 'iglu:com.snowplowanalytics.mobile/application/jsonschema/1-0-0', data: { version: '2.1.0', build: '210' } },
      ],
    };
    const screen = {
      schema: 'iglu:com.snowplowanalytics.snowplow/unstruct_event/jsonschema/1-0-0',
      data: { schema: 'iglu:com.snowplowanalytics.mobile/screen_view/jsonschema/1-0-0', data: { name: 'Home', id: 'f1b2' } },
    };
    const mobile = mapped({ e: 'ue', eid: 'e3', aid: 'ios', p: 'mob', tv: 'ios-6.0.0', ue_px: base64url(JSON.stringify(screen)), cx: base64url(JSON.stringify(contexts)) });
    expect(mobile).toMatchObject({
      type: 'screen',
      name: 'Home',
      anonymousId: 'install-1',
      context: { os: { name: 'ios', version: '18.1' }, device: { manufacturer: 'Apple', model: 'iPhone16,1' }, network: { carrier: 'Acme', wifi: true }, app: { version: '2.1.0', build: '210' } },
    });

    // A server event that names no user: a visitor of its own, keyed by its event id.
    expect(mapped({ e: 'se', eid: 'e4', aid: 'a', p: 'srv', se_ca: 'c', se_ac: 'a' })).toMatchObject({ anonymousId: 'e4', messageId: 'e4' });
  });

  it('names what cannot be mapped', () => {
    const base = { eid: 'e1', aid: 'a', p: 'web', duid: 'd' };
    const reason = (params: TrackerParameters) => {
      const result = toSegmentEvent(params);
      return result.ok ? 'mapped' : result.reason;
    };
    expect(reason({ ...base, e: 'xx' })).toMatch(/^e=xx is not an event type/);
    expect(reason({ ...base })).toBe('e, the event type, is missing');
    expect(reason({ ...base, e: 'se', se_ca: 'c' })).toMatch(/needs se_ac/);
    expect(reason({ ...base, e: 'se', se_ac: 'a', se_va: 'lots' })).toMatch(/se_va must be a number/);
    expect(reason({ ...base, e: 'ue' })).toMatch(/needs ue_pr or ue_px/);
    expect(reason({ ...base, e: 'ue', ue_pr: '{"schema":' })).toMatch(/^ue_pr is not JSON/);
    expect(reason({ ...base, e: 'ue', ue_px: 'not base64!' })).toBe('ue_px is not base64');
    expect(reason({ ...base, e: 'ue', ue_pr: '{"schema":"iglu:x/y/jsonschema/1-0-0","data":{}}' })).toMatch(/unstruct_event/);
    expect(reason({ ...base, e: 'ue', ue_pr: JSON.stringify({ schema: 'iglu:com.snowplowanalytics.snowplow/unstruct_event/jsonschema/1-0-0', data: { schema: 'nope', data: {} } }) })).toMatch(/self-describing event must be/);
    expect(reason({ ...base, e: 'pv', co: '{"schema":"iglu:com.snowplowanalytics.snowplow/contexts/jsonschema/1-0-0","data":{}}' })).toMatch(/co\/cx must be/);
    expect(reason({ ...base, e: 'pv', dtm: 'yesterday' })).toMatch(/dtm must be a number/);
    expect(reason({ e: 'pv', aid: 'a' })).toMatch(/^no user/);
  });

  it('refuses bodies that are not payload_data, and empty GETs', () => {
    expect(() => payloadDataItems([])).toThrow(BadRequestError);
    expect(() => payloadDataItems({ schema: 'iglu:com.snowplowanalytics.snowplow/payload_data/jsonschema/1-0-4', data: [] })).toThrow('non-empty array');
    expect(() => payloadDataItems({ schema: 'iglu:com.acme/payload_data/jsonschema/1-0-4', data: [{}] })).toThrow(/schema must be/);
    expect(payloadDataItems({ schema: 'iglu:com.snowplowanalytics.snowplow/payload_data/jsonschema/1-0-0', data: [{ e: 'pv' }] })).toHaveLength(1);
    expect(() => queryStringItem('')).toThrow(BadRequestError);
    expect(queryStringItem('e=pv&url=http%3A%2F%2Fshop.test%2F%3Fq%3Da%2Bb')).toEqual({ e: 'pv', url: 'http://shop.test/?q=a+b' });
    expect(trackerParameters({ e: 'pv', vid: 2, cookie: true, gone: null })).toEqual({ e: 'pv', vid: '2', cookie: 'true' });
    expect(trackerParameters({ e: { nested: true } })).toBe('parameter e must be a string, got object');
    expect(trackerParameters('pv')).toBe('event must be a JSON object of tracker parameters');
  });
});

describe('Snowplow items through the ingest rules', () => {
  const facts = { receivedAtMs: Date.parse('2026-12-01T10:00:00.000Z'), sourceIp: '203.0.113.7', userAgent: 'Mozilla/5.0 (X11; Linux x86_64) Chrome/131.0' };
  const writeKeys: Record<string, string> = { 'shop-web': 'wk_web' };
  const lookUp = (appId: string) => writeKeys[appId];
  const pv = (overrides: TrackerParameters = {}): TrackerParameters => ({ e: 'pv', eid: 'e-1', aid: 'shop-web', p: 'web', duid: 'd-1', url: 'https://shop.test/a', dtm: '1796119199000', stm: '1796119200000', ...overrides });

  it('an item of a configured app id is an event with server fields; the clock is corrected by stm', () => {
    const { events, rejected, unmapped } = eventsFromSnowplowItems([pv()], facts, lookUp);
    expect(rejected).toEqual([]);
    expect(unmapped).toEqual([]);
    const event = JSON.parse(events[0]!.data.toString('utf8')) as Record<string, unknown> & { context: Record<string, unknown> };
    expect(event).toMatchObject({ type: 'page', messageId: 'e-1', anonymousId: 'd-1', receivedAt: '2026-12-01T10:00:00.000Z' });
    // dtm is 1 s before stm: the event happened 1 s before it was received.
    expect(event['timestamp']).toBe('2026-12-01T09:59:59.000Z');
    expect(event.context).toMatchObject({ ip: '203.0.113.7', userAgent: facts.userAgent });
  });

  it('unknown app ids are refused like an unknown write key; mixed requests name the strangers', () => {
    const refusal = (items: TrackerParameters[]) => {
      try {
        eventsFromSnowplowItems(items, facts, lookUp);
      } catch (error) {
        return error as HttpError;
      }
      throw new Error('not refused');
    };
    expect(refusal([pv({ aid: 'stranger' })])).toMatchObject({ statusCode: 401, message: 'unknown app id "stranger"' });
    expect(refusal([pv({ aid: 'stranger' }), pv({ aid: 'other', eid: 'e-2' })])).toBeInstanceOf(HttpError);
    expect(refusal([pv({ aid: 'stranger' }), pv({ aid: 'other', eid: 'e-2' })]).statusCode).toBe(401);
    const { aid: _aid, ...withoutAppId } = pv({ eid: 'e-3' });
    const mixed = eventsFromSnowplowItems([pv(), pv({ aid: 'stranger', eid: 'e-2' }), withoutAppId], facts, lookUp);
    expect(mixed.events).toHaveLength(1);
    expect(mixed.rejected).toEqual([
      { index: 1, messageId: 'e-2', reason: 'unknown app id "stranger"' },
      { index: 2, messageId: 'e-3', reason: expect.stringMatching(/^aid, the app id, is missing/) },
    ]);
  });

  it('an unmappable item is accepted as an adapter failure with its parameters, for a bad row', () => {
    const odd = pv({ e: 'zz', eid: 'e-9' });
    const { events, unmapped } = eventsFromSnowplowItems([pv(), odd], facts, lookUp);
    expect(events).toHaveLength(1);
    expect(unmapped).toHaveLength(1);
    expect(unmapped[0]).toMatchObject({ index: 1, messageId: 'e-9', partitionKey: 'e-9', reason: expect.stringMatching(/^e=zz/) });
    const failure = adapterFailureOf(JSON.parse(unmapped[0]!.data.toString('utf8')));
    expect(failure).toEqual({ protocol: 'snowplow', reason: unmapped[0]!.reason, receivedAt: '2026-12-01T10:00:00.000Z', parameters: odd, sourceIp: facts.sourceIp, userAgent: facts.userAgent });
  });

  it('an item that maps but breaks the event rules is rejected with the reason', () => {
    const { rejected } = eventsFromSnowplowItems([pv(), pv({ eid: 'e-2', uid: 'u'.repeat(300) })], facts, lookUp);
    expect(rejected).toEqual([{ index: 1, messageId: 'e-2', reason: expect.stringContaining('userId') }]);
  });
});
