// Traffic that stops, on the local stack with the real Flink job: the silence becomes an alert (locally: the alerts
// file the dashboard reads) within two minutes of the last event. One stack per test file (a process loads the
// Lambda handlers once), so this is not in analytics-end-to-end.test.ts, whose backfill needs other settings.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLocalStack, type LocalStack } from '../../local/stack.js';
import { basicAuth } from './kinesis-records.js';

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

describe('live traffic that stops', () => {
  // A 3-minute silence window (2 baseline minutes) instead of 11, so the test fits in a few minutes.
  withStack({ 'silence.window.minutes': '3', 'silence.min-active-minutes': '2' });

  it.skipIf(!javaPresent)('alerts within two minutes when all traffic stops', { timeout: 420_000 }, async () => {
    // Live traffic, 2 events a second, for at least 2.5 minutes, stopped 45 s into a minute: that minute has about
    // 3/4 of the usual traffic, too little a change for a drop, so what reports it is the silence of the next one.
    const started = Date.now();
    let lastPost = started;
    for (let i = 0; Date.now() - started < 150_000 || new Date().getUTCSeconds() < 45; i++) {
      await post([{ type: 'page', name: 'Home', messageId: `silence-${i}`, anonymousId: `silence-visitor-${i % 20}`, context: { page: { url: 'https://shop.example.com/live', path: '/live' } } }]);
      lastPost = Date.now();
      await sleep(Math.max(0, started + (i + 1) * 500 - Date.now()));
    }
    const stoppedAt = lastPost;

    let silence: Record<string, unknown> | undefined;
    while (!silence && Date.now() - stoppedAt < 180_000) {
      await sleep(1_000);
      silence = readAlerts()
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
