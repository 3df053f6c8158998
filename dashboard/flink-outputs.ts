// What the dashboard keeps of the Flink job's outputs (schemas/aggregates/1-0-0.json, schemas/anomalies/1-0-0.json):
// the 1-minute totals and page counts of the last hour, and the anomalies, deduplicated by their id (a replayed
// stream or the same anomaly from the stream and the alerts file counts once). Rows are checked only for
// the fields the dashboard reads, so a newer minor schema version still shows.
import type { AggregateRow, AnomalyRow, LiveFigure } from './snapshot.js';

export interface MinutePoint {
  /** Start of the minute, epoch seconds. */
  t: number;
  events: number;
  visitors: number | null;
}

const MINUTE_MS = 60_000;

export class FlinkOutputs {
  /** total_minute rows by window start (epoch ms): a replayed window replaces the earlier row. */
  private readonly totals = new Map<number, { events: number; visitors: number | null }>();
  /** page_minute rows by window start, then page. */
  private readonly pages = new Map<number, Map<string, number>>();
  private readonly anomalies = new Map<string, AnomalyRow & { sources: Set<string> }>();
  /** The total_live row that counts the most of the newest minute. */
  private live: LiveFigure | undefined;
  aggregateRows = 0;
  anomalyRows = 0;
  invalidRows = 0;

  constructor(
    private readonly retentionMs = 60 * MINUTE_MS,
    private readonly maxAnomalies = 200,
  ) {}

  /** One record of the aggregates stream (its JSON text). */
  addAggregate(text: string, now = Date.now()): void {
    const row = parseObject(text) as Partial<AggregateRow> | undefined;
    const start = row ? Date.parse(String(row.window_start)) : Number.NaN;
    if (!row || typeof row.kind !== 'string' || !Number.isFinite(start)) {
      this.invalidRows++;
      return;
    }
    this.aggregateRows++;
    if (start < now - this.retentionMs) return;
    if (row.kind === 'total_live' && typeof row.window_end === 'string') {
      const { live } = this;
      const minuteStart = String(row.window_start);
      if (!live || minuteStart > live.minuteStart || (minuteStart === live.minuteStart && row.window_end > live.upTo)) {
        this.live = { minuteStart, upTo: row.window_end, events: row.events ?? 0, visitors: row.unique_visitors ?? null };
      }
    } else if (row.kind === 'total_minute') {
      this.totals.set(start, { events: row.events ?? 0, visitors: row.unique_visitors ?? null });
    } else if (row.kind === 'page_minute' && row.page_path) {
      const minute = this.pages.get(start) ?? new Map<string, number>();
      minute.set(row.page_path, row.page_views ?? 0);
      this.pages.set(start, minute);
    }
    this.prune(now);
  }

  /** One anomaly, from the anomalies stream or the alerts file; `source` names where it was seen. */
  addAnomaly(value: unknown, source: string): boolean {
    const row = asAnomaly(value);
    if (!row) {
      this.invalidRows++;
      return false;
    }
    // Rows read from the stream, whichever source showed the anomaly first.
    if (source === 'stream') this.anomalyRows++;
    const known = this.anomalies.get(row.id);
    if (known) {
      known.sources.add(source);
      return true;
    }
    this.anomalies.set(row.id, { ...row, sources: new Set([source]) });
    if (this.anomalies.size > this.maxAnomalies) {
      const oldest = [...this.anomalies.values()].sort((a, b) => a.window_start.localeCompare(b.window_start))[0]!;
      this.anomalies.delete(oldest.id);
    }
    return true;
  }

  /** Minutes with a total_minute row in the retention window, oldest first. */
  totalsSeries(now = Date.now()): MinutePoint[] {
    this.prune(now);
    return [...this.totals.entries()].sort(([a], [b]) => a - b).map(([start, v]) => ({ t: start / 1000, events: v.events, visitors: v.visitors }));
  }

  /** The open minute so far (newest total_live row), unless its minute already has its total_minute row or is old. */
  liveFigure(now = Date.now()): LiveFigure | null {
    const { live } = this;
    if (!live) return null;
    const start = Date.parse(live.minuteStart);
    return this.totals.has(start) || start < now - 2 * MINUTE_MS ? null : live;
  }

  /** Page views summed over the retained minutes, most viewed first. */
  topPages(limit: number, now = Date.now()): { page: string; views: number }[] {
    this.prune(now);
    const views = new Map<string, number>();
    for (const minute of this.pages.values()) for (const [page, n] of minute) views.set(page, (views.get(page) ?? 0) + n);
    return [...views.entries()]
      .map(([page, n]) => ({ page, views: n }))
      .sort((a, b) => b.views - a.views || a.page.localeCompare(b.page))
      .slice(0, limit);
  }

  /** Anomalies, newest window first, with where each was seen. */
  anomalyList(limit: number): (AnomalyRow & { sources: string[] })[] {
    return [...this.anomalies.values()]
      .sort((a, b) => b.window_start.localeCompare(a.window_start) || b.score - a.score)
      .slice(0, limit)
      .map(({ sources, ...row }) => ({ ...row, sources: [...sources].sort() }));
  }

  get anomalyCount(): number {
    return this.anomalies.size;
  }

  private prune(now: number): void {
    const cutoff = now - this.retentionMs;
    for (const start of this.totals.keys()) if (start < cutoff) this.totals.delete(start);
    for (const start of this.pages.keys()) if (start < cutoff) this.pages.delete(start);
  }
}

function parseObject(text: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/** An anomaly row as the Flink job writes it, or undefined when the fields the dashboard shows are missing. */
export function asAnomaly(value: unknown): AnomalyRow | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const row = value as Record<string, unknown>;
  const text = (key: string) => (typeof row[key] === 'string' ? (row[key] as string) : undefined);
  const num = (key: string) => (typeof row[key] === 'number' && Number.isFinite(row[key]) ? (row[key] as number) : undefined);
  const id = text('id');
  const metric = text('metric');
  const windowStart = text('window_start');
  const score = num('score');
  if (!id || !metric || !windowStart || !Number.isFinite(Date.parse(windowStart)) || score === undefined) return undefined;
  return {
    id,
    metric,
    dimension: text('dimension') ?? 'all',
    window_start: windowStart,
    window_end: text('window_end') ?? windowStart,
    observed: num('observed') ?? null,
    expected: num('expected') ?? null,
    stddev: num('stddev') ?? null,
    score,
    direction: text('direction') === 'drop' ? 'drop' : text('direction') === 'silence' ? 'silence' : 'spike',
    severity: text('severity') === 'critical' ? 'critical' : 'warning',
    baseline_windows: num('baseline_windows') ?? 0,
  };
}
