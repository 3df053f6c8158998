// An anomaly row (schemas/anomalies) as a message a person reads: a subject that fits SNS's 100
// characters and an e-mail client's list view, a one-line summary, then every figure with its meaning.
import type { AnomalyRow } from '../../schemas/index.js';

export interface AlertMessage {
  /** The anomaly's id: the dedup key, and the PublishBatch entry id. */
  id: string;
  subject: string;
  body: string;
  /** For SNS subscription filter policies (e.g. only critical alerts to a pager). */
  attributes: { severity: AnomalyRow['severity']; metric: AnomalyRow['metric']; direction: AnomalyRow['direction'] };
  anomaly: AnomalyRow;
}

/** SNS: at most 100 printable ASCII characters, no line break. */
export const MAX_SUBJECT_LENGTH = 100;

const METRICS: Record<AnomalyRow['metric'], { label: string; unit: string; ratio: boolean }> = {
  total_events: { label: 'Events', unit: 'events/min', ratio: false },
  error_events: { label: 'Error events', unit: 'errors/min', ratio: false },
  bot_share: { label: 'Bot share', unit: 'of events', ratio: true },
  page_views: { label: 'Page views', unit: 'views/min', ratio: false },
  track_events: { label: 'Track events', unit: 'events/min', ratio: false },
};

const round = (n: number, digits: number): string => {
  const text = n.toFixed(digits);
  return digits > 0 ? text.replace(/\.?0+$/, '') : text;
};

/** A metric value as people read it: a share in percent, a count with at most one decimal. */
export function formatValue(metric: AnomalyRow['metric'], value: number): string {
  return METRICS[metric].ratio ? `${round(value * 100, 1)}%` : round(value, Math.abs(value) >= 100 ? 0 : 1);
}

const signed = (n: number, digits = 1): string => `${n >= 0 ? '+' : '−'}${round(Math.abs(n), digits)}`;

/** "10:05–10:06 UTC, 2026-11-22" for a window within one day, else both ends in full. */
function windowText(start: string, end: string): string {
  const [startDay, startTime] = [start.slice(0, 10), start.slice(11, 16)];
  const [endDay, endTime] = [end.slice(0, 10), end.slice(11, 16)];
  return startDay === endDay
    ? `${startTime}–${endTime} UTC, ${startDay}`
    : `${startDay} ${startTime} – ${endDay} ${endTime} UTC`;
}

const asciiOnly = (text: string): string => text.replace(/[–−]/g, '-').replace(/[^\x20-\x7e]/g, '?');

/** "[CRITICAL] Events spike on all: 420 vs 100 expected (z +6.4)", cut to 100 ASCII characters. */
export function alertSubject(a: AnomalyRow): string {
  const subject = asciiOnly(
    `[${a.severity.toUpperCase()}] ${METRICS[a.metric].label} ${a.direction} on ${a.dimension}: ` +
      `${formatValue(a.metric, a.observed)} vs ${formatValue(a.metric, a.expected)} expected (z ${signed(a.score)})`,
  );
  return subject.length <= MAX_SUBJECT_LENGTH ? subject : `${subject.slice(0, MAX_SUBJECT_LENGTH - 3)}...`;
}

/** The one-line human summary that opens the body. */
export function alertSummary(a: AnomalyRow): string {
  const m = METRICS[a.metric];
  const where = a.dimension === 'all' ? '' : ` on ${a.dimension}`;
  if (a.direction === 'silence') {
    return `${m.label}${where} stopped: none in the minute ${windowText(a.window_start, a.window_end)}, usually ${formatValue(a.metric, a.expected)} ${m.unit}.`;
  }
  const verb = a.direction === 'spike' ? 'rose to' : 'fell to';
  const factor = a.expected > 0 ? ` (${round(a.observed / a.expected, 1)}x the usual ${formatValue(a.metric, a.expected)})` : '';
  return `${m.label}${where} ${verb} ${formatValue(a.metric, a.observed)} ${m.unit}${factor} in the minute ${windowText(a.window_start, a.window_end)}.`;
}

export function alertMessage(a: AnomalyRow): AlertMessage {
  const m = METRICS[a.metric];
  const body = [
    alertSummary(a),
    '',
    `Metric:     ${a.metric} (${m.unit})`,
    `Dimension:  ${a.dimension}`,
    `Observed:   ${formatValue(a.metric, a.observed)}`,
    `Expected:   ${formatValue(a.metric, a.expected)} ± ${formatValue(a.metric, a.stddev)} (mean and spread of the previous ${a.baseline_windows} windows)`,
    `Score:      ${signed(a.score, 2)} standard deviations (${a.direction})`,
    `Severity:   ${a.severity}`,
    `Window:     ${a.window_start} – ${a.window_end}`,
    `Anomaly id: ${a.id}`,
    '',
    'Source: the clickstream Flink job (analytics/flink), table `anomalies` in the lake.',
  ].join('\n');
  return { id: a.id, subject: alertSubject(a), body, attributes: { severity: a.severity, metric: a.metric, direction: a.direction }, anomaly: a };
}
