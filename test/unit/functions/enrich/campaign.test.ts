import { describe, expect, it } from 'vitest';
import { campaignFields, parseUrl, urlFields } from '../../../../functions/enrich/campaign.js';

const url = 'https://Shop.Example.com:8443/p/42?utm_source=newsletter&utm_medium=email&utm_campaign=black-friday&utm_term=shoes&utm_content=hero&sku=42#reviews';

describe('page URL and referrer', () => {
  it('splits the page URL into host (lower case, no port), path and query', () => {
    expect(urlFields({ url, referrer: 'https://www.google.com/search?q=shoes' }, parseUrl(url))).toEqual({
      page_host: 'shop.example.com',
      page_path: '/p/42',
      page_query: 'utm_source=newsletter&utm_medium=email&utm_campaign=black-friday&utm_term=shoes&utm_content=hero&sku=42',
      referrer_host: 'www.google.com',
    });
  });

  it('gives nulls for a missing or unparseable URL, and for an empty query', () => {
    expect(urlFields(undefined, undefined)).toEqual({ page_host: null, page_path: null, page_query: null, referrer_host: null });
    expect(urlFields({ url: '/relative', referrer: 'not a url' }, parseUrl('/relative'))).toEqual({
      page_host: null,
      page_path: null,
      page_query: null,
      referrer_host: null,
    });
    expect(urlFields({}, parseUrl('https://example.com/'))).toMatchObject({ page_host: 'example.com', page_path: '/', page_query: null });
  });
});

describe('campaign (UTM) fields', () => {
  it('parses utm_* from the page URL when the event has no context.campaign (utm_campaign → name)', () => {
    expect(campaignFields(undefined, parseUrl(url))).toEqual({
      utm_source: 'newsletter',
      utm_medium: 'email',
      utm_campaign: 'black-friday',
      utm_term: 'shoes',
      utm_content: 'hero',
      campaign_origin: 'url',
    });
  });

  it('decodes percent-encoded and plus-encoded values', () => {
    const fields = campaignFields(undefined, parseUrl('https://example.com/?utm_source=news%20letter&utm_campaign=spring+sale'));
    expect(fields).toMatchObject({ utm_source: 'news letter', utm_campaign: 'spring sale', utm_medium: null });
  });

  it('context.campaign wins over the URL when present', () => {
    const fields = campaignFields({ source: 'partner', medium: 'cpc', name: 'launch' }, parseUrl(url));
    expect(fields).toEqual({
      utm_source: 'partner',
      utm_medium: 'cpc',
      utm_campaign: 'launch',
      utm_term: null,
      utm_content: null,
      campaign_origin: 'context',
    });
  });

  it('gives all nulls when neither has campaign fields', () => {
    expect(campaignFields(undefined, parseUrl('https://example.com/?sku=1'))).toEqual({
      utm_source: null,
      utm_medium: null,
      utm_campaign: null,
      utm_term: null,
      utm_content: null,
      campaign_origin: null,
    });
    expect(campaignFields({}, undefined).campaign_origin).toBeNull();
  });
});
