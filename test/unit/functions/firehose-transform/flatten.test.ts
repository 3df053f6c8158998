import { describe, expect, it } from 'vitest';
import { EVENTS_TABLE } from '../../../../schemas/lake-tables.js';
import { createFlattener } from '../../../../functions/firehose-transform/flatten.js';
import { assertFirehoseCompatible } from '../../../../schemas/lake-rows.js';
import { enrichedEvent } from '../../../helpers/lake.js';

const flatten = createFlattener(EVENTS_TABLE.columns);
const typeOf = (name: string) => EVENTS_TABLE.columns.find((c) => c.name === name)?.type;

describe('flattening an enriched event to the events table', () => {
  // Prepare: a browser track call with everything a Segment library sends.
  const event = enrichedEvent({
    userId: 42,
    version: 2,
    integrations: { All: true },
    properties: { sku: 'SKU-42', price: 19.99, tags: ['a', 'b'] },
    traits: { plan: 'pro' },
    context: {
      ip: '203.0.113.9',
      userAgent: 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36',
      locale: 'en-GB',
      timezone: 'Europe/London',
      page: { url: 'https://shop.example.com/p/42?utm_source=news', path: '/p/42', referrer: 'https://www.google.com/', title: 'SKU 42' },
      campaign: { source: 'news', medium: 'email', name: 'black-friday', partner: 'acme' },
      library: { name: 'analytics.js', version: '5.2.0' },
      screen: { width: 1920, height: 1080 },
      custom: 'kept',
    },
  });
  const row = flatten(event);

  it('writes a row the Hive JSON SerDe reads unchanged into the Glue columns', () => {
    expect(() => assertFirehoseCompatible(row, EVENTS_TABLE.columns)).not.toThrow();
  });

  it('types the Segment fields: ids as text, timestamps as epoch milliseconds', () => {
    expect(row).toMatchObject({
      type: 'track',
      message_id: 'msg-0001',
      anonymous_id: 'anon-7f3a9c',
      user_id: '42',
      version: '2',
      event: 'Product Viewed',
      event_time: Date.parse('2026-11-22T10:00:00.000Z'),
      original_timestamp: Date.parse('2026-11-22T10:00:00.000Z'),
      received_at: Date.parse('2026-11-22T10:00:05.000Z'),
      enriched_at: Date.parse('2026-11-22T10:00:06.000Z'),
    });
    expect(typeOf('event_time')).toBe('timestamp');
  });

  it('flattens the declared context fields, with the IP as the enrich stage anonymised it', () => {
    expect(row).toMatchObject({
      context_ip: '203.0.113.0',
      context_locale: 'en-GB',
      context_timezone: 'Europe/London',
      context_page_url: 'https://shop.example.com/p/42?utm_source=news',
      context_page_path: '/p/42',
      context_page_referrer: 'https://www.google.com/',
      context_page_title: 'SKU 42',
      context_campaign_source: 'news',
      context_campaign_medium: 'email',
      context_campaign_name: 'black-friday',
    });
    expect(row['context_user_agent']).toMatch(/^Mozilla/);
  });

  it('keeps the rest of context as JSON text, without what has a column', () => {
    expect(JSON.parse(row['context'] as string)).toEqual({
      campaign: { partner: 'acme' },
      library: { name: 'analytics.js', version: '5.2.0' },
      screen: { width: 1920, height: 1080 },
      custom: 'kept',
    });
  });

  it('keeps properties, traits and integrations as JSON text', () => {
    expect(JSON.parse(row['properties'] as string)).toEqual({ sku: 'SKU-42', price: 19.99, tags: ['a', 'b'] });
    expect(JSON.parse(row['traits'] as string)).toEqual({ plan: 'pro' });
    expect(JSON.parse(row['integrations'] as string)).toEqual({ All: true });
  });

  it('copies the enrichment fields as typed columns', () => {
    expect(row).toMatchObject({
      event_date: '2026-11-22',
      event_hour: 10,
      lateness_seconds: 5,
      is_late: false,
      browser_name: 'Chrome',
      os_name: 'Windows',
      device_type: 'desktop',
      is_bot: false,
      page_host: 'shop.example.com',
      page_path: '/p/42',
      page_query: 'utm_source=news',
      referrer_host: 'www.google.com',
      utm_source: 'news',
      utm_campaign: 'black-friday',
      campaign_origin: 'context',
    });
    expect([typeOf('event_hour'), typeOf('lateness_seconds'), typeOf('is_bot')]).toEqual(['int', 'bigint', 'boolean']);
  });

  it('writes what the IP said as typed columns, and the IP only anonymised', () => {
    const fromCloud = flatten(enrichedEvent({ context: { ip: '52.95.110.1', userAgent: event.context!.userAgent } }));
    expect(fromCloud).toMatchObject({
      context_ip: '52.95.110.0',
      geo_country: 'US',
      geo_region: 'New York',
      geo_city: 'New York',
      asn: 16509,
      asn_org: 'Amazon.com, Inc.',
      network_type: 'data_centre',
      network_name: 'Amazon Web Services',
      is_bot: true,
      bot_reason: 'data_centre',
    });
    expect(() => assertFirehoseCompatible(fromCloud, EVENTS_TABLE.columns)).not.toThrow();
    expect(JSON.stringify(fromCloud)).not.toContain('52.95.110.1');
    expect(['geo_country', 'geo_region', 'geo_city', 'asn', 'asn_org', 'network_type', 'network_name', 'bot_reason'].map(typeOf)).toEqual([
      'string', 'string', 'string', 'bigint', 'string', 'string', 'string', 'string',
    ]);
    // A documentation address: no facts, so no such columns in the row (NULL).
    expect(row).not.toHaveProperty('geo_country');
    expect(row).not.toHaveProperty('asn');
  });

  it('leaves NULL columns out and writes no key that is not a column', () => {
    const columns = new Set(EVENTS_TABLE.columns.map((c) => c.name));
    expect(Object.keys(row).filter((k) => !columns.has(k))).toEqual([]);
    expect(Object.values(row)).not.toContain(null);
    expect(row).not.toHaveProperty('device_model'); // null for a desktop browser
    expect(row).not.toHaveProperty('name'); // a track has no name
  });

  it('writes no context column when every context field has its own column', () => {
    const bare = enrichedEvent({ context: { locale: 'en-US', page: { url: 'https://a.example/' } } });
    expect(flatten(bare)).not.toHaveProperty('context');
    expect(flatten(bare)).toMatchObject({ context_locale: 'en-US', context_page_url: 'https://a.example/' });
  });

  it('does not change the event it flattens', () => {
    const copy = structuredClone(event);
    flatten(event);
    expect(event).toEqual(copy);
  });
});
