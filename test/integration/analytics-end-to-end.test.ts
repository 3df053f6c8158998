// Analytics end to end on the local stack with the real Flink job: events posted to ingest become 1-minute
// aggregates on the `aggregates` stream and in the lake, and a traffic spike becomes an anomaly that the alert
// consumer publishes (locally: the alerts file the dashboard reads). Traffic that stops: analytics-silence.test.ts.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLocalKinesisClient } from '../../local/kinesis/client.js';
import { startLocalStack, type LocalStack } from '../../local/stack.js';
import { basicAuth, readAllRecords } from './kinesis-records.js';

// CI installs a JDK and builds the job's jar (.ci/run): there this suite must run, never skip.
const javaPresent = process.env['CI'] === 'true' || spawnSync('java', ['-version']).status === 0;

let stack: LocalStack;
let dataDir: string;

const readAlerts = (): Record<string, unknown>[] => {
  const file = join(dataDir, 'alerts', 'alerts.jsonl');
  return existsSync(file) ? readFileSync(file, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>) : [];
};

/** A stack with the Flink job for the tests of one describe block. */
function withStack(analyticsProperties: Record<string, string>): void {
  beforeAll(async () => {
    if (!javaPresent) return;
    dataDir = mkdtempSync(join(tmpdir(), 'clickstream-analytics-'));
    process.env['POWERTOOLS_LOG_LEVEL'] ??= 'WARN';
    stack = await startLocalStack({ dataDir, analytics: true, analyticsProperties, log: () => undefined });
    if (!stack.analytics.running) throw new Error(stack.analytics.reason);
  }, 300_000);

  afterAll(async () => {
    await stack?.stop();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });
}

async function post(batch: unknown[]): Promise<void> {
  for (let i = 0; i < batch.length; i += 200) {
    const response = await fetch(`${stack.endpoints.ingestUrl}/v1/batch`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: basicAuth(stack.endpoints.writeKey) },
      body: JSON.stringify({ batch: batch.slice(i, i + 200) }),
    });
    expect(response.status).toBe(200);
  }
}

describe('backdated traffic', () => {
  // Events of the last 14 minutes, posted at once: a backfill. With the default idle timeout, a quiet stream lets
  // the wall clock close their windows before they come; source.idle-timeout=0 ms keeps event time alone.
  withStack({ 'source.idle-timeout': '0 ms' });

  it.skipIf(!javaPresent)('turns posted events into aggregates, and a spike into an alert', { timeout: 300_000 }, async () => {
    // Ten calm minutes of event time, then a minute with seven times the traffic, then one event now that
    // moves the watermark past them. One anonymousId keeps every event on one shard, in order: the job's
    // Kinesis source keeps one watermark per reader, not per shard (analytics/flink/README.md).
    const firstMinute = Math.floor((Date.now() - 14 * 60_000) / 60_000) * 60_000;
    const perMinute = (minute: number) => (minute === 10 ? 210 : 30);
    const events: Record<string, unknown>[] = [];
    for (let minute = 0; minute <= 10; minute++) {
      for (let j = 0; j < perMinute(minute); j++) {
        events.push({
          type: 'page',
          name: 'Home',
          messageId: `analytics-${minute}-${j}`,
          anonymousId: 'analytics-visitor',
          timestamp: new Date(firstMinute + minute * 60_000 + Math.floor((j * 60_000) / perMinute(minute))).toISOString(),
          context: { page: { url: 'https://shop.example.com/', path: '/' } },
        });
      }
    }
    events.push({ type: 'page', name: 'Home', messageId: 'analytics-now', anonymousId: 'analytics-visitor' });
    await post(events);

    const spikeWindow = new Date(firstMinute + 10 * 60_000).toISOString();
    const kinesis = createLocalKinesisClient(stack.endpoints.kinesis);
    try {
      const deadline = Date.now() + 240_000;
      let totals: Record<string, unknown>[] = [];
      let alerts: Record<string, unknown>[] = [];
      while (Date.now() < deadline) {
        totals = (await readAllRecords(kinesis, stack.endpoints.streams.aggregates)).map((r) => r.data).filter((row) => row['kind'] === 'total_minute');
        alerts = readAlerts();
        if (totals.some((row) => row['window_start'] === spikeWindow) && JSON.stringify(alerts).includes(spikeWindow)) break;
        await sleep(2_000);
      }
      const byWindow = Object.fromEntries(totals.map((row) => [row['window_start'], row['events']]));
      expect(byWindow[new Date(firstMinute).toISOString()]).toBe(30);
      expect(byWindow[spikeWindow]).toBe(210);
      // The alert consumer published the spike of total events in that window (and nothing for calm minutes).
      const spikeAlerts = alerts.filter((a) => JSON.stringify(a).includes(spikeWindow));
      expect(JSON.stringify(spikeAlerts)).toContain('total_events');
      expect(alerts.every((a) => !JSON.stringify(a).includes(new Date(firstMinute + 6 * 60_000).toISOString()))).toBe(true);
    } finally {
      kinesis.destroy();
    }
  });

});
