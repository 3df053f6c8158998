// The local lake: (1) events/s through the local Firehose's conversion path (local/firehose/ BufferConverter:
// the REAL transform handler invoked with 1 MB Firehose events, partitioning by dt/hour, Parquet via DuckDB),
// without the emulators, against the transform alone; (2) `top_pages` on DuckDB over 1 million events laid
// out as s3rver stores the lake (events/dt=…/hour=…/<key>._S3rver_object), generated directly with DuckDB.
import { DuckDBInstance } from '@duckdb/node-api';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLakeViews, duckDbType } from '../analytics/athena/duckdb-lake.js';
import { toDuckDbSql } from '../analytics/athena/dialect.js';
import { loadAthenaQueries } from '../analytics/athena/queries.js';
import { createRecordTransformer } from '../functions/firehose-transform/transform-records.js';
import { importHandler } from '../local/lambda/runtime.js';
import { BufferConverter, toFirehoseRecord, type FirehoseProcessorHandler } from '../local/firehose/buffer-converter.js';
import { LOCAL_FIREHOSE_DEFAULTS } from '../local/firehose/delivery-stream.js';
import { lakeDirectory, S3RVER_OBJECT_SUFFIX } from '../local/storage/lake-location.js';
import type { ShardRecord } from '../local/kinesis/shard-reader.js';
import { readTemplates } from '../local/template/templates.js';
import { REPOSITORY_ROOT } from '../local/stack.js';
import { EVENTS_TABLE } from '../schemas/lake-tables.js';
import { enrichedEvents } from './lake.js';
import { figure, type Suite } from './harness.js';

const CONVERSION_EVENTS = 20_000;
const QUERY_EVENTS = 1_000_000;
const QUERY_DAYS = 7;
const QUERY_RUNS = 5;

async function conversion(): Promise<{ eventsPerSecond: number; transformOnlyPerSecond: number; objects: number }> {
  const templates = readTemplates(join(REPOSITORY_ROOT, 'serverless.yml'));
  const definition = templates.deliveryStreams.find((d) => d.logicalId === 'EventsDeliveryStream')!;
  Object.assign(process.env, templates.environmentOf(definition.processor!.functionKey), { POWERTOOLS_LOG_LEVEL: 'ERROR' });
  const handler = await importHandler<FirehoseProcessorHandler>(REPOSITORY_ROOT, definition.processor!.handler);

  const events = enrichedEvents(CONVERSION_EVENTS);
  const records: ShardRecord[] = events.map((event, i) => {
    const sequence = 49_658_132_419_372_054_372_835_647_162_906_128_637_426_341_392_345_627_650n + BigInt(i);
    return { sequenceNumber: sequence.toString(), sequence, partitionKey: String(event.anonymousId ?? 'anon'), data: Buffer.from(JSON.stringify(event)), arrivalMs: Date.parse(event.receivedAt) };
  });
  // Buffers as the local loop closes them: at the buffer size (1 MB).
  const buffers: ShardRecord[][] = [];
  let current: ShardRecord[] = [];
  let bytes = 0;
  for (const record of records) {
    if (current.length > 0 && bytes + record.data.byteLength > LOCAL_FIREHOSE_DEFAULTS.bufferSizeBytes) {
      buffers.push(current);
      current = [];
      bytes = 0;
    }
    current.push(record);
    bytes += record.data.byteLength;
  }
  if (current.length > 0) buffers.push(current);

  const dir = await mkdtemp(join(tmpdir(), 'clickstream-bench-lake-local-'));
  const converter = await BufferConverter.create(definition, handler, dir);
  let objects = 0;
  let rows = 0;
  try {
    await converter.convert('shardId-000000000000', buffers[0]!.slice(0, 100)); // warm-up: DuckDB, the handler's cold start
    const start = performance.now();
    for (const buffer of buffers) {
      const converted = await converter.convert('shardId-000000000000', buffer);
      objects += converted.objects.length;
      rows += converted.ok;
    }
    const seconds = (performance.now() - start) / 1000;
    if (rows !== CONVERSION_EVENTS) throw new Error(`bench conversion delivered ${rows} of ${CONVERSION_EVENTS} rows`);

    const transform = createRecordTransformer({ logger: { warn: () => undefined, info: () => undefined } });
    const batches = buffers.map((b) => b.map((r) => toFirehoseRecord('shardId-000000000000', r)));
    const transformStart = performance.now();
    for (const batch of batches) transform(batch);
    const transformSeconds = (performance.now() - transformStart) / 1000;
    return { eventsPerSecond: CONVERSION_EVENTS / seconds, transformOnlyPerSecond: CONVERSION_EVENTS / transformSeconds, objects };
  } finally {
    converter.close();
    await rm(dir, { recursive: true, force: true });
  }
}

/** 1 M events over 7 days of hourly partitions, written by DuckDB where s3rver would keep them. */
async function topPages(): Promise<{ firstMs: number; medianMs: number; generateMs: number; lakeBytes: number }> {
  const dataDir = await mkdtemp(join(tmpdir(), 'clickstream-bench-query-'));
  const lake = lakeDirectory(dataDir);
  const instance = await DuckDBInstance.create(':memory:');
  const connection = await instance.connect();
  try {
    const generated: Record<string, string> = {
      type: "CASE WHEN i % 4 = 0 THEN 'track' ELSE 'page' END",
      message_id: "'bench-' || i",
      anonymous_id: "'anon-' || (hash(i) % 50000)",
      user_id: "CASE WHEN i % 5 = 0 THEN 'user-' || (hash(i) % 10000) END",
      event_time: 'ts',
      received_at: 'ts + INTERVAL 2 SECOND',
      context_page_path: 'page',
      context_page_url: "'https://www.example.com' || page",
      page_path: 'page',
      page_host: "'www.example.com'",
      is_bot: 'i % 20 = 0',
      is_late: 'false',
      event_date: "strftime(ts, '%Y-%m-%d')",
      event_hour: 'CAST(hour(ts) AS INTEGER)',
    };
    const select = EVENTS_TABLE.columns.map((c) => `CAST(${generated[c.name] ?? 'NULL'} AS ${duckDbType(c.type)}) AS "${c.name}"`).join(', ');
    await mkdir(lake, { recursive: true });
    const generateStart = performance.now();
    await connection.run(`
      COPY (
        SELECT ${select}, strftime(ts, '%Y-%m-%d') AS dt, lpad(CAST(hour(ts) AS VARCHAR), 2, '0') AS hour
        FROM (
          SELECT i, TIMESTAMP '2026-11-16 00:00:00' + to_microseconds(CAST(i * ${QUERY_DAYS * 86_400_000_000 / QUERY_EVENTS} AS BIGINT)) AS ts,
                 ['/', '/pricing', '/docs', '/blog/launch', '/signup', '/checkout', '/docs/api', '/about'][CAST(1 + hash(i * 7) % 8 AS INTEGER)] || CASE WHEN i % 3 = 0 THEN '' ELSE '?p=' || (i % 500) END AS page
          FROM range(${QUERY_EVENTS}) t(i)
        )
      ) TO '${join(lake, 'events')}' (FORMAT parquet, COMPRESSION snappy, PARTITION_BY (dt, hour),
        FILENAME_PATTERN 'clickstream-local-events-1-{i}', FILE_EXTENSION 'parquet${S3RVER_OBJECT_SUFFIX}')`);
    const generateMs = performance.now() - generateStart;
    const [size] = (await connection.runAndReadAll(`SELECT sum(size) AS bytes FROM read_blob('${join(lake, 'events', '*', '*', '*')}')`)).getRowObjectsJS();

    // Fresh connection per run, as `npm run query` opens one: views, then the query.
    const query = (await loadAthenaQueries()).find((q) => q.name === 'top_pages')!;
    const sql = toDuckDbSql(query.sql);
    const timings: number[] = [];
    for (let run = 0; run < QUERY_RUNS; run++) {
      const queryInstance = await DuckDBInstance.create(':memory:');
      const queryConnection = await queryInstance.connect();
      const start = performance.now();
      await createLakeViews(queryConnection, lake, { objectSuffix: S3RVER_OBJECT_SUFFIX });
      const rows = (await queryConnection.runAndReadAll(sql, ['2026-11-16', '2026-11-22'])).getRowObjectsJS();
      timings.push(performance.now() - start);
      queryConnection.closeSync();
      queryInstance.closeSync();
      if (rows.length === 0) throw new Error('top_pages returned nothing on the bench lake');
    }
    const sorted = [...timings].sort((a, b) => a - b);
    return { firstMs: timings[0]!, medianMs: sorted[Math.floor(sorted.length / 2)]!, generateMs, lakeBytes: Number(size!['bytes']) };
  } finally {
    connection.closeSync();
    instance.closeSync();
    await rm(dataDir, { recursive: true, force: true });
  }
}

export const lakeLocal: Suite = {
  name: 'lake-local',
  async run() {
    const converted = await conversion();
    const query = await topPages();
    return {
      'lake_local.firehose_conversion_events_per_s': figure(converted.eventsPerSecond, 'events/s', {
        baseline: converted.transformOnlyPerSecond,
        target: '≥ 5,000 events/s (1,000x the demo rate), so the local Firehose never lags npm start',
        met: converted.eventsPerSecond >= 5_000,
      }),
      'lake_local.firehose_conversion_objects': figure(converted.objects, 'objects'),
      'lake_local.top_pages_1m_events_median': figure(query.medianMs, 'ms', { target: '≤ 2,000 ms (interactive)', met: query.medianMs <= 2_000 }),
      'lake_local.top_pages_1m_events_first_run': figure(query.firstMs, 'ms'),
      'lake_local.generate_1m_events_parquet': figure(query.generateMs, 'ms'),
      'lake_local.lake_bytes_1m_events': figure(query.lakeBytes / 1024 / 1024, 'MiB'),
    };
  },
};
