// Enrich handler CPU cost per event (decode, validate, enrich, serialise, batch bookkeeping), in-process
// with in-memory stubs for Kinesis, DynamoDB and S3, beside the floor: base64 decode + JSON.parse +
// JSON.stringify of each record. Also the share of that time spent parsing user agents, with and
// without the LRU cache, on a mix of 60 distinct user agents (real traffic: a few hundred, long tail);
// and what the IP facts (geo-IP, AS, bots by network: functions/enrich/ip-facts.ts) cost: their load at
// cold start, a look-up, and the whole enrich without them, with them (their cache warm: every address seen
// before) and with them uncached (every address new), as CPU time measured alternately in one run (see
// alternating). The events come from 25 visitors of 10 events each, with public IPs as the demo's (ISPs in
// ten countries, data centres, crawlers): real traffic, a few to tens of events per address, is near the
// warm figure.
import { SuppressionList } from '../functions/shared/suppression.js';
import { Logger } from '@aws-lambda-powertools/logger';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DedupLedger } from '../functions/enrich/dedup-ledger.js';
import { createBatchEnricher } from '../functions/enrich/enrich-batch.js';
import { TrackingPlans } from '../functions/enrich/tracking-plan.js';
import type { TrackingPlansDocument } from '../schemas/tracking-plans.js';
import trackingPlans from '../schemas/tracking-plans.generated.json' with { type: 'json' };
import { IpFacts, NO_IP_FIELDS } from '../functions/enrich/ip-facts.js';
import { parseUserAgent, UserAgentParser } from '../functions/enrich/user-agent.js';
import { mulberry32 } from '../local/demo/model.js';
import { addressIn, CRAWLER_PREFIXES, DATA_CENTRE_PREFIXES, HOME_NETWORKS } from '../local/demo/visitor-networks.js';
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

const EVENTS_PER_VISITOR = 10;

/** One public IP per visitor: 18 in 20 from ISPs (the demo's ten countries), one from a data centre, one from a crawler's range. */
function visitorIps(visitors: number): string[] {
  const random = mulberry32(16);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
  const homes = Object.values(HOME_NETWORKS);
  const crawlers = Object.values(CRAWLER_PREFIXES).flat();
  return Array.from({ length: visitors }, (_, v) => {
    if (v % 20 === 18) return addressIn(pick(DATA_CENTRE_PREFIXES), random);
    if (v % 20 === 19) return addressIn(pick(crawlers), random);
    return addressIn(pick(pick(homes).prefixes), random);
  });
}

/** Raw-stream events as ingest writes them: server fields set. */
function rawEvents(count: number): Record<string, unknown>[] {
  const uas = userAgentMix();
  const ips = visitorIps(Math.ceil(count / EVENTS_PER_VISITOR));
  return demoEvents(count).map((e, i) => ({
    ...e,
    receivedAt: e['timestamp'],
    originalTimestamp: e['timestamp'],
    context: { ...(e['context'] as object), ip: ips[Math.floor(i / EVENTS_PER_VISITOR)], userAgent: uas[i % uas.length] },
  }));
}

/** Resident set, V8 heap and memory outside the heap (Buffers: the databases), in bytes. */
function memory(): { rss: number; heap: number; outside: number } {
  const m = process.memoryUsage();
  return { rss: m.rss, heap: m.heapUsed, outside: m.external };
}

/** A full garbage collection, so that what is counted is what the load keeps (the CSV text it parsed is let go). */
function collectGarbage(): void {
  setFlagsFromString('--expose_gc');
  (runInNewContext('gc') as () => void)();
}

/** CPU time per call (ns: user + system, every thread of the process), over at least minMs of wall time after a warm-up. */
async function cpuPerCall(fn: () => unknown, { minMs = 400, warmupMs = 80 } = {}): Promise<number> {
  for (const end = performance.now() + warmupMs; performance.now() < end; ) await fn();
  let calls = 0;
  const started = process.cpuUsage();
  for (const end = performance.now() + minMs; performance.now() < end; calls++) await fn();
  const used = process.cpuUsage(started);
  return ((used.user + used.system) * 1000) / calls;
}

/**
 * Median CPU time per call (ns) of each function, measured in alternating rounds. CPU time, not wall time,
 * and alternating: on a shared machine other processes then neither inflate the figures nor skew their
 * ratio, which is the before and after this suite reports.
 */
async function alternating<K extends string>(variants: Record<K, () => unknown>, rounds = 7): Promise<Record<K, number>> {
  const samples = Object.fromEntries(Object.keys(variants).map((k) => [k, [] as number[]])) as unknown as Record<K, number[]>;
  for (let round = 0; round < rounds; round++) {
    for (const [name, fn] of Object.entries(variants) as [K, () => unknown][]) samples[name].push(await cpuPerCall(fn));
  }
  const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
  return Object.fromEntries(Object.entries(samples).map(([k, v]) => [k, median(v as number[])])) as Record<K, number>;
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
    // First, as at a cold start: the IP facts' load, its time (wall and CPU) and the memory it takes.
    collectGarbage();
    const before = memory();
    const loadStarted = performance.now();
    const loadCpu = process.cpuUsage();
    const ipFacts = IpFacts.load();
    const loadCpuUsed = process.cpuUsage(loadCpu);
    const loadMs = performance.now() - loadStarted;
    const peak = memory();
    collectGarbage();
    const kept = memory();
    const uncachedIpFacts = ipFacts.withCacheSize(0);

    const stubClient = stubKinesisClient();
    const events = rawEvents(BATCH_SIZE);
    const records = kinesisStreamEvent(events).Records;
    // The tracking plans the handler bundles (schemas/tracking-plans.generated.json); the demo mix has events they cover.
    const plans = new TrackingPlans(trackingPlans as TrackingPlansDocument);
    // The identities delivery stream, stubbed: what is timed is reading the links off the events and folding them.
    const identityLinks = { write: async () => ({ failed: [], calls: 1 }) };
    const batchWith = (userAgents: UserAgentParser, facts: Pick<IpFacts, 'lookup'> = ipFacts, withPlans = true, withLinks = true) =>
      createBatchEnricher({
        writer: new KinesisBatchWriter({ client: stubClient, stream: 'events-enriched' }),
        ledger: freshLedger(),
        writtenCheck: { find: async () => new Set<string>() },
        badRows: { write: async () => 'bad-rows/key' },
        suppression: { current: async () => SuppressionList.EMPTY },
        userAgents,
        ipFacts: facts,
        ...(withPlans ? { plans } : {}),
        ...(withLinks ? { identityLinks } : {}),
        config: { latenessBoundSeconds: 3_600, maxEventBytes: 64 * 1024 },
        logger: new Logger({ logLevel: 'SILENT' }),
      });
    const cached = batchWith(new UserAgentParser(1_000));
    const uncached = batchWith(new UserAgentParser(0));
    const withoutIpFacts = batchWith(new UserAgentParser(1_000), { lookup: () => NO_IP_FIELDS });
    const everyIpNew = batchWith(new UserAgentParser(1_000), uncachedIpFacts);
    const withoutPlans = batchWith(new UserAgentParser(1_000), ipFacts, false);
    const withNeither = batchWith(new UserAgentParser(1_000), { lookup: () => NO_IP_FIELDS }, false, false);
    const withoutLinks = batchWith(new UserAgentParser(1_000), ipFacts, true, false);
    const deadline = () => Date.now() + 60_000;
    const check = await cached(records, { deadline: deadline() });
    // Signed Up's plan rejects what it does not accept: a demo signup always passes it, so every event is enriched.
    if (check.counters.enriched !== BATCH_SIZE) throw new Error(`bench batch was not fully enriched: ${JSON.stringify(check.counters)}`);

    const withCache = (await timePerCall(() => cached(records, { deadline: deadline() }))) / BATCH_SIZE;
    const withoutCache = (await timePerCall(() => uncached(records, { deadline: deadline() }))) / BATCH_SIZE;
    const uas = events.map((e) => (e['context'] as { userAgent: string }).userAgent);
    const uaParse = (await timePerCall(() => uas.forEach((ua) => parseUserAgent(ua)))) / BATCH_SIZE;
    const warmCache = new UserAgentParser(1_000);
    const uaCached = (await timePerCall(() => uas.forEach((ua) => warmCache.parse(ua)))) / BATCH_SIZE;
    const decodeAndSerialise = () => {
      for (const r of records) Buffer.from(JSON.stringify(JSON.parse(Buffer.from(r.kinesis.data, 'base64').toString('utf8'))), 'utf8');
    };
    const floor = (await timePerCall(decodeAndSerialise)) / BATCH_SIZE;

    // The before and after of the IP facts: without them, with them (cache warm, cache off), alternately.
    const ips = events.map((e) => (e['context'] as { ip: string }).ip);
    const cpu = await alternating({
      neither: () => withNeither(records, { deadline: deadline() }),
      noPlans: () => withoutPlans(records, { deadline: deadline() }),
      noLinks: () => withoutLinks(records, { deadline: deadline() }),
      without: () => withoutIpFacts(records, { deadline: deadline() }),
      warm: () => cached(records, { deadline: deadline() }),
      cold: () => everyIpNew(records, { deadline: deadline() }),
      lookup: () => ips.forEach((ip) => uncachedIpFacts.lookup(ip)),
      lookupCached: () => ips.forEach((ip) => ipFacts.lookup(ip)),
      floor: decodeAndSerialise,
    });
    const us = (ns: number) => ns / BATCH_SIZE / 1000;

    const target = '≤ 5x the decode + JSON.parse + JSON.stringify floor';
    return {
      'enrich.cpu_per_event': figure(withCache / 1000, 'µs/event', { baseline: floor / 1000, target, met: withCache / floor <= 5 }),
      'enrich.cpu_per_event_no_ua_cache': figure(withoutCache / 1000, 'µs/event', { baseline: floor / 1000 }),
      // CPU time, alternating (see alternating): before the IP facts (every fact null), beside the floor.
      // Before and after issue 16's enrichments: none of the IP facts, the tracking plans and the identity links, then all (the handler).
      'enrich.cpu_time_without_ip_facts_or_plans': figure(us(cpu.neither), 'µs/event', { baseline: us(cpu.floor) }),
      'enrich.cpu_time_without_plans': figure(us(cpu.noPlans), 'µs/event', { baseline: us(cpu.neither) }),
      // The identity links (functions/enrich/identity-links.ts): the handler (warm) against the same without them.
      'enrich.cpu_time_without_identity_links': figure(us(cpu.noLinks), 'µs/event', { baseline: us(cpu.neither) }),
      'enrich.cpu_time_without_ip_facts': figure(us(cpu.without), 'µs/event', { baseline: us(cpu.floor) }),
      // After: against before, measured in the same rounds. Warm: every address seen before; uncached: every address new.
      'enrich.cpu_time_with_ip_facts': figure(us(cpu.warm), 'µs/event', { baseline: us(cpu.without) }),
      'enrich.cpu_time_with_ip_facts_uncached': figure(us(cpu.cold), 'µs/event', { baseline: us(cpu.without) }),
      'enrich.ip_lookup_per_event': figure(us(cpu.lookup), 'µs/event'),
      'enrich.ip_lookup_cached_per_event': figure(us(cpu.lookupCached), 'µs/event'),
      'enrich.ip_facts_load_ms': figure(loadMs, 'ms'),
      'enrich.ip_facts_load_cpu_ms': figure((loadCpuUsed.user + loadCpuUsed.system) / 1000, 'ms'),
      // Right after the load (the parsed CSV text not yet collected), then what it keeps.
      'enrich.ip_facts_rss_mb': figure((peak.rss - before.rss) / 2 ** 20, 'MB'),
      'enrich.ip_facts_kept_heap_mb': figure((kept.heap - before.heap) / 2 ** 20, 'MB'),
      'enrich.ip_facts_kept_outside_heap_mb': figure((kept.outside - before.outside) / 2 ** 20, 'MB'),
      'enrich.ua_parse_per_event': figure(uaParse / 1000, 'µs/event'),
      'enrich.ua_share_no_cache': figure((100 * uaParse) / withoutCache, '%'),
      'enrich.ua_share_with_cache': figure((100 * uaCached) / withCache, '%'),
      'enrich.bytes_per_event_in': figure(records.reduce((n, r) => n + Buffer.from(r.kinesis.data, 'base64').byteLength, 0) / BATCH_SIZE, 'bytes'),
    };
  },
};
