// Traffic that stops, on the local stack with the real Flink job: the silence becomes an alert (locally: the alerts
// file the dashboard reads) within two minutes of the last event. One stack per test file (a process loads the
// Lambda handlers once), so this is not in analytics-end-to-end.test.ts, whose backfill needs other settings.
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { javaPresent, withAnalyticsStack } from './analytics-stack.js';

describe('live traffic that stops', () => {
  // A 3-minute silence window (2 baseline minutes) instead of 11, so the test fits in a few minutes.
  const analytics = withAnalyticsStack({ 'silence.window.minutes': '3', 'silence.min-active-minutes': '2' });

  it.skipIf(!javaPresent)('alerts within two minutes when all traffic stops', { timeout: 420_000 }, async () => {
    // Live traffic, 2 events a second, for at least 2.5 minutes, stopped 45 s into a minute: that minute has about
    // 3/4 of the usual traffic, too little a change for a drop, so what reports it is the silence of the next one.
    const started = Date.now();
    let lastPost = started;
    for (let i = 0; Date.now() - started < 150_000 || new Date().getUTCSeconds() < 45; i++) {
      await analytics.post([{ type: 'page', name: 'Home', messageId: `silence-${i}`, anonymousId: `silence-visitor-${i % 20}`, context: { page: { url: 'https://shop.example.com/live', path: '/live' } } }]);
      lastPost = Date.now();
      await sleep(Math.max(0, started + (i + 1) * 500 - Date.now()));
    }
    const stoppedAt = lastPost;

    let silence: Record<string, unknown> | undefined;
    while (!silence && Date.now() - stoppedAt < 180_000) {
      await sleep(1_000);
      silence = analytics.readAlerts()
        .map((alert) => (alert['anomaly'] ?? alert) as Record<string, unknown>)
        .find((a) => a['direction'] === 'silence' && a['metric'] === 'total_events' && Date.parse(String(a['window_start'])) > stoppedAt - 60_000);
    }
    const seenAfterMs = Date.now() - stoppedAt;
    console.log(`silence alert for total_events in the alerts file ${(seenAfterMs / 1000).toFixed(1)} s after the last event`);
    expect(silence, 'a silence alert for total_events').toBeDefined();
    expect(seenAfterMs, `the alert came ${Math.round(seenAfterMs / 1000)} s after the last event`).toBeLessThanOrEqual(120_000);
    // The silent minute is the one after the last event's.
    expect(silence!['window_start']).toBe(new Date(Math.floor(stoppedAt / 60_000) * 60_000 + 60_000).toISOString());
    expect(silence!['severity']).toBe('critical');
    expect(silence!['expected'] as number).toBeGreaterThanOrEqual(20);
  });
});
