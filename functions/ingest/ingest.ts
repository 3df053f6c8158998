// One ingest request, end to end: route, auth, limits, per-event validation, server fields, and the
// Kinesis write. Answers 200 only for events Kinesis accepted; events it could not write in time are
// not claimed, and the client is told to retry (503 + Retry-After).
import type { Logger } from '@aws-lambda-powertools/logger';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import { StreamWriteError } from '../shared/errors.js';
import type { KinesisBatchWriter } from '../shared/kinesis-batch-writer.js';
import { partitionKeyFor } from '../shared/partition-key.js';
import { HttpError } from './errors.js';
import { bodyWriteKey, eventsFromRequest, eventsFromSnowplowItems, routeFor, type Rejection, type Route } from './events-from-request.js';
import { jsonResponse, pixelResponse } from './http-responses.js';
import { parseJsonBody } from './json-body.js';
import { RESPONSE_MARGIN_MS, RETRY_AFTER_SECONDS } from './limits.js';
import { originAllowed } from './origins.js';
import { decodeBody } from './request-body.js';
import { rudderSourceConfig, segmentSettings } from './sdk-settings.js';
import { payloadDataItems, queryStringItem } from './snowplow.js';
import { authenticate, writeKeyFromAuthorization, type WriteKeyVerifier } from './write-keys.js';

export interface IngestDependencies {
  writer: Pick<KinesisBatchWriter, 'write'>;
  /** Resolves the current write keys (cached by the caller; may fetch from SSM). */
  verifier: () => Promise<WriteKeyVerifier>;
  logger: Logger;
  /** Origins that may send (the stage's allowedOrigins); a request without an Origin header is not a browser's. */
  allowedOrigins: readonly string[];
  now?: () => number;
}

/** Answers an SDK's settings fetch (./sdk-settings.ts) for a known write key, cacheable for 5 minutes. */
function sdkSettingsResponse(
  route: Extract<Route, { kind: 'segment-settings' | 'rudder-source-config' }>,
  request: APIGatewayProxyEventV2,
  verifier: WriteKeyVerifier,
): APIGatewayProxyStructuredResultV2 {
  const headers = request.headers ?? {};
  const cache = { 'cache-control': 'public, max-age=300' };
  if (route.kind === 'segment-settings') {
    // The key is in the path, as on Segment's CDN, which answers 404 for a key it does not know.
    if (!verifier.verify(route.writeKey)) throw new HttpError(404, 'no source has this write key');
    const host = request.requestContext?.domainName ?? headers['host'] ?? 'localhost';
    const protocol = headers['x-forwarded-proto'] === 'http' ? 'http' : 'https';
    return jsonResponse(200, segmentSettings({ writeKey: route.writeKey, host, protocol }), cache);
  }
  // RudderStack's SDKs send the key as Basic auth (browser, v1 mobile) or in the query string (v2 mobile).
  const writeKey = authenticate(verifier, headers['authorization'], request.queryStringParameters?.['writeKey']);
  return jsonResponse(200, rudderSourceConfig({ writeKey }), cache);
}

export function createIngest(deps: IngestDependencies) {
  const now = deps.now ?? Date.now;

  return async function ingest(request: APIGatewayProxyEventV2, context: Context): Promise<APIGatewayProxyStructuredResultV2> {
    const receivedAtMs = now();
    const method = request.requestContext?.http?.method?.toUpperCase() ?? 'POST';
    // The route's own path where it is a literal one; the request's path for $default and templated routes.
    const routed = request.routeKey?.split(' ')[1];
    const route = routeFor(method, routed === undefined || routed === '$default' || routed.includes('{') ? request.rawPath : routed);
    if (!route) throw new HttpError(404, `no such route: ${method} ${request.rawPath}; use POST /v1/batch or /v1/<type> (Segment, RudderStack), or POST /com.snowplowanalytics.snowplow/tp2 (Snowplow)`);

    const headers = request.headers ?? {};
    // CORS keeps a disallowed page from reading the answer, not from sending: a beacon needs no preflight.
    const origin = headers['origin'];
    if (origin !== undefined && !originAllowed(deps.allowedOrigins, origin)) {
      throw new HttpError(403, `origin ${origin} is not allowed to send events here (the stage's allowedOrigins)`);
    }
    const verifier = await deps.verifier();
    if (route.kind === 'segment-settings' || route.kind === 'rudder-source-config') {
      return sdkSettingsResponse(route, request, verifier);
    }
    const facts = {
      receivedAtMs,
      receivedAt: new Date(receivedAtMs).toISOString(),
      sourceIp: request.requestContext?.http?.sourceIp,
      userAgent: headers['user-agent'],
    };
    if (route.kind === 'snowplow') {
      // Snowplow's trackers carry no secret: each event's app id is checked instead (./write-keys.ts).
      const items = route.method === 'GET' ? [queryStringItem(request.rawQueryString)] : payloadDataItems(parseJsonBody(decodedBody(request), headers['content-type']));
      const { events, rejected, unmapped } = eventsFromSnowplowItems(items, facts, (appId) => verifier.writeKeyForAppId(appId));
      const records = [
        ...events.map(({ event, data }) => ({ data, partitionKey: partitionKeyFor(event) })),
        ...unmapped.map(({ data, partitionKey }) => ({ data, partitionKey })),
      ];
      const unmappedReport = unmapped.map(({ index, messageId, reason }) => ({ index, messageId, reason }));
      const response = await store(records, rejected, context, unmapped.length > 0 ? { unmapped: unmappedReport } : {});
      // The GET transport loads an image: it gets one when its event was stored.
      return route.method === 'GET' && response.statusCode === 200 ? pixelResponse() : response;
    }
    // sendBeacon can set no header, so RudderStack's beacon sends the key in the query string.
    const queryWriteKey = request.queryStringParameters?.['writeKey'];
    // A key in the header or the URL is checked before the body is read, so anonymous traffic costs no parsing.
    if (writeKeyFromAuthorization(headers['authorization']) !== undefined || queryWriteKey !== undefined) {
      authenticate(verifier, headers['authorization'], queryWriteKey);
    }

    const body = parseJsonBody(decodedBody(request), headers['content-type']);
    const writeKey = authenticate(verifier, headers['authorization'], queryWriteKey ?? bodyWriteKey(body));

    const { events, rejected } = eventsFromRequest(route, body, { ...facts, writeKey });
    return store(
      events.map(({ event, data }) => ({ data, partitionKey: partitionKeyFor(event) })),
      rejected,
      context,
    );
  };

  /**
   * Writes the accepted records and answers: 200 when Kinesis took them all, 503 + Retry-After for the
   * ones it did not take in time, 400 when nothing was acceptable.
   */
  async function store(
    records: { data: Buffer; partitionKey: string }[],
    rejected: Rejection[],
    context: Context,
    extra: Record<string, unknown> = {},
  ): Promise<APIGatewayProxyStructuredResultV2> {
    if (records.length === 0) {
      deps.logger.info('no event accepted', { rejected: rejected.length, firstReason: rejected[0]?.reason });
      return jsonResponse(400, { success: false, accepted: 0, rejected });
    }

    const deadline = now() + context.getRemainingTimeInMillis() - RESPONSE_MARGIN_MS;
    let failed: number[];
    try {
      const result = await deps.writer.write(records, { deadline });
      failed = result.failed;
      if (failed.length > 0) {
        deps.logger.warn('events not written before the deadline', { failed: failed.length, lastErrorCode: result.lastErrorCode });
      }
    } catch (error) {
      if (!(error instanceof StreamWriteError)) throw error;
      deps.logger.error('stream write failed', error);
      failed = records.map((_, i) => i);
    }

    if (failed.length > 0) {
      return jsonResponse(
        503,
        {
          success: false,
          accepted: records.length - failed.length,
          rejected,
          message: `${failed.length} event(s) could not be stored; retry the request (events already stored are deduplicated by messageId)`,
        },
        { 'retry-after': String(RETRY_AFTER_SECONDS) },
      );
    }
    if (rejected.length > 0) deps.logger.info('events rejected', { accepted: records.length, rejected: rejected.length });
    return jsonResponse(200, { success: true, accepted: records.length, rejected, ...extra });
  }
}

/** The body of a POST as text: base64 and gzip undone, sizes checked. */
const decodedBody = (request: APIGatewayProxyEventV2): string =>
  decodeBody({ body: request.body, isBase64Encoded: request.isBase64Encoded, contentEncoding: request.headers?.['content-encoding'] });

