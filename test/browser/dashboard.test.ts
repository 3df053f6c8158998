// The dashboard in a real Chromium against the real local stack: events posted through ingest reach the
// lake and show up in the charts, top pages and health panel (from the lake, while there are no Flink
// aggregates); an anomaly on the anomalies stream and in the alerts file shows once in the timeline; Flink
// aggregates, once they arrive, replace the lake as the source of the per-minute charts. Saves
// test-artifacts/dashboard.png.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PutRecordsCommand, type KinesisClient } from '@aws-sdk/client-kinesis';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPipelineMonitor, type PipelineMonitor } from '../../dashboard/monitor.js';
import { startDashboardServer, type DashboardServer } from '../../dashboard/server.js';
import type { DashboardSnapshot } from '../../dashboard/snapshot.js';
import { createLocalKinesisClient } from '../../local/kinesis/client.js';
import { REPOSITORY_ROOT, startLocalStack, type LocalStack } from '../../local/stack.js';
import { launchChromium, skipWithoutChromium } from './chromium.js';

const ARTIFACTS = join(REPOSITORY_ROOT, 'test-artifacts');
const minuteIso = (ms: number) => new Date(Math.floor(ms / 60_000) * 60_000).toISOString();

describe.skipIf(skipWithoutChromium())('dashboard (Chromium, local stack)', () => {
  let dataDir: string;
  let stack: LocalStack;
  let kinesis: KinesisClient;
  let monitor: PipelineMonitor;
  let dashboard: DashboardServer;
  let browser: Browser;

  beforeAll(async () => {
    process.env['POWERTOOLS_LOG_LEVEL'] ??= 'WARN';
    const launched = launchChromium(); // alongside the stack's start; awaited (and its failure reported) below
    launched.catch(() => undefined);
    dataDir = mkdtempSync(join(tmpdir(), 'clickstream-dashboard-'));
    // Short buffers and ticks, so the lake shows events within seconds.
    stack = await startLocalStack({ dataDir, firehose: { bufferIntervalMs: 1_000 } });
    kinesis = createLocalKinesisClient(stack.endpoints.kinesis);
    monitor = startPipelineMonitor({ stack, kinesis, lakeRefreshMs: 1_000, tailPollMs: 250, logger: { warn: () => undefined } });
    dashboard = await startDashboardServer({ monitor, pushIntervalMs: 500 });
    browser = await launched;
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await dashboard?.close();
    await monitor?.stop();
    kinesis?.destroy();
    await stack?.stop();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  async function post(batch: object[]): Promise<{ accepted: number }> {
    const response = await fetch(`${stack.endpoints.ingestUrl}/v1/batch`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Basic ${Buffer.from(`${stack.endpoints.writeKey}:`).toString('base64')}` },
      body: JSON.stringify({ batch }),
    });
    expect(response.status).toBe(200);
    return (await response.json()) as { accepted: number };
  }

  const CHROME = 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36';
  // Each visitor's IP, as its browser would send it: London, Germany, Tokyo.
  const IPS: Record<string, string> = { 'anon-1': '81.2.69.142', 'anon-2': '91.10.20.30', 'anon-3': '126.10.20.30' };
  const page = (visitor: string, path: string) => ({
    type: 'page',
    anonymousId: visitor,
    name: path,
    properties: { path },
    context: { page: { url: `https://shop.example${path}`, path }, userAgent: CHROME, ...(IPS[visitor] ? { ip: IPS[visitor] } : {}) },
  });

  async function putRows(streamName: string, rows: object[]): Promise<void> {
    const answer = await kinesis.send(
      new PutRecordsCommand({ StreamName: streamName, Records: rows.map((row, i) => ({ Data: Buffer.from(JSON.stringify(row)), PartitionKey: `k${i}` })) }),
    );
    expect(answer.FailedRecordCount ?? 0).toBe(0);
  }

  /** Waits until the page satisfies a condition (a JavaScript expression in the page: this file has no DOM lib). */
  const until = (p: Page, expression: string, timeout = 30_000) => p.waitForFunction(expression, undefined, { timeout, polling: 250 });
  const text = (p: Page, selector: string) => p.locator(selector).innerText();
  /** The text as written, before CSS (the source badges are upper-cased). */
  const rawText = (p: Page, selector: string) => p.locator(selector).textContent();

  it('shows the posted events, top pages, anomalies and health, live, and switches to Flink aggregates when they exist', { timeout: 90_000 }, async () => {
    // Prepare: the page, open before any data exists.
    const context = await browser.newContext({ viewport: { width: 1400, height: 1000 }, deviceScaleFactor: 1 });
    const tab = await context.newPage();
    const pageErrors: string[] = [];
    tab.on('pageerror', (error) => pageErrors.push(error.message));
    await tab.goto(dashboard.url);
    await until(tab, `document.getElementById('connection').dataset.state === 'live'`);

    // Act: events through ingest (one of them fails its schema at enrich: a bad row), an anomaly on the stream,
    // the same anomaly and another one in the alerts file, as an SNS-shaped line and as a bare row.
    const answer = await post([
      page('anon-1', '/'),
      page('anon-1', '/pricing'),
      page('anon-2', '/pricing'),
      page('anon-3', '/pricing'),
      page('anon-3', '/docs'),
      // From a cloud provider's network with a browser's user agent: a data-centre bot.
      { type: 'track', anonymousId: 'anon-2', event: 'Signup Started', properties: { plan: 'pro' }, context: { ip: '52.95.110.1', userAgent: CHROME } },
      { type: 'track', anonymousId: 'anon-4', properties: { note: 'no event name: a bad row at enrich' } },
      // A visitor who orders anonymously (revenue as text: the Order Completed plan flags it), then signs in:
      // the identities table links anon-5 to user-5, and the anonymous order is stitched to them.
      { type: 'track', anonymousId: 'anon-5', event: 'Order Completed', properties: { order_id: 'o-1', revenue: '49.00', currency: 'USD' }, context: { userAgent: CHROME } },
      { type: 'identify', anonymousId: 'anon-5', userId: 'user-5', traits: { plan: 'pro' }, context: { userAgent: CHROME } },
    ]);
    expect(answer.accepted).toBe(9);
    const now = Date.now();
    const anomaly = (id: string, metric: string, minutesAgo: number, severity: 'warning' | 'critical', score: number) => ({
      id: id.padEnd(32, '0'),
      metric,
      dimension: metric === 'page_views' ? 'shop.example/pricing' : 'all',
      window_start: minuteIso(now - minutesAgo * 60_000),
      window_end: minuteIso(now - (minutesAgo - 1) * 60_000),
      observed: 120,
      expected: 25.5,
      stddev: 5.05,
      score,
      direction: 'spike',
      severity,
      baseline_windows: 10,
    });
    const spike = anomaly('a1', 'total_events', 4, 'critical', 18.7);
    await putRows(stack.endpoints.streams.anomalies, [spike]);
    mkdirSync(join(dataDir, 'alerts'), { recursive: true });
    writeFileSync(
      join(dataDir, 'alerts', 'alerts.jsonl'),
      `${JSON.stringify({ Subject: 'spike', Message: JSON.stringify(spike) })}\n${JSON.stringify(anomaly('b2', 'page_views', 2, 'warning', 3.4))}\n{"half": "a line still being writ`,
    );

    // Assess: charts with points, top pages, anomalies, health figures, all from the lake and the monitor.
    await until(tab, `Number(document.querySelector('[data-chart=events]').dataset.points) > 0 && Number(document.querySelector('[data-chart=visitors]').dataset.points) > 0`);
    await until(tab, `document.querySelectorAll('#top-pages li .name').length === 3 && document.querySelector('[data-chart=anomalies]').dataset.points === '2'`);
    // Both anomalies from the file, and the one on the stream read too (in whichever order the two arrive).
    await until(tab, `document.querySelector('[data-field=anomaly-rows]').textContent === '1'`);
    await until(tab, `document.querySelector('[data-field=bad-rows]').textContent === '1' && document.getElementById('kpi-events').textContent === '8'`);
    expect(await rawText(tab, '#traffic-source')).toBe('Lake (DuckDB)');
    expect(await tab.locator('#top-pages li .name').allInnerTexts()).toEqual(['/pricing', '/', '/docs']);
    expect(await text(tab, '#top-pages li:first-child .count')).toBe('3 views · 3 visitors');
    expect(await text(tab, '#top-pages li:last-child .count')).toBe('1 view · 1 visitor');
    expect(await text(tab, '#kpi-visitors')).toBe('4'); // anon-4's event is a bad row, not in the lake
    // People by the country of their IP (most visitors, then events, then the code), bots by reason.
    expect(await tab.locator('#countries li .name').allInnerTexts()).toEqual(['United Kingdom (GB)', 'Japan (JP)', 'Germany (DE)']);
    expect(await text(tab, '#countries li:first-child .count')).toBe('1 visitor · 2 events');
    expect(await text(tab, '[data-field=bots-data_centre]')).toBe('1 (1)');
    expect(await text(tab, '[data-field=bots-user_agent]')).toBe('0');
    expect(await text(tab, '#countries-source')).toMatch(/lake/i);
    // The flagged order, and the stitched user (the identities delivery stream lands a few seconds after the events).
    expect(await text(tab, '[data-field=flagged]')).toBe('1');
    expect(await tab.locator('#violations li .name').allInnerTexts()).toEqual(['Order Completed · properties.revenue: must be number']);
    await until(tab, `document.querySelector('[data-field=identity-users]').textContent === '1'`);
    expect(await text(tab, '[data-field=identity-devices]')).toBe('1');
    expect(await text(tab, '[data-field=identity-shared]')).toBe('0');
    expect(await text(tab, '[data-field=identity-stitched]')).toBe('1 of 7');
    expect(await text(tab, '#identities-source')).toMatch(/lake/i);
    expect(await tab.locator('#chart-events canvas').count()).toBe(1);
    expect(await tab.locator('#anomaly-rows tr').count()).toBe(2);
    expect(await text(tab, '#anomaly-rows tr:first-child')).toContain('page_views');
    expect(await text(tab, '#anomaly-rows tr:last-child')).toMatch(/total_events[\s\S]*18\.7[\s\S]*critical ↑[\s\S]*alerts, stream/);
    expect(Number(await text(tab, '[data-field=lake-files]'))).toBeGreaterThan(0);
    expect(await text(tab, '[data-field=lake-bytes]')).toMatch(/^\d+(\.\d)? (B|KB)$/);
    expect(await text(tab, '[data-field=dlq]')).toBe('0');
    expect(await text(tab, '#consumer-rows')).toMatch(/enrich λ ← events-raw\s+(idle|\d[\d.]* (ms|s))\s+\d+ ms\s+9\n/);
    mkdirSync(ARTIFACTS, { recursive: true });
    await tab.screenshot({ path: join(ARTIFACTS, 'dashboard.png'), fullPage: true });

    // Act: the Flink job's first 1-minute windows arrive.
    const minute = (ago: number, events: number, visitors: number) => ({
      kind: 'total_minute',
      window_start: minuteIso(now - ago * 60_000),
      window_end: minuteIso(now - (ago - 1) * 60_000),
      events,
      unique_visitors: visitors,
    });
    await putRows(stack.endpoints.streams.aggregates, [
      minute(3, 40, 7),
      minute(2, 55, 9),
      { kind: 'page_minute', window_start: minuteIso(now - 2 * 60_000), window_end: minuteIso(now - 60_000), page_host: 'shop.example', page_path: '/checkout', page_views: 30 },
    ]);

    // Assess: the charts say they now show the aggregates, and so does the snapshot.
    // The three rows may sit on different shards, so they can arrive in any order.
    await until(
      tab,
      `document.getElementById('traffic-source').dataset.source === 'aggregates' && document.querySelector('[data-chart=events]').dataset.points === '2' && document.getElementById('pages-source').dataset.source === 'aggregates'`,
    );
    expect(await rawText(tab, '#pages-source')).toBe('Flink aggregates');
    expect(await tab.locator('#top-pages li .name').allInnerTexts()).toEqual(['/checkout']);
    const snapshot = (await (await fetch(`${dashboard.url}/api/snapshot`)).json()) as DashboardSnapshot;
    expect(snapshot.traffic).toMatchObject({ source: 'aggregates', minutes: [{ events: 40, visitors: 7 }, { events: 55, visitors: 9 }] });
    expect(snapshot.health).toMatchObject({ aggregates: 3, anomalies: 1, badRows: 1, deadLetters: 0 });
    expect(snapshot.anomalies.total).toBe(2);
    expect(pageErrors).toEqual([]);
    await context.close();
  });
});
