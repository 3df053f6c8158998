// One validated Segment event → its enriched form (schemas/enriched): event-time partitions and the
// late flag, user agent, what the IP says (geo, AS, crawler or data-centre network: looked up before the
// IP is anonymised, and the raw IP never reaches the output), anonymised IP, page URL parts, referrer host
// and campaign. Pure but for the clock, so it is tested and benchmarked on its own.
import type { Context as EventContext, EnrichedEvent, SegmentEvent } from '../../schemas/index.js';
import { campaignFields, parseUrl, urlFields } from './campaign.js';
import { EnrichmentError } from './errors.js';
import { anonymizeIp } from './ip.js';
import type { PlanCheck } from './tracking-plan.js';
import type { IpFacts } from './ip-facts.js';
import { botVerdict } from './network.js';
import type { UserAgentParser } from './user-agent.js';

export interface EnrichEventOptions {
  latenessBoundSeconds: number;
  userAgents: Pick<UserAgentParser, 'parse'>;
  /** Geo-IP and network facts of the raw IP (functions/enrich/ip-facts.ts). */
  ipFacts: Pick<IpFacts, 'lookup'>;
  /** When Kinesis received the record: stands in for receivedAt when a producer bypassed ingest. */
  arrivalMs: number;
  /** The enriched_at stamp, formatted once per batch. */
  enrichedAt: string;
  /** The tracking plan's verdict on the event (./tracking-plan.ts), when a plan covers it and let it pass. */
  plan?: PlanCheck | undefined;
}

function isoTime(value: unknown): number | undefined {
  if (typeof value !== 'string') return undefined;
  const ms = Date.parse(value);
  return Number.isNaN(ms) ? undefined : ms;
}

export function enrichEvent(event: SegmentEvent & { messageId: string }, opts: EnrichEventOptions): EnrichedEvent {
  const receivedAtMs = isoTime(event.receivedAt) ?? opts.arrivalMs;
  // Ingest always sets timestamp (the clock-corrected event time); without it there is no event time.
  const timestampMs = isoTime(event.timestamp);
  if (timestampMs === undefined) throw new EnrichmentError('event has no usable timestamp', event.messageId);
  const eventTime = new Date(timestampMs);
  const latenessSeconds = Math.max(0, Math.floor((receivedAtMs - timestampMs) / 1000));

  const context: EventContext = { ...event.context };
  const ipFields = opts.ipFacts.lookup(context.ip);
  if (context.ip !== undefined) {
    const ip = anonymizeIp(context.ip);
    if (ip === undefined) delete context.ip;
    else context.ip = ip;
  }
  const pageUrl = parseUrl(context.page?.url);
  const userAgent = opts.userAgents.parse(context.userAgent);

  return {
    ...event,
    messageId: event.messageId,
    timestamp: event.timestamp!,
    receivedAt: event.receivedAt ?? new Date(receivedAtMs).toISOString(),
    context,
    enrichment: {
      event_date: eventTime.toISOString().slice(0, 10),
      event_hour: eventTime.getUTCHours(),
      lateness_seconds: latenessSeconds,
      is_late: latenessSeconds > opts.latenessBoundSeconds,
      ...userAgent,
      ...urlFields(context.page, pageUrl),
      ...campaignFields(context.campaign, pageUrl),
      enriched_at: opts.enrichedAt,
      ...botVerdict(userAgent.is_bot, ipFields.network_type),
      ...ipFields,
      tracking_plan: opts.plan?.plan ?? null,
      plan_violations: opts.plan && opts.plan.violations.length > 0 ? opts.plan.violations.join('; ') : null,
    },
  };
}
