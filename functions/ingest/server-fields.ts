// The fields the server adds to every accepted event: when it arrived, its corrected event time, a
// deterministic messageId when the client sent none, the request's IP, and its user agent when no SDK sent it.
import { createHash } from 'node:crypto';
import type { Context as EventContext, SegmentEvent } from '../../schemas/index.js';
import { canonicalJson } from '../shared/canonical-json.js';
import { correctedEventTime, parseTime } from './event-time.js';

export interface RequestFacts {
  receivedAtMs: number;
  /** receivedAtMs as ISO-8601, formatted once per request. */
  receivedAt?: string;
  sourceIp: string | undefined;
  userAgent: string | undefined;
  writeKey: string;
  /** Batch-level sentAt and context, which apply to every event that does not set its own. */
  batchSentAt?: string | undefined;
  /** batchSentAt as epoch ms, parsed once per request. */
  batchSentAtMs?: number | undefined;
  batchContext?: EventContext | undefined;
}

/**
 * A messageId for an event that came without one: a hash of the write key and the event as the
 * client built it, so a retry of the same event gets the same id and is deduplicated downstream.
 * sentAt is left out because clients set it anew on every retry.
 */
export function deriveMessageId(writeKey: string, event: Record<string, unknown>): string {
  const { sentAt: _sentAt, writeKey: _writeKey, ...stable } = event;
  const hash = createHash('sha256').update(writeKey).update('\n').update(canonicalJson(stable)).digest('hex');
  return `srv-${hash.slice(0, 32)}`;
}

export function withServerFields(event: SegmentEvent, facts: RequestFacts): SegmentEvent {
  const out = { ...event } as SegmentEvent & { writeKey?: unknown };
  // A write key is a credential: it is never stored with the event.
  if (out.writeKey !== undefined) delete out.writeKey; // delete only when present: it turns the object slow for V8
  const sentAt = out.sentAt ?? facts.batchSentAt;
  const original = out.originalTimestamp ?? out.timestamp;
  const receivedAt = facts.receivedAt ?? new Date(facts.receivedAtMs).toISOString();
  const sentAtMs = out.sentAt === undefined ? facts.batchSentAtMs ?? parseTime(sentAt) : parseTime(out.sentAt);
  const timestampMs = correctedEventTime(facts.receivedAtMs, parseTime(original), sentAtMs);

  out.messageId ??= deriveMessageId(facts.writeKey, out);
  const context: EventContext = facts.batchContext ? { ...facts.batchContext, ...out.context } : { ...out.context };
  if (context.ip === undefined && facts.sourceIp !== undefined) context.ip = facts.sourceIp;
  // The request's User-Agent is the device only when no SDK sent the event: from a mobile or server SDK it
  // names the library (analytics-kotlin/1.19.2), which would make every event of an app look like a bot.
  if (context.userAgent === undefined && facts.userAgent !== undefined && context.library === undefined) context.userAgent = facts.userAgent;
  out.context = context;
  out.originalTimestamp = original ?? receivedAt;
  if (sentAt !== undefined) out.sentAt = sentAt;
  out.receivedAt = receivedAt;
  out.timestamp = timestampMs === facts.receivedAtMs ? receivedAt : new Date(timestampMs).toISOString();
  return out;
}
