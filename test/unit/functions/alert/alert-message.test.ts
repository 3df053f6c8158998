import { describe, expect, it } from 'vitest';
import { alertMessage, alertSubject, formatValue, MAX_SUBJECT_LENGTH } from '../../../../functions/alert/alert-message.js';
import { anomalyRow } from '../../../helpers/analytics.js';

describe('alert message', () => {
  it('says what happened in the subject: severity, metric, direction, observed vs expected, score', () => {
    expect(alertSubject(anomalyRow())).toBe('[CRITICAL] Events spike on all: 420 vs 100 expected (z +6.4)');
  });

  it('opens the body with a one-line summary, then every figure', () => {
    const { body, attributes, id } = alertMessage(anomalyRow());
    const [summary, , ...details] = body.split('\n');
    expect(summary).toBe('Events rose to 420 events/min (4.2x the usual 100) in the minute 10:05–10:06 UTC, 2026-11-22.');
    const text = details.join('\n');
    expect(text).toContain('Metric:     total_events (events/min)');
    expect(text).toContain('Dimension:  all');
    expect(text).toContain('Observed:   420');
    expect(text).toContain('Expected:   100 ± 50 (mean and spread of the previous 10 windows)');
    expect(text).toContain('Score:      +6.4 standard deviations (spike)');
    expect(text).toContain('Severity:   critical');
    expect(text).toContain('Window:     2026-11-22T10:05:00.000Z – 2026-11-22T10:06:00.000Z');
    expect(text).toContain(`Anomaly id: ${id}`);
    expect(attributes).toEqual({ severity: 'critical', metric: 'total_events', direction: 'spike' });
  });

  it('writes shares as percentages and names the page of a page_views anomaly', () => {
    expect(formatValue('bot_share', 0.4123)).toBe('41.2%');
    const drop = alertMessage(anomalyRow({ metric: 'page_views', dimension: 'shop.example.com/pricing', observed: 12, expected: 80.5, score: -3.2, direction: 'drop', severity: 'warning' }));
    expect(drop.subject).toBe('[WARNING] Page views drop on shop.example.com/pricing: 12 vs 80.5 expected (z -3.2)');
    expect(drop.body.split('\n')[0]).toBe('Page views on shop.example.com/pricing fell to 12 views/min (0.1x the usual 80.5) in the minute 10:05–10:06 UTC, 2026-11-22.');
  });

  it('says a silence is a stop, with the usual traffic, for a page or a track event', () => {
    const silence = alertMessage(anomalyRow({ metric: 'track_events', dimension: 'Order Completed', observed: 0, expected: 42.5, stddev: 6.52, score: -6.52, direction: 'silence', severity: 'warning' }));
    expect(silence.subject).toBe('[WARNING] Track events silence on Order Completed: 0 vs 42.5 expected (z -6.5)');
    expect(silence.body.split('\n')[0]).toBe('Track events on Order Completed stopped: none in the minute 10:05–10:06 UTC, 2026-11-22, usually 42.5 events/min.');
    expect(silence.attributes.direction).toBe('silence');
  });

  it('keeps the subject within SNS limits (100 printable ASCII characters) for any dimension', () => {
    const subject = alertSubject(anomalyRow({ metric: 'page_views', dimension: `shop.example.com/${'ü'.repeat(300)}` }));
    expect(subject.length).toBeLessThanOrEqual(MAX_SUBJECT_LENGTH);
    expect(subject).toMatch(/^[\x20-\x7e]+$/);
    expect(subject.endsWith('...')).toBe(true);
  });
});
