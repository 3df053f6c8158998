// Snowplow's tracker protocol mapped to the Segment spec, so that events from Snowplow's trackers land
// in the same `events` table, Flink job, named queries and dashboard as everyone else's. Pure: no I/O.
//
// What the trackers send (README "Coming from Snowplow" has the table this code implements):
// - POST /com.snowplowanalytics.snowplow/tp2: {"schema": "iglu:…/payload_data/jsonschema/1-0-x", "data": [item…]};
// - GET /i?<item as a query string>: one event per request, answered with an image.
// An item is a map of string parameters (`e`, `eid`, `aid`, `dtm`, `url`, `ue_px`, `cx`, …); the
// protocol's reference is https://docs.snowplow.io/docs/events/http-requests/ (tracker protocol).
//
// Nothing is dropped: what has a Segment home goes there, and the rest stays in `context.snowplow`
// (the lake's `context` JSON column): the schema URI of a self-describing event, every context entity,
// the session and tracker fields, and any parameter this module does not know.
import { BadRequestError } from './errors.js';

/** The POST body's schema, any 1-0-x revision. */
const PAYLOAD_DATA = /^iglu:com\.snowplowanalytics\.snowplow\/payload_data\/jsonschema\/1-0-\d+$/;
const UNSTRUCT_EVENT = /^iglu:com\.snowplowanalytics\.snowplow\/unstruct_event\/jsonschema\/1-0-\d+$/;
const CONTEXTS = /^iglu:com\.snowplowanalytics\.snowplow\/contexts\/jsonschema\/1-0-\d+$/;
/** iglu:<vendor>/<name>/jsonschema/<model-revision-addition> */
const IGLU_URI = /^iglu:([a-zA-Z0-9._-]+)\/([a-zA-Z0-9_-]+)\/jsonschema\/([1-9][0-9]*-[0-9]+-[0-9]+)$/;

/** Screen views: the mobile trackers' schema and the older web one. */
const SCREEN_VIEW_SCHEMAS = new Set(['com.snowplowanalytics.mobile/screen_view', 'com.snowplowanalytics.snowplow/screen_view']);

/** One event as the tracker sent it: parameter → string value. */
export type TrackerParameters = Record<string, string>;

export interface SelfDescribingJson {
  schema: string;
  data: Record<string, unknown>;
}

export type SnowplowMapping = { ok: true; event: Record<string, unknown> } | { ok: false; reason: string };

/** What the request itself says about the sender, used where the item does not. */
export interface SnowplowRequestFacts {
  /** The request's User-Agent: the browser's, for a web tracker that sent no `ua`. */
  userAgent?: string | undefined;
}

const isPlainObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** The items of a POST tp2 body; throws BadRequestError (the whole request is refused) for any other body. */
export function payloadDataItems(body: unknown): unknown[] {
  if (!isPlainObject(body)) throw new BadRequestError('body must be a JSON object: {"schema": "iglu:com.snowplowanalytics.snowplow/payload_data/jsonschema/1-0-4", "data": [...]}');
  const schema = body['schema'];
  if (typeof schema !== 'string' || !PAYLOAD_DATA.test(schema)) {
    throw new BadRequestError(`schema must be iglu:com.snowplowanalytics.snowplow/payload_data/jsonschema/1-0-x, got ${JSON.stringify(schema)?.slice(0, 120)}`);
  }
  if (!Array.isArray(body['data']) || body['data'].length === 0) throw new BadRequestError('data must be a non-empty array of events');
  return body['data'];
}

/** The item of a GET /i request: its query string, decoded. */
export function queryStringItem(rawQueryString: string | undefined): TrackerParameters {
  const params: TrackerParameters = {};
  for (const [name, value] of new URLSearchParams(rawQueryString ?? '')) params[name] = value;
  if (Object.keys(params).length === 0) throw new BadRequestError('GET /i carries its event in the query string, and it is empty');
  return params;
}

/**
 * The item's parameters when it is a flat map of strings (numbers and booleans are taken as their text,
 * as some trackers send them); a reason otherwise.
 */
export function trackerParameters(item: unknown): TrackerParameters | string {
  if (!isPlainObject(item)) return 'event must be a JSON object of tracker parameters';
  const params: TrackerParameters = {};
  for (const [name, value] of Object.entries(item)) {
    if (typeof value === 'string') params[name] = value;
    else if (typeof value === 'number' || typeof value === 'boolean') params[name] = String(value);
    else if (value !== null) return `parameter ${name} must be a string, got ${Array.isArray(value) ? 'an array' : typeof value}`;
  }
  return params;
}

class MappingError extends Error {}

/** Self-describing JSON, from its JSON text or its base64url twin (`ue_pr`/`ue_px`, `co`/`cx`). */
function decodeJsonParameter(params: TrackerParameters, jsonName: string, base64Name: string): unknown {
  const json = params[jsonName];
  const base64 = params[base64Name];
  if (json === undefined && base64 === undefined) return undefined;
  const [name, text] = json !== undefined ? [jsonName, json] : [base64Name, decodeBase64(base64Name, base64!)];
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new MappingError(`${name} is not JSON: ${(error as Error).message}`);
  }
}

function decodeBase64(name: string, value: string): string {
  // The trackers send base64url without padding; some send the standard alphabet. Node reads both.
  if (!/^[A-Za-z0-9+/_-]*={0,2}$/.test(value)) throw new MappingError(`${name} is not base64`);
  const bytes = Buffer.from(value, 'base64');
  const text = bytes.toString('utf8');
  if (!Buffer.from(text, 'utf8').equals(bytes)) throw new MappingError(`${name} is not UTF-8 once decoded from base64`);
  return text;
}

function selfDescribing(value: unknown, where: string): SelfDescribingJson {
  if (!isPlainObject(value) || typeof value['schema'] !== 'string' || !IGLU_URI.test(value['schema']) || !isPlainObject(value['data'])) {
    throw new MappingError(`${where} must be {"schema": "iglu:<vendor>/<name>/jsonschema/<version>", "data": {…}}`);
  }
  return { schema: value['schema'], data: value['data'] };
}

/** The self-describing event of an `e=ue` item, unwrapped from its unstruct_event envelope. */
function unstructEvent(params: TrackerParameters): SelfDescribingJson {
  const wrapper = decodeJsonParameter(params, 'ue_pr', 'ue_px');
  if (wrapper === undefined) throw new MappingError('a self-describing event (e=ue) needs ue_pr or ue_px');
  if (!isPlainObject(wrapper) || typeof wrapper['schema'] !== 'string' || !UNSTRUCT_EVENT.test(wrapper['schema'])) {
    throw new MappingError('ue_pr/ue_px must be an iglu:com.snowplowanalytics.snowplow/unstruct_event/jsonschema/1-0-x envelope');
  }
  return selfDescribing(wrapper['data'], 'the self-describing event');
}

/** The context entities of `co`/`cx`, in order. */
function contextEntities(params: TrackerParameters): SelfDescribingJson[] {
  const wrapper = decodeJsonParameter(params, 'co', 'cx');
  if (wrapper === undefined) return [];
  if (!isPlainObject(wrapper) || typeof wrapper['schema'] !== 'string' || !CONTEXTS.test(wrapper['schema']) || !Array.isArray(wrapper['data'])) {
    throw new MappingError('co/cx must be an iglu:com.snowplowanalytics.snowplow/contexts/jsonschema/1-0-x envelope with a data array');
  }
  return wrapper['data'].map((entity, i) => selfDescribing(entity, `context entity ${i}`));
}

/** vendor/name of an iglu URI already checked by selfDescribing. */
const schemaKey = (schema: string): string => {
  const [, vendor, name] = IGLU_URI.exec(schema)!;
  return `${vendor}/${name}`;
};
const schemaName = (schema: string): string => IGLU_URI.exec(schema)![2]!;

function number(params: TrackerParameters, name: string): number | undefined {
  const text = params[name];
  if (text === undefined || text === '') return undefined;
  const value = Number(text);
  if (!Number.isFinite(value)) throw new MappingError(`${name} must be a number, got ${JSON.stringify(text.slice(0, 40))}`);
  return value;
}

/** An epoch-milliseconds parameter (dtm, stm, ttm) as ISO-8601. */
function time(params: TrackerParameters, name: string): string | undefined {
  const ms = number(params, name);
  if (ms === undefined) return undefined;
  const date = new Date(ms);
  if (!Number.isInteger(ms) || Number.isNaN(date.getTime()) || ms < 0) throw new MappingError(`${name} must be epoch milliseconds, got ${params[name]}`);
  return date.toISOString();
}

/** Drops undefined values, so that absent parameters stay absent. */
function defined<T extends Record<string, unknown>>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined && v !== '')) as Partial<T>;
}

/** Parameters this module maps somewhere; any other is kept in context.snowplow.parameters. */
const MAPPED = new Set([
  'e', 'eid', 'aid', 'p', 'tv', 'tna', 'dtm', 'stm', 'ttm', 'tz', 'lang', 'ua', 'ip', 'res', 'vp', 'ds', 'cd', 'cs',
  'uid', 'duid', 'nuid', 'tnuid', 'sid', 'vid', 'url', 'refr', 'page', 'co', 'cx', 'ue_pr', 'ue_px',
  'se_ca', 'se_ac', 'se_la', 'se_pr', 'se_va', 'pp_mix', 'pp_max', 'pp_miy', 'pp_may',
  'tr_id', 'tr_af', 'tr_tt', 'tr_tx', 'tr_sh', 'tr_ci', 'tr_st', 'tr_co', 'tr_cu',
  'ti_id', 'ti_sk', 'ti_nm', 'ti_na', 'ti_ca', 'ti_pr', 'ti_qu', 'ti_cu',
]);

/** "1920x1080" → [1920, 1080] */
function dimensions(params: TrackerParameters, name: string): [number, number] | undefined {
  const text = params[name];
  if (!text) return undefined;
  const match = /^(\d+)x(\d+)$/.exec(text);
  return match ? [Number(match[1]), Number(match[2])] : undefined;
}

function pageContext(params: TrackerParameters): Record<string, string> | undefined {
  const url = params['url'];
  if (!url) return undefined;
  let path: string | undefined;
  let search: string | undefined;
  try {
    const parsed = new URL(url);
    path = parsed.pathname;
    search = parsed.search;
  } catch {
    // Kept as sent; enrich reports what it cannot parse.
  }
  return defined({ url, path, search, referrer: params['refr'], title: params['page'] }) as Record<string, string>;
}

/** What the trackers' standard entities say that the Segment spec has a place for. */
function fromEntities(entities: readonly SelfDescribingJson[]) {
  const found: { sessionUserId?: string; app?: Record<string, unknown>; os?: Record<string, unknown>; device?: Record<string, unknown>; network?: Record<string, unknown>; pageViewId?: string } = {};
  for (const { schema, data } of entities) {
    const str = (key: string) => (typeof data[key] === 'string' && data[key] !== '' ? (data[key] as string) : undefined);
    switch (schemaKey(schema)) {
      case 'com.snowplowanalytics.snowplow/client_session':
        found.sessionUserId ??= str('userId');
        break;
      case 'com.snowplowanalytics.snowplow/web_page':
        found.pageViewId ??= str('id');
        break;
      case 'com.snowplowanalytics.mobile/application':
        found.app = defined({ version: str('version'), build: str('build') });
        break;
      case 'com.snowplowanalytics.snowplow/mobile_context':
        found.os = defined({ name: str('osType'), version: str('osVersion') });
        found.device = defined({ manufacturer: str('deviceManufacturer'), model: str('deviceModel'), advertisingId: str('appleIdfa') ?? str('androidIdfa') });
        found.network = defined({ carrier: str('carrier'), wifi: str('networkType') === undefined ? undefined : str('networkType') === 'wifi' });
        break;
    }
  }
  return found;
}

/** The Segment call an item is: its type, name and properties. */
function call(e: string | undefined, params: TrackerParameters): { type: string; fields: Record<string, unknown>; selfDescribing?: SelfDescribingJson } {
  switch (e) {
    case 'pv':
      return { type: 'page', fields: defined({ name: params['page'], properties: defined({ title: params['page'], url: params['url'], referrer: params['refr'] }) }) };
    case 'pp':
      return {
        type: 'track',
        fields: {
          event: 'page_ping',
          properties: defined({ minXOffset: number(params, 'pp_mix'), maxXOffset: number(params, 'pp_max'), minYOffset: number(params, 'pp_miy'), maxYOffset: number(params, 'pp_may') }),
        },
      };
    case 'se': {
      const action = params['se_ac'];
      if (!action) throw new MappingError('a structured event (e=se) needs se_ac, its action');
      return {
        type: 'track',
        fields: { event: action, properties: defined({ category: params['se_ca'], action, label: params['se_la'], property: params['se_pr'], value: number(params, 'se_va') }) },
      };
    }
    case 'ue': {
      const event = unstructEvent(params);
      if (SCREEN_VIEW_SCHEMAS.has(schemaKey(event.schema))) {
        const name = event.data['name'];
        return { type: 'screen', fields: { ...(typeof name === 'string' && name !== '' ? { name } : {}), properties: event.data }, selfDescribing: event };
      }
      return { type: 'track', fields: { event: schemaName(event.schema), properties: event.data }, selfDescribing: event };
    }
    case 'tr':
      return {
        type: 'track',
        fields: {
          event: 'transaction',
          properties: defined({
            orderId: params['tr_id'], affiliation: params['tr_af'], total: number(params, 'tr_tt'), tax: number(params, 'tr_tx'), shipping: number(params, 'tr_sh'),
            city: params['tr_ci'], state: params['tr_st'], country: params['tr_co'], currency: params['tr_cu'],
          }),
        },
      };
    case 'ti':
      return {
        type: 'track',
        fields: {
          event: 'transaction_item',
          properties: defined({
            orderId: params['ti_id'], sku: params['ti_sk'], name: params['ti_nm'] ?? params['ti_na'], category: params['ti_ca'], price: number(params, 'ti_pr'),
            quantity: number(params, 'ti_qu'), currency: params['ti_cu'],
          }),
        },
      };
    case undefined:
    case '':
      throw new MappingError('e, the event type, is missing');
    default:
      throw new MappingError(`e=${e.slice(0, 20)} is not an event type this pipeline maps (pv, pp, se, ue, tr, ti)`);
  }
}

/** "js-4.10.1" → {name: "snowplow-js", version: "4.10.1"} */
function library(tv: string | undefined): Record<string, string> | undefined {
  if (!tv) return undefined;
  const match = /^([a-z][a-z0-9_]*)-(.+)$/i.exec(tv);
  return match ? { name: `snowplow-${match[1]}`, version: match[2]! } : { name: 'snowplow', version: tv };
}

/**
 * The Segment event of one tracker item, or the reason it cannot be one (the caller keeps the item as
 * a bad row of failure type `adapter_failure`).
 */
export function toSegmentEvent(params: TrackerParameters, facts: SnowplowRequestFacts = {}): SnowplowMapping {
  try {
    return { ok: true, event: mapItem(params, facts) };
  } catch (error) {
    if (error instanceof MappingError) return { ok: false, reason: error.message };
    throw error;
  }
}

function mapItem(params: TrackerParameters, facts: SnowplowRequestFacts): Record<string, unknown> {
  const e = params['e'];
  const { type, fields, selfDescribing: sd } = call(e, params);
  const entities = contextEntities(params);
  const known = fromEntities(entities);

  const messageId = params['eid'] || undefined;
  const userId = params['uid'] || undefined;
  // Segment's anonymousId is the device: the web tracker's domain user id, else the mobile trackers'
  // session user id, else a network user id the tracker set. An event with none of them and no userId
  // (a server tracker that sets no user) counts as a visitor of its own.
  const anonymousId = params['duid'] || known.sessionUserId || params['nuid'] || params['tnuid'] || (userId === undefined ? messageId : undefined);
  if (anonymousId === undefined && userId === undefined) throw new MappingError('no user: the event has none of uid, duid, nuid or a client_session entity, and no eid');

  // ttm is the true time (set by the sender, trusted as is); else the device's clock, corrected by stm.
  const trueTimestamp = time(params, 'ttm');
  const deviceCreated = time(params, 'dtm');
  const deviceSent = time(params, 'stm');

  const screen = dimensions(params, 'res');
  const viewport = dimensions(params, 'vp');
  const userAgent = params['ua'] || (params['p'] === 'srv' ? undefined : facts.userAgent);
  const unmapped = Object.fromEntries(Object.entries(params).filter(([name]) => !MAPPED.has(name)));

  const context = defined({
    ip: params['ip'],
    userAgent,
    locale: params['lang'],
    timezone: params['tz'],
    page: pageContext(params),
    screen: screen || viewport ? defined({ width: screen?.[0], height: screen?.[1], innerWidth: viewport?.[0], innerHeight: viewport?.[1] }) : undefined,
    library: library(params['tv']),
    app: known.app && Object.keys(known.app).length > 0 ? known.app : undefined,
    os: known.os && Object.keys(known.os).length > 0 ? known.os : undefined,
    device: known.device && Object.keys(known.device).length > 0 ? known.device : undefined,
    network: known.network && Object.keys(known.network).length > 0 ? known.network : undefined,
    snowplow: defined({
      eventType: e,
      appId: params['aid'],
      platform: params['p'],
      trackerVersion: params['tv'],
      namespace: params['tna'],
      domainSessionId: params['sid'],
      domainSessionIndex: number(params, 'vid'),
      domainUserId: params['duid'],
      networkUserId: params['nuid'] ?? params['tnuid'],
      pageViewId: known.pageViewId,
      schema: sd?.schema,
      entities: entities.length > 0 ? entities : undefined,
      deviceCreatedTimestamp: deviceCreated,
      deviceSentTimestamp: deviceSent,
      trueTimestamp,
      documentSize: params['ds'],
      colorDepth: params['cd'],
      charset: params['cs'],
      parameters: Object.keys(unmapped).length > 0 ? unmapped : undefined,
    }),
  });

  return defined({
    type,
    ...fields,
    messageId,
    anonymousId,
    userId,
    context,
    originalTimestamp: trueTimestamp ?? deviceCreated,
    // With a true timestamp there is no device clock to correct, so sentAt is left out.
    sentAt: trueTimestamp === undefined ? deviceSent : undefined,
  });
}
