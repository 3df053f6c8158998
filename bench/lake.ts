// The lake stage: Firehose transform CPU per event (decode, schemas/enriched validation, flattening, the
// Hive JSON SerDe check, encode) beside the floor of base64 decode + JSON.parse + JSON.stringify + base64
// encode; and the bytes per event of the Parquet the lake stores (written with DuckDB, Snappy, the
// schema-derived column types, as Firehose's conversion does) against the same events as JSON lines.
import { DuckDBInstance } from '@duckdb/node-api';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeParquet } from '../local/firehose/parquet.js';
import { enrichEvent } from '../functions/enrich/enrich-event.js';
import { IpFacts } from '../functions/enrich/ip-facts.js';
import { UserAgentParser } from '../functions/enrich/user-agent.js';
import type { FlatRow } from '../schemas/lake-rows.js';
import { createRecordTransformer } from '../functions/firehose-transform/transform-records.js';
import type { EnrichedEvent, SegmentEvent } from '../schemas/index.js';
import { EVENTS_TABLE } from '../schemas/lake-tables.js';
import { demoEvents, firehoseRecords } from './events.js';
import { foldLinks, linkOf, RecentLinks, type LinkSighting } from '../functions/enrich/identity-links.js';
import { partitionKeyFor } from '../functions/shared/partition-key.js';
import { demoEventsFor } from '../local/demo/model.js';
import { figure, timePerCall, type Suite } from './harness.js';

/** About 1 MB of enriched events: what Firehose hands the transform per invocation (BufferSizeInMBs 1). */
const BATCH_SIZE = 500;
/** One Parquet object's worth of events (Firehose closes files at 128 MB or 300 s; far fewer here). */
const FILE_EVENTS = 20_000;

const USER_AGENTS = Array.from({ length: 20 }, (_, i) => [
  `Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/${115 + i}.0.0.0 Safari/537.36`,
  `Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/${115 + i}.0.6778.81 Mobile Safari/537.36`,
  `Mozilla/5.0 (iPhone; CPU iPhone OS 18_${i % 7} like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.${i % 7} Mobile/15E148 Safari/604.1`,
]).flat();

export function enrichedEvents(count: number): EnrichedEvent[] {
  const userAgents = new UserAgentParser(1_000);
  const ipFacts = IpFacts.load();
  return demoEvents(count, { users: 5_000 }).map((e, i) => {
    const timestamp = e['timestamp'] as string;
    const receivedAt = new Date(Date.parse(timestamp) + 300 + (i % 7) * 1_000).toISOString();
    const raw = {
      ...e,
      receivedAt,
      originalTimestamp: timestamp,
      sentAt: timestamp,
      context: { ...(e['context'] as object), ip: `198.51.${(i >> 8) & 255}.${i & 255}`, userAgent: USER_AGENTS[i % USER_AGENTS.length] },
    } as unknown as SegmentEvent & { messageId: string };
    return enrichEvent(raw, { latenessBoundSeconds: 3_600, userAgents, ipFacts, arrivalMs: Date.parse(receivedAt), enrichedAt: receivedAt });
  });
}

/**
 * Rows of the identities table per million events: two hours of the demo's traffic (visitors who browse,
 * sign up, come back signed in) through the enrich stage's own link code, in batches of 250 per shard of
 * two, each shard's container with its RecentLinks. The cost model prices them as Firehose Direct PUT records.
 */
function identityRows(): { rowsPerMillion: number; bytesPerRow: number } {
  const events = demoEventsFor(720_000, { rate: 100 });
  const shards = [0, 1].map(() => ({ recent: new RecentLinks(), pending: [] as LinkSighting[], events: 0 }));
  let rows = 0;
  let bytes = 0;
  const flush = (shard: (typeof shards)[number], nowMs: number) => {
    const sending = shard.recent.worthSending(shard.pending, nowMs);
    const folded = foldLinks(sending);
    rows += folded.length;
    bytes += folded.reduce((n, row) => n + Buffer.byteLength(JSON.stringify(row)) + 1, 0);
    shard.recent.delivered(sending, nowMs);
    shard.pending = [];
    shard.events = 0;
  };
  for (const event of events) {
    const key = partitionKeyFor(event);
    const shard = shards[key.charCodeAt(key.length - 1) % 2]!;
    const link = linkOf(event);
    if (link) shard.pending.push(link);
    if (++shard.events === 250) flush(shard, Date.parse(event.timestamp));
  }
  return { rowsPerMillion: (rows / events.length) * 1e6, bytesPerRow: rows > 0 ? bytes / rows : 0 };
}

export const lake: Suite = {
  name: 'lake',
  async run() {
    const silent = { warn: () => undefined, info: () => undefined };
    const transform = createRecordTransformer({ logger: silent });

    // Transform CPU, one Firehose invocation's worth of records at a time.
    const records = firehoseRecords(enrichedEvents(BATCH_SIZE));
    const check = transform(records);
    if (check.ok !== BATCH_SIZE) throw new Error(`bench batch was not fully transformed: ${JSON.stringify(check.failures.slice(0, 3))}`);
    const perEvent = (await timePerCall(() => transform(records))) / BATCH_SIZE;
    const floor =
      (await timePerCall(() => {
        for (const r of records) Buffer.from(JSON.stringify(JSON.parse(Buffer.from(r.data, 'base64').toString('utf8')))).toString('base64');
      })) / BATCH_SIZE;
    const inputBytes = records.reduce((n, r) => n + Buffer.from(r.data, 'base64').byteLength, 0) / BATCH_SIZE;

    // Storage: the same events as JSON lines (what an unconverted lake would hold) and as Parquet.
    const events = enrichedEvents(FILE_EVENTS);
    const jsonLinesBytes = events.reduce((n, e) => n + Buffer.byteLength(JSON.stringify(e)) + 1, 0);
    const rows: FlatRow[] = [];
    for (let i = 0; i < events.length; i += BATCH_SIZE) {
      for (const r of transform(firehoseRecords(events.slice(i, i + BATCH_SIZE))).response.records) {
        rows.push(JSON.parse(Buffer.from(r.data!, 'base64').toString('utf8')) as FlatRow);
      }
    }
    const rowsJsonLinesBytes = rows.reduce((n, r) => n + Buffer.byteLength(JSON.stringify(r)) + 1, 0);
    const dir = await mkdtemp(join(tmpdir(), 'clickstream-bench-lake-'));
    let parquetBytes: number;
    try {
      const instance = await DuckDBInstance.create(':memory:');
      const connection = await instance.connect();
      const file = join(dir, 'events.parquet');
      await writeParquet(connection, EVENTS_TABLE, rows, file);
      parquetBytes = (await stat(file)).size;
      connection.closeSync();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }

    const links = identityRows();
    return {
      'lake.transform_cpu_per_event': figure(perEvent / 1000, 'µs/event', {
        baseline: floor / 1000,
        target: '≤ 5x the decode + JSON.parse + JSON.stringify + encode floor',
        met: perEvent / floor <= 5,
      }),
      'lake.transform_bytes_per_event_in': figure(inputBytes, 'bytes'),
      'lake.parquet_bytes_per_event': figure(parquetBytes / FILE_EVENTS, 'bytes', {
        baseline: jsonLinesBytes / FILE_EVENTS,
        target: '≤ 1/5 of the enriched events as JSON lines',
        met: parquetBytes / jsonLinesBytes <= 0.2,
      }),
      'lake.flat_json_bytes_per_event': figure(rowsJsonLinesBytes / FILE_EVENTS, 'bytes'),
      'lake.identity_rows_per_million_events': figure(links.rowsPerMillion, 'rows'),
      'lake.identity_row_bytes': figure(links.bytesPerRow, 'bytes'),
    };
  },
};
