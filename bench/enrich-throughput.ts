// Events/s end to end from events-raw to events-enriched on the emulators: the real enrich handler run
// by the local event source mapping, with dedup on dynalite and bad rows on s3rver, as `npm start` runs it.
import { GetRecordsCommand, GetShardIteratorCommand } from '@aws-sdk/client-kinesis';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { eventsFromRequest } from '../functions/ingest/events-from-request.js';
import { KinesisBatchWriter } from '../functions/shared/kinesis-batch-writer.js';
import { partitionKeyFor } from '../functions/shared/partition-key.js';
import { createLocalKinesisClient } from '../local/kinesis/client.js';
import { startLocalStack } from '../local/stack.js';
import { listShardIds } from '../local/kinesis/streams.js';
import { demoEvents } from './events.js';
import { figure, type Suite } from './harness.js';

const EVENTS = 3_000;

export const enrichThroughput: Suite = {
  name: 'enrich-throughput',
  async run() {
    const dataDir = await mkdtemp(join(tmpdir(), 'bench-enrich-'));
    process.env['POWERTOOLS_LOG_LEVEL'] ??= 'ERROR';
    const stack = await startLocalStack({ dataDir });
    const kinesis = createLocalKinesisClient(stack.endpoints.kinesis);
    try {
      const { enriched, raw } = stack.endpoints.streams;
      // Read only what arrives after this point: iterators at LATEST on every shard of events-enriched.
      const iterators = new Map<string, string | undefined>();
      for (const shardId of await listShardIds(kinesis, enriched)) {
        const { ShardIterator } = await kinesis.send(new GetShardIteratorCommand({ StreamName: enriched, ShardId: shardId, ShardIteratorType: 'LATEST' }));
        iterators.set(shardId, ShardIterator);
      }
      const { events } = eventsFromRequest({ kind: 'batch' }, { batch: demoEvents(EVENTS) }, { receivedAtMs: Date.now(), writeKey: 'bench', sourceIp: '203.0.113.7', userAgent: undefined });
      const records = events.map(({ event, data }) => ({ data, partitionKey: partitionKeyFor(event) }));

      const start = performance.now();
      const { failed } = await new KinesisBatchWriter({ client: kinesis, stream: raw }).write(records, { deadline: Date.now() + 120_000 });
      if (failed.length) throw new Error(`${failed.length} raw records not written`);
      const writtenAt = performance.now();
      let seen = 0;
      while (seen < records.length) {
        if (performance.now() - start > 300_000) throw new Error(`only ${seen}/${records.length} enriched after 300 s`);
        for (const [shardId, iterator] of iterators) {
          if (!iterator) continue;
          const page = await kinesis.send(new GetRecordsCommand({ ShardIterator: iterator, Limit: 10_000 }));
          seen += page.Records?.length ?? 0;
          iterators.set(shardId, page.NextShardIterator);
        }
        await sleep(100);
      }
      const seconds = (performance.now() - start) / 1000;
      return {
        'enrich.emulator_events_per_s_raw_to_enriched': figure(records.length / seconds, 'events/s'),
        'enrich.emulator_seconds_for_3000_events': figure(seconds, 's', { baseline: (writtenAt - start) / 1000 }),
      };
    } finally {
      kinesis.destroy();
      await stack.stop();
      await rm(dataDir, { recursive: true, force: true });
    }
  },
};
