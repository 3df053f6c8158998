// Everything the dashboard and the terminal status line show, gathered in one place from the running stack:
//   - live counters from the stack's objects (event source mappings, local Firehose, demo traffic), read
//     on every snapshot: they cost nothing;
//   - the Flink outputs, from tails of the aggregates and anomalies streams, and the alerts file;
//   - the lake (DuckDB over s3rver's directory), the bad-row count and the dead letters, refreshed on a slower
//     tick (5 s by default) and cached, so a browser or the status line never makes DuckDB work harder.
import type { KinesisClient } from '@aws-sdk/client-kinesis';
import { join } from 'node:path';
import type { DemoTraffic } from '../local/demo/traffic.js';
import type { EventSourceMapping } from '../local/lambda/event-source-mapping.js';
import type { LocalFirehose } from '../local/firehose/firehose.js';
import { lakeDirectory } from '../local/storage/lake-location.js';
import type { LocalEndpoints } from '../local/stack.js';
import { startStreamTail, type StreamTail } from '../local/kinesis/stream-tail.js';
import { AlertsFileReader } from './alerts-file.js';
import { FlinkOutputs } from './flink-outputs.js';
import { LakeFigureReader, type LakeFigures } from './lake-figures.js';
import type { ConsumerHealth, DashboardSnapshot, MinuteFigure } from './snapshot.js';

/** The parts of a running LocalStack the monitor reads. */
export interface MonitoredStack {
  endpoints: LocalEndpoints;
  dataDir: string;
  mappings: EventSourceMapping[];
  firehose: LocalFirehose;
}

export interface PipelineMonitorOptions {
  stack: MonitoredStack;
  demo?: DemoTraffic | undefined;
  /** A client for the Kinesis emulator, used to tail the aggregates and anomalies streams. */
  kinesis: KinesisClient;
  /** How often the lake, the bad rows, the dead letters and the alerts file are read (default 5 s). */
  lakeRefreshMs?: number;
  /** The alert consumer's output: a directory of *.jsonl files or one file (default <data dir>/alerts). */
  alertsPath?: string;
  /** How often the stream tails poll an idle shard (default 1 s). */
  tailPollMs?: number;
  logger?: Pick<Console, 'warn'>;
}

export interface PipelineMonitor {
  snapshot(now?: number): DashboardSnapshot;
  /** Reads the lake, bad rows, dead letters and alerts now (the refresh tick calls it too). */
  refresh(): Promise<void>;
  stop(): Promise<void>;
}

const WINDOW_MINUTES = 60;
const RATE_WINDOW_SAMPLES = 11; // 10 s at one sample a second
/** A caught-up consumer whose last record is older than this is idle, not lagging. */
const IDLE_AFTER_MS = 5_000;

export function startPipelineMonitor(options: PipelineMonitorOptions): PipelineMonitor {
  const { stack, demo, kinesis } = options;
  const logger = options.logger ?? console;
  const startedAt = new Date();
  const lakeRefreshMs = options.lakeRefreshMs ?? 5_000;
  const flink = new FlinkOutputs(WINDOW_MINUTES * 60_000);
  const alerts = new AlertsFileReader(options.alertsPath ?? join(stack.dataDir, 'alerts'));
  const lake = new LakeFigureReader(lakeDirectory(stack.dataDir, stack.endpoints.lakeBucket ?? undefined), WINDOW_MINUTES);
  const rawStream = stack.endpoints.streams.raw;

  const tails: StreamTail[] = [
    startStreamTail({
      kinesis,
      streamName: stack.endpoints.streams.aggregates,
      onRecord: (record) => flink.addAggregate(record.data.toString('utf8')),
      ...(options.tailPollMs === undefined ? {} : { idlePollMs: options.tailPollMs }),
      logger,
    }),
    startStreamTail({
      kinesis,
      streamName: stack.endpoints.streams.anomalies,
      onRecord: (record) => {
        let row: unknown;
        try {
          row = JSON.parse(record.data.toString('utf8'));
        } catch {
          row = undefined;
        }
        flink.addAnomaly(row, 'stream');
      },
      ...(options.tailPollMs === undefined ? {} : { idlePollMs: options.tailPollMs }),
      logger,
    }),
  ];

  // events-raw records read per second, over the last 10 s of one-second samples.
  const rawIn = () => stack.mappings.filter((m) => m.source.streamName === rawStream).reduce((n, m) => n + m.stats().recordsIn, 0);
  const samples: { at: number; records: number }[] = [{ at: Date.now(), records: rawIn() }];
  const sampler = setInterval(() => {
    samples.push({ at: Date.now(), records: rawIn() });
    if (samples.length > RATE_WINDOW_SAMPLES) samples.shift();
  }, 1_000);
  sampler.unref();

  let figures: LakeFigures | undefined;
  let lakeReadAt: Date | null = null;
  let lakeError: string | null = null;
  let badRows: number | null = null;
  let deadLetters = 0;
  let refreshing: Promise<void> | undefined;
  let stopped = false;

  const refreshOnce = async (): Promise<void> => {
    try {
      figures = await lake.read();
      lakeReadAt = figures.readAt;
      lakeError = null;
    } catch (error) {
      // Most often an object s3rver is still writing: keep the last figures, read again next tick.
      lakeError = (error as Error).message.split('\n')[0]!.slice(0, 200);
    }
    try {
      badRows = lake.countBadRows();
      deadLetters = stack.mappings.reduce((n, m) => n + m.readDeadLetters().length, 0);
      for (const candidate of alerts.readNew()) flink.addAnomaly(candidate, 'alerts');
    } catch (error) {
      logger.warn(`[dashboard] reading the data dir failed; trying again next tick: ${(error as Error).message}`);
    }
  };
  const refresh = (): Promise<void> => (refreshing ??= refreshOnce().finally(() => (refreshing = undefined)));

  let timer: NodeJS.Timeout | undefined;
  const tick = () => {
    void refresh().finally(() => {
      if (!stopped) timer = setTimeout(tick, lakeRefreshMs);
    });
  };
  tick();

  const snapshot = (now = Date.now()): DashboardSnapshot => {
    const flinkMinutes = flink.totalsSeries(now);
    const useAggregates = flinkMinutes.length > 0;
    const lakeNote = lakeReadAt
      ? `read from the lake (Parquet, DuckDB) at ${lakeReadAt.toISOString().slice(11, 19)}Z; the local Firehose stores every ~5 s`
      : 'the lake has not been read yet';
    const pagesFromFlink = flink.topPages(10, now);

    const consumers: ConsumerHealth[] = [
      ...stack.mappings.map((m): ConsumerHealth => {
        const stats = m.stats();
        // A shard at the tip of its stream whose last record is old has nothing to do: its age is not lag.
        const shards = Object.values(stats.shards).map((s) => ({
          ...s,
          idle: s.millisBehindLatest === 0 && (s.iteratorAgeMs === null || s.iteratorAgeMs > IDLE_AFTER_MS),
        }));
        const idle = shards.every((s) => s.idle);
        return {
          name: `${m.source.function.functionKey} λ ← ${stats.streamName}`,
          kind: 'lambda',
          stream: stats.streamName,
          lagMs: idle ? 0 : maxOf(shards.map((s) => (s.idle ? 0 : s.iteratorAgeMs))),
          idle,
          millisBehindLatest: maxOf(shards.map((s) => s.millisBehindLatest)),
          recordsIn: stats.recordsIn,
        };
      }),
      ...stack.firehose.stats().map(
        (s): ConsumerHealth => ({
          name: `${s.deliveryStream} ← ${s.sourceStream}`,
          kind: 'firehose',
          stream: s.sourceStream,
          lagMs: s.lagMs,
          idle: s.bufferedRecords === 0 && s.millisBehindLatest === 0,
          millisBehindLatest: s.millisBehindLatest,
          recordsIn: s.recordsIn,
        }),
      ),
      ...tails.map((t): ConsumerHealth => {
        const stats = t.stats();
        return { name: `dashboard ← ${stats.streamName}`, kind: 'dashboard', stream: stats.streamName, lagMs: null, idle: stats.millisBehindLatest === 0, millisBehindLatest: stats.millisBehindLatest, recordsIn: stats.records };
      }),
    ];
    const firehoseStats = stack.firehose.stats();
    const first = samples[0]!;
    const last = samples.at(-1)!;
    const demoCounters = demo?.counters;

    return {
      generatedAt: new Date(now).toISOString(),
      startedAt: startedAt.toISOString(),
      traffic: useAggregates
        ? {
            source: 'aggregates',
            note: 'Flink 1-minute windows (total_minute rows of the aggregates stream); a minute appears once its window closes, the open one as it fills (total_live rows)',
            minutes: withGaps(flinkMinutes),
            live: flink.liveFigure(now),
          }
        : {
            source: figures && figures.minutes.length > 0 ? 'lake' : 'none',
            note: `No Flink aggregates yet, so computed from the events in the lake: ${lakeNote}`,
            minutes: withGaps(figures?.minutes ?? []),
            live: flink.liveFigure(now),
          },
      topPages:
        pagesFromFlink.length > 0
          ? { source: 'aggregates', note: 'page views of the last 60 min, summed from the Flink page_minute rows', pages: pagesFromFlink.map((p) => ({ ...p, visitors: null })) }
          : {
              source: figures && figures.topPages.length > 0 ? 'lake' : 'none',
              note: `page views and visitors of the last 60 min (bots left out), ${lakeNote}`,
              pages: figures?.topPages ?? [],
            },
      geo: {
        source: figures && (figures.countries.length > 0 || figures.bots.length > 0) ? 'lake' : 'none',
        note: `visitors of the last 60 min by the country of their IP (looked up before it is anonymised), bots left out; bots by why they were flagged; ${lakeNote}`,
        countries: figures?.countries ?? [],
        unlocatedEvents: figures?.unlocatedEvents ?? 0,
        bots: figures?.bots ?? [],
      },
      plans: {
        source: figures && figures.flaggedEvents > 0 ? 'lake' : 'none',
        note: `events of the last 60 min that broke their tracking plan and were let through with a flag (schemas/events/…, x-violation: flag); rejected ones are bad rows (named query tracking_plan_violations); ${lakeNote}`,
        flaggedEvents: figures?.flaggedEvents ?? 0,
        violations: figures?.violations ?? [],
      },
      identities: {
        source: figures && figures.identities.users > 0 ? 'lake' : 'none',
        note: `the identities table (identify, alias and events carrying both ids, all days); anonymous events of the last 60 min from a device linked to a user, which the view events_resolved counts for that user; ${lakeNote}`,
        ...(figures?.identities ?? { users: 0, devices: 0, sharedDevices: 0, multiDeviceUsers: 0 }),
        anonymousEvents: figures?.anonymousEvents ?? 0,
        stitchedEvents: figures?.stitchedEvents ?? 0,
      },
      visitors: { lastHour: figures ? figures.visitorsLastHour : null, eventsLastHour: figures ? figures.eventsLastHour : null },
      anomalies: {
        items: flink.anomalyList(50),
        total: flink.anomalyCount,
        note: `from the ${stack.endpoints.streams.anomalies} stream (Flink) and ${alerts.present ? 'the alerts file' : 'the alerts file, none yet,'} at ${alerts.path}`,
      },
      health: {
        eventsPerSecond: last.at > first.at ? ((last.records - first.records) * 1000) / (last.at - first.at) : 0,
        consumers,
        lake: {
          objectsWritten: sum(firehoseStats.map((s) => s.objectsWritten)),
          bytesWritten: sum(firehoseStats.map((s) => s.bytesWritten)),
          rowsDelivered: sum(firehoseStats.map((s) => s.recordsDelivered)),
          failedRecords: sum(firehoseStats.flatMap((s) => Object.values(s.failedRecords))),
          readAt: lakeReadAt ? lakeReadAt.toISOString() : null,
          readError: lakeError,
        },
        badRows,
        deadLetters,
        aggregates: flink.aggregateRows,
        anomalies: flink.anomalyRows,
        demo:
          demo && demoCounters
            ? {
                sent: demoCounters.sent,
                accepted: demoCounters.accepted,
                rejected: demoCounters.rejected,
                failed: demoCounters.failed,
                invalid: demoCounters.invalid,
                retriedDuplicates: demoCounters.retriedDuplicates,
                spiking: demo.spiking,
              }
            : null,
      },
    };
  };

  let stopping: Promise<void> | undefined;
  return {
    snapshot,
    refresh,
    stop: () =>
      (stopping ??= (async () => {
        stopped = true;
        clearTimeout(timer);
        clearInterval(sampler);
        await Promise.all(tails.map((t) => t.stop()));
        await refreshing?.catch(() => undefined);
        await lake.close();
      })()),
  };
}

const sum = (values: number[]): number => values.reduce((a, b) => a + b, 0);

function maxOf(values: (number | null)[]): number | null {
  const known = values.filter((v): v is number => v !== null);
  return known.length > 0 ? Math.max(...known) : null;
}

/** Minutes between the first and the last with a row get an explicit zero, so a quiet minute shows as a dip. */
function withGaps(minutes: MinuteFigure[]): MinuteFigure[] {
  if (minutes.length === 0) return [];
  const byMinute = new Map(minutes.map((m) => [m.t, m]));
  const out: MinuteFigure[] = [];
  for (let t = minutes[0]!.t; t <= minutes.at(-1)!.t; t += 60) out.push(byMinute.get(t) ?? { t, events: 0, visitors: 0 });
  return out;
}
