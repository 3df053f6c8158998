import { appendFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { AlertsFileReader } from '../../../dashboard/alerts-file.js';
import { FlinkOutputs } from '../../../dashboard/flink-outputs.js';

const NOW = Date.parse('2026-11-22T10:30:20.000Z');
const minute = (ago: number) => new Date(Date.parse('2026-11-22T10:30:00.000Z') - ago * 60_000).toISOString();
const anomaly = (id: string, ago: number) => ({
  id: id.padEnd(32, '0'),
  metric: 'total_events',
  dimension: 'all',
  window_start: minute(ago),
  window_end: minute(ago - 1),
  observed: 90,
  expected: 30,
  stddev: 5.5,
  score: 10.9,
  direction: 'spike',
  severity: 'critical',
  baseline_windows: 10,
});

describe('FlinkOutputs', () => {
  it('keeps the last hour of total_minute rows, a replayed window replacing the earlier row', () => {
    const outputs = new FlinkOutputs();
    const total = (ago: number, events: number) => JSON.stringify({ kind: 'total_minute', window_start: minute(ago), window_end: minute(ago - 1), events, unique_visitors: 3 });
    for (const text of [total(61, 1), total(2, 10), total(1, 20), total(2, 12), 'not json', JSON.stringify({ kind: 'session' })]) outputs.addAggregate(text, NOW);
    expect(outputs.totalsSeries(NOW)).toEqual([
      { t: Date.parse(minute(2)) / 1000, events: 12, visitors: 3 },
      { t: Date.parse(minute(1)) / 1000, events: 20, visitors: 3 },
    ]);
    expect(outputs.aggregateRows).toBe(4);
    expect(outputs.invalidRows).toBe(2);
  });

  it('shows the open minute from its newest total_live row until the minute has its total_minute row', () => {
    const outputs = new FlinkOutputs();
    const live = (start: string, upTo: string, events: number) => JSON.stringify({ kind: 'total_live', window_start: start, window_end: upTo, events, unique_visitors: 2 });
    expect(outputs.liveFigure(NOW)).toBeNull();
    // Rows of one minute may come out of order (several sink writers): the one that counts the most wins.
    for (const text of [live(minute(0), '2026-11-22T10:30:05.000Z', 7), live(minute(0), '2026-11-22T10:30:04.000Z', 5), live(minute(1), '2026-11-22T10:30:00.000Z', 90)]) outputs.addAggregate(text, NOW);
    expect(outputs.liveFigure(NOW)).toEqual({ minuteStart: minute(0), upTo: '2026-11-22T10:30:05.000Z', events: 7, visitors: 2 });
    outputs.addAggregate(JSON.stringify({ kind: 'total_minute', window_start: minute(0), window_end: minute(-1), events: 60 }), NOW);
    expect(outputs.liveFigure(NOW), 'the minute is final').toBeNull();
  });

  it('sums page_minute rows into top pages', () => {
    const outputs = new FlinkOutputs();
    const pageRow = (ago: number, path: string, views: number) => JSON.stringify({ kind: 'page_minute', window_start: minute(ago), page_path: path, page_views: views });
    for (const text of [pageRow(3, '/a', 2), pageRow(2, '/a', 3), pageRow(2, '/b', 4), pageRow(90, '/old', 100)]) outputs.addAggregate(text, NOW);
    expect(outputs.topPages(10, NOW)).toEqual([
      { page: '/a', views: 5 },
      { page: '/b', views: 4 },
    ]);
  });

  it('counts an anomaly seen in the stream and in the alerts file once, newest first', () => {
    const outputs = new FlinkOutputs();
    outputs.addAnomaly(anomaly('a', 5), 'stream');
    outputs.addAnomaly(anomaly('a', 5), 'alerts');
    outputs.addAnomaly(anomaly('b', 1), 'alerts');
    outputs.addAnomaly(anomaly('b', 1), 'stream'); // the alerts file can be read before the stream
    outputs.addAnomaly(anomaly('c', 2), 'alerts');
    expect(outputs.addAnomaly({ id: 'x' }, 'alerts')).toBe(false);
    expect(outputs.anomalyList(10).map((a) => [a.id[0], a.sources])).toEqual([
      ['b', ['alerts', 'stream']],
      ['c', ['alerts']],
      ['a', ['alerts', 'stream']],
    ]);
    expect(outputs.anomalyRows).toBe(2);
  });
});

describe('AlertsFileReader', () => {
  let dir: string | undefined;
  afterEach(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('tolerates a missing directory, reads what was appended since the last call, and waits for a half-written line', () => {
    dir = mkdtempSync(join(tmpdir(), 'alerts-'));
    const alerts = join(dir, 'alerts');
    const reader = new AlertsFileReader(alerts);
    expect(reader.present).toBe(false);
    expect(reader.readNew()).toEqual([]);

    mkdirSync(alerts);
    const file = join(alerts, 'anomaly-alerts.jsonl');
    writeFileSync(file, `${JSON.stringify(anomaly('a', 3))}\n${JSON.stringify({ Subject: 'x', Message: JSON.stringify(anomaly('b', 2)) })}\n{"anomaly": {"id": "c`);
    expect(reader.readNew().map((a) => (a as { id: string }).id[0])).toEqual(['a', 'b']);
    appendFileSync(file, `${'0'.repeat(31)}"}}\nnot json\n`);
    expect(reader.readNew()).toEqual([{ id: `c${'0'.repeat(31)}` }]);
    expect(reader.unreadable).toBe(1);
    expect(reader.readNew()).toEqual([]);
  });
});
