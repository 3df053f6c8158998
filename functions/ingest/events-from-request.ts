// From a parsed request body to the events to write and the events refused, each with its reason.
// Pure: no I/O, so every rule here is unit-tested without a stream.
import { isEventType, validateBatchRequest, validateEnvelope, type EventType, type SegmentEvent } from '../../schemas/index.js';
import { exceedsJsonDepth, MAX_JSON_DEPTH, tooDeepReason } from '../shared/json-depth.js';
import { BadRequestError } from './errors.js';
import { parseTime } from './event-time.js';
import { MAX_EVENT_BYTES } from './limits.js';
import { toSegmentSpec } from './sdk-dialects.js';
import { withServerFields, type RequestFacts } from './server-fields.js';

/** Which call a request is: a batch, one event of a fixed type, or an SDK fetching its settings (GET). */
export type Route =
  | { kind: 'batch' }
  | { kind: 'single'; type: EventType }
  | { kind: 'segment-settings'; writeKey: string }
  | { kind: 'rudder-source-config' };

export type EventRoute = Extract<Route, { kind: 'batch' | 'single' }>;

export interface Rejection {
  index: number;
  messageId: string | null;
  reason: string;
}

export interface PreparedEvent {
  index: number;
  event: SegmentEvent;
  /** The event with server fields as UTF-8 JSON: the Kinesis record's data. */
  data: Buffer;
}

export interface PreparedRequest {
  events: PreparedEvent[];
  rejected: Rejection[];
}

const BATCH: EventRoute = { kind: 'batch' };

/** Every path a real SDK posts to (README "Connect your app" has which SDK sends what). */
const PATH_ROUTES: Record<string, EventRoute> = {
  '/v1/batch': BATCH,
  '/v1/import': BATCH, // Segment's alias of /v1/batch
  '/v1/b': BATCH, // analytics.js 2.0 with batching; Segment's Kotlin, Swift and React Native SDKs
  '/beacon/v1/batch': BATCH, // RudderStack's browser SDK with useBeacon (write key in the query string)
};

/** analytics.js 2.0 posts each event to the first letter of its type: /v1/t, /v1/p, /v1/i, … */
const TYPE_BY_INITIAL: Record<string, EventType> = { t: 'track', p: 'page', i: 'identify', s: 'screen', g: 'group', a: 'alias' };

/**
 * The route of a request, e.g. `POST /v1/track`, `POST /v1/t` or `GET /v1/projects/<key>/settings`;
 * undefined when it is none of the SDKs'.
 */
export function routeFor(method: string, path: string): Route | undefined {
  const normalised = path.replace(/\/+$/, '');
  if (method === 'GET') {
    if (normalised === '/sourceConfig') return { kind: 'rudder-source-config' };
    const writeKey = /\/v1\/projects\/([^/]+)\/settings$/.exec(normalised)?.[1];
    return writeKey === undefined ? undefined : { kind: 'segment-settings', writeKey: decodeURIComponent(writeKey) };
  }
  if (method !== 'POST') return undefined;
  const known = PATH_ROUTES[normalised];
  if (known) return known;
  const name = /^\/v1\/([a-z]+)$/.exec(normalised)?.[1];
  const type = name === undefined ? undefined : (TYPE_BY_INITIAL[name] ?? name);
  return isEventType(type) ? { kind: 'single', type } : undefined;
}

const isPlainObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** The write key a body may carry (sendBeacon cannot send an Authorization header). */
export const bodyWriteKey = (body: unknown): unknown => (isPlainObject(body) ? body['writeKey'] : undefined);

export function eventsFromRequest(route: EventRoute, body: unknown, facts: RequestFacts): PreparedRequest {
  if (!isPlainObject(body)) throw new BadRequestError('body must be a JSON object');

  let items: unknown[];
  let batchFacts: RequestFacts = facts;
  if (route.kind === 'batch') {
    const batch = validateBatchRequest(body);
    if (!batch.ok) throw new BadRequestError(`batch request is invalid: ${batch.reason}`);
    if (exceedsJsonDepth(batch.value.context, MAX_JSON_DEPTH - 1)) throw new BadRequestError(tooDeepReason('the batch context', MAX_JSON_DEPTH - 1));
    items = batch.value.batch;
    batchFacts = { ...facts, batchSentAt: batch.value.sentAt, batchSentAtMs: parseTime(batch.value.sentAt), batchContext: batch.value.context };
  } else {
    if (body['type'] !== undefined && body['type'] !== route.type) {
      throw new BadRequestError(`type ${JSON.stringify(body['type'])} does not match the route /v1/${route.type}`);
    }
    items = [{ ...body, type: route.type }];
  }

  const events: PreparedEvent[] = [];
  const rejected: Rejection[] = [];
  items.forEach((item, index) => {
    const outcome = prepareEvent(item, batchFacts);
    if ('reason' in outcome) rejected.push({ index, messageId: outcome.messageId, reason: outcome.reason });
    else events.push({ index, ...outcome });
  });
  return { events, rejected };
}

// The server may shorten an event by at most this much: it rewrites timestamp and receivedAt (at most
// 64 characters each by schema) as 24-character ISO strings. A writeKey it removes is counted apart.
const MAX_SERVER_SHRINK_BYTES = 2 * (64 - 24);

function prepareEvent(
  item: unknown,
  facts: RequestFacts,
): { event: SegmentEvent; data: Buffer } | { reason: string; messageId: string | null } {
  const messageId = isPlainObject(item) && typeof item['messageId'] === 'string' ? item['messageId'] : null;
  if (!isPlainObject(item)) return { reason: 'event must be a JSON object', messageId };
  // Before anything walks the event: the schema check, the messageId hash and JSON.stringify all recurse.
  if (exceedsJsonDepth(item)) return { reason: tooDeepReason('event'), messageId };
  toSegmentSpec(item, item['type']);
  const envelope = validateEnvelope(item);
  if (!envelope.ok) return { reason: envelope.reason, messageId };
  const event = withServerFields(envelope.value, facts);
  const data = Buffer.from(JSON.stringify(event), 'utf8');
  // The limit is on the event as the client sent it. Serialising it again costs as much as the rest of
  // the work, so it is done only when the stored form is close enough to the limit to matter.
  if (data.byteLength + MAX_SERVER_SHRINK_BYTES > MAX_EVENT_BYTES || item['writeKey'] !== undefined) {
    const bytes = Buffer.byteLength(JSON.stringify(item), 'utf8');
    if (bytes > MAX_EVENT_BYTES) return { reason: `event is ${bytes} bytes; the limit is ${MAX_EVENT_BYTES}`, messageId };
  }
  return { event, data };
}
