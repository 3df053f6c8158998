// Page URL parts, referrer host and campaign (UTM) fields. URLs come from the client, so anything that
// does not parse gives nulls rather than an error.
import type { Campaign, Enrichment, PageContext } from '../../schemas/index.js';

export type UrlFields = Pick<Enrichment, 'page_host' | 'page_path' | 'page_query' | 'referrer_host'>;
export type CampaignFields = Pick<Enrichment, 'utm_source' | 'utm_medium' | 'utm_campaign' | 'utm_term' | 'utm_content' | 'campaign_origin'>;

const NO_CAMPAIGN: CampaignFields = {
  utm_source: null,
  utm_medium: null,
  utm_campaign: null,
  utm_term: null,
  utm_content: null,
  campaign_origin: null,
};

export function parseUrl(value: unknown): URL | undefined {
  if (typeof value !== 'string' || value.length === 0) return undefined;
  return URL.canParse(value) ? new URL(value) : undefined;
}

const emptyToNull = (s: string | null | undefined): string | null => (s === undefined || s === null || s === '' ? null : s);

export function urlFields(page: PageContext | undefined, pageUrl: URL | undefined): UrlFields {
  const referrer = parseUrl(page?.referrer);
  return {
    page_host: emptyToNull(pageUrl?.hostname),
    page_path: emptyToNull(pageUrl?.pathname),
    page_query: emptyToNull(pageUrl?.search.slice(1)),
    referrer_host: emptyToNull(referrer?.hostname),
  };
}

const text = (v: unknown): string | null => (typeof v === 'string' && v.length > 0 ? v : null);

/** context.campaign when the client sent one (Segment's own parsing of the URL), else utm_* from the page URL. */
export function campaignFields(campaign: Campaign | undefined, pageUrl: URL | undefined): CampaignFields {
  if (campaign && typeof campaign === 'object' && Object.keys(campaign).length > 0) {
    return {
      utm_source: text(campaign.source),
      utm_medium: text(campaign.medium),
      utm_campaign: text(campaign.name),
      utm_term: text(campaign.term),
      utm_content: text(campaign.content),
      campaign_origin: 'context',
    };
  }
  const params = pageUrl?.searchParams;
  if (!params) return NO_CAMPAIGN;
  const fields: CampaignFields = {
    utm_source: text(params.get('utm_source')),
    utm_medium: text(params.get('utm_medium')),
    utm_campaign: text(params.get('utm_campaign')),
    utm_term: text(params.get('utm_term')),
    utm_content: text(params.get('utm_content')),
    campaign_origin: 'url',
  };
  const any = fields.utm_source ?? fields.utm_medium ?? fields.utm_campaign ?? fields.utm_term ?? fields.utm_content;
  return any === null ? NO_CAMPAIGN : fields;
}
