// The live status of `npm start` in the terminal, under the banner. On a TTY it is one line redrawn in place
// every second (and cut to the terminal's width, so it never wraps); other output (handler warnings) is
// printed above it, and the line is drawn again below. Anything else (a pipe, a CI log) gets a plain line every
// 10 s. stop() removes the live line, so what follows starts on a clean line.
import type { DashboardSnapshot } from '../dashboard/snapshot.js';
import { formatBytes } from '../dashboard/format.js';

export interface StatusSample {
  /** Events read from events-raw per second. */
  eventsPerSecond: number;
  /** Lag per consumer: a Lambda consumer's iterator age, Firehose's oldest unstored record. */
  consumers: { label: string; lagMs: number | null; idle?: boolean }[];
  lakeObjects: number;
  lakeBytes: number;
  aggregates: number;
  anomalies: number;
  /** null until the lake has been read. */
  badRows: number | null;
  deadLetters: number;
}

/** What the status line shows, from the dashboard's snapshot (one source for both). */
export function statusSampleFrom(snapshot: DashboardSnapshot): StatusSample {
  const h = snapshot.health;
  return {
    eventsPerSecond: h.eventsPerSecond,
    consumers: h.consumers.filter((c) => c.kind !== 'dashboard').map((c) => ({ label: c.kind === 'firehose' ? 'firehose' : c.name.split(' ')[0]!, lagMs: c.lagMs, idle: c.idle })),
    lakeObjects: h.lake.objectsWritten,
    lakeBytes: h.lake.bytesWritten,
    aggregates: h.aggregates,
    anomalies: h.anomalies,
    badRows: h.badRows,
    deadLetters: h.deadLetters,
  };
}

export function formatLag(ms: number | null): string {
  if (ms === null) return '–';
  if (ms < 1000) return `${Math.round(ms)}ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)}s`;
  return `${(ms / 60_000).toFixed(1)}min`;
}

export interface StatusFormat {
  /** true: the compact live line; false: a plain, timestamped log line. */
  tty: boolean;
  /** Terminal width; the live line is cut to one less, so the cursor never wraps. */
  columns?: number;
  now?: Date;
}

export function formatStatusLine(s: StatusSample, format: StatusFormat): string {
  const rate = s.eventsPerSecond.toFixed(1);
  const bad = s.badRows === null ? '–' : String(s.badRows);
  if (!format.tty) {
    const time = (format.now ?? new Date()).toISOString().slice(11, 19);
    const lags = s.consumers.map((c) => `${c.label} ${c.idle ? 'idle' : formatLag(c.lagMs)}`).join(', ') || 'none';
    return (
      `[status ${time}Z] ${rate} events/s in | lag: ${lags} | lake: ${s.lakeObjects} objects, ${formatBytes(s.lakeBytes)} this run` +
      ` | aggregates ${s.aggregates}, anomalies ${s.anomalies} | bad rows ${bad} | DLQ ${s.deadLetters}`
    );
  }
  const lags = s.consumers.map((c) => `${c.label} ${c.idle ? 'idle' : formatLag(c.lagMs)}`).join(' ');
  // In display order, each with its rank: on a narrow terminal the lowest-ranked parts go first.
  const parts: { text: string; rank: number }[] = [
    { text: `● ${rate} ev/s in`, rank: 0 },
    { text: `lag ${lags || '–'}`, rank: 1 },
    { text: `lake ${s.lakeObjects} obj ${formatBytes(s.lakeBytes)}`, rank: 4 },
    { text: `agg ${s.aggregates} anom ${s.anomalies}`, rank: 5 },
    { text: `bad ${bad}`, rank: 3 },
    { text: `DLQ ${s.deadLetters}`, rank: 2 },
  ];
  // A pseudo-terminal without a size reports 0 columns.
  const width = Math.max(10, (format.columns || 80) - 1);
  const join = () => parts.map((p) => p.text).join(' │ ');
  let line = join();
  while (line.length > width && parts.length > 2) {
    parts.splice(parts.indexOf(parts.reduce((lowest, p) => (p.rank > lowest.rank ? p : lowest))), 1);
    line = join();
  }
  return line.length > width ? `${line.slice(0, width - 1)}…` : line;
}

/** The stream the status goes to: process.stdout, or a stand-in in tests. */
export interface StatusOutput {
  isTTY?: boolean;
  columns?: number;
  write(chunk: string): boolean;
}

export interface StatusLineOptions {
  output: StatusOutput;
  sample: () => StatusSample;
  /** Other streams written to the same terminal (process.stderr): on a TTY the live line steps out of their way. */
  alsoIntercept?: StatusOutput[];
  ttyIntervalMs?: number;
  plainIntervalMs?: number;
}

export interface StatusLine {
  /** Clears the live line (TTY) and stops; idempotent. */
  stop(): void;
}

const CLEAR_LINE = '\r\x1b[2K';

export function startStatusLine(options: StatusLineOptions): StatusLine {
  const { output } = options;
  const tty = output.isTTY === true;
  const line = () => {
    try {
      return formatStatusLine(options.sample(), { tty, ...(output.columns === undefined ? {} : { columns: output.columns }) });
    } catch (error) {
      return `status unavailable: ${(error as Error).message}`;
    }
  };

  if (!tty) {
    const timer = setInterval(() => output.write(`${line()}\n`), options.plainIntervalMs ?? 10_000);
    timer.unref();
    return { stop: () => clearInterval(timer) };
  }

  const write = output.write.bind(output);
  let shown = false;
  let stopped = false;
  let redraw: NodeJS.Immediate | undefined;
  const draw = () => {
    if (stopped) return;
    write(`${CLEAR_LINE}${line()}`);
    shown = true;
  };
  const clear = () => {
    if (shown) write(CLEAR_LINE);
    shown = false;
  };

  // Whatever else reaches the terminal is printed where the live line was; the line comes back under it.
  const restores: (() => void)[] = [];
  for (const stream of [output, ...(options.alsoIntercept ?? [])]) {
    const original = stream.write;
    stream.write = function (this: StatusOutput, ...args: Parameters<StatusOutput['write']>) {
      clear();
      const result = original.apply(this, args);
      if (!stopped && String(args[0]).endsWith('\n')) redraw ??= setImmediate(() => ((redraw = undefined), draw()));
      return result;
    } as StatusOutput['write'];
    restores.push(() => (stream.write = original));
  }

  draw();
  const timer = setInterval(draw, options.ttyIntervalMs ?? 1_000);
  timer.unref();
  return {
    stop: () => {
      if (stopped) return;
      stopped = true;
      clearInterval(timer);
      if (redraw) clearImmediate(redraw);
      for (const restore of restores) restore();
      clear();
    },
  };
}
