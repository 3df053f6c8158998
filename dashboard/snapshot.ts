// The dashboard's one message: what /api/snapshot answers and /events pushes, and what the page draws.
// Types only (the page imports them too), so nothing here may need Node or the DOM.

/** The fields of schemas/aggregates/1-0-0.json the dashboard reads. */
export interface AggregateRow {
  kind: string;
  window_start: string;
  window_end: string;
  page_path: string | null;
  events: number | null;
  page_views: number | null;
  unique_visitors: number | null;
}

/** The fields of schemas/anomalies/1-0-0.json the dashboard shows (numbers it could not read are null). */
export interface AnomalyRow {
  id: string;
  metric: string;
  dimension: string;
  window_start: string;
  window_end: string;
  observed: number | null;
  expected: number | null;
  stddev: number | null;
  score: number;
  direction: 'spike' | 'drop' | 'silence';
  severity: 'warning' | 'critical';
  baseline_windows: number;
}

/** Where a figure comes from, said in the page next to it. */
export type FigureSource = 'aggregates' | 'lake' | 'none';

export interface MinuteFigure {
  /** Start of the minute, epoch seconds (uPlot's unit). */
  t: number;
  events: number;
  visitors: number | null;
}

export interface LiveFigure {
  /** Start of the minute, and the end of the part of it counted (ISO-8601 UTC). */
  minuteStart: string;
  upTo: string;
  events: number;
  visitors: number | null;
}

export interface ConsumerHealth {
  /** e.g. "enrich λ ← events-raw" or "EventsDeliveryStream ← events-enriched". */
  name: string;
  kind: 'lambda' | 'firehose' | 'dashboard';
  stream: string;
  /** Lambda: the largest iterator age over the shards (now − arrival of the last record read). Firehose: age of the oldest record not yet stored. */
  lagMs: number | null;
  /** Caught up with its stream and nothing new for a while: its iterator age only says how long it has been quiet, so lagMs is 0. */
  idle: boolean;
  /** How far the reader is behind the tip of the stream, from the last GetRecords. */
  millisBehindLatest: number | null;
  recordsIn: number;
}

export interface DashboardSnapshot {
  generatedAt: string;
  /** When this dashboard (and usually the stack) started. */
  startedAt: string;
  traffic: {
    source: FigureSource;
    /** One sentence for the page: where the per-minute figures come from and how fresh they are. */
    note: string;
    minutes: MinuteFigure[];
    /** The open minute so far, from the newest total_live row: seconds behind, not a minute. Null without one. */
    live: LiveFigure | null;
  };
  topPages: {
    source: FigureSource;
    note: string;
    pages: { page: string; views: number; visitors: number | null }[];
  };
  /** Where people come from, and the bots, over the last hour, from the lake (the enrich stage's geo-IP and bot fields). */
  geo: {
    source: FigureSource;
    note: string;
    /** People's events and visitors by country (ISO 3166-1 alpha-2), most visitors first; bots left out. */
    countries: { country: string; events: number; visitors: number }[];
    /** People's events from an IP no database places (private, reserved or unknown). */
    unlocatedEvents: number;
    /** Bots by reason: user_agent, crawler_network, data_centre. */
    bots: { reason: string; events: number; visitors: number }[];
  };
  /** Events the tracking plans flagged over the last hour, from the lake (schemas/enriched plan_violations). */
  plans: {
    source: FigureSource;
    note: string;
    flaggedEvents: number;
    /** The commonest violations ("property: problem") by event name, most events first. */
    violations: { event: string; violation: string; events: number }[];
  };
  /** Stitched users: the identities table (all days) and the last hour's anonymous events it attributes. */
  identities: {
    source: FigureSource;
    note: string;
    /** User ids linked to a device, devices linked to a user, devices with several users, users on several devices. */
    users: number;
    devices: number;
    sharedDevices: number;
    multiDeviceUsers: number;
    /** Anonymous events of the last hour, and those whose device is linked to a user (counted for that user by events_resolved). */
    anonymousEvents: number;
    stitchedEvents: number;
  };
  visitors: {
    /** Distinct visitors (anonymousId, else userId) over the last hour, from the lake; null before the first lake read. */
    lastHour: number | null;
    eventsLastHour: number | null;
  };
  anomalies: {
    /** Newest first, at most 50. `sources`: "stream" (the anomalies stream) and/or "alerts" (the alerts file). */
    items: (AnomalyRow & { sources: string[] })[];
    total: number;
    note: string;
  };
  health: {
    /** Events read from events-raw per second by the enrich consumer, over the last 10 s. */
    eventsPerSecond: number;
    consumers: ConsumerHealth[];
    lake: {
      /** Parquet objects and bytes the local Firehose wrote in this run. */
      objectsWritten: number;
      bytesWritten: number;
      rowsDelivered: number;
      /** Records Firehose sent to errors/ in this run. */
      failedRecords: number;
      /** When the dashboard last read the lake with DuckDB, and the error of the last read, if any (it retries next tick). */
      readAt: string | null;
      readError: string | null;
    };
    /** Bad rows in the lake (bad-rows/, all runs); null before the first count. */
    badRows: number | null;
    /** Messages in the enrich consumer's on-failure destination (all runs). */
    deadLetters: number;
    /** Rows read from the Flink output streams since the dashboard started. */
    aggregates: number;
    anomalies: number;
    demo: {
      sent: number;
      accepted: number;
      rejected: number;
      failed: number;
      invalid: number;
      retriedDuplicates: number;
      spiking: boolean;
    } | null;
  };
}
