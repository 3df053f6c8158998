// From a parsed request body to the events to write and the events refused, each with its reason.
// Pure: no I/O, so every rule here is unit-tested without a stream.
import { createHash } from 'node:crypto';
import { isEventType, validateBatchRequest, validateEnvelope, type EventType, type SegmentEvent } from '../../schemas/index.js';
import { exceedsJsonDepth, MAX_JSON_DEPTH, tooDeepReason } from '../shared/json-depth.js';
import { adapterFailureRecord } from '../shared/adapter-failure.js';
import { BadRequestError, HttpError } from './errors.js';
import { parseTime } from './event-time.js';
import { MAX_EVENT_BYTES } from './limits.js';
import { toSegmentSpec } from './sdk-dialects.js';
import { withServerFields, type RequestFacts } from './server-fields.js';
import { toSegmentEvent, trackerParameters } from './snowplow.js';

/** Which call a request is: a batch, one event of a fixed type, or an SDK fetching its settings (GET). */
export type Route =
  | { kind: 'batch' }
  | { kind: 'single'; type: EventType }
  | { kind: 'snowplow'; method: 'POST' | 'GET' }
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

/** A Snowplow item accepted but not mappable: written to events-raw as an adapter failure (a bad row). */
export interface UnmappedEvent {
  index: number;
  messageId: string | null;
  reason: string;
  data: Buffer;
  partitionKey: string;
}

const BATCH: EventRoute = { kind: 'batch' };

/** Every path a real SDK posts to (README "Connect your app" has which SDK sends what). */
const PATH_ROUTES: Record<string, EventRoute> = {
  '/v1/batch': BATCH,
  '/v1/import': BATCH, // Segment's alias of /v1/batch
  '/v1/b': BATCH, // analytics.js 2.0 with batching; Segment's Kotlin, Swift and React Native SDKs
  '/beacon/v1/batch': BATCH, // RudderStack's browser SDK with useBeacon (write key in the query string)
};

/** Snowplow's trackers: POST tp2 (a payload_data batch), or GET /i (one event in the query string; /ice.png is its old name). */
const SNOWPLOW_POST_PATH = '/com.snowplowanalytics.snowplow/tp2';
const SNOWPLOW_GET_PATHS = new Set(['/i', '/ice.png']);

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
    if (SNOWPLOW_GET_PATHS.has(normalised)) return { kind: 'snowplow', method: 'GET' };
    const writeKey = /\/v1\/projects\/([^/]+)\/settings$/.exec(normalised)?.[1];
    return writeKey === undefined ? undefined : { kind: 'segment-settings', writeKey: decodeURIComponent(writeKey) };
  }
  if (method !== 'POST') return undefined;
  if (normalised === SNOWPLOW_POST_PATH) return { kind: 'snowplow', method: 'POST' };
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

/**
 * Snowplow tracker items (POST tp2's `data`, or GET /i's query string): each authorised by its app id
 * (`aid`), which must be tied to a write key (./write-keys.ts), mapped to the Segment spec (./snowplow.ts)
 * and then held to the same rules as any event. An item that is a valid tracker item but cannot be
 * mapped is accepted as an adapter failure, to become a bad row with its parameters.
 */
export function eventsFromSnowplowItems(
  items: readonly unknown[],
  facts: Omit<RequestFacts, 'writeKey'>,
  writeKeyForAppId: (appId: string) => string | undefined,
): PreparedRequest & { unmapped: UnmappedEvent[] } {
  const events: PreparedEvent[] = [];
  const rejected: Rejection[] = [];
  const unmapped: UnmappedEvent[] = [];
  let unknownAppIds = 0;
  items.forEach((item, index) => {
    const params = trackerParameters(item);
    const messageId = typeof params === 'object' && params['eid'] ? params['eid'] : null;
    if (typeof params === 'string') return rejected.push({ index, messageId, reason: params });
    const appId = params['aid'];
    if (!appId) return rejected.push({ index, messageId, reason: 'aid, the app id, is missing: this ingest accepts Snowplow events only for configured app ids' });
    const writeKey = writeKeyForAppId(appId);
    if (writeKey === undefined) {
      unknownAppIds++;
      return rejected.push({ index, messageId, reason: `unknown app id ${JSON.stringify(appId.slice(0, 64))}` });
    }
    const mapped = toSegmentEvent(params, { userAgent: facts.userAgent });
    if (!mapped.ok) {
      const record = adapterFailureRecord({
        protocol: 'snowplow',
        reason: mapped.reason,
        receivedAt: facts.receivedAt ?? new Date(facts.receivedAtMs).toISOString(),
        parameters: params,
        ...(facts.sourceIp === undefined ? {} : { sourceIp: facts.sourceIp }),
        ...(facts.userAgent === undefined ? {} : { userAgent: facts.userAgent }),
      });
      const data = Buffer.from(JSON.stringify(record), 'utf8');
      if (data.byteLength > MAX_EVENT_BYTES) return rejected.push({ index, messageId, reason: `event is ${data.byteLength} bytes; the limit is ${MAX_EVENT_BYTES}` });
      return unmapped.push({ index, messageId, reason: mapped.reason, data, partitionKey: messageId ?? createHash('sha256').update(data).digest('hex') });
    }
    const outcome = prepareEvent(mapped.event, { ...facts, writeKey });
    if ('reason' in outcome) rejected.push({ index, messageId, reason: outcome.reason });
    else events.push({ index, ...outcome });
  });
  if (unknownAppIds > 0 && unknownAppIds === items.length) {
    // Refused as a request with an unknown write key is: nothing of it is stored.
    throw new HttpError(401, items.length === 1 ? rejected[0]!.reason : `unknown app ids: no event of this request has an app id configured for this stage`);
  }
  return { events, rejected, unmapped };
}
