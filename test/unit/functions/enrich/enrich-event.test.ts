import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { enrichEvent, type EnrichEventOptions } from '../../../../functions/enrich/enrich-event.js';
import { EnrichmentError } from '../../../../functions/enrich/errors.js';
import { anonymizeIp } from '../../../../functions/enrich/ip.js';
import { UserAgentParser } from '../../../../functions/enrich/user-agent.js';
import { validateEnrichedEvent, type SegmentEvent } from '../../../../schemas/index.js';
import { rawEvent } from '../../../helpers/factories.js';
import { realIpFacts } from '../../../helpers/ip-facts.js';

const options: EnrichEventOptions = {
  latenessBoundSeconds: 3_600,
  userAgents: new UserAgentParser(),
  ipFacts: realIpFacts(),
  arrivalMs: Date.parse('2026-11-22T10:00:06.000Z'),
  enrichedAt: '2026-11-22T10:00:07.000Z',
};
const enrich = (overrides: Record<string, unknown> = {}, opts: Partial<EnrichEventOptions> = {}) =>
  enrichEvent(rawEvent(overrides) as SegmentEvent & { messageId: string }, { ...options, ...opts });

describe('enrichEvent', () => {
  it('keeps the Segment event and adds a complete enrichment object that matches schemas/enriched', () => {
    const enriched = enrich();
    expect(validateEnrichedEvent(enriched)).toEqual({ ok: true, value: enriched });
    expect(enriched).toMatchObject({ type: 'track', event: 'Product Viewed', messageId: 'msg-0001', properties: { sku: 'SKU-42' } });
    expect(enriched.enrichment).toEqual({
      event_date: '2026-11-22',
      event_hour: 10,
      lateness_seconds: 5,
      is_late: false,
      browser_name: 'Chrome',
      browser_version: '131.0.0.0',
      os_name: 'Windows',
      os_version: '10',
      device_type: 'desktop',
      device_vendor: null,
      device_model: null,
      is_bot: false,
      page_host: 'shop.example.com',
      page_path: '/p/42',
      page_query: 'utm_source=news',
      referrer_host: 'www.google.com',
      utm_source: 'news',
      utm_medium: null,
      utm_campaign: null,
      utm_term: null,
      utm_content: null,
      campaign_origin: 'url',
      enriched_at: '2026-11-22T10:00:07.000Z',
      // 203.0.113.9 is a documentation address: no database knows it.
      bot_reason: null,
      geo_country: null,
      geo_region: null,
      geo_city: null,
      asn: null,
      asn_org: null,
      network_type: null,
      network_name: null,
      tracking_plan: null,
      plan_violations: null,
    });
  });

  it('stores only the anonymised IP, and no IP at all when it was not one', () => {
    expect(enrich().context?.ip).toBe('203.0.113.0');
    const v6 = enrich({ context: { ip: '2001:db8:85a3:8d3:1319:8a2e:370:7348' } });
    expect(v6.context?.ip).toBe('2001:db8:85a3::');
    const invalid = enrich({ context: { ip: 'unknown' } });
    expect(invalid.context).not.toHaveProperty('ip');
    expect(JSON.stringify(enrich())).not.toContain('203.0.113.9');
  });

  it('does not change the input event', () => {
    const input = rawEvent();
    const before = JSON.stringify(input);
    enrichEvent(input as SegmentEvent & { messageId: string }, options);
    expect(JSON.stringify(input)).toBe(before);
  });

  it('takes date and hour from the corrected event time in UTC, also just before midnight', () => {
    const justBefore = enrich({ timestamp: '2026-11-22T23:59:59.999Z', receivedAt: '2026-11-23T00:00:01.000Z' });
    expect(justBefore.enrichment).toMatchObject({ event_date: '2026-11-22', event_hour: 23, lateness_seconds: 1 });
    const midnight = enrich({ timestamp: '2026-11-23T00:00:00.000Z', receivedAt: '2026-11-23T00:00:01.000Z' });
    expect(midnight.enrichment).toMatchObject({ event_date: '2026-11-23', event_hour: 0 });
    // An offset timestamp is still partitioned by its UTC instant.
    const offset = enrich({ timestamp: '2026-11-23T01:30:00+02:00', receivedAt: '2026-11-23T00:00:00.000Z' });
    expect(offset.enrichment).toMatchObject({ event_date: '2026-11-22', event_hour: 23 });
  });

  it('flags events received later than the lateness bound', () => {
    const onTime = enrich({ timestamp: '2026-11-22T09:00:05.000Z', receivedAt: '2026-11-22T10:00:05.000Z' });
    expect(onTime.enrichment).toMatchObject({ lateness_seconds: 3_600, is_late: false });
    const late = enrich({ timestamp: '2026-11-22T09:00:04.000Z', receivedAt: '2026-11-22T10:00:05.000Z' });
    expect(late.enrichment).toMatchObject({ lateness_seconds: 3_601, is_late: true });
    const tighter = enrich({}, { latenessBoundSeconds: 2 });
    expect(tighter.enrichment.is_late).toBe(true);
  });

  it('uses the Kinesis arrival time when a producer sent no receivedAt', () => {
    const enriched = enrich({ receivedAt: undefined });
    expect(enriched.receivedAt).toBe('2026-11-22T10:00:06.000Z');
    expect(enriched.enrichment.lateness_seconds).toBe(6);
  });

  it('fails with an EnrichmentError when there is no event time', () => {
    expect(() => enrich({ timestamp: undefined })).toThrow(EnrichmentError);
  });

  it('prefers context.campaign over the URL, and flags bots', () => {
    const enriched = enrich({
      context: {
        userAgent: 'Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)',
        campaign: { source: 'partner', name: 'launch' },
        page: { url: 'https://shop.example.com/?utm_source=news' },
      },
    });
    expect(enriched.enrichment).toMatchObject({ is_bot: true, bot_reason: 'user_agent', utm_source: 'partner', utm_campaign: 'launch', campaign_origin: 'context' });
    expect(validateEnrichedEvent(enriched).ok).toBe(true);
  });
});

const CHROME = 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36';
const GOOGLEBOT = 'Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)';
const HEADLESS = 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/131.0.0.0 Safari/537.36';
const withIp = (ip: unknown, userAgent = CHROME) => enrich({ context: { ip, userAgent } });

describe('enrichEvent: what the IP says, learnt before it is anonymised', () => {
  it('adds country, region, city and the autonomous system of a public IP', () => {
    const enriched = withIp('81.2.69.142');
    expect(enriched.enrichment).toMatchObject({ geo_country: 'GB', geo_region: 'England', geo_city: 'London', asn: 20712, asn_org: 'Andrews & Arnold Ltd' });
    expect(enriched.enrichment).toMatchObject({ is_bot: false, bot_reason: null, network_type: null, network_name: null });
    expect(enriched.context?.ip).toBe('81.2.69.0');
    expect(validateEnrichedEvent(enriched).ok).toBe(true);
  });

  it('looks up IPv6 and IPv4-mapped IPv6 addresses too', () => {
    expect(withIp('2003:e2:1f3a:8c00:1c2b:3e4f:5a6b:7c8d').enrichment).toMatchObject({ geo_country: 'DE', asn: 3320 });
    const mapped = withIp('::ffff:81.2.69.142');
    expect(mapped.enrichment).toMatchObject({ geo_country: 'GB', asn: 20712 });
    expect(mapped.context?.ip).toBe('81.2.69.0');
  });

  it.each([['10.1.2.3'], ['192.168.0.7'], ['127.0.0.1'], ['100.64.1.1'], ['::1'], ['fe80::1%eth0'], ['fd12:3456::1'], ['2001:db8::1'], ['unknown'], [42]])(
    'gives %s, which no database knows, no geo or network facts',
    (ip) => {
      const enriched = withIp(ip);
      expect(enriched.enrichment).toMatchObject({ geo_country: null, geo_region: null, geo_city: null, asn: null, asn_org: null, network_type: null, bot_reason: null });
      expect(validateEnrichedEvent(enriched).ok).toBe(true);
    },
  );

  it('flags a bot by its network, with the reason: a crawler range wins over the user agent, a data centre comes last', () => {
    expect(withIp('66.249.66.1', GOOGLEBOT).enrichment).toMatchObject({ is_bot: true, bot_reason: 'crawler_network', network_type: 'crawler', network_name: 'Googlebot' });
    // A crawler range behind a browser's user agent is still the crawler.
    expect(withIp('157.55.39.1').enrichment).toMatchObject({ is_bot: true, bot_reason: 'crawler_network', network_name: 'bingbot' });
    // A browser's user agent from a cloud provider: automation, flagged by the network.
    expect(withIp('52.95.110.1').enrichment).toMatchObject({ is_bot: true, bot_reason: 'data_centre', network_type: 'data_centre', network_name: 'Amazon Web Services', asn: 16509 });
    // A bot user agent from a data centre: the user agent already says it.
    expect(withIp('2a01:4f8::1', HEADLESS).enrichment).toMatchObject({ is_bot: true, bot_reason: 'user_agent', network_type: 'data_centre', network_name: 'Hetzner' });
    // A bot user agent with no IP at all.
    expect(enrich({ context: { userAgent: GOOGLEBOT } }).enrichment).toMatchObject({ is_bot: true, bot_reason: 'user_agent', network_type: null });
  });

  it('never stores the raw IP: only its anonymised form reaches the output, for any public address', () => {
    const publicIpv4 = fc
      .tuple(fc.integer({ min: 1, max: 223 }), fc.integer({ min: 0, max: 255 }), fc.integer({ min: 0, max: 255 }), fc.integer({ min: 1, max: 255 }))
      .map((octets) => octets.join('.'))
      .filter((ip) => realIpFacts().lookup(ip).geo_country !== null);
    const publicIpv6 = fc
      .tuple(fc.constantFrom('2003', '2a01', '2600', '2409', '2804'), fc.array(fc.integer({ min: 1, max: 0xffff }), { minLength: 7, maxLength: 7 }))
      .map(([first, rest]) => [first, ...rest.map((h) => h.toString(16))].join(':'));
    const forms = (ip: string) => [ip, ` ${ip} `, ip.includes(':') ? ip.toUpperCase() : `::ffff:${ip}`];
    fc.assert(
      fc.property(fc.oneof(publicIpv4, publicIpv6), fc.constantFrom(CHROME, GOOGLEBOT), (ip, userAgent) => {
        for (const form of forms(ip)) {
          const enriched = withIp(form, userAgent);
          expect(JSON.stringify(enriched).toLowerCase()).not.toContain(ip.toLowerCase());
          // The context keeps the anonymised IP (the /24 or the /48), and that is all of the address that is stored.
          expect(enriched.context?.ip).toBe(anonymizeIp(form));
          expect(validateEnrichedEvent(enriched).ok).toBe(true);
        }
      }),
      { numRuns: 200 },
    );
  });
});
