// One POST of a batch to the ingest API, and what its answer means for the events in it. Requests are
// CORS "simple" (text/plain, write key in the body, no Authorization header): no preflight round trip,
// and the same body works for fetch and for sendBeacon.
import type { WindowLike } from './window.js';

export interface Rejection {
  index: number;
  messageId: string | null;
  reason: string;
}

export type Outcome =
  /** 2xx: every event is stored, except those the server names in `rejected`. */
  | { kind: 'sent'; status: number; accepted: number; rejected: Rejection[] }
  /** Any other 4xx (400, 401, 413, 415…): sending the same body again cannot succeed. */
  | { kind: 'refused'; status: number; message: string; rejected: Rejection[] }
  /** 408, 429, 5xx or no answer at all: the server stored none or some; send the same events again. */
  | { kind: 'retry'; status?: number; retryAfterMs?: number };

/** Keepalive requests share a 64 KiB budget per page; half of it leaves room for a beacon beside one fetch. */
export const MAX_CHUNK_BYTES = 32 * 1024;
/** The ingest API's per-event limit: a bigger event is refused, so it is not queued at all. */
export const MAX_EVENT_BYTES = 32 * 1024;

const encoder = new TextEncoder();
export const byteLength = (text: string): number => encoder.encode(text).length;

export const requestBody = (batch: unknown[], writeKey: string): string =>
  JSON.stringify({ batch, sentAt: new Date().toISOString(), writeKey });

/**
 * The longest run of events from the head whose request body stays within maxBytes; at least one
 * event, which fits because events over MAX_EVENT_BYTES never enter the queue.
 */
export function headChunk<T>(events: T[], maxBytes = MAX_CHUNK_BYTES): T[] {
  let bytes = 120; // {"batch":[],"sentAt":"…","writeKey":"…"}
  let count = 0;
  while (count < events.length) {
    bytes += byteLength(JSON.stringify(events[count])) + 1;
    if (count > 0 && bytes > maxBytes) break;
    count++;
  }
  return events.slice(0, count);
}

export async function post(win: WindowLike, url: string, body: string): Promise<Outcome> {
  let response;
  try {
    response = await win.fetch!(url, {
      method: 'POST',
      headers: { 'content-type': 'text/plain' },
      body,
      // Lets the request finish after the page is gone; the body must stay under the 64 KiB budget.
      keepalive: true,
      credentials: 'omit',
    });
  } catch {
    return { kind: 'retry' };
  }
  const { status } = response;
  if (status === 408 || status === 429 || status >= 500) {
    return { kind: 'retry', status, ...retryAfter(response.headers.get('retry-after')) };
  }
  const answer = (await response.json().catch(() => ({}))) as { accepted?: number; rejected?: Rejection[]; message?: string };
  const rejected = Array.isArray(answer.rejected) ? answer.rejected : [];
  if (status >= 200 && status < 300) return { kind: 'sent', status, accepted: answer.accepted ?? 0, rejected };
  return { kind: 'refused', status, message: answer.message ?? rejected[0]?.reason ?? `HTTP ${status}`, rejected };
}

/** Retry-After in seconds or as an HTTP date. A cross-origin page sees it only if the API exposes it. */
function retryAfter(header: string | null): { retryAfterMs?: number } {
  if (!header) return {};
  const seconds = Number(header);
  const ms = Number.isNaN(seconds) ? Date.parse(header) - Date.now() : seconds * 1000;
  return ms > 0 ? { retryAfterMs: ms } : {};
}
