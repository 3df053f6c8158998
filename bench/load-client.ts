// A load client that behaves like an SDK: batches of events with unique messageIds posted at a fixed rate
// to POST /v1/batch, with a bounded number of requests in flight, and every batch that is not acknowledged
// (a 503, a 5xx, a refused or dropped connection while the stack restarts) posted again, same ids, until it
// is, honouring Retry-After. So "acknowledged" is exactly the set of events ingest answered 200 for: the
// set a crash must not lose. Used by the fault suite and the load benchmarks.
import { setTimeout as sleep } from 'node:timers/promises';

export interface LoadOptions {
  /** Re-read on every request: a restarted stack may serve on another port. */
  target: () => { ingestUrl: string; writeKey: string };
  /** Events per second offered. */
  rate: number;
  durationSeconds: number;
  /** messageIds are `<prefix>-<n>`. */
  prefix: string;
  batchSize?: number;
  maxInFlight?: number;
  /** Every this many seconds one event is a probe `<prefix>-probe-<n>`, timed from its acknowledgement. */
  probeEverySeconds?: number;
}

export interface LoadCounters {
  offered: number;
  acknowledged: number;
  /** Requests posted again after no acknowledgement (5xx, network error). */
  retries: number;
  /** 503 answers (Kinesis throttled or unavailable: the client is told to retry). */
  unavailable: number;
  /** Events ingest refused with a reason (4xx): none are expected from this client. */
  rejected: number;
}

export interface LoadRun {
  readonly counters: Readonly<LoadCounters>;
  /** Every messageId ingest acknowledged. */
  readonly acknowledged: ReadonlySet<string>;
  /** Probe id → when it was acknowledged (epoch ms). */
  readonly probes: ReadonlyMap<string, number>;
  /** Resolves when every batch has been acknowledged (or `stop` was called). */
  done: Promise<void>;
  /** Stops offering new batches; batches in flight still retry until acknowledged. */
  stopOffering(): void;
}

const event = (messageId: string, n: number) => ({
  type: n % 5 === 0 ? 'page' : 'track',
  ...(n % 5 === 0 ? { name: 'Product', properties: { path: `/p/${n % 97}`, url: `https://shop.example.com/p/${n % 97}` } } : { event: 'Product Viewed', properties: { sku: `sku-${n % 211}`, price: n % 50 } }),
  messageId,
  anonymousId: `anon-${n % 5_003}`,
  timestamp: new Date().toISOString(),
  context: { userAgent: 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36', page: { path: `/p/${n % 97}` } },
});

export function startLoad(options: LoadOptions): LoadRun {
  const batchSize = options.batchSize ?? 25;
  const maxInFlight = options.maxInFlight ?? 8;
  const counters: LoadCounters = { offered: 0, acknowledged: 0, retries: 0, unavailable: 0, rejected: 0 };
  const acknowledged = new Set<string>();
  const probes = new Map<string, number>();
  let offering = true;
  let probeCount = 0;
  let lastProbeAt = 0;

  async function deliver(batch: Record<string, unknown>[]): Promise<void> {
    let backoffMs = 250;
    for (;;) {
      let retryAfterMs = backoffMs;
      try {
        const { ingestUrl, writeKey } = options.target();
        const response = await fetch(`${ingestUrl}/v1/batch`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Basic ${Buffer.from(`${writeKey}:`).toString('base64')}` },
          body: JSON.stringify({ batch, sentAt: new Date().toISOString() }),
          signal: AbortSignal.timeout(30_000),
        });
        const body = (await response.json().catch(() => ({}))) as { accepted?: number; rejected?: { index: number }[] };
        if (response.status === 200 || (response.status === 400 && body.accepted === 0)) {
          const refused = new Set((body.rejected ?? []).map((r) => r.index));
          counters.rejected += refused.size;
          const now = Date.now();
          batch.forEach((e, i) => {
            if (refused.has(i)) return;
            const id = e['messageId'] as string;
            if (!acknowledged.has(id)) {
              acknowledged.add(id);
              counters.acknowledged++;
            }
            if (id.includes('-probe-') && !probes.has(id)) probes.set(id, now);
          });
          return;
        }
        if (response.status === 503) {
          counters.unavailable++;
          retryAfterMs = Math.max(backoffMs, Number(response.headers.get('retry-after') ?? 1) * 1000);
        } else if (response.status < 500) {
          throw new Error(`ingest refused a load batch: ${response.status} ${JSON.stringify(body)}`);
        }
      } catch (error) {
        if (error instanceof Error && error.message.startsWith('ingest refused')) throw error;
        // Connection refused or reset: the stack is down or restarting.
      }
      counters.retries++;
      await sleep(retryAfterMs);
      backoffMs = Math.min(backoffMs * 2, 5_000);
    }
  }

  const done = (async () => {
    const inFlight = new Set<Promise<void>>();
    const started = performance.now();
    const total = Math.round(options.rate * options.durationSeconds);
    for (let n = 0; n < total && offering; n += batchSize) {
      const due = started + (n / options.rate) * 1000;
      if (due > performance.now()) await sleep(due - performance.now());
      while (inFlight.size >= maxInFlight) await Promise.race(inFlight);
      const batch: Record<string, unknown>[] = [];
      for (let i = n; i < Math.min(n + batchSize, total); i++) {
        const now = Date.now();
        const probe = options.probeEverySeconds !== undefined && now - lastProbeAt >= options.probeEverySeconds * 1000;
        if (probe) lastProbeAt = now;
        batch.push(event(probe ? `${options.prefix}-probe-${probeCount++}` : `${options.prefix}-${i}`, i));
      }
      counters.offered += batch.length;
      const request = deliver(batch);
      inFlight.add(request);
      void request.finally(() => inFlight.delete(request));
    }
    await Promise.all(inFlight);
  })();

  return {
    counters,
    acknowledged,
    probes,
    done,
    stopOffering: () => {
      offering = false;
    },
  };
}
