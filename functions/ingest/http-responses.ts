// JSON responses, and the middy middleware that turns HttpErrors into them. Errors without a
// statusCode are real faults: they are logged with context and answered with a bare 500.
import type { Logger } from '@aws-lambda-powertools/logger';
import type { MiddlewareObj } from '@middy/core';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { HttpError } from './errors.js';

export const jsonResponse = (
  statusCode: number,
  body: unknown,
  headers: Record<string, string> = {},
): APIGatewayProxyStructuredResultV2 => ({
  statusCode,
  headers: { 'content-type': 'application/json; charset=utf-8', ...headers },
  body: JSON.stringify(body),
});

/** A transparent 1×1 GIF, as a Snowplow collector answers GET /i (the tracker loads it as an image). */
const PIXEL_GIF_BASE64 = 'R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7';

export const pixelResponse = (): APIGatewayProxyStructuredResultV2 => ({
  statusCode: 200,
  headers: { 'content-type': 'image/gif', 'cache-control': 'no-cache, no-store, must-revalidate' },
  body: PIXEL_GIF_BASE64,
  isBase64Encoded: true,
});

export function httpErrorResponses(logger: Logger): MiddlewareObj<APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2> {
  return {
    onError: async function httpErrorResponsesOnError(request) {
      const error = request.error;
      if (error instanceof HttpError) {
        logger.info('request refused', { statusCode: error.statusCode, reason: error.message });
        request.response = jsonResponse(error.statusCode, { success: false, message: error.message }, error.headers);
        return;
      }
      logger.error('unhandled error', error as Error);
      request.response = jsonResponse(500, { success: false, message: 'internal error' });
    },
  };
}
