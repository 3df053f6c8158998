import { afterEach, describe, expect, it, vi } from 'vitest';
import { formatBytes } from '../../../dashboard/format.js';
import { formatLag, formatStatusLine, startStatusLine, type StatusOutput, type StatusSample } from '../../../commands/status-line.js';

const sample: StatusSample = {
  eventsPerSecond: 5.04,
  consumers: [
    { label: 'enrich', lagMs: 420 },
    { label: 'firehose', lagMs: 3_150 },
    { label: 'alert', lagMs: 0, idle: true },
  ],
  lakeObjects: 12,
  lakeBytes: 49_254,
  aggregates: 30,
  anomalies: 2,
  badRows: 3,
  deadLetters: 0,
};

/** A terminal or a pipe that records what was written. */
function fakeOutput(isTTY: boolean, columns = 120): StatusOutput & { text: () => string } {
  const chunks: string[] = [];
  return {
    isTTY,
    columns,
    write: (chunk: string) => {
      chunks.push(chunk);
      return true;
    },
    text: () => chunks.join(''),
  };
}

describe('formatStatusLine', () => {
  it('gives a terminal one compact line: rate, lag per consumer, lake, Flink outputs, bad rows, DLQ', () => {
    expect(formatStatusLine(sample, { tty: true, columns: 120 })).toBe(
      '● 5.0 ev/s in │ lag enrich 420ms firehose 3.1s alert idle │ lake 12 obj 48.1 KB │ agg 30 anom 2 │ bad 3 │ DLQ 0',
    );
  });

  it('fits a narrow terminal by leaving out the Flink counts, then the lake, then bad rows, and never wraps', () => {
    expect(formatStatusLine(sample, { tty: true, columns: 80 })).toBe('● 5.0 ev/s in │ lag enrich 420ms firehose 3.1s alert idle │ bad 3 │ DLQ 0');
    expect(formatStatusLine(sample, { tty: true, columns: 0 })).toBe(formatStatusLine(sample, { tty: true, columns: 80 })); // a terminal of unknown size
    expect(formatStatusLine(sample, { tty: true, columns: 66 })).toBe('● 5.0 ev/s in │ lag enrich 420ms firehose 3.1s alert idle │ DLQ 0');
    const tiny = formatStatusLine(sample, { tty: true, columns: 30 });
    expect(tiny).toHaveLength(29);
    expect(tiny).toMatch(/^● 5\.0 ev\/s in │ lag .*…$/);
  });

  it('writes a plain, timestamped line for logs, with "–" for figures not known yet', () => {
    const line = formatStatusLine({ ...sample, badRows: null, consumers: [{ label: 'enrich', lagMs: null }] }, { tty: false, now: new Date('2026-11-22T10:00:17.000Z') });
    expect(line).toBe('[status 10:00:17Z] 5.0 events/s in | lag: enrich – | lake: 12 objects, 48.1 KB this run | aggregates 30, anomalies 2 | bad rows – | DLQ 0');
    expect(line).not.toMatch(/\x1b/); // eslint-disable-line no-control-regex
  });

  it('formats sizes and lags for people', () => {
    expect([formatBytes(0), formatBytes(1023), formatBytes(1536), formatBytes(5 * 1024 ** 3)]).toEqual(['0 B', '1023 B', '1.5 KB', '5.0 GB']);
    expect([formatLag(null), formatLag(12), formatLag(59_999), formatLag(90_000)]).toEqual(['–', '12ms', '60.0s', '1.5min']);
  });
});

describe('startStatusLine', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('on a TTY redraws one line in place, steps out of the way of other output, and leaves a clean line on stop', async () => {
    vi.useFakeTimers();
    const terminal = fakeOutput(true);
    const errors = fakeOutput(true);
    const status = startStatusLine({ output: terminal, alsoIntercept: [errors], sample: () => sample, ttyIntervalMs: 1_000 });
    vi.advanceTimersByTime(2_000);
    const drawn = terminal.text();
    expect(drawn.split('\r\x1b[2K● ')).toHaveLength(4); // drawn at start and on each of the 2 ticks
    expect(drawn).not.toContain('\n');

    errors.write('a handler warning\n');
    expect(terminal.text().endsWith('\r\x1b[2K')).toBe(true); // cleared before the warning
    await vi.runOnlyPendingTimersAsync(); // setImmediate: drawn again under it
    expect(terminal.text().endsWith(formatStatusLine(sample, { tty: true, columns: 120 }))).toBe(true);

    status.stop();
    expect(terminal.text().endsWith('\r\x1b[2K')).toBe(true);
    const before = terminal.text().length;
    vi.advanceTimersByTime(5_000);
    terminal.write('after\n');
    expect(terminal.text().slice(before)).toBe('after\n'); // no more drawing, the original write is back
  });

  it('elsewhere prints a plain line every 10 s and nothing else', () => {
    vi.useFakeTimers();
    const pipe = fakeOutput(false);
    const status = startStatusLine({ output: pipe, sample: () => sample });
    vi.advanceTimersByTime(9_999);
    expect(pipe.text()).toBe('');
    vi.advanceTimersByTime(20_001);
    const lines = pipe.text().split('\n').filter(Boolean);
    expect(lines).toHaveLength(3);
    for (const line of lines) expect(line).toMatch(/^\[status \d\d:\d\d:\d\dZ\] 5\.0 events\/s in \| lag: enrich 420ms, firehose 3\.1s, alert idle \|/);
    status.stop();
    vi.advanceTimersByTime(30_000);
    expect(pipe.text().split('\n').filter(Boolean)).toHaveLength(3);
  });
});
