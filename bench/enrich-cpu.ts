// Enrich handler CPU cost per event (decode, validate, enrich, serialise, batch bookkeeping), in-process
// with in-memory stubs for Kinesis, DynamoDB and S3, beside the floor: base64 decode + JSON.parse +
// JSON.stringify of each record. Also the share of that time spent parsing user agents, with and
// without the LRU cache, on a mix of 60 distinct user agents (real traffic: a few hundred, long tail).
import { SuppressionList } from '../functions/shared/suppression.js';
import { Logger } from '@aws-lambda-powertools/logger';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DedupLedger } from '../functions/enrich/dedup-ledger.js';
import { createBatchEnricher } from '../functions/enrich/enrich-batch.js';
import { parseUserAgent, UserAgentParser } from '../functions/enrich/user-agent.js';
import { KinesisBatchWriter } from '../functions/shared/kinesis-batch-writer.js';
import { demoEvents, kinesisStreamEvent } from './events.js';
import { figure, stubKinesisClient, timePerCall, type Suite } from './harness.js';

const BATCH_SIZE = 250; // the enrichBatchSize default in serverless.yml

function userAgentMix(): string[] {
  const platforms = [
    (v: number) => `Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/${v}.0.0.0 Safari/537.36`,
    (v: number) => `Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/${v}.0.6778.81 Mobile Safari/537.36`,
    (v: number) => `Mozilla/5.0 (iPhone; CPU iPhone OS 18_${v % 7} like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.${v % 7} Mobile/15E148 Safari/604.1`,
  ];
  return Array.from({ length: 20 }, (_, i) => platforms.map((p) => p(115 + i))).flat();
}

/** Raw-stream events as ingest writes them: server fields set. */
function rawEvents(count: number): Record<string, unknown>[] {
  const uas = userAgentMix();
  return demoEvents(count).map((e, i) => ({
    ...e,
    receivedAt: e['timestamp'],
    originalTimestamp: e['timestamp'],
    context: { ...(e['context'] as object), ip: `198.51.100.${i % 256}`, userAgent: uas[i % uas.length] },
  }));
}

/**
 * The real ledger (its hashing and bookkeeping are CPU per event) over a table that answers at once; a
 * new one for each batch, so that the same records are new every time.
 */
function freshLedger(): Pick<DedupLedger, 'lookup' | 'recordIntent' | 'confirm'> {
  const table = { send: async () => ({ Items: [] }) } as unknown as DynamoDBClient;
  let ledger = new DedupLedger({ client: table, table: 'ledger', ttlSeconds: 86_400 });
  return {
    lookup: (...args) => {
      ledger = new DedupLedger({ client: table, table: 'ledger', ttlSeconds: 86_400 });
      return ledger.lookup(...args);
    },
    recordIntent: (...args) => ledger.recordIntent(...args),
    confirm: (...args) => ledger.confirm(...args),
  };
}

export const enrichCpu: Suite = {
  name: 'enrich-cpu',
  async run() {
    const stubClient = stubKinesisClient();
    const events = rawEvents(BATCH_SIZE);
    const records = kinesisStreamEvent(events).Records;
    const batchWith = (userAgents: UserAgentParser) =>
      createBatchEnricher({
        writer: new KinesisBatchWriter({ client: stubClient, stream: 'events-enriched' }),
        ledger: freshLedger(),
        writtenCheck: { find: async () => new Set<string>() },
        badRows: { write: async () => 'bad-rows/key' },
        suppression: { current: async () => SuppressionList.EMPTY },
        userAgents,
        config: { latenessBoundSeconds: 3_600, maxEventBytes: 64 * 1024 },
        logger: new Logger({ logLevel: 'SILENT' }),
      });
    const cached = batchWith(new UserAgentParser(1_000));
    const uncached = batchWith(new UserAgentParser(0));
    const deadline = () => Date.now() + 60_000;
    const check = await cached(records, { deadline: deadline() });
    if (check.counters.enriched !== BATCH_SIZE) throw new Error(`bench batch was not fully enriched: ${JSON.stringify(check.counters)}`);

    const withCache = (await timePerCall(() => cached(records, { deadline: deadline() }))) / BATCH_SIZE;
    const withoutCache = (await timePerCall(() => uncached(records, { deadline: deadline() }))) / BATCH_SIZE;
    const uas = events.map((e) => (e['context'] as { userAgent: string }).userAgent);
    const uaParse = (await timePerCall(() => uas.forEach((ua) => parseUserAgent(ua)))) / BATCH_SIZE;
    const warmCache = new UserAgentParser(1_000);
    const uaCached = (await timePerCall(() => uas.forEach((ua) => warmCache.parse(ua)))) / BATCH_SIZE;
    const floor =
      (await timePerCall(() => {
        for (const r of records) Buffer.from(JSON.stringify(JSON.parse(Buffer.from(r.kinesis.data, 'base64').toString('utf8'))), 'utf8');
      })) / BATCH_SIZE;

    const target = '≤ 5x the decode + JSON.parse + JSON.stringify floor';
    return {
      'enrich.cpu_per_event': figure(withCache / 1000, 'µs/event', { baseline: floor / 1000, target, met: withCache / floor <= 5 }),
      'enrich.cpu_per_event_no_ua_cache': figure(withoutCache / 1000, 'µs/event', { baseline: floor / 1000 }),
      'enrich.ua_parse_per_event': figure(uaParse / 1000, 'µs/event'),
      'enrich.ua_share_no_cache': figure((100 * uaParse) / withoutCache, '%'),
      'enrich.ua_share_with_cache': figure((100 * uaCached) / withCache, '%'),
      'enrich.bytes_per_event_in': figure(records.reduce((n, r) => n + Buffer.from(r.kinesis.data, 'base64').byteLength, 0) / BATCH_SIZE, 'bytes'),
    };
  },
};
