// An event that arrived in another tracker protocol (Snowplow's) and could not be mapped to the Segment
// spec. Ingest accepts it and writes it to events-raw as this record, so that it is stored like every
// other event and the enrich stage turns it into a bad row of failure type `adapter_failure`, with the
// tracker's original parameters as its payload, ready to be recovered after a fix.

export interface AdapterFailure {
  /** The protocol the event came in. */
  protocol: 'snowplow';
  /** Why it could not be mapped, e.g. "e=xx is not an event type this pipeline maps". */
  reason: string;
  receivedAt: string;
  /** The item as the tracker sent it. */
  parameters: Record<string, string>;
  /** What the request said of the sender, which a mapping after a fix needs as ingest did. */
  sourceIp?: string | undefined;
  userAgent?: string | undefined;
}

export interface AdapterFailureRecord {
  adapterFailure: AdapterFailure;
  /** The tracker's event id (`eid`), when it sent one: the bad row's message_id. */
  messageId?: string;
}

export function adapterFailureRecord(failure: AdapterFailure): AdapterFailureRecord {
  const eid = failure.parameters['eid'];
  return { adapterFailure: failure, ...(eid ? { messageId: eid } : {}) };
}

/** The failure a decoded events-raw record carries, or undefined for an event. */
export function adapterFailureOf(value: unknown): AdapterFailure | undefined {
  if (typeof value !== 'object' || value === null || !('adapterFailure' in value)) return undefined;
  const failure = (value as { adapterFailure: unknown }).adapterFailure;
  if (typeof failure !== 'object' || failure === null || typeof (failure as { reason?: unknown }).reason !== 'string') return undefined;
  return failure as AdapterFailure;
}
