// The demo traffic sender: posts the sends of local/demo/model.ts to the real ingest API
// (POST /v1/batch, HTTP Basic with the write key, gzip for larger bodies) at their scheduled times, and
// counts what the API answered. The events come from the seeded model; only sentAt is set here, to the
// moment of posting, as an SDK does.
import { promisify } from 'node:util';
import { gzip as gzipCallback } from 'node:zlib';
import { generateTraffic, spikeWindow, DEFAULT_SPIKE, type ScheduledSend, type SpikeOptions } from './model.js';

const gzip = promisify(gzipCallback);

export interface DemoTrafficOptions {
  ingestUrl: string;
  writeKey: string;
  /** Events per second (the model adds a gentle variation and the spike). */
  rate: number;
  /** Same seed, same visits (default 42). Message ids stay unique per run, so restarts never look like retries. */
  seed?: number;
  /** Goes into every messageId (default: the start time in base 36). */
  runId?: string;
  /** Seconds after the start when the spike begins (moved to the next whole minute); null: no spike. Default 480. */
  spikeAtSeconds?: number | null;
  /** Spike length and multiplier (default 60 s, 5x). */
  spikeSeconds?: number;
  spikeFactor?: number;
  /** Compress request bodies: always, never, or 'auto' (bodies over 16 KB, as SDKs do). Default 'auto'. */
  gzip?: boolean | 'auto';
  /** Model overrides, for tests: retry and invalid shares, batch size, warm-up. */
  retryShare?: number;
  invalidShare?: number;
  maxBatchEvents?: number;
  warmupMs?: number;
  log?: (message: string) => void;
}

/**
 * What the sender did and what the ingest API answered, for the status line and the dashboard.
 * Invariant: sent = accepted + rejected + failed.
 */
export interface DemoCounters {
  /** POST requests made. */
  requests: number;
  /** Events posted (all of them: retries and invalid ones too). */
  sent: number;
  /** Events the API acknowledged as written to Kinesis. */
  accepted: number;
  /** Events the API refused, each with a reason (the invalid ones the ingest catches). */
  rejected: number;
  /** Events in requests that got no per-event answer (network error, 5xx, 401…). */
  failed: number;
  /** Events posted again by simulated client retries: same messageIds, dropped downstream by dedup. */
  retriedDuplicates: number;
  /** Invalid events posted on purpose; `invalidAtIngest` of them should be rejected, the rest become bad rows. */
  invalid: number;
  invalidAtIngest: number;
  /** Events posted during the scheduled spike. */
  spikeEvents: number;
}

export interface DemoTraffic {
  /** Events the ingest API acknowledged so far. */
  readonly accepted: number;
  /** A snapshot of the counters. */
  readonly counters: Readonly<DemoCounters>;
  /** Run id in the messageIds (`demo-<runId>-<n>`). */
  readonly runId: string;
  /** The scheduled spike (epoch ms), or null. */
  readonly spike: { startMs: number; endMs: number; factor: number } | null;
  /** Whether the spike is on now. */
  readonly spiking: boolean;
  /** One line for a terminal, e.g. `demo: 1200 sent, 1190 accepted, 4 rejected (4 expected), …`. */
  statusLine(): string;
  /** Stops scheduling and waits for the request in flight. */
  stop(): Promise<void>;
}

const GZIP_FROM_BYTES = 16 * 1024;

export function formatDemoStatus(c: Readonly<DemoCounters>): string {
  const parts = [`${c.sent} sent`, `${c.accepted} accepted`, `${c.rejected} rejected (${c.invalidAtIngest} expected)`];
  if (c.failed > 0) parts.push(`${c.failed} failed`);
  parts.push(`${c.retriedDuplicates} retried duplicates`, `${c.invalid - c.invalidAtIngest} bad rows expected`);
  if (c.spikeEvents > 0) parts.push(`${c.spikeEvents} in the spike`);
  return `demo: ${parts.join(', ')}`;
}

export function startDemoTraffic(options: DemoTrafficOptions): DemoTraffic {
  const log = options.log ?? ((message: string) => console.log(message));
  const startMs = Date.now();
  const runId = options.runId ?? startMs.toString(36);
  const spikeAt = options.spikeAtSeconds === undefined ? DEFAULT_SPIKE.atMs / 1000 : options.spikeAtSeconds;
  const spikeOptions: SpikeOptions | null =
    spikeAt === null
      ? null
      : { atMs: spikeAt * 1000, durationMs: (options.spikeSeconds ?? DEFAULT_SPIKE.durationMs / 1000) * 1000, factor: options.spikeFactor ?? DEFAULT_SPIKE.factor };
  const sends = generateTraffic({
    seed: options.seed ?? 42,
    startMs,
    runId,
    rate: options.rate,
    spike: spikeOptions,
    ...(options.retryShare === undefined ? {} : { retryShare: options.retryShare }),
    ...(options.invalidShare === undefined ? {} : { invalidShare: options.invalidShare }),
    ...(options.maxBatchEvents === undefined ? {} : { maxBatchEvents: options.maxBatchEvents }),
    ...(options.warmupMs === undefined ? {} : { warmupMs: options.warmupMs }),
  });
  const spike = spikeWindow({ startMs, spike: spikeOptions });
  const authorization = `Basic ${Buffer.from(`${options.writeKey}:`).toString('base64')}`;
  const url = `${options.ingestUrl.replace(/\/+$/, '')}/v1/batch`;
  const counters: DemoCounters = { requests: 0, sent: 0, accepted: 0, rejected: 0, failed: 0, retriedDuplicates: 0, invalid: 0, invalidAtIngest: 0, spikeEvents: 0 };
  const reportedProblems = new Set<string>();
  // One line per kind of problem, so a stopped API does not flood the terminal.
  const reportOnce = (problem: string) => {
    if (reportedProblems.has(problem)) return;
    reportedProblems.add(problem);
    log(`[demo] ${problem}`);
  };

  const post = async (send: ScheduledSend): Promise<void> => {
    const sentAt = new Date().toISOString();
    const json = JSON.stringify({ batch: send.batch.map((event) => ({ ...event, sentAt })), sentAt });
    const compress = options.gzip === 'auto' || options.gzip === undefined ? Buffer.byteLength(json) > GZIP_FROM_BYTES : options.gzip;
    const headers: Record<string, string> = { 'content-type': 'application/json', authorization };
    let body: string | Buffer = json;
    if (compress) {
      body = await gzip(json);
      headers['content-encoding'] = 'gzip';
    }
    const events = send.batch.length;
    counters.requests++;
    counters.sent += events;
    if (send.meta.kind === 'retry') counters.retriedDuplicates += events;
    counters.invalid += send.meta.invalid.length;
    counters.invalidAtIngest += send.meta.invalid.filter((mark) => mark.expect === 'rejected-at-ingest').length;
    if (send.meta.spike) counters.spikeEvents += events;
    try {
      const response = await fetch(url, { method: 'POST', headers, body });
      const text = await response.text();
      // 200, and 400 when no event of the batch was valid, both list every event's fate.
      const answer = parseAnswer(text);
      if ((response.ok || response.status === 400) && answer) {
        counters.accepted += answer.accepted;
        counters.rejected += answer.rejected;
        const unanswered = events - answer.accepted - answer.rejected;
        if (unanswered > 0) counters.failed += unanswered;
        return;
      }
      counters.failed += events;
      reportOnce(`ingest answered ${response.status}: ${text.slice(0, 300)}`);
    } catch (error) {
      counters.failed += events;
      reportOnce(`could not reach ${url}: ${(error as Error).message}`);
    }
  };

  let stopped = false;
  let wake: (() => void) | undefined;
  let timer: NodeJS.Timeout | undefined;
  const sleep = (ms: number) =>
    new Promise<void>((resolve) => {
      wake = resolve;
      timer = setTimeout(resolve, ms);
    });
  const run = async () => {
    // The model's warm-up runs on the first pull: let the caller print its banner first.
    await new Promise((resolve) => setImmediate(resolve));
    for (const send of sends) {
      if (stopped) return;
      const wait = send.atMs - Date.now();
      if (wait > 0) await sleep(wait);
      if (stopped) return;
      await post(send);
      if (stopped) return;
    }
  };
  const running = run().catch((error: unknown) => reportOnce(`stopped: ${(error as Error).message}`));

  return {
    get accepted() {
      return counters.accepted;
    },
    get counters() {
      return { ...counters };
    },
    runId,
    spike,
    get spiking() {
      const now = Date.now();
      return spike !== null && now >= spike.startMs && now < spike.endMs;
    },
    statusLine: () => formatDemoStatus(counters),
    stop: async () => {
      stopped = true;
      clearTimeout(timer);
      wake?.();
      await running;
    },
  };
}

function parseAnswer(text: string): { accepted: number; rejected: number } | undefined {
  try {
    const body = JSON.parse(text) as { accepted?: unknown; rejected?: unknown };
    if (typeof body.accepted !== 'number') return undefined;
    return { accepted: body.accepted, rejected: Array.isArray(body.rejected) ? body.rejected.length : 0 };
  } catch {
    return undefined;
  }
}
