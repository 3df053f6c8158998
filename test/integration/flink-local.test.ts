// The real Flink job jar (analytics/flink, built with -Plocal) in a local mini cluster against the local Kinesis emulator:
// enriched events written to events-enriched come out as aggregate rows on the aggregates stream, valid against
// schemas/aggregates/1-0-0.json. Runs when the jar is built; in CI (.ci/run builds it) a missing jar fails.
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { PutRecordsCommand, type KinesisClient } from '@aws-sdk/client-kinesis';
import { validateAggregateRow } from '../../schemas/index.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFlinkJob, LOCAL_JOB_JAR, type RunningFlinkJob } from '../../local/flink/job.js';
import { createLocalKinesisClient } from '../../local/kinesis/client.js';
import { startKinesisEmulator, type KinesisEmulator } from '../../local/kinesis/emulator.js';
import { ensurePipelineStreams, LOCAL_STREAM_NAMES } from '../../local/kinesis/streams.js';
import { readAllRecords } from './kinesis-records.js';

const jarBuilt = existsSync(LOCAL_JOB_JAR);
if (!jarBuilt && process.env.CI === 'true') {
  throw new Error(`${LOCAL_JOB_JAR} is missing: .ci/run builds it (mvn -f analytics/flink/pom.xml package -Plocal) before the tests`);
}

const START_MS = Date.parse('2024-05-01T12:00:00.000Z');
/** Page views per minute 12:00 … 12:04, then one event at 12:05:30 whose watermark (−5 s) closes 12:04. */
const VIEWS_PER_MINUTE = [40, 25, 60, 10, 30];

function enrichedEvent(messageId: string, timeMs: number, path: string, visitor: string): Record<string, unknown> {
  const timestamp = new Date(timeMs).toISOString();
  return {
    type: 'page',
    messageId,
    anonymousId: visitor,
    timestamp,
    receivedAt: timestamp,
    context: { page: { url: `https://shop.example.com${path}`, path } },
    enrichment: {
      event_date: timestamp.slice(0, 10), event_hour: new Date(timeMs).getUTCHours(), lateness_seconds: 0, is_late: false,
      browser_name: 'Chrome', browser_version: '126.0', os_name: 'Mac OS', os_version: '10.15.7', device_type: 'desktop',
      device_vendor: 'Apple', device_model: 'Macintosh', is_bot: false,
      page_host: 'shop.example.com', page_path: path, page_query: null, referrer_host: null,
      utm_source: null, utm_medium: null, utm_campaign: null, utm_term: null, utm_content: null, campaign_origin: null,
      enriched_at: timestamp,
    },
  };
}

function trafficEvents(): Record<string, unknown>[] {
  const events: Record<string, unknown>[] = [];
  VIEWS_PER_MINUTE.forEach((views, minute) => {
    for (let i = 0; i < views; i++) {
      const timeMs = START_MS + minute * 60_000 + Math.floor((i * 59_000) / views);
      events.push(enrichedEvent(`flink-local-${minute}-${i}`, timeMs, i % 3 === 0 ? '/pricing' : '/home', `visitor-${i % 12}`));
    }
  });
  events.push(enrichedEvent('flink-local-closer', START_MS + 5 * 60_000 + 30_000, '/home', 'visitor-0'));
  return events;
}

async function putInOrder(client: KinesisClient, stream: string, events: Record<string, unknown>[]): Promise<void> {
  // One partition key: one shard, so arrival order is event-time order (the SQL source has one watermark per
  // subtask, not per shard; see analytics/flink/README.md).
  for (let i = 0; i < events.length; i += 500) {
    const result = await client.send(new PutRecordsCommand({
      StreamName: stream,
      Records: events.slice(i, i + 500).map((event) => ({ Data: Buffer.from(JSON.stringify(event)), PartitionKey: 'flink-local-test' })),
    }));
    expect(result.FailedRecordCount ?? 0).toBe(0);
  }
}

function rssMb(pid: number): number | undefined {
  try {
    const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Math.round(Number(match[1]) / 1024) : undefined;
  } catch {
    return undefined;
  }
}

describe.skipIf(!jarBuilt)('Flink job on the local Kinesis emulator', () => {
  let dataDir: string;
  let emulator: KinesisEmulator;
  let client: KinesisClient;
  let job: RunningFlinkJob;
  const logged: string[] = [];

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'clickstream-flink-'));
    emulator = await startKinesisEmulator({ dataDir: join(dataDir, 'kinesis') });
    client = createLocalKinesisClient(emulator.endpoint);
    await ensurePipelineStreams(client);
    await putInOrder(client, LOCAL_STREAM_NAMES.enriched, trafficEvents());
    // Events of 2024: a backfill, so the wall clock must not close their windows, however long the source waits for
    // its first record (the events source is never idle: source.idle-timeout=0 ms).
    // Restarts on, as `npm start` runs it: a Ctrl-C must still stop it (the last test).
    const started = await startFlinkJob({ kinesisEndpoint: emulator.endpoint, dataDir, build: 'never', properties: { 'source.idle-timeout': '0 ms' }, restartOnCrash: true, log: (line) => logged.push(line) });
    if (!started.running) throw new Error(started.reason);
    job = started;
  }, 120_000);

  afterAll(async () => {
    await job?.stop();
    client?.destroy();
    await emulator?.stop();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  it('writes 1-minute aggregate rows for the events on events-enriched to the aggregates stream', { timeout: 150_000 }, async () => {
    const started = Date.now();
    const expectedWindows = VIEWS_PER_MINUTE.length;
    let totals: Record<string, unknown>[] = [];
    let rows: Record<string, unknown>[] = [];
    while (Date.now() - started < 120_000) {
      rows = (await readAllRecords(client, LOCAL_STREAM_NAMES.aggregates)).map((record) => record.data);
      totals = rows.filter((row) => row.kind === 'total_minute');
      if (totals.length >= expectedWindows) break;
      const exitCode = await Promise.race([job.exited, sleep(2_000).then(() => 'running' as const)]);
      if (exitCode !== 'running') throw new Error(`the job exited (${exitCode}); log: ${readFileSync(job.logFile, 'utf8').slice(-4_000)}`);
    }
    console.log(`[flink-local] ${totals.length} total_minute rows after ${((Date.now() - started) / 1000).toFixed(1)} s; job RSS ${rssMb(job.pid)} MB`);

    const byWindow = Object.fromEntries(totals.map((row) => [row.window_start, row.events]));
    expect(byWindow).toEqual(Object.fromEntries(VIEWS_PER_MINUTE.map((views, minute) =>
      [new Date(START_MS + minute * 60_000).toISOString(), views])));
    const pages = rows.filter((row) => row.kind === 'page_minute' && row.window_start === '2024-05-01T12:00:00.000Z');
    expect(Object.fromEntries(pages.map((row) => [row.page_path, row.page_views]))).toEqual({ '/home': 26, '/pricing': 14 });

    for (const row of rows) expect(validateAggregateRow(row)).toMatchObject({ ok: true });
  });

  it('stops on a Ctrl-C (SIGINT to its process group, so to the JVM too) within the grace period, not as a crash, keeping a checkpoint', { timeout: 60_000 }, async () => {
    // Checkpoints every 10 s (startFlinkJob's local default): wait for one.
    const checkpointDir = join(dataDir, 'flink', 'checkpoints');
    const deadline = Date.now() + 30_000;
    const hasCheckpoint = () => existsSync(checkpointDir) && readdirDeep(checkpointDir).some((path) => path.endsWith('_metadata'));
    while (!hasCheckpoint() && Date.now() < deadline) await sleep(500);
    expect(hasCheckpoint()).toBe(true);
    const stopping = Date.now();
    // The terminal's SIGINT reaches the JVM before `npm start` calls stop().
    process.kill(job.pid, 'SIGINT');
    const code = await Promise.race([job.exited, sleep(20_000).then(() => 'still running')]);
    await job.stop();
    expect(code).not.toBe('still running');
    console.log(`[flink-local] stopped in ${Date.now() - stopping} ms (exit ${code})`);
    expect(logged.filter((line) => /unexpectedly|starting the job again/.test(line))).toEqual([]);
    expect(hasCheckpoint()).toBe(true);
  });
});

function readdirDeep(dir: string): string[] {
  return readdirSyncSafe(dir).flatMap((entry) => {
    const path = join(dir, entry.name);
    return entry.isDirectory() ? readdirDeep(path) : [path];
  });
}

function readdirSyncSafe(dir: string) {
  try {
    return readdirSync(dir, { withFileTypes: true });
  } catch {
    return [];
  }
}
