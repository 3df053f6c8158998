import { describe, expect, it } from 'vitest';
import { enrichEvent, type EnrichEventOptions } from '../../../../functions/enrich/enrich-event.js';
import { EnrichmentError } from '../../../../functions/enrich/errors.js';
import { UserAgentParser } from '../../../../functions/enrich/user-agent.js';
import { validateEnrichedEvent, type SegmentEvent } from '../../../../schemas/index.js';
import { rawEvent } from '../../../helpers/factories.js';

const options: EnrichEventOptions = {
  latenessBoundSeconds: 3_600,
  userAgents: new UserAgentParser(),
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
    expect(enriched.enrichment).toMatchObject({ is_bot: true, utm_source: 'partner', utm_campaign: 'launch', campaign_origin: 'context' });
    expect(validateEnrichedEvent(enriched).ok).toBe(true);
  });
});
