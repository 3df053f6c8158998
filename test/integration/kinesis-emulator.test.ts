// The local Kinesis (kinesalite on its LevelDB store) keeps a bounded number of its table files open and
// mapped however many the streams' records fill. With LevelDB's default (1,000 files) every table stayed
// open, and the emulator's memory grew with the 24 hours of records a stream keeps.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetRecordsCommand, GetShardIteratorCommand, PutRecordsCommand, type KinesisClient } from '@aws-sdk/client-kinesis';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createLocalKinesisClient } from '../../local/kinesis/client.js';
import { startKinesisEmulator, type KinesisEmulator } from '../../local/kinesis/emulator.js';
import { LEVELDB_OPTIONS } from '../../local/kinesis/server.js';
import { ensureStream, listShardIds } from '../../local/kinesis/streams.js';

let dataDir: string;
let emulator: KinesisEmulator;
let client: KinesisClient;
const STREAM = 'tables';

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'kinesis-emulator-'));
  emulator = await startKinesisEmulator({ dataDir });
  client = createLocalKinesisClient(emulator.endpoint);
  await ensureStream(client, STREAM, 2, 30_000);
});

afterAll(async () => {
  client?.destroy();
  await emulator?.stop();
  rmSync(dataDir, { recursive: true, force: true });
});

const tableFiles = (): number => readdirSync(join(dataDir, 'leveldb')).filter((name) => name.endsWith('.ldb')).length;
/** Table files the emulator process has mapped into its memory (LevelDB maps a table it opens). */
const mappedTables = (): number => new Set(readFileSync(`/proc/${emulator.pid}/maps`, 'utf8').match(/\d+\.ldb$/gm) ?? []).size;

it('keeps at most its table cache of LevelDB files mapped as a stream fills past it', { timeout: 240_000 }, async () => {
  const limit = LEVELDB_OPTIONS.maxOpenFiles;
  // Incompressible records of 100 KB, 5 MB a call: LevelDB writes a table file about every 2 MB.
  const records = Array.from({ length: 50 }, (_, i) => ({ Data: randomBytes(100_000), PartitionKey: `key-${i}` }));
  const deadline = Date.now() + 200_000;
  while (tableFiles() < limit * 1.5 && Date.now() < deadline) {
    await Promise.all([0, 1].map(() => client.send(new PutRecordsCommand({ StreamName: STREAM, Records: records }))));
  }
  expect(tableFiles()).toBeGreaterThanOrEqual(limit * 1.5);

  // Reading a shard from its start opens its oldest tables too.
  for (const shardId of await listShardIds(client, STREAM)) {
    let { ShardIterator: iterator } = await client.send(new GetShardIteratorCommand({ StreamName: STREAM, ShardId: shardId, ShardIteratorType: 'TRIM_HORIZON' }));
    for (let page = 0; page < 5 && iterator; page++) {
      const answer = await client.send(new GetRecordsCommand({ ShardIterator: iterator, Limit: 100 }));
      expect(answer.Records?.length).toBeGreaterThan(0);
      iterator = answer.NextShardIterator;
    }
  }
  // glibc's heaps for the threads are capped too (./emulator.ts).
  const environment = readFileSync(`/proc/${emulator.pid}/environ`, 'utf8').split('\0');
  expect(environment).toContain(`MALLOC_ARENA_MAX=${process.env['MALLOC_ARENA_MAX'] ?? 2}`);
  const mapped = mappedTables();
  expect(mapped).toBeGreaterThan(0);
  expect(mapped).toBeLessThanOrEqual(limit);
});
