// Event time corrected for the client's clock: the client's own clock is only trusted for the
// interval between the event and the send, which is applied to the server's receive time.

/**
 * timestamp = receivedAt − (sentAt − originalTimestamp), when the client sent sentAt; else the
 * client's time as is. Never later than receivedAt: an event cannot happen after it arrived.
 */
export function correctedEventTime(receivedAtMs: number, originalMs: number | undefined, sentAtMs: number | undefined): number {
  if (originalMs === undefined) return receivedAtMs;
  const corrected = sentAtMs === undefined ? originalMs : receivedAtMs - (sentAtMs - originalMs);
  return Math.min(corrected, receivedAtMs);
}

/** Epoch ms of an ISO string already checked by the schema, or undefined when absent. */
export const parseTime = (iso: string | undefined): number | undefined => (iso === undefined ? undefined : Date.parse(iso));
