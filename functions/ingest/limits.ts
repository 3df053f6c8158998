// Segment's HTTP Tracking API limits (https://segment.com/docs/connections/sources/catalog/libraries/server/http-api/#max-request-size).
export const MAX_REQUEST_BYTES = 500 * 1024;
export const MAX_EVENT_BYTES = 32 * 1024;
/** Time kept back from the Lambda's remaining time to answer after the last write attempt. */
export const RESPONSE_MARGIN_MS = 750;
/** Retry-After, in seconds, when events could not be written in time. */
export const RETRY_AFTER_SECONDS = 2;
