// The whole local stack as `npm start` runs it, in this process: how long from start to the first event
// queryable in the lake, and the rate it sustains for 60 s with the consumers keeping up, beside the
// emulator's raw PutRecords ceiling (ingest-throughput).
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { startLocalStack, type LocalStack } from '../local/stack.js';
import { demoEvents } from './events.js';
import { figure, withLocalLake, type Figures, type Suite } from './harness.js';

const SUSTAIN_SECONDS = Number(process.env["BENCH_SUSTAIN_SECONDS"] ?? 60);
const TARGET_EVENTS_PER_S = Number(process.env["BENCH_RATE"] ?? 100);
const BATCH = 25;
const MAX_IN_FLIGHT = 8;

async function lakeCount(stack: LocalStack, prefix: string): Promise<number> {
  try {
    return await withLocalLake(stack.dataDir, stack.endpoints.lakeBucket, async (connection) => {
      const reader = await connection.runAndReadAll(`SELECT count(DISTINCT message_id) AS n FROM events WHERE message_id LIKE '${prefix}%'`);
      return Number(reader.getRowObjectsJS()[0]?.['n'] ?? 0);
    });
  } catch {
    return 0; // a Parquet object still being written: ask again
  }
}

async function post(stack: LocalStack, batch: unknown[]): Promise<number> {
  const response = await fetch(`${stack.endpoints.ingestUrl}/v1/batch`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Basic ${Buffer.from(`${stack.endpoints.writeKey}:`).toString('base64')}` },
    body: JSON.stringify({ batch }),
  });
  return response.ok ? ((await response.json()) as { accepted: number }).accepted : 0;
}

/** The consumers' worst iterator age: how old the last record each shard's consumer read was when read. */
const maxLagMs = (stack: LocalStack): number =>
  Math.max(0, ...stack.mappings.flatMap((m) => Object.values(m.stats().shards).map((s) => s.iteratorAgeMs ?? 0)));

export const localStack: Suite = {
  name: 'local-stack',
  async run(): Promise<Figures> {
    process.env['POWERTOOLS_LOG_LEVEL'] ??= 'ERROR';
    const dataDir = await mkdtemp(join(tmpdir(), 'bench-stack-'));
    const started = performance.now();
    const stack = await startLocalStack({ dataDir });
    try {
      const up = performance.now();
      const [first] = demoEvents(1).map((e) => ({ ...e, messageId: 'first-event' }));
      await post(stack, [first]);
      while ((await lakeCount(stack, 'first-event')) === 0) {
        if (performance.now() - started > 120_000) throw new Error('the first event was not queryable within 120 s');
        await sleep(250);
      }
      const queryable = performance.now();

      // Sustained: batches at the target rate for 60 s, then wait for the lake to hold them all.
      const events = demoEvents(TARGET_EVENTS_PER_S * SUSTAIN_SECONDS, { users: 5_000 }).map((e, i) => ({ ...e, messageId: `sustain-${i}` }));
      let accepted = 0;
      let worstLagMs = 0;
      const inFlight = new Set<Promise<void>>();
      const t0 = performance.now();
      for (let i = 0; i < events.length; i += BATCH) {
        const due = t0 + (i / TARGET_EVENTS_PER_S) * 1000;
        if (due > performance.now()) await sleep(due - performance.now());
        // Like many clients: requests overlap, up to a bound, rather than waiting for each other.
        if (inFlight.size >= MAX_IN_FLIGHT) await Promise.race(inFlight);
        const request = post(stack, events.slice(i, i + BATCH)).then((n) => {
          accepted += n;
        });
        inFlight.add(request);
        void request.finally(() => inFlight.delete(request));
        worstLagMs = Math.max(worstLagMs, maxLagMs(stack));
      }
      await Promise.all(inFlight);
      const sendSeconds = (performance.now() - t0) / 1000;
      const drainDeadline = performance.now() + 120_000;
      while ((await lakeCount(stack, 'sustain-')) < accepted && performance.now() < drainDeadline) await sleep(1_000);
      const drainSeconds = (performance.now() - t0) / 1000 - sendSeconds;
      const inLake = await lakeCount(stack, 'sustain-');
      return {
        'stack.seconds_to_start': figure((up - started) / 1000, 's'),
        'stack.seconds_start_to_first_event_queryable': figure((queryable - started) / 1000, 's'),
        'stack.sustained_events_per_s_60s': figure(accepted / sendSeconds, 'events/s', { target: `${TARGET_EVENTS_PER_S}/s offered; all ${accepted} accepted events in the lake within 120 s`, met: inLake === accepted }),
        'stack.sustained_worst_consumer_lag': figure(worstLagMs / 1000, 's'),
        'stack.sustained_drain_after_send': figure(drainSeconds, 's'),
      };
    } finally {
      await stack.stop();
      await rm(dataDir, { recursive: true, force: true });
    }
  },
};
