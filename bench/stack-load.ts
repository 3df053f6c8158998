// The whole local stack as `npm start` runs it (its own process group: the stack, the Kinesis emulator,
// the Flink JVM), loaded from this process by an SDK-like client, and measured from outside:
//   stack-ceiling    the offered rate stepped up until a stage falls behind: the highest rate at which
//                    everything is acknowledged and the lake stays within 15 s, beside the emulator's own
//                    PutRecords ceiling measured in the same run, and the drain time after the last step;
//   stack-sustained  1,000 events/s for 10 minutes (BENCH_SUSTAINED_SECONDS to shorten): lake lag from
//                    probe events, the Flink job's 1-minute rows and how long after their minute each came,
//                    every event in the lake exactly once, and each process's memory;
//   stack-soak       200 events/s for 30 minutes (BENCH_SOAK_SECONDS): throughput, lag and memory stay flat
//                    (slopes; past 75 minutes also the memory slope once the dashboard's hour is full), and
//                    `npm run query` answers during the run.
// Each checks that the lake holds every acknowledged event exactly once. When it does not, the figures say
// how many were missing or repeated, and the run's data dir is kept (with npm start's log) to find out why.
import { spawnSync, execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { PutRecordsCommand, GetRecordsCommand, GetShardIteratorCommand, type KinesisClient } from '@aws-sdk/client-kinesis';
import { DuckDBInstance } from '@duckdb/node-api';
import { createLocalKinesisClient } from '../local/kinesis/client.js';
import { lakeDirectory, S3RVER_OBJECT_SUFFIX } from '../local/storage/lake-location.js';
import { ensureStream, listShardIds } from '../local/kinesis/streams.js';
import { figure, type Figures, type Suite } from './harness.js';
import { startLoad, type LoadRun } from './load-client.js';
import { StackProcess } from './stack-process.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const LAKE_LAG_TARGET_S = 15;
const javaPresent = () => spawnSync('java', ['-version']).status === 0;

const percentile = (values: number[], p: number): number => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
};

/** Least-squares slope of y over x. */
const slope = (points: [number, number][]): number => {
  const n = points.length;
  if (n < 2) return 0;
  const mx = points.reduce((s, [x]) => s + x, 0) / n;
  const my = points.reduce((s, [, y]) => s + y, 0) / n;
  const sxx = points.reduce((s, [x]) => s + (x - mx) ** 2, 0);
  return sxx === 0 ? 0 : points.reduce((s, [x, y]) => s + (x - mx) * (y - my), 0) / sxx;
};

/** When each probe event became visible in the lake: new Parquet objects are read as they appear, only once. */
class LakeWatcher {
  readonly seenAt = new Map<string, number>();
  private readonly read = new Set<string>();
  private readonly root: string;
  private timer: NodeJS.Timeout | undefined;
  private busy = false;

  constructor(dataDir: string) {
    this.root = join(lakeDirectory(dataDir), 'events');
  }

  start(everyMs = 1_000): void {
    this.timer = setInterval(() => void this.poll(), everyMs);
  }

  stop(): void {
    clearInterval(this.timer);
  }

  async poll(): Promise<void> {
    if (this.busy || !existsSync(this.root)) return;
    this.busy = true;
    try {
      const fresh = (readdirSync(this.root, { recursive: true }) as string[])
        .filter((file) => file.endsWith(`.parquet${S3RVER_OBJECT_SUFFIX}`) && !this.read.has(file))
        // s3rver writes the object, then its metadata: an object without metadata may still be growing.
        .filter((file) => existsSync(join(this.root, file.replace(/_S3rver_object$/, '_S3rver_metadata.json'))));
      if (fresh.length === 0) return;
      const instance = await DuckDBInstance.create(':memory:');
      const connection = await instance.connect();
      try {
        const list = fresh.map((file) => `'${join(this.root, file).replaceAll("'", "''")}'`).join(',');
        const reader = await connection.runAndReadAll(`SELECT message_id FROM read_parquet([${list}]) WHERE contains(message_id, '-probe-')`);
        const now = Date.now();
        for (const row of reader.getRowObjectsJS()) if (!this.seenAt.has(String(row['message_id']))) this.seenAt.set(String(row['message_id']), now);
        for (const file of fresh) this.read.add(file);
      } finally {
        connection.closeSync();
      }
    } catch {
      // An object being replaced under us: read it on the next poll.
    } finally {
      this.busy = false;
    }
  }

  /** Seconds from each probe's acknowledgement to its visibility in the lake. */
  lags(probes: ReadonlyMap<string, number>): number[] {
    return [...probes].flatMap(([id, acknowledgedAt]) => {
      const seen = this.seenAt.get(id);
      return seen === undefined ? [] : [(seen - acknowledgedAt) / 1000];
    });
  }
}

/** The Flink job's total_minute rows as they arrive on `aggregates`: window end → seconds after it. */
class AggregatesWatcher {
  readonly delays = new Map<number, number>();
  private readonly iterators = new Map<string, string | undefined>();
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly kinesis: KinesisClient, private readonly stream: string) {}

  async start(): Promise<void> {
    for (const shardId of await listShardIds(this.kinesis, this.stream)) {
      const { ShardIterator } = await this.kinesis.send(new GetShardIteratorCommand({ StreamName: this.stream, ShardId: shardId, ShardIteratorType: 'LATEST' }));
      this.iterators.set(shardId, ShardIterator);
    }
    this.timer = setInterval(() => void this.poll().catch(() => undefined), 2_000);
  }

  stop(): void {
    clearInterval(this.timer);
  }

  private async poll(): Promise<void> {
    for (const [shardId, iterator] of this.iterators) {
      if (!iterator) continue;
      const page = await this.kinesis.send(new GetRecordsCommand({ ShardIterator: iterator, Limit: 1_000 }));
      this.iterators.set(shardId, page.NextShardIterator);
      for (const record of page.Records ?? []) {
        const row = JSON.parse(Buffer.from(record.Data!).toString('utf8')) as { kind: string; window_end: string };
        const end = Date.parse(row.window_end);
        if (row.kind === 'total_minute' && !this.delays.has(end)) this.delays.set(end, (Date.now() - end) / 1000);
      }
    }
  }
}

type Series = Map<string, [number, number][]>;

/**
 * Samples each process every `everyMs`: its memory (minutes since start → MB) and its CPU since the sample before
 * (minutes since start → percent of one core).
 */
function sampleProcesses(stack: StackProcess, everyMs = 10_000): { memory: Series; cpu: Series; stop(): void } {
  const memory: Series = new Map();
  const cpu: Series = new Map();
  const started = Date.now();
  const add = (series: Series, name: string, point: [number, number]) => {
    const points = series.get(name);
    if (points) points.push(point);
    else series.set(name, [point]);
  };
  // The first sample has no sample before it, so its CPU figure is left out.
  let before: { at: number; usage: ReturnType<StackProcess['usage']> } | undefined;
  const take = () => {
    const now = { at: Date.now(), usage: stack.usage() };
    const minute = (now.at - started) / 60_000;
    for (const [name, { rssMb, cpuSeconds }] of Object.entries(now.usage)) {
      add(memory, name, [minute, rssMb]);
      if (!before) continue;
      const used = cpuSeconds - (before.usage[name]?.cpuSeconds ?? Number.NaN);
      // A process that restarted since the sample before has no comparable figure.
      if (used >= 0) add(cpu, name, [minute, (100 * used) / ((now.at - before.at) / 1000)]);
    }
    before = now;
  };
  take();
  const timer = setInterval(take, everyMs);
  return { memory, cpu, stop: () => clearInterval(timer) };
}

const mean = (values: number[]): number => values.reduce((sum, v) => sum + v, 0) / values.length;

/** What a failed delivery check leaves behind: why, and a check to run once the stack has stopped. */
interface Kept {
  why: string;
  afterStop?: () => Promise<string>;
  /** JSON files to write into the kept data dir: name → contents. */
  files?: Record<string, unknown>;
}

/**
 * Runs `fn` against a fresh stack in a data dir of its own, which is removed afterwards unless `fn` calls
 * `keep`: then the dir stays, with npm start's log, for a person to look into.
 */
async function withStack<T>(name: string, analytics: boolean, fn: (stack: StackProcess, dataDir: string, keep: (kept: Kept) => void) => Promise<T>): Promise<T> {
  const dataDir = mkdtempSync(join(tmpdir(), `bench-${name}-`));
  const stack = await StackProcess.create({ dataDir, analytics, logFile: join(dataDir, 'npm-start.log') });
  let kept: Kept | undefined;
  await stack.start();
  try {
    return await fn(stack, dataDir, (k) => (kept = k));
  } finally {
    await stack.interrupt().catch(() => stack.killGroup());
    if (kept) {
      for (const [file, contents] of Object.entries(kept.files ?? {})) writeFileSync(join(dataDir, file), JSON.stringify(contents));
      const after = await kept.afterStop?.().catch((error: Error) => `the check after the stop failed: ${error.message}`);
      process.stderr.write(`${name}: ${kept.why}${after ? `; ${after}` : ''}. Kept ${dataDir} (npm start's log: npm-start.log)\n`);
    } else {
      rmSync(dataDir, { recursive: true, force: true });
    }
  }
}

/** How the acknowledged events of a run stand in the lake. */
interface Delivery {
  /** Seconds from the end of the load until every acknowledged event was in the lake, or the timeout. */
  seconds: number;
  acknowledged: number;
  /** Acknowledged ids not in the lake. */
  missing: string[];
  /** Rows beyond the first of an id. */
  duplicates: number;
  /** Ids in the lake that were never acknowledged. */
  unexpected: number;
}

const exactlyOnce = (d: Delivery): boolean => d.missing.length === 0 && d.duplicates === 0 && d.unexpected === 0;

/** The lake's rows of the run (ids starting `<prefix>-`) against what ingest acknowledged. */
async function delivery(stack: StackProcess, run: LoadRun, prefix: string, seconds: number): Promise<Delivery> {
  const lake = await stack.lake(`${prefix}-`);
  let unexpected = 0;
  for (const id of lake.ids) if (!run.acknowledged.has(id)) unexpected++;
  return { seconds, acknowledged: run.acknowledged.size, missing: [...run.acknowledged].filter((id) => !lake.ids.has(id)), duplicates: lake.rows - lake.distinct, unexpected };
}

/** Waits until the lake holds every acknowledged event of `run`, or the timeout. */
async function drain(stack: StackProcess, run: LoadRun, prefix: string, timeoutMs = 180_000): Promise<Delivery> {
  await run.done;
  const started = Date.now();
  const now = () => delivery(stack, run, prefix, (Date.now() - started) / 1000);
  let result = await now();
  while (result.missing.length > 0 && Date.now() - started < timeoutMs) {
    await sleep(1_000);
    result = await now();
  }
  return result;
}

/**
 * The delivery figures; when the lake does not hold every acknowledged event exactly once, the data dir is
 * kept, and after the stack's own drain on stop the missing ids are looked for again: late, or lost.
 */
function deliveryFigures(name: string, d: Delivery, stack: StackProcess, run: LoadRun, prefix: string, keep: (kept: Kept) => void, files: Record<string, unknown> = {}): Figures {
  const met = exactlyOnce(d);
  if (!met) {
    keep({
      files: { 'missing-ids.json': d.missing, ...files },
      why: `${d.acknowledged} acknowledged: ${d.missing.length} not in the lake after ${Math.round(d.seconds)} s (first: ${d.missing.slice(0, 5).join(', ')}), ${d.duplicates} duplicate rows, ${d.unexpected} ids never acknowledged`,
      afterStop: async () => {
        const after = await delivery(stack, run, prefix, d.seconds);
        return `after the stop: ${after.missing.length} missing, ${after.duplicates} duplicate rows`;
      },
    });
  }
  return {
    [`${name}.lake_exactly_once`]: figure(met ? 1 : 0, 'bool', { target: 'every acknowledged event once', met }),
    [`${name}.lake_missing`]: figure(d.missing.length, 'events', { baseline: d.acknowledged }),
    [`${name}.lake_duplicates`]: figure(d.duplicates, 'rows'),
  };
}

/** The emulator's own ceiling: 500-record PutRecords calls, 8 in flight, for `seconds`. */
async function emulatorCeiling(kinesis: KinesisClient, stream: string, seconds: number): Promise<number> {
  const data = Buffer.from(JSON.stringify({ type: 'track', event: 'Ceiling', pad: 'x'.repeat(600) }));
  let written = 0;
  const end = Date.now() + seconds * 1000;
  await Promise.all(
    Array.from({ length: 8 }, async (_, worker) => {
      for (let n = 0; Date.now() < end; n++) {
        const response = await kinesis.send(new PutRecordsCommand({ StreamName: stream, Records: Array.from({ length: 500 }, (_, i) => ({ Data: data, PartitionKey: `c-${worker}-${n}-${i}` })) }));
        written += 500 - (response.FailedRecordCount ?? 0);
      }
    }),
  );
  return written / seconds;
}

export const stackCeiling: Suite = {
  name: 'stack-ceiling',
  prefix: 'ceiling.',
  async run(): Promise<Figures> {
    const stepSeconds = Number(process.env['BENCH_STEP_SECONDS'] ?? 40);
    const steps = [500, 1_000, 1_500, 2_000, 3_000];
    return withStack('ceiling', javaPresent(), async (stack) => {
      let ceiling = 0;
      const figures: Figures = {};
      const lake = new LakeWatcher(stack.endpoints.dataDir);
      lake.start();
      let lastRun: LoadRun | undefined;
      let lastPrefix = '';
      for (const rate of steps) {
        const prefix = `ceiling-${rate}`;
        const run = startLoad({ target: () => stack.endpoints, rate, durationSeconds: stepSeconds, prefix, probeEverySeconds: 2, maxInFlight: 16 });
        const started = Date.now();
        await run.done;
        const seconds = (Date.now() - started) / 1000;
        await sleep(LAKE_LAG_TARGET_S * 1000); // probes still under way get their chance
        await lake.poll();
        const lags = lake.lags(run.probes);
        const acknowledgedRate = run.counters.acknowledged / seconds;
        const p99 = percentile(lags, 99);
        const keptUp = acknowledgedRate >= rate * 0.98 && lags.length >= run.probes.size * 0.95 && p99 <= LAKE_LAG_TARGET_S;
        figures[`ceiling.step_${rate}.acknowledged_per_s`] = figure(acknowledgedRate, 'events/s', { baseline: rate });
        figures[`ceiling.step_${rate}.lake_lag_p99`] = figure(p99, 's', { target: `≤ ${LAKE_LAG_TARGET_S} s`, met: p99 <= LAKE_LAG_TARGET_S });
        lastRun = run;
        lastPrefix = prefix;
        if (!keptUp) break;
        ceiling = rate;
      }
      lake.stop();
      const drained = await drain(stack, lastRun!, lastPrefix);
      // The emulator alone, in the same run and on the same machine: a stream no consumer reads.
      const kinesis = createLocalKinesisClient(stack.endpoints.kinesis);
      await ensureStream(kinesis, 'bench-ceiling', 2, 10_000);
      const emulator = await emulatorCeiling(kinesis, 'bench-ceiling', 15);
      kinesis.destroy();
      return {
        ...figures,
        'ceiling.whole_stack_events_per_s': figure(ceiling, 'events/s', { baseline: emulator, target: `highest step (${steps.join(', ')}) with every event acknowledged and the lake ≤ ${LAKE_LAG_TARGET_S} s behind (p99)`, met: ceiling >= 1_000 }),
        'ceiling.emulator_putrecords_per_s': figure(emulator, 'records/s'),
        'ceiling.drain_after_last_step': figure(drained.seconds, 's'),
      };
    });
  },
};

export const stackSustained: Suite = {
  name: 'stack-sustained',
  prefix: 'sustained.',
  async run(): Promise<Figures> {
    const seconds = Number(process.env['BENCH_SUSTAINED_SECONDS'] ?? 600);
    const rate = Number(process.env['BENCH_SUSTAINED_RATE'] ?? 1_000);
    const analytics = javaPresent();
    return withStack('sustained', analytics, async (stack, _dataDir, keep) => {
      const lake = new LakeWatcher(stack.endpoints.dataDir);
      lake.start();
      const kinesis = createLocalKinesisClient(stack.endpoints.kinesis);
      const aggregates = new AggregatesWatcher(kinesis, stack.endpoints.streams.aggregates);
      if (analytics) await aggregates.start();
      const processes = sampleProcesses(stack);
      const prefix = 'sustained';
      const started = Date.now();
      const run = startLoad({ target: () => stack.endpoints, rate, durationSeconds: seconds, prefix, probeEverySeconds: 5, maxInFlight: 16 });
      await run.done;
      const sendSeconds = (Date.now() - started) / 1000;
      const drained = await drain(stack, run, prefix);
      await sleep(70_000); // the last minute's row
      lake.stop();
      aggregates.stop();
      processes.stop();
      kinesis.destroy();
      await lake.poll();
      const lags = lake.lags(run.probes);
      const minutes = [...aggregates.delays.values()];
      const figures: Figures = {
        'sustained.acknowledged_per_s': figure(run.counters.acknowledged / sendSeconds, 'events/s', { baseline: rate, target: `${rate}/s for ${seconds} s`, met: run.counters.acknowledged === run.counters.offered }),
        'sustained.lake_lag_p50': figure(percentile(lags, 50), 's'),
        'sustained.lake_lag_p99': figure(percentile(lags, 99), 's', { target: `≤ ${LAKE_LAG_TARGET_S} s`, met: percentile(lags, 99) <= LAKE_LAG_TARGET_S }),
        'sustained.lake_lag_max': figure(Math.max(...lags), 's'),
        ...deliveryFigures('sustained', drained, stack, run, prefix, keep, { 'probe-lags.json': lags }),
        'sustained.drain_after_send': figure(drained.seconds, 's'),
      };
      if (analytics) {
        figures['sustained.flink_minutes'] = figure(minutes.length, 'rows', { target: `one total_minute row per minute (${Math.floor(seconds / 60)}+)`, met: minutes.length >= Math.floor(seconds / 60) });
        figures['sustained.flink_row_after_window_p99'] = figure(percentile(minutes, 99), 's');
      }
      for (const [name, points] of processes.memory) {
        figures[`sustained.memory_${name}_max`] = figure(Math.max(...points.map(([, mb]) => mb)), 'MB');
      }
      for (const [name, points] of processes.cpu) {
        if (points.length > 0) figures[`sustained.cpu_${name}_mean`] = figure(mean(points.map(([, share]) => share)), '% of a core');
      }
      return figures;
    });
  },
};

export const stackSoak: Suite = {
  name: 'stack-soak',
  prefix: 'soak.',
  async run(): Promise<Figures> {
    const seconds = Number(process.env['BENCH_SOAK_SECONDS'] ?? 1_800);
    const rate = 200;
    const analytics = javaPresent();
    return withStack('soak', analytics, async (stack, dataDir, keep) => {
      const lake = new LakeWatcher(stack.endpoints.dataDir);
      lake.start();
      const processes = sampleProcesses(stack, 15_000);
      const queries: number[] = [];
      const throughput: [number, number][] = [];
      const started = Date.now();
      const run = startLoad({ target: () => stack.endpoints, rate, durationSeconds: seconds, prefix: 'soak', probeEverySeconds: 10 });
      let lastCount = 0;
      const tick = setInterval(() => {
        throughput.push([(Date.now() - started) / 60_000, (run.counters.acknowledged - lastCount) / 60]);
        lastCount = run.counters.acknowledged;
      }, 60_000);
      // `npm run query` during the run, as a person would: every 5 minutes, timed.
      const queryTimer = setInterval(() => {
        const t0 = Date.now();
        execFile(join(ROOT, 'node_modules', '.bin', 'tsx'), ['commands/query.ts', '--json', '--data-dir', dataDir, '--named', 'top_pages'], { cwd: ROOT, timeout: 60_000 }, (error) => {
          queries.push(error ? Number.NaN : (Date.now() - t0) / 1000);
        });
      }, 300_000);
      await run.done;
      clearInterval(tick);
      clearInterval(queryTimer);
      const drained = await drain(stack, run, 'soak');
      lake.stop();
      processes.stop();
      await lake.poll();
      const lagPoints = [...run.probes].flatMap(([id, at]): [number, number][] => {
        const seen = lake.seenAt.get(id);
        return seen === undefined ? [] : [[(at - started) / 60_000, (seen - at) / 1000]];
      });
      const figures: Figures = {
        'soak.acknowledged_per_s': figure(run.counters.acknowledged / seconds, 'events/s', { baseline: rate }),
        'soak.throughput_slope': figure(slope(throughput), 'events/s per min'),
        'soak.lake_lag_p99': figure(percentile(lagPoints.map(([, s]) => s), 99), 's'),
        'soak.lake_lag_slope': figure(slope(lagPoints), 's per min'),
        'soak.lake_lag_max': figure(Math.max(...lagPoints.map(([, s]) => s)), 's'),
        ...deliveryFigures('soak', drained, stack, run, 'soak', keep, { 'probe-lags.json': lagPoints }),
        'soak.drain_after_send': figure(drained.seconds, 's'),
        'soak.queries_answered': figure(queries.filter((q) => Number.isFinite(q)).length, 'queries', { target: `all of ${queries.length}`, met: queries.length > 0 && queries.every((q) => Number.isFinite(q)) }),
        'soak.query_seconds_max': figure(Math.max(...queries.filter((q) => Number.isFinite(q)), 0), 's'),
      };
      for (const [name, points] of processes.memory) {
        // The first minutes are warm-up (JIT, caches, the JVM's heap growing to its working size).
        const steady = points.filter(([minute]) => minute >= 5);
        figures[`soak.memory_${name}_slope`] = figure(slope(steady), 'MB per min');
        figures[`soak.memory_${name}_max`] = figure(Math.max(...points.map(([, mb]) => mb)), 'MB');
        // The dashboard keeps the last hour of events (dashboard/lake-figures.ts): its table grows for the first
        // hour by design, then old minutes leave as new ones come. A run longer than 75 minutes also reports
        // the slope once that window is full.
        const afterHour = points.filter(([minute]) => minute >= 65);
        if (seconds >= 75 * 60) figures[`soak.memory_${name}_slope_after_hour`] = figure(slope(afterHour), 'MB per min');
      }
      // CPU per process: its mean over the steady part, and over the first and the last 10 minutes of it, so work
      // that grows with the run (state that is never let go) shows as a rising figure, not only in a slope.
      for (const [name, points] of processes.cpu) {
        const steady = points.filter(([minute]) => minute >= 5);
        if (steady.length === 0) continue;
        const end = steady.at(-1)![0];
        figures[`soak.cpu_${name}_mean`] = figure(mean(steady.map(([, share]) => share)), '% of a core');
        figures[`soak.cpu_${name}_slope`] = figure(slope(steady), '% of a core per min');
        figures[`soak.cpu_${name}_first_10min`] = figure(mean(steady.filter(([m]) => m < 15).map(([, share]) => share)), '% of a core');
        figures[`soak.cpu_${name}_last_10min`] = figure(mean(steady.filter(([m]) => m > end - 10).map(([, share]) => share)), '% of a core');
      }
      return figures;
    });
  },
};
