// Rows of the Flink job's output streams (schemas/aggregates, schemas/anomalies), for the alert consumer and
// the lake transform.
import { createHash } from 'node:crypto';
import type { AggregateRow, AnomalyRow } from '../../schemas/index.js';

export const ANOMALIES_STREAM_ARN = 'arn:aws:kinesis:us-east-1:123456789012:stream/clickstream-dev-anomalies';
export const AGGREGATES_DELIVERY_STREAM_ARN = 'arn:aws:firehose:us-east-1:123456789012:deliverystream/clickstream-dev-aggregates';
export const ANOMALIES_DELIVERY_STREAM_ARN = 'arn:aws:firehose:us-east-1:123456789012:deliverystream/clickstream-dev-anomalies';

/** A spike of total_events at 10:05, with its id derived as the job derives it (MD5 of metric|dimension|window_start). */
export function anomalyRow(overrides: Partial<AnomalyRow> = {}): AnomalyRow {
  const row: AnomalyRow = {
    id: '',
    metric: 'total_events',
    dimension: 'all',
    window_start: '2026-11-22T10:05:00.000Z',
    window_end: '2026-11-22T10:06:00.000Z',
    observed: 420,
    expected: 100,
    stddev: 50,
    score: 6.4,
    direction: 'spike',
    severity: 'critical',
    baseline_windows: 10,
    ...overrides,
  };
  if (!overrides.id) row.id = createHash('md5').update(`${row.metric}|${row.dimension}|${row.window_start}`).digest('hex');
  return row;
}

/** A total_minute aggregate row: every dimension null, as the job writes it. */
export function aggregateRow(overrides: Partial<AggregateRow> = {}): AggregateRow {
  return {
    kind: 'total_minute',
    window_start: '2026-11-22T23:59:00.000Z',
    window_end: '2026-11-23T00:00:00.000Z',
    page_host: null,
    page_path: null,
    referrer_host: null,
    utm_source: null,
    device_type: null,
    visitor_id: null,
    events: 120,
    page_views: 60,
    screen_views: 0,
    track_events: 50,
    other_events: 10,
    bot_events: 3,
    error_events: 1,
    unique_visitors: 40,
    sessions_started: 7,
    duration_seconds: null,
    entry_page: null,
    exit_page: null,
    ...overrides,
  };
}
