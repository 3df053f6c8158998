// What a million events cost on AWS (us-east-1 list prices), from the measured figures in bench/results.json
// and the assumptions below: `npm run bench cost` prints the table that README.md ("Cost per million
// events") shows. Pure arithmetic; every price says where it was read and whether that page confirmed it.
import { readFile, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { figure, type Figures, type Suite } from './harness.js';

/** Sources were read on this date with the project's search tool (docs/pages/code corpora). */
export const PRICES_READ_ON = '2026-11-22';

export interface Price {
  usd: number;
  unit: string;
  /** Where the figure was read. */
  source: string;
  /** false: the page confirmed the billing model but not this number; it is an estimate. */
  confirmed: boolean;
}

const p = (usd: number, unit: string, source: string, confirmed: boolean): Price => ({ usd, unit, source, confirmed });
const KINESIS_PAGE = 'aws.amazon.com/kinesis/data-streams/pricing (model: per GB in, rounded up to 1 KB per record; per GB out; per stream-hour)';
const FIREHOSE_PAGE = 'aws.amazon.com/kinesis/data-firehose/pricing (model: ingestion and format conversion per GB in 5 KB increments per record; dynamic partitioning per GB and per object)';

export const PRICES = {
  lambdaArmGbSecond: p(0.0000133334, 'GB-s (arm64, first 7.5 G GB-s)', 'cloudchipr.com "AWS Lambda Pricing Breakdown" (us-east-1 tier table)', true),
  lambdaRequest: p(0.2 / 1e6, 'request', 'cloudchipr.com "AWS Lambda Pricing Breakdown"; git.mcrn.ar lambda_local_runner docs/lambda-13-cost.md', true),
  httpApiRequest: p(1.0 / 1e6, 'request (first 300 M/month, metered per 512 KB)', 'AWS whitepaper "Best Practices for Designing API Gateway Private APIs", Cost optimization', true),
  kinesisOnDemandStreamHour: p(0.04, 'stream-hour (on-demand)', KINESIS_PAGE, false),
  kinesisOnDemandGbIn: p(0.08, 'GB written (on-demand)', KINESIS_PAGE, false),
  kinesisOnDemandGbOut: p(0.04, 'GB read (on-demand, shared-throughput consumers)', KINESIS_PAGE, false),
  kinesisShardHour: p(0.015, 'shard-hour (provisioned)', 'github i05nagai/memorandum cloud/aws/kinesis_streams.md; public pricing code excerpts', true),
  kinesisPutUnit: p(0.014 / 1e6, 'PUT payload unit of 25 KB (provisioned)', 'github i05nagai/memorandum cloud/aws/kinesis_streams.md', true),
  dynamoWrite: p(0.625 / 1e6, 'write request unit (on-demand)', 'airbyte.com "Amazon DynamoDB Pricing" (after the Nov 2024 cut)', true),
  dynamoRead: p(0.125 / 1e6, 'read request unit (on-demand)', 'airbyte.com "Amazon DynamoDB Pricing" (after the Nov 2024 cut)', true),
  firehoseIngestGb: p(0.029, 'GB ingested, 5 KB increments', FIREHOSE_PAGE, false),
  firehoseConversionGb: p(0.018, 'GB converted to Parquet, 5 KB increments', FIREHOSE_PAGE, false),
  firehosePartitioningGb: p(0.02, 'GB delivered with dynamic partitioning', FIREHOSE_PAGE, false),
  firehosePartitioningObject: p(0.005 / 1000, 'S3 object delivered with dynamic partitioning', FIREHOSE_PAGE, false),
  s3StandardGbMonth: p(0.023, 'GB-month (S3 Standard, first 50 TB)', 'aws.amazon.com/s3/pricing (figure not in the excerpt read)', false),
  s3Put: p(0.005 / 1000, 'PUT request', 'cloudkaramchari.com "Understanding per 1000 PUT ... Requests in Amazon S3 Pricing"', false),
  athenaTb: p(5, 'TB scanned (10 MB minimum per query)', 'athena.guide "Athena Basics: Pricing Model"; rcpedia.stanford.edu "Athena"', true),
  flinkKpuHour: p(0.11, 'KPU-hour (+1 orchestration KPU per application)', 'docs.aws.amazon.com managed-flink "Per second billing"; github aws/agent-toolkit-for-aws MSF pricing-calculator.md', true),
  flinkStorageGbMonth: p(0.1, 'GB-month running application storage (50 GB per KPU)', 'api-evangelist/kinesis plans (quoted from the AWS page); whether the 50 GB is billed is disputed, so it is counted', false),
  snsPublish: p(0.5 / 1e6, 'publish', 'aws.amazon.com/sns/pricing (not read: estimate)', false),
  cloudwatchAlarmMetric: p(0.1, 'standard alarm metric-month', 'aws.amazon.com/cloudwatch/pricing (not read: estimate)', false),
  cloudwatchLogsGb: p(0.5, 'GB of logs ingested', 'aws.amazon.com/cloudwatch/pricing (not read: estimate)', false),
  kmsKeyMonth: p(1, 'customer managed key-month', 'aws.amazon.com/kms/pricing (not read: estimate)', false),
} satisfies Record<string, Price>;

export type Prices = typeof PRICES;

/** What the model assumes about the workload; the measured ones come from bench/results.json. */
export interface Assumptions {
  eventsPerSecond: number;
  // measured (bench/results.json)
  rawBytesPerEvent: number; // ingest.bytes_per_event
  enrichedBytesPerEvent: number; // lake.transform_bytes_per_event_in
  parquetBytesPerEvent: number; // lake.parquet_bytes_per_event
  ingestCpuMicros: number; // ingest.cpu_per_event (one full core)
  enrichCpuMicros: number; // enrich.cpu_per_event (one full core, UA cache warm)
  transformCpuMicros: number; // lake.transform_cpu_per_event (one full core)
  // chosen
  eventsPerRequest: number;
  ingestRequestOverheadMs: number;
  ingestMemoryMb: number;
  enrichMemoryMb: number;
  enrichBatchSize: number;
  enrichBatchWindowSeconds: number;
  enrichBatchOverheadMs: number;
  rawShards: number;
  transformMemoryMb: number;
  transformInvocationOverheadMs: number;
  parquetRealDataFactor: number;
  firehoseBufferSeconds: number;
  firehoseBufferMb: number;
  activePartitions: number;
  athenaQueriesPerDay: number;
  athenaScanShare: number;
  onDemandStreams: number;
  flinkKpus: number;
  alarmMetrics: number;
  accessLogBytesPerRequest: number;
}

/** Lambda gives a function 1 vCPU at 1,769 MB, and a share in proportion below that. */
const FULL_VCPU_MB = 1769;
const GB = 1024 ** 3;
const HOURS_PER_MONTH = 730;

export const DEFAULT_ASSUMPTIONS: Omit<Assumptions, 'eventsPerSecond' | 'rawBytesPerEvent' | 'enrichedBytesPerEvent' | 'parquetBytesPerEvent' | 'ingestCpuMicros' | 'enrichCpuMicros' | 'transformCpuMicros'> = {
  eventsPerRequest: 10, // a browser tracker or SDK flush; Segment's analytics-node flushes 15 at a time
  ingestRequestOverheadMs: 25, // billed wall time per request besides CPU: one PutRecords round trip (estimate)
  ingestMemoryMb: 512, // serverless.yml
  enrichMemoryMb: 512, // enrichMemorySize
  enrichBatchSize: 250, // enrichBatchSize
  enrichBatchWindowSeconds: 1, // enrichBatchWindow
  enrichBatchOverheadMs: 150, // per batch: BatchGetItem x3, GetItem + PutItem (intent), PutRecords, BatchWriteItem x10 round trips (estimate)
  rawShards: 4, // an ON_DEMAND stream starts with 4 MB/s of write capacity, about 4 shards
  transformMemoryMb: 256, // firehoseTransformMemorySize
  transformInvocationOverheadMs: 5, // no I/O: decode/encode of a 1 MB batch (estimate)
  parquetRealDataFactor: 4, // the demo events are far more regular than real traffic (README, Benchmarks): 4x the measured Parquet size (estimate)
  firehoseBufferSeconds: 300, // firehoseBufferIntervalSeconds
  firehoseBufferMb: 128, // firehoseBufferSizeMB
  activePartitions: 1.2, // the current dt/hour, plus late events in earlier hours (estimate)
  athenaQueriesPerDay: 20, // named queries and dashboards over one day of events (estimate)
  athenaScanShare: 0.5, // the named queries read a handful of the ~40 columns; half of the bytes is generous (estimate)
  onDemandStreams: 4, // events-raw, events-enriched, aggregates, anomalies
  flinkKpus: 1, // flinkParallelism / flinkParallelismPerKpu
  alarmMetrics: 23, // infra/alarms.yml: 20 single-metric alarms + 1 metric math alarm over 2 metrics (+1 for the expression)
  accessLogBytesPerRequest: 400, // one JSON line of the HTTP API access log
};

export interface CostLine {
  component: string;
  usdPerMillion: number;
  basis: string;
  /** Fixed per hour, shown amortised over the events of an hour at the given rate. */
  fixed?: boolean;
  /** Shown for comparison, not part of the total. */
  alternative?: boolean;
  estimate: boolean;
}

const perMillion = (usdPerEvent: number): number => usdPerEvent * 1e6;

/** $ per million events, line by line, at a steady `eventsPerSecond`. */
export function costPerMillionEvents(a: Assumptions, prices: Prices = PRICES): CostLine[] {
  const M = 1e6;
  const eventsPerHour = a.eventsPerSecond * 3600;
  const hourly = (usdPerHour: number): number => (usdPerHour / eventsPerHour) * M;
  const gbSecondUsd = (mb: number, seconds: number): number => (mb / 1024) * seconds * prices.lambdaArmGbSecond.usd;
  const cpuSeconds = (micros: number, mb: number): number => (micros / 1e6) * (FULL_VCPU_MB / Math.min(mb, FULL_VCPU_MB));
  const lines: CostLine[] = [];

  // API Gateway + ingest Lambda: one request (and one invocation) per `eventsPerRequest` events.
  const requests = M / a.eventsPerRequest;
  lines.push({ component: 'API Gateway HTTP API', usdPerMillion: requests * prices.httpApiRequest.usd, basis: `${requests.toLocaleString('en-US')} requests (${a.eventsPerRequest} events each, < 512 KB)`, estimate: !prices.httpApiRequest.confirmed });
  const ingestSeconds = a.ingestRequestOverheadMs / 1000 + a.eventsPerRequest * cpuSeconds(a.ingestCpuMicros, a.ingestMemoryMb);
  lines.push({
    component: 'Lambda ingest',
    usdPerMillion: requests * (gbSecondUsd(a.ingestMemoryMb, ingestSeconds) + prices.lambdaRequest.usd),
    basis: `${a.ingestMemoryMb} MB; ${a.ingestRequestOverheadMs} ms/request + ${a.ingestCpuMicros} µs/event x ${(FULL_VCPU_MB / a.ingestMemoryMb).toFixed(2)} (CPU share) = ${(ingestSeconds * 1000).toFixed(1)} ms/request`,
    estimate: true,
  });

  // Kinesis on-demand: data in rounded up to 1 KB per record; raw read once (enrich), enriched twice (Firehose, Flink).
  const kb = (bytes: number): number => Math.ceil(bytes / 1024) * 1024;
  const gbIn = (M * (kb(a.rawBytesPerEvent) + kb(a.enrichedBytesPerEvent))) / GB;
  const gbOut = (M * (a.rawBytesPerEvent + 2 * a.enrichedBytesPerEvent)) / GB;
  lines.push({
    component: 'Kinesis on-demand: data',
    usdPerMillion: gbIn * prices.kinesisOnDemandGbIn.usd + gbOut * prices.kinesisOnDemandGbOut.usd,
    basis: `in ${gbIn.toFixed(2)} GB (${a.rawBytesPerEvent} B raw -> 1 KB, ${a.enrichedBytesPerEvent} B enriched -> 2 KB), out ${gbOut.toFixed(2)} GB (raw x1, enriched x2)`,
    estimate: true,
  });
  lines.push({ component: 'Kinesis on-demand: stream-hours', usdPerMillion: hourly(a.onDemandStreams * prices.kinesisOnDemandStreamHour.usd), basis: `${a.onDemandStreams} streams x $${prices.kinesisOnDemandStreamHour.usd}/h`, fixed: true, estimate: true });
  // Provisioned alternative: a shard takes 1,000 records/s and 1 MB/s; keep 20 % headroom, at least 1 shard per stream.
  const shardsFor = (bytes: number): number => Math.max(1, Math.ceil((a.eventsPerSecond * 1.2) / Math.min(1000, (1024 * 1024) / bytes)));
  const shards = shardsFor(a.rawBytesPerEvent) + shardsFor(a.enrichedBytesPerEvent) + 2;
  lines.push({
    component: 'Kinesis provisioned (alternative)',
    usdPerMillion: hourly(shards * prices.kinesisShardHour.usd) + 2 * M * prices.kinesisPutUnit.usd,
    basis: `${shards} shards (raw, enriched, 1 each for aggregates/anomalies) + 2 PUT units/event`,
    alternative: true,
    estimate: !prices.kinesisShardHour.confirmed,
  });

  // Enrich: batches per shard fill up to the batch size or for the batch window.
  const perShardPerWindow = (a.eventsPerSecond / a.rawShards) * a.enrichBatchWindowSeconds;
  const batch = Math.max(1, Math.min(a.enrichBatchSize, perShardPerWindow));
  const batches = M / batch;
  const enrichSeconds = a.enrichBatchOverheadMs / 1000 + batch * cpuSeconds(a.enrichCpuMicros, a.enrichMemoryMb);
  lines.push({
    component: 'Lambda enrich',
    usdPerMillion: batches * (gbSecondUsd(a.enrichMemoryMb, enrichSeconds) + prices.lambdaRequest.usd),
    basis: `${a.enrichMemoryMb} MB; batches of ${Math.round(batch)} (${a.rawShards} shards, ${a.enrichBatchWindowSeconds} s window); ${a.enrichBatchOverheadMs} ms/batch + ${a.enrichCpuMicros} µs/event x ${(FULL_VCPU_MB / a.enrichMemoryMb).toFixed(2)}`,
    estimate: true,
  });
  // Per batch, the write intent: one PutItem of the batch's ids (about 40 B each, 1 WRU per KB) and one
  // strongly consistent GetItem of it (1 RRU per 4 KB).
  const intentKb = Math.ceil((batch * 40) / 1024);
  const intentUsd = batches * (intentKb * prices.dynamoWrite.usd + Math.ceil(intentKb / 4) * prices.dynamoRead.usd);
  lines.push({
    component: 'DynamoDB on-demand (dedup)',
    usdPerMillion: M * (prices.dynamoRead.usd + prices.dynamoWrite.usd) + intentUsd,
    basis: `1 strongly consistent read (BatchGetItem, 1 RRU) + 1 write (BatchWriteItem, 1 WRU, item < 1 KB) per event; per batch of ${Math.round(batch)}, a ${intentKb} KB write intent (${intentKb} WRU + ${Math.ceil(intentKb / 4)} RRU)`,
    estimate: !prices.dynamoWrite.confirmed,
  });

  // Firehose events: ingestion and conversion billed per record rounded up to 5 KB.
  const fiveKb = (bytes: number): number => Math.ceil(bytes / 5120) * 5120;
  const firehoseGb = (M * fiveKb(a.enrichedBytesPerEvent)) / GB;
  const deliveredGb = (M * a.enrichedBytesPerEvent) / GB;
  const bytesPerHour = eventsPerHour * a.enrichedBytesPerEvent;
  const objectsPerHour = Math.max(3600 / a.firehoseBufferSeconds, bytesPerHour / (a.firehoseBufferMb * 1024 * 1024)) * a.activePartitions;
  const objectsPerMillion = (objectsPerHour / eventsPerHour) * M;
  lines.push({ component: 'Firehose ingestion', usdPerMillion: firehoseGb * prices.firehoseIngestGb.usd, basis: `${firehoseGb.toFixed(2)} GB: each ${a.enrichedBytesPerEvent} B record billed as 5 KB`, estimate: true });
  lines.push({ component: 'Firehose Parquet conversion', usdPerMillion: firehoseGb * prices.firehoseConversionGb.usd, basis: `${firehoseGb.toFixed(2)} GB (5 KB increments)`, estimate: true });
  lines.push({
    component: 'Firehose dynamic partitioning',
    usdPerMillion: deliveredGb * prices.firehosePartitioningGb.usd + objectsPerMillion * prices.firehosePartitioningObject.usd,
    basis: `${deliveredGb.toFixed(2)} GB (counted at the JSON size: conservative) + ${objectsPerMillion.toFixed(1)} objects`,
    estimate: true,
  });
  const transformBatch = Math.min((1024 * 1024) / a.enrichedBytesPerEvent, a.eventsPerSecond * 60);
  const transformSeconds = a.transformInvocationOverheadMs / 1000 + transformBatch * cpuSeconds(a.transformCpuMicros, a.transformMemoryMb);
  lines.push({
    component: 'Lambda Firehose transform',
    usdPerMillion: (M / transformBatch) * (gbSecondUsd(a.transformMemoryMb, transformSeconds) + prices.lambdaRequest.usd),
    basis: `${a.transformMemoryMb} MB; ${Math.round(transformBatch)} events per 1 MB invocation; ${a.transformCpuMicros} µs/event x ${(FULL_VCPU_MB / a.transformMemoryMb).toFixed(2)}`,
    estimate: true,
  });

  // Lake: Parquet storage (per month kept) and PUTs; Athena scans.
  const parquetBytes = a.parquetBytesPerEvent * a.parquetRealDataFactor;
  const lakeGb = (M * parquetBytes) / GB;
  lines.push({
    component: 'S3 lake: storage + PUTs',
    usdPerMillion: lakeGb * prices.s3StandardGbMonth.usd + objectsPerMillion * prices.s3Put.usd,
    basis: `${parquetBytes.toFixed(0)} B/event Parquet (${a.parquetBytesPerEvent} measured x ${a.parquetRealDataFactor}) = ${(lakeGb * 1024).toFixed(0)} MB per month kept; ${objectsPerMillion.toFixed(1)} PUTs`,
    estimate: !prices.s3StandardGbMonth.confirmed,
  });
  const dayBytes = a.eventsPerSecond * 86400 * parquetBytes * a.athenaScanShare;
  const queryBytes = Math.max(dayBytes, 10 * 1024 * 1024);
  const queriesPerMillion = (a.athenaQueriesPerDay / (a.eventsPerSecond * 86400)) * M;
  lines.push({
    component: 'Athena',
    usdPerMillion: queriesPerMillion * (queryBytes / 1024 ** 4) * prices.athenaTb.usd,
    basis: `${a.athenaQueriesPerDay} queries/day, each scanning ${(queryBytes / 1024 ** 2).toFixed(0)} MB (half of a day's Parquet; 10 MB minimum) = $${((queryBytes / 1024 ** 4) * prices.athenaTb.usd).toFixed(4)}/query`,
    estimate: true,
  });

  // Flink: fixed per hour, whatever the volume.
  const flinkHourly = (a.flinkKpus + 1) * prices.flinkKpuHour.usd + (a.flinkKpus * 50 * prices.flinkStorageGbMonth.usd) / HOURS_PER_MONTH;
  lines.push({ component: 'Managed Flink', usdPerMillion: hourly(flinkHourly), basis: `(${a.flinkKpus} KPU + 1 orchestration) x $${prices.flinkKpuHour.usd}/h + ${a.flinkKpus * 50} GB storage = $${flinkHourly.toFixed(3)}/h`, fixed: true, estimate: !prices.flinkStorageGbMonth.confirmed });

  // Operations: alarms, the alert topic's key, access logs; SNS is per alert, not per event.
  const opsHourly = (a.alarmMetrics * prices.cloudwatchAlarmMetric.usd + prices.kmsKeyMonth.usd) / HOURS_PER_MONTH;
  lines.push({ component: 'CloudWatch alarms + KMS key', usdPerMillion: hourly(opsHourly), basis: `${a.alarmMetrics} alarm metrics x $${prices.cloudwatchAlarmMetric.usd} + 1 key x $${prices.kmsKeyMonth.usd} per month`, fixed: true, estimate: true });
  lines.push({ component: 'CloudWatch Logs (HTTP API access log)', usdPerMillion: ((requests * a.accessLogBytesPerRequest) / GB) * prices.cloudwatchLogsGb.usd, basis: `${a.accessLogBytesPerRequest} B per request`, estimate: true });
  lines.push({ component: 'SNS', usdPerMillion: 0, basis: `$${perMillion(prices.snsPublish.usd).toFixed(2)} per million alerts: alerts are per anomaly, not per event`, estimate: true });
  return lines;
}

export const totalOf = (lines: CostLine[], which: 'all' | 'variable' | 'fixed' = 'all'): number =>
  lines.filter((l) => !l.alternative && (which === 'all' || (which === 'fixed') === Boolean(l.fixed))).reduce((sum, l) => sum + l.usdPerMillion, 0);

/** The measured inputs, from bench/results.json (figures of the ingest, enrich and lake suites). */
export async function measuredInputs(resultsFile = fileURLToPath(new URL('./results.json', import.meta.url))): Promise<Pick<Assumptions, 'rawBytesPerEvent' | 'enrichedBytesPerEvent' | 'parquetBytesPerEvent' | 'ingestCpuMicros' | 'enrichCpuMicros' | 'transformCpuMicros'>> {
  const results = JSON.parse(await readFile(resultsFile, 'utf8')) as Figures;
  const value = (name: string): number => {
    const f = results[name];
    if (!f) throw new Error(`bench/results.json has no ${name}: run its suite first (npm run bench)`);
    return f.value;
  };
  return {
    rawBytesPerEvent: value('ingest.bytes_per_event'),
    enrichedBytesPerEvent: value('lake.transform_bytes_per_event_in'),
    parquetBytesPerEvent: value('lake.parquet_bytes_per_event'),
    ingestCpuMicros: value('ingest.cpu_per_event'),
    enrichCpuMicros: value('enrich.cpu_per_event'),
    transformCpuMicros: value('lake.transform_cpu_per_event'),
  };
}

const RATES = [100, 1000];

/** A Markdown table of both rates, with the measured inputs and the assumptions: what README.md shows. */
export function costReport(measured: Awaited<ReturnType<typeof measuredInputs>>): string {
  const byRate = RATES.map((eventsPerSecond) => costPerMillionEvents({ ...DEFAULT_ASSUMPTIONS, ...measured, eventsPerSecond }));
  const usd = (n: number): string => (n === 0 ? '~0' : n < 0.001 ? '<0.001' : `$${n.toFixed(3)}`);
  const rows = byRate[0]!.map((line, i) => {
    const name = `${line.component}${line.fixed ? ' (fixed/h)' : ''}${line.estimate ? ' *' : ''}`;
    return `| ${name} | ${RATES.map((_, r) => usd(byRate[r]![i]!.usdPerMillion)).join(' | ')} | ${byRate[1]![i]!.basis} |`;
  });
  const total = (which: 'all' | 'variable' | 'fixed') => RATES.map((_, r) => `**${usd(totalOf(byRate[r]!, which))}**`).join(' | ');
  return [
    `| $ per million events | ${RATES.map((r) => `${r.toLocaleString('en-US')} events/s`).join(' | ')} | basis (at ${RATES[1]!.toLocaleString('en-US')} events/s) |`,
    `|---|${RATES.map(() => '---:').join('|')}|---|`,
    ...rows,
    `| **per-event part** | ${total('variable')} | |`,
    `| **fixed part, amortised** | ${total('fixed')} | |`,
    `| **total** | ${total('all')} | the provisioned Kinesis line is an alternative, not in the total |`,
    '',
    `Measured inputs (bench/results.json): ${Object.entries(measured).map(([k, v]) => `${k} ${v}`).join(', ')}.`,
    `Assumptions: ${Object.entries(DEFAULT_ASSUMPTIONS).map(([k, v]) => `${k} ${v}`).join(', ')}.`,
  ].join('\n');
}

/** The list prices the table uses, with where each was read: what docs/cost.md shows. */
export function priceList(): string {
  return [
    `Prices (us-east-1, read ${PRICES_READ_ON}; ESTIMATE = not confirmed from a pricing page):`,
    ...Object.entries(PRICES).map(([k, v]) => `- ${k}: ${v.usd < 0.001 ? `$${+(v.usd * 1e6).toFixed(4)} per million` : `$${v.usd} per`} ${v.unit}${v.confirmed ? '' : ' (ESTIMATE)'}: ${v.source}`),
  ].join('\n');
}

/** The generated blocks of README.md and docs/cost.md, between their `<!-- name:start -->` / `<!-- name:end -->` markers. */
export const GENERATED_BLOCKS = {
  'README.md': 'cost-table',
  'docs/cost.md': 'price-list',
} as const;

/** `text` with the block `name` replaced by `content`; throws when the markers are missing. */
export function replaceBlock(text: string, name: string, content: string): string {
  const start = `<!-- ${name}:start -->`;
  const end = `<!-- ${name}:end -->`;
  const from = text.indexOf(start);
  const to = text.indexOf(end);
  if (from < 0 || to < from) throw new Error(`no ${start} … ${end} block`);
  return `${text.slice(0, from + start.length)}\n${content}\n${text.slice(to)}`;
}

export const cost: Suite = {
  name: 'cost',
  async run() {
    const measured = await measuredInputs();
    const table = costReport(measured);
    console.log(`\n${table}\n\n${priceList()}\n`);
    // The documents show the output of this command, never a hand-typed copy.
    for (const [file, block] of Object.entries(GENERATED_BLOCKS)) {
      const path = fileURLToPath(new URL(`../${file}`, import.meta.url));
      await writeFile(path, replaceBlock(await readFile(path, 'utf8'), block, block === 'cost-table' ? table : priceList()));
    }
    const figures: Figures = {};
    for (const eventsPerSecond of RATES) {
      const lines = costPerMillionEvents({ ...DEFAULT_ASSUMPTIONS, ...measured, eventsPerSecond });
      figures[`cost.usd_per_million_events_at_${eventsPerSecond}_per_s`] = figure(totalOf(lines), '$/million events');
      figures[`cost.usd_per_month_fixed`] = figure(totalOf(lines, 'fixed') * ((eventsPerSecond * 3600 * HOURS_PER_MONTH) / 1e6), '$/month');
    }
    figures['cost.usd_per_million_events_variable'] = figure(totalOf(costPerMillionEvents({ ...DEFAULT_ASSUMPTIONS, ...measured, eventsPerSecond: 1000 }), 'variable'), '$/million events');
    return figures;
  },
};
