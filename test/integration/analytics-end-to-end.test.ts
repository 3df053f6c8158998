// Analytics end to end on the local stack with the real Flink job: events posted to ingest become 1-minute
// aggregates on the `aggregates` stream and in the lake, and a traffic spike becomes an anomaly that the alert
// consumer publishes (locally: the alerts file the dashboard reads). Traffic that stops: analytics-silence.test.ts.
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { createLocalKinesisClient } from '../../local/kinesis/client.js';
import { readAllRecords } from './kinesis-records.js';
import { javaPresent, withAnalyticsStack } from './analytics-stack.js';

describe('backdated traffic', () => {
  // Events of the last 14 minutes, posted at once: a backfill. With the default idle timeout, a quiet stream lets
  // the wall clock close their windows before they come; source.idle-timeout=0 ms keeps event time alone.
  const analytics = withAnalyticsStack({ 'source.idle-timeout': '0 ms' });

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
    await analytics.post(events);

    const spikeWindow = new Date(firstMinute + 10 * 60_000).toISOString();
    const kinesis = createLocalKinesisClient(analytics.stack.endpoints.kinesis);
    try {
      const deadline = Date.now() + 240_000;
      let totals: Record<string, unknown>[] = [];
      let alerts: Record<string, unknown>[] = [];
      while (Date.now() < deadline) {
        totals = (await readAllRecords(kinesis, analytics.stack.endpoints.streams.aggregates)).map((r) => r.data).filter((row) => row['kind'] === 'total_minute');
        alerts = analytics.readAlerts();
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
