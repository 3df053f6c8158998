// Events/s into the Kinesis emulator, same emulator and run: our batch writer, a naive writer making
// one PutRecord call per event, and raw pre-built PutRecords calls (the ceiling).
import { CreateStreamCommand, DescribeStreamSummaryCommand, PutRecordCommand, PutRecordsCommand, type KinesisClient } from '@aws-sdk/client-kinesis';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KinesisBatchWriter, type StreamRecord } from '../functions/shared/kinesis-batch-writer.js';
import { partitionKeyFor } from '../functions/shared/partition-key.js';
import { createLocalKinesisClient } from '../local/kinesis/client.js';
import { startKinesisEmulator } from '../local/kinesis/emulator.js';
import { demoEvents } from './events.js';
import { figure, type Suite } from './harness.js';

const SHARDS = 2;
const BATCHED_EVENTS = 6_000;
const NAIVE_EVENTS = 600;
const ROUND = 1_000;

async function createStream(client: KinesisClient, name: string): Promise<void> {
  await client.send(new CreateStreamCommand({ StreamName: name, ShardCount: SHARDS }));
  for (;;) {
    const { StreamDescriptionSummary } = await client.send(new DescribeStreamSummaryCommand({ StreamName: name }));
    if (StreamDescriptionSummary?.StreamStatus === 'ACTIVE') return;
    await new Promise((r) => setTimeout(r, 100));
  }
}

const toRecords = (events: Record<string, unknown>[]): StreamRecord[] =>
  events.map((e) => ({ data: Buffer.from(JSON.stringify(e)), partitionKey: partitionKeyFor(e) }));

async function eventsPerSecond(count: number, write: () => Promise<void>): Promise<number> {
  const start = performance.now();
  await write();
  return count / ((performance.now() - start) / 1000);
}

export const ingestThroughput: Suite = {
  name: 'ingest-throughput',
  async run() {
    const dataDir = await mkdtemp(join(tmpdir(), 'bench-kinesis-'));
    // Persisting rarely keeps the emulator's periodic full-state dump out of the measurement.
    const emulator = await startKinesisEmulator({ dataDir });
    const client = createLocalKinesisClient(emulator.endpoint, 1);
    try {
      for (const name of ['bench-ours', 'bench-naive', 'bench-raw']) await createStream(client, name);
      const records = toRecords(demoEvents(BATCHED_EVENTS));
      const writer = new KinesisBatchWriter({ client, stream: 'bench-ours' });
      // The emulator slows down as it holds more data, so the two batched writers take turns in
      // rounds of the same size, and each is timed over all its rounds.
      let rawMs = 0;
      let oursMs = 0;
      for (let round = 0; round < records.length / ROUND; round++) {
        const slice = records.slice(round * ROUND, (round + 1) * ROUND);
        const rawCalls: PutRecordsCommand[] = [];
        for (let i = 0; i < slice.length; i += 500) {
          rawCalls.push(new PutRecordsCommand({ StreamName: 'bench-raw', Records: slice.slice(i, i + 500).map((r) => ({ Data: r.data, PartitionKey: r.partitionKey })) }));
        }
        const timeRaw = async () => {
          const start = performance.now();
          for (const call of rawCalls) await client.send(call);
          rawMs += performance.now() - start;
        };
        const timeOurs = async () => {
          const start = performance.now();
          const { failed } = await writer.write(slice, { deadline: Date.now() + 300_000 });
          oursMs += performance.now() - start;
          if (failed.length > 0) throw new Error(`batch writer left ${failed.length} records unwritten`);
        };
        // Alternate which goes first, so neither always meets the emulator fresher.
        for (const step of round % 2 === 0 ? [timeRaw, timeOurs] : [timeOurs, timeRaw]) await step();
      }
      const raw = records.length / (rawMs / 1000);
      const ours = records.length / (oursMs / 1000);

      const naiveRecords = records.slice(0, NAIVE_EVENTS);
      const naive = await eventsPerSecond(naiveRecords.length, async () => {
        for (const r of naiveRecords) await client.send(new PutRecordCommand({ StreamName: 'bench-naive', Data: r.data, PartitionKey: r.partitionKey }));
      });

      return {
        'ingest.emulator_events_per_s_batch_writer': figure(ours, 'events/s', { baseline: naive, target: '≥ 10x the naive PutRecord writer', met: ours >= 10 * naive }),
        'ingest.emulator_events_per_s_vs_raw_ceiling': figure(ours, 'events/s', { baseline: raw, target: '≥ 0.8x raw PutRecords', met: ours >= 0.8 * raw }),
        'ingest.emulator_events_per_s_naive_put_record': figure(naive, 'events/s'),
        'ingest.emulator_events_per_s_raw_put_records': figure(raw, 'events/s'),
      };
    } finally {
      client.destroy();
      await emulator.stop();
      await rm(dataDir, { recursive: true, force: true });
    }
  },
};
