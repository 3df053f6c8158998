// What a million events cost on AWS (us-east-1 list prices), from the measured figures in bench/results.json
// and the assumptions below: `npm run bench cost` prints the tables that README.md ("Cost per million
// events") shows. Pure arithmetic; every price says where it was read and whether that page confirmed it.
//
// Two inputs decide most of it: the request mix (how many events arrive per HTTP request: browser SDKs
// send one, mobile and server SDKs batch) and the deployment (the HTTP front, the streams' capacity mode,
// the dedup design).
import { readFile, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { figure, type Figures, type Suite } from './harness.js';

/** Sources were read on this date with the project's search tool (docs/pages/code corpora). */
export const PRICES_READ_ON = '2026-12-01';

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
const KINESIS_ON_DEMAND = `${KINESIS_PAGE}; figures: AWS Big Data Blog 2026-03-09 (On-demand Advantage post: "$0.04 charge per stream hour", "$0.08 per GB") and infracost's us-east-1 Price List fixture (kinesis_stream_test.golden: retrieval $0.04 per GB, ON_DEMAND 730 h $29.20)`;
const FIREHOSE_PAGE = 'aws.amazon.com/kinesis/data-firehose/pricing (model: ingestion and format conversion per GB in 5 KB increments per record, "calculated at the record level"; dynamic partitioning per GB and per object)';
const FIREHOSE_FIGURES = `${FIREHOSE_PAGE}; figures: AWS Price List values (us-east-2, the same as us-east-1 for Firehose) in github FahadMustafa/aws-calc references/service-modules/kinesis-firehose.md`;

export const PRICES = {
  lambdaArmGbSecond: p(0.0000133334, 'GB-s (arm64, first 7.5 G GB-s)', 'cloudchipr.com "AWS Lambda Pricing Breakdown" (us-east-1 tier table)', true),
  lambdaRequest: p(0.2 / 1e6, 'request', 'cloudchipr.com "AWS Lambda Pricing Breakdown"; git.mcrn.ar lambda_local_runner docs/lambda-13-cost.md', true),
  httpApiRequest: p(1.0 / 1e6, 'request (first 300 M/month, metered per 512 KB)', 'AWS whitepaper "Best Practices for Designing API Gateway Private APIs", Cost optimization', true),
  kinesisOnDemandStreamHour: p(0.04, 'stream-hour (on-demand)', KINESIS_ON_DEMAND, true),
  kinesisOnDemandGbIn: p(0.08, 'GB written (on-demand)', KINESIS_ON_DEMAND, true),
  kinesisOnDemandGbOut: p(0.04, 'GB read (on-demand, shared-throughput consumers)', KINESIS_ON_DEMAND, true),
  kinesisShardHour: p(0.015, 'shard-hour (provisioned)', "infracost's us-east-1 Price List fixture (PROVISIONED 730 hours $10.95); github i05nagai/memorandum cloud/aws/kinesis_streams.md", true),
  kinesisPutUnit: p(0.014 / 1e6, 'PUT payload unit of 25 KB (provisioned)', 'github i05nagai/memorandum cloud/aws/kinesis_streams.md', true),
  dynamoWrite: p(0.625 / 1e6, 'write request unit (on-demand)', 'airbyte.com "Amazon DynamoDB Pricing" (after the Nov 2024 cut)', true),
  dynamoRead: p(0.125 / 1e6, 'read request unit (on-demand)', 'airbyte.com "Amazon DynamoDB Pricing" (after the Nov 2024 cut)', true),
  firehoseIngestGb: p(0.029, 'GB ingested, 5 KB increments (first 500 TB/month; Direct PUT and Kinesis source alike)', FIREHOSE_FIGURES, true),
  firehoseConversionGb: p(0.018, 'GB converted to Parquet, on the ingested GB (5 KB increments)', FIREHOSE_FIGURES, true),
  firehosePartitioningGb: p(0.02, 'GB delivered with dynamic partitioning', FIREHOSE_FIGURES, true),
  firehosePartitioningObject: p(0.005 / 1000, 'S3 object delivered with dynamic partitioning', FIREHOSE_FIGURES, true),
  s3StandardGbMonth: p(0.023, 'GB-month (S3 Standard, first 50 TB)', 'AWS Price List API, AmazonS3 us-east-1, SKU 4NA7Y494T4JAZ9A (publication 2026-09-28), as quoted in public repositories', true),
  s3Put: p(0.005 / 1000, 'PUT request', 'AWS Price List API, AmazonS3 us-east-1 (Requests-Tier1, publication 2026-09-28); cloudkaramchari.com "Understanding per 1000 PUT ... Requests in Amazon S3 Pricing"', true),
  athenaTb: p(5, 'TB scanned (10 MB minimum per query)', 'athena.guide "Athena Basics: Pricing Model"; rcpedia.stanford.edu "Athena"', true),
  flinkKpuHour: p(0.11, 'KPU-hour (+1 orchestration KPU per application)', 'docs.aws.amazon.com managed-flink "Per second billing"; github aws/agent-toolkit-for-aws MSF pricing-calculator.md', true),
  flinkStorageGbMonth: p(0.1, 'GB-month running application storage (50 GB per application KPU, billed)', 'docs.aws.amazon.com managed-flink "Per second billing" (worked example: "20 KPUs * 50 GB/KPUs * $0.10")', true),
  snsPublish: p(0.5 / 1e6, 'publish (64 KB chunk; first million a month free)', 'AWS Price List values in github FahadMustafa/aws-calc references/service-modules/sns.md', true),
  cloudwatchAlarmMetric: p(0.1, 'standard alarm metric-month', 'aws.amazon.com/cloudwatch/pricing worked example ("$0.10 per alarm metric * 4 = $0.40 per month")', true),
  cloudwatchLogsGb: p(0.5, 'GB of logs ingested (Standard class)', 'factualminds.com (2026-06-13) and Price List excerpts; the AWS page itself renders its table in the browser', true),
  kmsKeyMonth: p(1, 'customer managed key-month', 'aws.amazon.com/kms/pricing ("Each AWS KMS key that you create in KMS costs $1/month")', true),
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
  identityRowsPerMillion: number; // lake.identity_rows_per_million_events
  identityRowBytes: number; // lake.identity_row_bytes
  // chosen
  requestMix: readonly RequestSource[];
  ingestRequestOverheadMs: number;
  ingestMemoryMb: number;
  enrichMemoryMb: number;
  enrichBatchSize: number;
  enrichBatchWindowSeconds: number;
  enrichBatchOverheadMs: number;
  /** Shards of events-raw in ON_DEMAND mode (it starts at 4 MB/s of write capacity). */
  onDemandRawShards: number;
  /** A new execution environment per shard this often (hours): it reads its ledger bucket whole. */
  ledgerColdLoadEveryHours: number;
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
  /** Headroom kept on provisioned shards. */
  provisionedHeadroom: number;
}

/** Where events come from, and how many one HTTP request carries with the SDK's defaults. */
export interface RequestSource {
  source: string;
  /** Share of all events. */
  share: number;
  eventsPerRequest: number;
  why: string;
}

/**
 * The realistic mix: a web-first product with apps and a back end. Browser SDKs send one event per request
 * (@segment/analytics-next and RudderStack's JS SDK by default); mobile SDKs flush 20 (analytics-kotlin,
 * analytics-swift: flushAt 20); server SDKs 15 (@segment/analytics-node: flushAt 15).
 */
export const REALISTIC_MIX: readonly RequestSource[] = [
  { source: 'browser', share: 0.5, eventsPerRequest: 1, why: 'analytics-next / RudderStack JS defaults' },
  { source: 'mobile', share: 0.3, eventsPerRequest: 20, why: 'analytics-kotlin / analytics-swift flushAt 20' },
  { source: 'server', share: 0.2, eventsPerRequest: 15, why: 'analytics-node flushAt 15' },
];

/** HTTP requests per million events for a mix. */
export const requestsPerMillion = (mix: readonly RequestSource[]): number => mix.reduce((sum, s) => sum + (s.share * 1e6) / s.eventsPerRequest, 0);

/** What is deployed: the serverless.yml params that change the bill. */
export interface Deployment {
  name: string;
  /** The HTTP front of ingest (param ingestFront). */
  front: 'httpApi' | 'functionUrl';
  /** The four streams' capacity mode (params rawStreamMode, analyticsStreamMode). */
  streams: 'onDemand' | 'provisioned';
  /** perEvent: a DynamoDB read and write per event (before the ledger); ledger: functions/enrich/dedup-ledger.ts. */
  dedup: 'perEvent' | 'ledger';
  /** How to deploy it. */
  params: string;
  /** Enriched events per Kinesis record that Firehose ingests (1: one each; more: aggregated). */
  firehoseEventsPerRecord?: number;
  /** Assumptions this deployment sets otherwise (an earlier release's memory sizes). */
  assumptions?: Partial<Assumptions>;
  /** Not deployable yet: a lever modelled to size it. */
  notBuilt?: boolean;
}

export const DEPLOYMENTS = {
  /** This project before the ledger (issue 15's starting point), for comparison. */
  before: { name: 'before (per-event dedup, HTTP API, on-demand)', front: 'httpApi', streams: 'onDemand', dedup: 'perEvent', params: 'the previous release', assumptions: { ingestMemoryMb: 512 } },
  /** `serverless deploy` with no params. */
  default: { name: 'default', front: 'httpApi', streams: 'onDemand', dedup: 'ledger', params: 'serverless deploy' },
  /** Provisioned streams sized for the rate, still behind the HTTP API. */
  provisioned: {
    name: 'provisioned streams',
    front: 'httpApi',
    streams: 'provisioned',
    dedup: 'ledger',
    params: 'serverless deploy --param="rawStreamMode=PROVISIONED" --param="rawShardCount=R" --param="enrichedShardCount=E" (R, E: the shard-hours line)',
  },
  /** The cheapest that deploys today: provisioned streams and the ingest function URL (the `provisioned` stage). */
  lean: {
    name: 'lean (provisioned streams + ingest function URL)',
    front: 'functionUrl',
    streams: 'provisioned',
    dedup: 'ledger',
    params: 'serverless deploy --stage provisioned, or the params above plus --param="ingestFunctionUrl=true"; SDKs sent to the IngestLambdaFunctionUrl output',
  },
  /** A lever sized but not built yet: the gap to the targets. */
  plusFirehoseAggregation: {
    name: 'lean + 3 events per Firehose record',
    front: 'functionUrl',
    streams: 'provisioned',
    dedup: 'ledger',
    params: 'not built yet',
    firehoseEventsPerRecord: 3,
    notBuilt: true,
  },
} as const satisfies Record<string, Deployment>;

/** Lambda gives a function 1 vCPU at 1,769 MB, and a share in proportion below that. */
const FULL_VCPU_MB = 1769;
const GB = 1024 ** 3;
const HOURS_PER_MONTH = 730;

export const DEFAULT_ASSUMPTIONS: Omit<Assumptions, 'eventsPerSecond' | MeasuredInput> = {
  requestMix: REALISTIC_MIX,
  ingestRequestOverheadMs: 25, // billed wall time per request besides CPU: one PutRecords round trip (estimate)
  ingestMemoryMb: 256, // ingestMemorySize
  enrichMemoryMb: 512, // enrichMemorySize
  enrichBatchSize: 250, // enrichBatchSize
  enrichBatchWindowSeconds: 1, // enrichBatchWindow
  enrichBatchOverheadMs: 60, // per batch, in sequence: Query (ledger), PutItem (intent), PutRecords, PutItem (ok): 4 round trips (estimate)
  onDemandRawShards: 4, // an ON_DEMAND stream starts with 4 MB/s of write capacity, about 4 shards
  ledgerColdLoadEveryHours: 2, // Lambda recycles execution environments every few hours (estimate)
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
  alarmMetrics: 31, // infra/alarms.yml: 28 single-metric alarms + 1 metric math alarm over 2 metrics (+1 for the expression)
  accessLogBytesPerRequest: 400, // one JSON line of the HTTP API access log
  provisionedHeadroom: 1.2, // 20 % above the steady rate
};

/** Enrich's per-batch round trips before the ledger: BatchGetItem x3, GetItem + PutItem (intent), PutRecords, BatchWriteItem x10. */
const PER_EVENT_DEDUP_BATCH_OVERHEAD_MS = 150;

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
/** A line is an estimate when one of its prices was not confirmed from a pricing source. */
const unconfirmed = (...used: Price[]): boolean => used.some((price) => !price.confirmed);

/** Provisioned shards a stream needs: 1,000 records/s and 1 MiB/s in, 2 MiB/s out (shared by its readers), with headroom. */
export function shardsFor(recordsPerSecond: number, bytesPerRecord: number, readers: number, headroom: number): number {
  const MiB = 1024 * 1024;
  const need = Math.max(recordsPerSecond / 1000, (recordsPerSecond * bytesPerRecord) / MiB, (readers * recordsPerSecond * bytesPerRecord) / (2 * MiB));
  return Math.max(1, Math.ceil(need * headroom));
}

/** S3 objects Firehose delivers an hour: a buffer closes at its interval or its size, in each active partition. */
function firehoseObjectsPerHour(a: Assumptions): number {
  const bytesPerHour = a.eventsPerSecond * 3600 * a.enrichedBytesPerEvent;
  return Math.max(3600 / a.firehoseBufferSeconds, bytesPerHour / (a.firehoseBufferMb * 1024 * 1024)) * a.activePartitions;
}

/** $ per million events, line by line, at a steady `eventsPerSecond`, for a deployment. */
export function costPerMillionEvents(assumptions: Assumptions, deployment: Deployment = DEPLOYMENTS.default, prices: Prices = PRICES): CostLine[] {
  const a: Assumptions = { ...assumptions, ...deployment.assumptions };
  const M = 1e6;
  const eventsPerHour = a.eventsPerSecond * 3600;
  const hourly = (usdPerHour: number): number => (usdPerHour / eventsPerHour) * M;
  const gbSecondUsd = (mb: number, seconds: number): number => (mb / 1024) * seconds * prices.lambdaArmGbSecond.usd;
  const cpuSeconds = (micros: number, mb: number): number => (micros / 1e6) * (FULL_VCPU_MB / Math.min(mb, FULL_VCPU_MB));
  const lines: CostLine[] = [];

  // The HTTP front + ingest Lambda: one request (and one invocation) per request of the mix.
  const requests = requestsPerMillion(a.requestMix);
  const eventsPerRequest = M / requests;
  const mix = a.requestMix.map((s) => `${Math.round(s.share * 100)} % ${s.source} x${s.eventsPerRequest}`).join(', ');
  if (deployment.front === 'httpApi') {
    lines.push({ component: 'API Gateway HTTP API', usdPerMillion: requests * prices.httpApiRequest.usd, basis: `${Math.round(requests).toLocaleString('en-US')} requests (${mix}; < 512 KB each)`, estimate: unconfirmed(prices.httpApiRequest) });
  } else {
    lines.push({ component: 'Lambda function URL', usdPerMillion: 0, basis: `${Math.round(requests).toLocaleString('en-US')} requests (${mix}): no charge beyond the function's invocations`, estimate: false });
  }
  const ingestSeconds = a.ingestRequestOverheadMs / 1000 + eventsPerRequest * cpuSeconds(a.ingestCpuMicros, a.ingestMemoryMb);
  lines.push({
    component: 'Lambda ingest',
    usdPerMillion: requests * (gbSecondUsd(a.ingestMemoryMb, ingestSeconds) + prices.lambdaRequest.usd),
    basis: `${Math.round(requests).toLocaleString('en-US')} invocations, ${a.ingestMemoryMb} MB; ${a.ingestRequestOverheadMs} ms/request + ${eventsPerRequest.toFixed(2)} events x ${a.ingestCpuMicros} µs x ${(FULL_VCPU_MB / a.ingestMemoryMb).toFixed(2)} (CPU share)`,
    estimate: unconfirmed(prices.lambdaArmGbSecond, prices.lambdaRequest),
  });

  // Kinesis: one record per event on events-raw and events-enriched; raw read once (enrich), enriched twice (Firehose, Flink).
  const kb = (bytes: number): number => Math.ceil(bytes / 1024) * 1024;
  const onDemand = (): CostLine[] => {
    const gbIn = (M * (kb(a.rawBytesPerEvent) + kb(a.enrichedBytesPerEvent))) / GB;
    const gbOut = (M * (a.rawBytesPerEvent + 2 * a.enrichedBytesPerEvent)) / GB;
    return [
      {
        component: 'Kinesis on-demand: data',
        usdPerMillion: gbIn * prices.kinesisOnDemandGbIn.usd + gbOut * prices.kinesisOnDemandGbOut.usd,
        basis: `in ${gbIn.toFixed(2)} GB (${a.rawBytesPerEvent} B raw -> 1 KB, ${a.enrichedBytesPerEvent} B enriched -> 2 KB), out ${gbOut.toFixed(2)} GB (raw x1, enriched x2)`,
        estimate: unconfirmed(prices.kinesisOnDemandGbIn, prices.kinesisOnDemandGbOut),
      },
      { component: 'Kinesis on-demand: stream-hours', usdPerMillion: hourly(a.onDemandStreams * prices.kinesisOnDemandStreamHour.usd), basis: `${a.onDemandStreams} streams x $${prices.kinesisOnDemandStreamHour.usd}/h`, fixed: true, estimate: unconfirmed(prices.kinesisOnDemandStreamHour) },
    ];
  };
  const rawShards = shardsFor(a.eventsPerSecond, a.rawBytesPerEvent, 1, a.provisionedHeadroom);
  const enrichedShards = shardsFor(a.eventsPerSecond, a.enrichedBytesPerEvent, 2, a.provisionedHeadroom);
  const shards = rawShards + enrichedShards + 2;
  const provisioned = (): CostLine[] => [
    { component: 'Kinesis provisioned: shard-hours', usdPerMillion: hourly(shards * prices.kinesisShardHour.usd), basis: `${shards} shards: events-raw ${rawShards}, events-enriched ${enrichedShards}, aggregates 1, anomalies 1 (1,000 records/s, 1 MB/s in, 2 MB/s out per shard, +${Math.round((a.provisionedHeadroom - 1) * 100)} %)`, fixed: true, estimate: unconfirmed(prices.kinesisShardHour) },
    { component: 'Kinesis provisioned: PUT units', usdPerMillion: 2 * M * prices.kinesisPutUnit.usd, basis: '2 PUT units (25 KB) per event: events-raw, events-enriched', estimate: unconfirmed(prices.kinesisPutUnit) },
  ];
  const [used, other] = deployment.streams === 'onDemand' ? [onDemand(), provisioned()] : [provisioned(), onDemand()];
  lines.push(...used);
  lines.push({ component: `Kinesis ${deployment.streams === 'onDemand' ? 'provisioned' : 'on-demand'} (alternative)`, usdPerMillion: other.reduce((sum, l) => sum + l.usdPerMillion, 0), basis: other.map((l) => l.basis).join('; '), alternative: true, estimate: other.some((l) => l.estimate) });

  // Enrich: batches per shard fill up to the batch size or for the batch window.
  const consumedShards = deployment.streams === 'onDemand' ? a.onDemandRawShards : rawShards;
  const perShardPerWindow = (a.eventsPerSecond / consumedShards) * a.enrichBatchWindowSeconds;
  const batch = Math.max(1, Math.min(a.enrichBatchSize, perShardPerWindow));
  const batches = M / batch;
  const batchOverheadMs = deployment.dedup === 'ledger' ? a.enrichBatchOverheadMs : PER_EVENT_DEDUP_BATCH_OVERHEAD_MS;
  const enrichSeconds = batchOverheadMs / 1000 + batch * cpuSeconds(a.enrichCpuMicros, a.enrichMemoryMb);
  lines.push({
    component: 'Lambda enrich',
    usdPerMillion: batches * (gbSecondUsd(a.enrichMemoryMb, enrichSeconds) + prices.lambdaRequest.usd),
    basis: `${a.enrichMemoryMb} MB; batches of ${Math.round(batch)} (${consumedShards} shards, ${a.enrichBatchWindowSeconds} s window); ${batchOverheadMs} ms/batch + ${a.enrichCpuMicros} µs/event x ${(FULL_VCPU_MB / a.enrichMemoryMb).toFixed(2)}`,
    estimate: unconfirmed(prices.lambdaArmGbSecond, prices.lambdaRequest),
  });
  if (deployment.dedup === 'perEvent') {
    // A strongly consistent read and a write per event, and per batch a write intent (PutItem + GetItem) of its ids (about 40 B each).
    const intentKb = Math.ceil((batch * 40) / 1024);
    const intentUsd = batches * (intentKb * prices.dynamoWrite.usd + Math.ceil(intentKb / 4) * prices.dynamoRead.usd);
    lines.push({
      component: 'DynamoDB on-demand (dedup, per event)',
      usdPerMillion: M * (prices.dynamoRead.usd + prices.dynamoWrite.usd) + intentUsd,
      basis: `1 strongly consistent read (1 RRU) + 1 write (1 WRU) per event; per batch of ${Math.round(batch)}, a ${intentKb} KB write intent`,
      estimate: unconfirmed(prices.dynamoWrite, prices.dynamoRead),
    });
  } else {
    // Per batch: the intent (key about 200 B + 12 B per id), the ok (< 1 KB), one strongly consistent Query
    // (1 RRU when nothing is new). Per shard every ledgerColdLoadEveryHours: a bucket read whole (on average
    // half an hour of the shard's ids, 12 B each plus the items' keys).
    const intentWru = Math.ceil((200 + 12 * batch) / 1024);
    const perBatchUsd = (intentWru + 1) * prices.dynamoWrite.usd + prices.dynamoRead.usd;
    const coldLoadRru = Math.ceil(((a.eventsPerSecond / consumedShards) * 1800 * 12 * 1.1) / 4096);
    const coldLoadsPerMillion = (consumedShards / a.ledgerColdLoadEveryHours / eventsPerHour) * M;
    lines.push({
      component: 'DynamoDB on-demand (dedup ledger)',
      usdPerMillion: batches * perBatchUsd + coldLoadsPerMillion * coldLoadRru * prices.dynamoRead.usd,
      basis: `per batch of ${Math.round(batch)}: intent ${intentWru} WRU + ok 1 WRU + Query 1 RRU; a ${coldLoadRru.toLocaleString('en-US')} RRU bucket read per shard every ${a.ledgerColdLoadEveryHours} h`,
      estimate: unconfirmed(prices.dynamoWrite, prices.dynamoRead),
    });
  }

  // Firehose events: ingestion and conversion billed per record rounded up to 5 KB.
  const fiveKb = (bytes: number): number => Math.ceil(bytes / 5120) * 5120;
  const perRecord = deployment.firehoseEventsPerRecord ?? 1;
  const firehoseGb = (M * fiveKb(a.enrichedBytesPerEvent * perRecord)) / perRecord / GB;
  const deliveredGb = (M * a.enrichedBytesPerEvent) / GB;
  const objectsPerHour = firehoseObjectsPerHour(a);
  const objectsPerMillion = (objectsPerHour / eventsPerHour) * M;
  lines.push({ component: 'Firehose ingestion', usdPerMillion: firehoseGb * prices.firehoseIngestGb.usd, basis: `${firehoseGb.toFixed(2)} GB: each record (${perRecord} x ${a.enrichedBytesPerEvent} B) billed in 5 KB increments`, estimate: unconfirmed(prices.firehoseIngestGb) });
  lines.push({ component: 'Firehose Parquet conversion', usdPerMillion: firehoseGb * prices.firehoseConversionGb.usd, basis: `${firehoseGb.toFixed(2)} GB (5 KB increments)`, estimate: unconfirmed(prices.firehoseConversionGb) });
  lines.push({
    component: 'Firehose dynamic partitioning',
    usdPerMillion: deliveredGb * prices.firehosePartitioningGb.usd + objectsPerMillion * prices.firehosePartitioningObject.usd,
    basis: `${deliveredGb.toFixed(2)} GB (counted at the JSON size: conservative) + ${objectsPerMillion.toFixed(1)} objects`,
    estimate: unconfirmed(prices.firehosePartitioningGb, prices.firehosePartitioningObject),
  });
  const transformBatch = Math.min((1024 * 1024) / a.enrichedBytesPerEvent, a.eventsPerSecond * 60);
  const transformSeconds = a.transformInvocationOverheadMs / 1000 + transformBatch * cpuSeconds(a.transformCpuMicros, a.transformMemoryMb);
  lines.push({
    component: 'Lambda Firehose transform',
    usdPerMillion: (M / transformBatch) * (gbSecondUsd(a.transformMemoryMb, transformSeconds) + prices.lambdaRequest.usd),
    basis: `${a.transformMemoryMb} MB; ${Math.round(transformBatch)} events per 1 MB invocation; ${a.transformCpuMicros} µs/event x ${(FULL_VCPU_MB / a.transformMemoryMb).toFixed(2)}`,
    estimate: unconfirmed(prices.lambdaArmGbSecond, prices.lambdaRequest),
  });

  // The identities delivery stream (Direct PUT from enrich): one record per link and batch, 5 KB increments;
  // its objects (a buffer an interval) are PUT like the events'. Its transform invocations are a rounding error.
  const identityGb = (a.identityRowsPerMillion * 5120) / GB;
  const identityObjectsPerMillion = ((3600 / a.firehoseBufferSeconds) * a.activePartitions / eventsPerHour) * M;
  lines.push({
    component: 'Firehose identities (Direct PUT)',
    usdPerMillion:
      identityGb * (prices.firehoseIngestGb.usd + prices.firehoseConversionGb.usd) +
      ((a.identityRowsPerMillion * a.identityRowBytes) / GB) * prices.firehosePartitioningGb.usd +
      identityObjectsPerMillion * (prices.firehosePartitioningObject.usd + prices.s3Put.usd),
    basis: `${Math.round(a.identityRowsPerMillion).toLocaleString('en-US')} link rows (measured on the demo's traffic), each billed as 5 KB: ${identityGb.toFixed(3)} GB ingested and converted; ${identityObjectsPerMillion.toFixed(1)} objects`,
    estimate: unconfirmed(prices.firehoseIngestGb, prices.firehoseConversionGb, prices.firehosePartitioningGb, prices.firehosePartitioningObject, prices.s3Put),
  });

  // Lake: Parquet storage (per month kept) and PUTs; Athena scans.
  const parquetBytes = a.parquetBytesPerEvent * a.parquetRealDataFactor;
  const lakeGb = (M * parquetBytes) / GB;
  lines.push({
    component: 'S3 lake: storage + PUTs',
    usdPerMillion: lakeGb * prices.s3StandardGbMonth.usd + objectsPerMillion * prices.s3Put.usd,
    basis: `${parquetBytes.toFixed(0)} B/event Parquet (${a.parquetBytesPerEvent} measured x ${a.parquetRealDataFactor}) = ${(lakeGb * 1024).toFixed(0)} MB per month kept; ${objectsPerMillion.toFixed(1)} PUTs`,
    estimate: unconfirmed(prices.s3StandardGbMonth, prices.s3Put),
  });
  const dayBytes = a.eventsPerSecond * 86400 * parquetBytes * a.athenaScanShare;
  const queryBytes = Math.max(dayBytes, 10 * 1024 * 1024);
  const queriesPerMillion = (a.athenaQueriesPerDay / (a.eventsPerSecond * 86400)) * M;
  lines.push({
    component: 'Athena',
    usdPerMillion: queriesPerMillion * (queryBytes / 1024 ** 4) * prices.athenaTb.usd,
    basis: `${a.athenaQueriesPerDay} queries/day, each scanning ${(queryBytes / 1024 ** 2).toFixed(0)} MB (half of a day's Parquet; 10 MB minimum) = $${((queryBytes / 1024 ** 4) * prices.athenaTb.usd).toFixed(4)}/query`,
    estimate: unconfirmed(prices.athenaTb),
  });

  // Flink: fixed per hour, whatever the volume.
  const flinkHourly = (a.flinkKpus + 1) * prices.flinkKpuHour.usd + (a.flinkKpus * 50 * prices.flinkStorageGbMonth.usd) / HOURS_PER_MONTH;
  lines.push({ component: 'Managed Flink', usdPerMillion: hourly(flinkHourly), basis: `(${a.flinkKpus} KPU + 1 orchestration) x $${prices.flinkKpuHour.usd}/h + ${a.flinkKpus * 50} GB storage = $${flinkHourly.toFixed(3)}/h`, fixed: true, estimate: unconfirmed(prices.flinkKpuHour, prices.flinkStorageGbMonth) });

  // Operations: alarms, the alert topic's key, access logs; SNS is per alert, not per event.
  const opsHourly = (a.alarmMetrics * prices.cloudwatchAlarmMetric.usd + prices.kmsKeyMonth.usd) / HOURS_PER_MONTH;
  lines.push({ component: 'CloudWatch alarms + KMS key', usdPerMillion: hourly(opsHourly), basis: `${a.alarmMetrics} alarm metrics x $${prices.cloudwatchAlarmMetric.usd} + 1 key x $${prices.kmsKeyMonth.usd} per month`, fixed: true, estimate: unconfirmed(prices.cloudwatchAlarmMetric, prices.kmsKeyMonth) });
  if (deployment.front === 'httpApi') {
    lines.push({ component: 'CloudWatch Logs (HTTP API access log)', usdPerMillion: ((requests * a.accessLogBytesPerRequest) / GB) * prices.cloudwatchLogsGb.usd, basis: `${a.accessLogBytesPerRequest} B per request`, estimate: unconfirmed(prices.cloudwatchLogsGb) });
  }
  lines.push({ component: 'SNS', usdPerMillion: 0, basis: `$${perMillion(prices.snsPublish.usd).toFixed(2)} per million alerts: alerts are per anomaly, not per event`, estimate: unconfirmed(prices.snsPublish) });
  return lines;
}

export const totalOf = (lines: CostLine[], which: 'all' | 'variable' | 'fixed' = 'all'): number =>
  lines.filter((l) => !l.alternative && (which === 'all' || (which === 'fixed') === Boolean(l.fixed))).reduce((sum, l) => sum + l.usdPerMillion, 0);

type MeasuredInput = 'rawBytesPerEvent' | 'enrichedBytesPerEvent' | 'parquetBytesPerEvent' | 'ingestCpuMicros' | 'enrichCpuMicros' | 'transformCpuMicros' | 'identityRowsPerMillion' | 'identityRowBytes';

/** The measured inputs, from bench/results.json (figures of the ingest, enrich and lake suites). */
export async function measuredInputs(resultsFile = fileURLToPath(new URL('./results.json', import.meta.url))): Promise<Pick<Assumptions, MeasuredInput>> {
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
    identityRowsPerMillion: value('lake.identity_rows_per_million_events'),
    identityRowBytes: value('lake.identity_row_bytes'),
  };
}

const RATES = [100, 1000];
/** The targets of issue 15 (README, Cost): $ per million events at each rate, realistic mix, analytics on. */
export const TARGETS: Record<number, number> = { 100: 1.0, 1000: 0.5 };

/**
 * Clickstream Analytics on AWS, from its implementation guide (awslabs/clickstream-analytics-on-aws,
 * docs/en/plan-deployment/cost.md at commit 180168b): $/month per module at 10, 100 and 1,000 requests/s,
 * "10 events per request". Per million events = (ingestion + processing + logs) / (rps x 10 x 730 h x 3600 s).
 * Its ingestion runs on ECS behind an ALB; processing is EMR Serverless + Redshift Serverless in batches.
 */
export const CLICKSTREAM_ON_AWS = {
  source: 'awslabs/clickstream-analytics-on-aws docs/en/plan-deployment/cost.md (commit 180168b)',
  eventsPerRequest: 10,
  logsPerMonth: 14,
  rows: [
    { rps: 10, mode: 'S3 sink, daily processing', ingestion: 143, processing: 38.46 },
    { rps: 10, mode: 'Kinesis (provisioned), hourly processing', ingestion: 165, processing: 149.76 },
    { rps: 100, mode: 'S3 sink, daily processing', ingestion: 169, processing: 339.6 },
    { rps: 100, mode: 'Kinesis (provisioned), hourly processing', ingestion: 195, processing: 454.6 },
    { rps: 1000, mode: 'S3 sink, processing every 40 min', ingestion: 388, processing: 2742 },
    { rps: 1000, mode: 'Kinesis (provisioned), processing every 40 min', ingestion: 568, processing: 2742 },
  ],
};

const usd = (n: number): string => (n === 0 ? '~0' : n < 0.001 ? '<0.001' : `$${n.toFixed(3)}`);

/** The line items of one deployment at both rates, as a Markdown table. */
function lineTable(measured: Awaited<ReturnType<typeof measuredInputs>>, deployment: Deployment): string {
  const byRate = RATES.map((eventsPerSecond) => costPerMillionEvents({ ...DEFAULT_ASSUMPTIONS, ...measured, eventsPerSecond }, deployment));
  const components = [...new Set(byRate.flatMap((lines) => lines.map((l) => l.component)))];
  const rows = components.map((component) => {
    const at = byRate.map((lines) => lines.find((l) => l.component === component));
    const line = (at[1] ?? at[0])!;
    const name = `${component}${line.fixed ? ' (fixed/h)' : ''}${line.estimate ? ' *' : ''}`;
    return `| ${name} | ${at.map((l) => (l ? usd(l.usdPerMillion) : '')).join(' | ')} | ${line.basis} |`;
  });
  const total = (which: 'all' | 'variable' | 'fixed') => byRate.map((lines) => `**${usd(totalOf(lines, which))}**`).join(' | ');
  return [
    `| $ per million events | ${RATES.map((r) => `${r.toLocaleString('en-US')} events/s`).join(' | ')} | basis (at ${RATES[1]!.toLocaleString('en-US')} events/s) |`,
    `|---|${RATES.map(() => '---:').join('|')}|---|`,
    ...rows,
    `| **per-event part** | ${total('variable')} | |`,
    `| **fixed part, amortised** | ${total('fixed')} | |`,
    `| **total** | ${total('all')} | an (alternative) line is not in the total |`,
  ].join('\n');
}

/** Why each line of the lean deployment costs what it does, and what would lower it. */
const WHY: Record<string, string> = {
  'Managed Flink': "the service's floor: 1 KPU + 1 orchestration KPU, whatever the rate. It is the price of the real-time aggregates and alerts; nothing short of turning them off lowers it",
  'Kinesis provisioned: shard-hours': 'one shard per stream is the least a stream can have (events-raw, events-enriched, aggregates, anomalies); at 100 events/s they are about 10 % used',
  'Lambda ingest': "$0.20 per million invocations, one per HTTP request: browser SDKs send one event per request. The rest is the PutRecords round trip's wall time",
  'Firehose ingestion': 'billed per record in 5 KB increments: a 1.4 KB enriched event pays for 5 KB. Several events per events-enriched record would divide it (the "+ 3 events per Firehose record" row)',
  'Firehose Parquet conversion': 'billed on the same rounded GB as ingestion: the same lever would divide it',
  'Kinesis provisioned: PUT units': 'one 25 KB PUT unit per event and stream; aggregation between stages would divide it too',
  'Firehose dynamic partitioning': 'per GB delivered (counted at the JSON size) and per object',
  'DynamoDB on-demand (dedup ledger)': 'a few items per batch, not per event: the ledger already took this line from $0.78',
  'CloudWatch alarms + KMS key': 'fixed per month: 31 alarm metrics and the alert topic key',
  'Firehose identities (Direct PUT)': 'the identities table: a record per device–user link an hour per enrich container, and per alias, each billed as 5 KB',
};

/** Where the lean deployment stands against the targets, line by line: what is over, and why. */
export function gapReport(measured: Awaited<ReturnType<typeof measuredInputs>>): string {
  const byRate = RATES.map((eventsPerSecond) => costPerMillionEvents({ ...DEFAULT_ASSUMPTIONS, ...measured, eventsPerSecond }, DEPLOYMENTS.lean));
  const summary = RATES.map((rate, i) => {
    const lines = byRate[i]!;
    const total = totalOf(lines);
    const target = TARGETS[rate]!;
    const fixed = totalOf(lines, 'fixed');
    const at = `At ${rate.toLocaleString('en-US')} events/s the lean deployment costs ${usd(total)}`;
    if (total <= target) return `- ${at}: the target (≤ $${target.toFixed(2)}) is met.`;
    return `- ${at}, ${usd(total - target)} over $${target.toFixed(2)}. The fixed part (${usd(fixed)}: Flink, shards, alarms) leaves ${usd(Math.max(0, target - fixed))} for the per-event part, which costs ${usd(total - fixed)}.`;
  });
  const largest = byRate[0]!.filter((l) => !l.alternative && WHY[l.component]).sort((x, y) => y.usdPerMillion - x.usdPerMillion);
  return [
    ...summary,
    '',
    'The lines that make it up, largest first (their figures are in the line-by-line table below):',
    '',
    ...largest.map((line) => `- **${line.component}** (${byRate.map((lines, i) => `${usd(lines.find((l) => l.component === line.component)?.usdPerMillion ?? 0)} at ${RATES[i]!.toLocaleString('en-US')}/s`).join(', ')}): ${WHY[line.component]}.`),
    '',
    `Not built: several events per events-enriched record. The Flink job, the alert consumer and the local Firehose would all have to split records, and AWS does not document whether Firehose rounds a KPL-aggregated Kinesis record to 5 KB before or after de-aggregating it; only the billed bytes (the \`StreamsSourceBilledBytes\` usage type) of a deployed stream would tell.`,
  ].join('\n');
}

/**
 * The AWS Pricing Calculator's method, for the two services whose bills have rounding rules (Kinesis
 * provisioned, Firehose), beside this model's lines for the same load: an independent check of the model.
 * The calculator's formulas are those its saved estimates reproduce to the cent (github FahadMustafa/aws-calc,
 * references/service-modules/kinesis-data-streams.md and kinesis-firehose.md): a 730-hour month, record sizes
 * in KB as entered, shards = ceil(max(ceil(rps x KB / 1024), ceil(rps x KB x consumers / 2048)) x 1.2).
 */
export function calculatorCheck(measured: Awaited<ReturnType<typeof measuredInputs>>, eventsPerSecond = 1000): string {
  const a: Assumptions = { ...DEFAULT_ASSUMPTIONS, ...measured, eventsPerSecond };
  const records = eventsPerSecond * 3600 * HOURS_PER_MONTH;
  const events = records / 1e6;
  const calcShards = (bytes: number, consumers: number): number => {
    const kb = bytes / 1024;
    return Math.ceil(Math.max(Math.ceil((eventsPerSecond * kb) / 1024), Math.ceil((eventsPerSecond * kb * consumers) / 2048)) * 1.2);
  };
  const rawShards = calcShards(a.rawBytesPerEvent, 1);
  const enrichedShards = calcShards(a.enrichedBytesPerEvent, 2);
  const calcKinesis = (rawShards + enrichedShards + 2) * HOURS_PER_MONTH * PRICES.kinesisShardHour.usd + 2 * records * Math.ceil(a.enrichedBytesPerEvent / 1024 / 25) * PRICES.kinesisPutUnit.usd;
  const gb = (records * a.enrichedBytesPerEvent) / GB;
  const objects = firehoseObjectsPerHour(a) * HOURS_PER_MONTH;
  const calcFirehose = gb * (PRICES.firehoseIngestGb.usd + PRICES.firehoseConversionGb.usd + PRICES.firehosePartitioningGb.usd) + objects * PRICES.firehosePartitioningObject.usd;
  const lines = costPerMillionEvents(a, DEPLOYMENTS.lean);
  const month = (...names: string[]): number => lines.filter((l) => names.includes(l.component)).reduce((sum, l) => sum + l.usdPerMillion, 0) * events;
  const modelKinesis = month('Kinesis provisioned: shard-hours', 'Kinesis provisioned: PUT units');
  const modelFirehose = month('Firehose ingestion', 'Firehose Parquet conversion', 'Firehose dynamic partitioning');
  const firehoseAtFiveKb = ((records * 5120) / GB) * (PRICES.firehoseIngestGb.usd + PRICES.firehoseConversionGb.usd) + gb * PRICES.firehosePartitioningGb.usd + objects * PRICES.firehosePartitioningObject.usd;
  const row = (item: string, calc: number, model: number, why: string) => `| ${item} | $${calc.toFixed(2)} | $${model.toFixed(2)} | ${why} |`;
  return [
    `| ${eventsPerSecond.toLocaleString('en-US')} events/s, $ per month | the calculator's method | this model | why they differ |`,
    '|---|---:|---:|---|',
    row(
      'Kinesis, provisioned (events-raw, events-enriched, 2 analytics streams of 1 shard)',
      calcKinesis,
      modelKinesis,
      `the calculator rounds each stream's need up to whole shards before its 20 % buffer: events-raw ${rawShards}, events-enriched ${enrichedShards} shards; this model applies the 20 % first, then rounds (${shardsFor(eventsPerSecond, a.rawBytesPerEvent, 1, a.provisionedHeadroom)} and ${shardsFor(eventsPerSecond, a.enrichedBytesPerEvent, 2, a.provisionedHeadroom)}). PUT units agree`,
    ),
    row('Firehose (ingestion, conversion, dynamic partitioning), record size entered as measured', calcFirehose, modelFirehose, `the calculator bills ${a.enrichedBytesPerEvent} B as typed; the billing rule rounds each record up to 5 KB`),
    row('… with the record size entered as 5 KB, as the billing rule counts it', firehoseAtFiveKb, modelFirehose, 'they agree once the calculator is given the rounded size'),
  ].join('\n');
}

/** The tables README.md shows: the lean deployment line by line, then every deployment and the AWS solution side by side. */
export function costReport(measured: Awaited<ReturnType<typeof measuredInputs>>): string {
  const totals = (deployment: Deployment) => RATES.map((eventsPerSecond) => totalOf(costPerMillionEvents({ ...DEFAULT_ASSUMPTIONS, ...measured, eventsPerSecond }, deployment)));
  const comparison = [
    `| $ per million events, realistic mix, real-time analytics on | ${RATES.map((r) => `${r.toLocaleString('en-US')} events/s`).join(' | ')} |`,
    `|---|${RATES.map(() => '---:').join('|')}|`,
    `| **target** | ${RATES.map((r) => `≤ $${TARGETS[r]!.toFixed(2)}`).join(' | ')} |`,
    ...Object.values(DEPLOYMENTS as Record<string, Deployment>).map(
      (d) => `| this project, ${d.name}${d.notBuilt ? ' (not built yet)' : ''} | ${totals(d).map((t, i) => `${usd(t)}${t <= TARGETS[RATES[i]!]! ? ' (met)' : ` (over by ${usd(t - TARGETS[RATES[i]!]!)})`}`).join(' | ')} |`,
    ),
    `| this project, lean, every request one event (all browser) | ${RATES.map((eventsPerSecond) => usd(totalOf(costPerMillionEvents({ ...DEFAULT_ASSUMPTIONS, ...measured, eventsPerSecond, requestMix: [{ source: 'browser', share: 1, eventsPerRequest: 1, why: '' }] }, DEPLOYMENTS.lean)))).join(' | ')} |`,
    `| this project, lean, 10 events per request (Clickstream Analytics on AWS's assumption) | ${RATES.map((eventsPerSecond) => usd(totalOf(costPerMillionEvents({ ...DEFAULT_ASSUMPTIONS, ...measured, eventsPerSecond, requestMix: [{ source: 'any', share: 1, eventsPerRequest: CLICKSTREAM_ON_AWS.eventsPerRequest, why: '' }] }, DEPLOYMENTS.lean)))).join(' | ')} |`,
  ];
  const aws = [
    '| Clickstream Analytics on AWS (published, 10 events per request) | requests/s | events/s | $/month | $ per million events |',
    '|---|---:|---:|---:|---:|',
    ...CLICKSTREAM_ON_AWS.rows.map((r) => {
      const month = r.ingestion + r.processing + CLICKSTREAM_ON_AWS.logsPerMonth;
      const events = r.rps * CLICKSTREAM_ON_AWS.eventsPerRequest * HOURS_PER_MONTH * 3600;
      return `| ${r.mode} (batch: no real-time aggregates or alerts) | ${r.rps.toLocaleString('en-US')} | ${(r.rps * CLICKSTREAM_ON_AWS.eventsPerRequest).toLocaleString('en-US')} | $${month.toFixed(0)} | ${usd((month / events) * 1e6)} |`;
    }),
  ];
  return [
    comparison.join('\n'),
    '',
    'Where the lean deployment stands against the targets:',
    '',
    gapReport(measured),
    '',
    `Request mix: ${DEFAULT_ASSUMPTIONS.requestMix.map((s) => `${Math.round(s.share * 100)} % of events from ${s.source} SDKs at ${s.eventsPerRequest} per request (${s.why})`).join('; ')}: ${Math.round(requestsPerMillion(DEFAULT_ASSUMPTIONS.requestMix)).toLocaleString('en-US')} requests per million events.`,
    `Deployments: ${Object.values(DEPLOYMENTS as Record<string, Deployment>).filter((d) => !d.notBuilt).map((d) => `${d.name}: ${d.front === 'httpApi' ? 'HTTP API' : 'function URL'}, ${d.streams === 'onDemand' ? 'ON_DEMAND' : 'PROVISIONED'} streams, ${d.dedup === 'ledger' ? 'dedup ledger' : 'per-event dedup'} (${d.params})`).join('; ')}.`,
    '',
    `The lean deployment, line by line (\`*\`: at least one price not confirmed from a pricing page):`,
    '',
    lineTable(measured, DEPLOYMENTS.lean),
    '',
    aws.join('\n'),
    '',
    "The model checked against the AWS Pricing Calculator's method for one load:",
    '',
    calculatorCheck(measured),
    '',
    `Measured inputs (bench/results.json): ${Object.entries(measured).map(([k, v]) => `${k} ${v}`).join(', ')}.`,
    `Assumptions: ${Object.entries(DEFAULT_ASSUMPTIONS).filter(([k]) => k !== 'requestMix').map(([k, v]) => `${k} ${v}`).join(', ')}.`,
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
      for (const [key, deployment] of Object.entries(DEPLOYMENTS)) {
        const lines = costPerMillionEvents({ ...DEFAULT_ASSUMPTIONS, ...measured, eventsPerSecond }, deployment);
        figures[`cost.${key}.usd_per_million_events_at_${eventsPerSecond}_per_s`] = figure(totalOf(lines), '$/million events');
        figures[`cost.${key}.usd_per_month_fixed_at_${eventsPerSecond}_per_s`] = figure(totalOf(lines, 'fixed') * ((eventsPerSecond * 3600 * HOURS_PER_MONTH) / 1e6), '$/month');
      }
    }
    return figures;
  },
};
