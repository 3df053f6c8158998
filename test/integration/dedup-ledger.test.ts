// The dedup ledger on the local DynamoDB (dynalite over HTTP), with its table from serverless.yml. A bucket
// past 1 MB comes back from Query in pages, and DynamoDB checks each page's start key against the key
// condition. A consumer reads a bucket whole after a cold start, a restart of the stack, or an hour: at
// 200 events/s a shard's hour passes 1 MB in about 15 minutes.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { QueryCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { DedupLedger, hourOf, LEDGER_BUCKET, ledgerEntry, type LedgerEntry } from '../../functions/enrich/dedup-ledger.js';
import { createLocalDynamoDbClient, ensureTableFromTemplate, startDynamoDbEmulator, type DynamoDbEmulator } from '../../local/storage/dynamodb.js';
import { readTemplates } from '../../local/template/templates.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const SHARD = 'shardId-000000000000';
const HOUR = hourOf(Date.now());
const IDS_PER_BATCH = 1_000;

let dataDir: string;
let emulator: DynamoDbEmulator;
let client: DynamoDBClient;
let table: string;

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'dedup-ledger-'));
  emulator = await startDynamoDbEmulator({ dataDir });
  client = createLocalDynamoDbClient(emulator.endpoint);
  table = await ensureTableFromTemplate(client, readTemplates(join(ROOT, 'serverless.yml')), 'DedupLedgerTable');
});

afterAll(async () => {
  client?.destroy();
  await emulator?.stop();
  rmSync(dataDir, { recursive: true, force: true });
});

const consumer = () => new DedupLedger({ client, table, ttlSeconds: 86_400 });
const deadline = () => ({ deadline: Date.now() + 30_000 });
const ids = (batch: number) => Array.from({ length: IDS_PER_BATCH }, (_, i) => `evt-${batch}-${i}`);
const entries = (list: string[]): LedgerEntry[] => list.map((id) => ledgerEntry(id, HOUR));

/** Batches `from` to `to` as the enrich stage writes them: intent, then ok. */
async function deliver(ledger: DedupLedger, from: number, to: number): Promise<void> {
  for (let batch = from; batch <= to; batch++) {
    const batchEntries = entries(ids(batch));
    const intent = await ledger.recordIntent(SHARD, String(batch * 1_000), batchEntries, deadline());
    await ledger.confirm(intent, batchEntries, new Set(), deadline());
  }
}

/** Pages a Query of the whole bucket takes. */
async function pages(): Promise<number> {
  let count = 0;
  let startKey: QueryCommand['input']['ExclusiveStartKey'];
  do {
    const page = await client.send(new QueryCommand({ TableName: table, KeyConditionExpression: '#b = :b', ExpressionAttributeNames: { '#b': LEDGER_BUCKET }, ExpressionAttributeValues: { ':b': { S: `${SHARD}#${HOUR}` } }, ExclusiveStartKey: startKey }));
    startKey = page.LastEvaluatedKey;
    count++;
  } while (startKey);
  return count;
}

/** One id from each of batches `from` to `to`, and as many never delivered. */
const sample = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => [`evt-${from + i}-${(i * 37) % IDS_PER_BATCH}`, `new-${from + i}`]).flat();

it('reads a bucket of more than one Query page whole, and a warm consumer reads more than a page past its cursor', { timeout: 60_000 }, async () => {
  const writer = consumer();
  await deliver(writer, 1, 120); // 120,000 ids: about 1.5 MB of hashes
  expect(await pages()).toBeGreaterThan(1);

  const cold = consumer();
  const whole = await cold.lookup('events-raw', SHARD, entries(sample(1, 120)), deadline());
  expect(whole.unresolved.size).toBe(0);
  expect([...whole.seen].sort()).toEqual(sample(1, 120).filter((id) => id.startsWith('evt-')).sort());
  expect(cold.cachedIds).toBe(120 * IDS_PER_BATCH);

  await deliver(writer, 121, 240); // another page and more, past the cold consumer's cursor
  const after = await cold.lookup('events-raw', SHARD, entries(sample(100, 240)), deadline());
  expect(after.unresolved.size).toBe(0);
  expect([...after.seen].sort()).toEqual(sample(100, 240).filter((id) => id.startsWith('evt-')).sort());
  expect(cold.cachedIds).toBe(240 * IDS_PER_BATCH);
});
