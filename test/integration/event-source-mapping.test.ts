// The local event source mapping against the local Kinesis emulator, with tiny inline handlers: Lambda's batch, bisect,
// partial-failure, retry, record-age, on-failure destination and checkpoint semantics.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { PutRecordsCommand, type KinesisClient } from '@aws-sdk/client-kinesis';
import type { KinesisStreamBatchResponse, KinesisStreamEvent } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEventSourceMapping, type EventSourceMapping, type EventSourceMappingOptions } from '../../local/lambda/event-source-mapping.js';
import { createLocalKinesisClient } from '../../local/kinesis/client.js';
import { startKinesisEmulator, type KinesisEmulator } from '../../local/kinesis/emulator.js';
import type { StreamEventSource } from '../../local/template/stream-event-sources.js';
import { readTemplates } from '../../local/template/templates.js';
import { ensureStream } from '../../local/kinesis/streams.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const quiet = { info: () => {}, warn: () => {}, error: console.error };

let dataDir: string;
let emulator: KinesisEmulator;
let kinesis: KinesisClient;
let enrichSource: StreamEventSource;
const running: EventSourceMapping[] = [];

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'esm-'));
  emulator = await startKinesisEmulator({ dataDir: join(dataDir, 'kinesis') });
  kinesis = createLocalKinesisClient(emulator.endpoint);
  enrichSource = readTemplates(join(ROOT, 'serverless.yml')).streamEventSource('enrich');
});

afterAll(async () => {
  await Promise.all(running.map((mapping) => mapping.stop()));
  kinesis?.destroy();
  await emulator?.stop();
  rmSync(dataDir, { recursive: true, force: true });
});

/** The enrich function's wiring on a stream of its own, so each test starts from an empty stream. */
async function sourceOnNewStream(name: string, shards: number): Promise<StreamEventSource> {
  await ensureStream(kinesis, name, shards, 30_000);
  return { ...enrichSource, streamName: name };
}

/** Writes the payloads (one PutRecords call) and returns their sequence numbers, in order. */
async function put(streamName: string, payloads: string[], partitionKey = (index: number) => `key-${index}`): Promise<string[]> {
  const response = await kinesis.send(
    new PutRecordsCommand({ StreamName: streamName, Records: payloads.map((payload, index) => ({ Data: Buffer.from(payload), PartitionKey: partitionKey(index) })) }),
  );
  expect(response.FailedRecordCount ?? 0).toBe(0);
  return response.Records!.map((record) => record.SequenceNumber!);
}

async function start(options: Omit<EventSourceMappingOptions, 'kinesis' | 'dataDir' | 'logger'> & { dataDir?: string }): Promise<EventSourceMapping> {
  const mapping = await startEventSourceMapping({ kinesis, dataDir: join(dataDir, 'state'), logger: quiet, idlePollMs: 50, retryBackoffMs: 10, ...options });
  running.push(mapping);
  return mapping;
}

async function until(condition: () => boolean, what: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

const text = (record: KinesisStreamEvent['Records'][number]) => Buffer.from(record.kinesis.data, 'base64').toString('utf8');

describe('local event source mapping', () => {
  it('reads its wiring from the enrich function in serverless.yml', () => {
    expect(enrichSource).toMatchObject({
      function: { functionKey: 'enrich', handler: 'functions/enrich/handler.handler', timeoutSeconds: 60, role: 'EnrichRole' },
      streamLogicalId: 'RawEventsStream',
      streamName: 'events-raw',
      settings: {
        batchSize: 250,
        batchWindowSeconds: 1,
        bisectBatchOnFunctionError: true,
        reportBatchItemFailures: true,
        maximumRetryAttempts: 10,
        maximumRecordAgeInSeconds: 21600,
        startingPosition: 'TRIM_HORIZON',
      },
      onFailure: { logicalId: 'EnrichDeadLetterQueue', name: 'enrich-dlq', type: 'sqs' },
    });
  });

  it('isolates a poison record by bisecting: every other record is processed exactly once, the poison one goes to the DLQ', async () => {
    const source = await sourceOnNewStream('esm-poison', 2);
    const payloads = Array.from({ length: 40 }, (_, index) => (index === 13 ? 'POISON' : `record-${index}`));
    const sequenceNumbers = await put(source.streamName, payloads);
    const poison = sequenceNumbers[13]!;
    const processed = new Map<string, number>();
    const poisonInvocations: number[] = [];
    const retryAttempts = 2;

    const mapping = await start({
      source,
      dataDir: join(dataDir, 'poison'),
      overrides: { batchSize: 10, batchWindowSeconds: 0, maximumRetryAttempts: retryAttempts, reportBatchItemFailures: false },
      handler: async (event: KinesisStreamEvent) => {
        if (event.Records.some((record) => text(record) === 'POISON')) {
          poisonInvocations.push(event.Records.length);
          throw new Error('poison in the batch');
        }
        for (const record of event.Records) processed.set(record.kinesis.sequenceNumber, (processed.get(record.kinesis.sequenceNumber) ?? 0) + 1);
      },
    });
    await until(() => processed.size === 39 && mapping.readDeadLetters().length === 1, '39 records processed and one dead letter');

    expect([...processed.values()].every((count) => count === 1)).toBe(true);
    expect(processed.has(poison)).toBe(false);
    const [deadLetter] = mapping.readDeadLetters();
    expect(deadLetter).toMatchObject({
      requestContext: { condition: 'RetryAttemptsExhausted', functionArn: expect.stringContaining(':function:clickstream-local-enrich'), approximateInvokeCount: poisonInvocations.length },
      responseContext: { statusCode: 200, executedVersion: '$LATEST', functionError: 'Unhandled' },
      version: '1.0',
      KinesisBatchInfo: { startSequenceNumber: poison, endSequenceNumber: poison, batchSize: 1, streamArn: expect.stringMatching(/:stream\/esm-poison$/) },
    });
    // Halved until alone (splits are free), then 1 invocation + maximumRetryAttempts retries on its own.
    expect(poisonInvocations.filter((size) => size === 1)).toHaveLength(1 + retryAttempts);
    expect(poisonInvocations[0]).toBeGreaterThan(1);
    expect(mapping.stats()).toMatchObject({ recordsIn: 40, deadLetters: 1, deadLetteredRecords: 1, retries: retryAttempts });
  });

  it('retries a partially failed batch from its lowest failed record, re-delivering the records after it', async () => {
    const source = await sourceOnNewStream('esm-partial', 1);
    const sequenceNumbers = await put(source.streamName, Array.from({ length: 10 }, (_, index) => `record-${index}`));
    const batches: string[][] = [];

    const mapping = await start({
      source,
      dataDir: join(dataDir, 'partial'),
      overrides: { batchSize: 10, batchWindowSeconds: 0 },
      handler: async (event: KinesisStreamEvent): Promise<KinesisStreamBatchResponse> => {
        batches.push(event.Records.map((record) => record.kinesis.sequenceNumber));
        if (batches.length > 1) return { batchItemFailures: [] };
        // Reported out of order on purpose: the lowest sequence number is the checkpoint.
        return { batchItemFailures: [{ itemIdentifier: sequenceNumbers[7]! }, { itemIdentifier: sequenceNumbers[4]! }] };
      },
    });
    await until(() => mapping.stats().shards['shardId-000000000000']?.checkpoint === sequenceNumbers[9], 'the checkpoint at the last record');

    expect(batches).toEqual([sequenceNumbers, sequenceNumbers.slice(4)]);
    expect(mapping.readDeadLetters()).toEqual([]);
    expect(mapping.stats().retries).toBe(1);
  });

  it('fails the whole batch when an itemIdentifier is not in it, or empty', async () => {
    const source = await sourceOnNewStream('esm-invalid', 1);
    const sequenceNumbers = await put(source.streamName, Array.from({ length: 5 }, (_, index) => `record-${index}`));
    const batches: string[][] = [];
    const responses = [{ batchItemFailures: [{ itemIdentifier: '12345' }] }, { batchItemFailures: [{ itemIdentifier: '' }] }, { batchItemFailures: [] }];

    const mapping = await start({
      source,
      dataDir: join(dataDir, 'invalid'),
      overrides: { batchSize: 10, batchWindowSeconds: 0 },
      handler: async (event: KinesisStreamEvent) => {
        batches.push(event.Records.map((record) => record.kinesis.sequenceNumber));
        return responses[batches.length - 1];
      },
    });
    await until(() => mapping.stats().shards['shardId-000000000000']?.checkpoint === sequenceNumbers[4], 'the checkpoint at the last record');

    // Not a function error: no bisect, the same whole batch again.
    expect(batches).toEqual([sequenceNumbers, sequenceNumbers, sequenceNumbers]);
    expect(mapping.stats()).toMatchObject({ retries: 2, bisections: 0, deadLetters: 0 });
  });

  it('sends records older than maximumRecordAgeInSeconds to the DLQ without invoking the function', async () => {
    const source = await sourceOnNewStream('esm-age', 1);
    const sequenceNumbers = await put(source.streamName, ['old-1', 'old-2', 'old-3']);
    await sleep(1_200);
    let invocations = 0;

    const mapping = await start({
      source,
      dataDir: join(dataDir, 'age'),
      overrides: { batchWindowSeconds: 0, maximumRecordAgeInSeconds: 1 },
      handler: async () => {
        invocations++;
      },
    });
    await until(() => mapping.readDeadLetters().length === 1, 'one dead letter');

    expect(invocations).toBe(0);
    const [deadLetter] = mapping.readDeadLetters();
    expect(deadLetter!.requestContext).toMatchObject({ condition: 'RecordAgeExceeded', approximateInvokeCount: 0 });
    expect(deadLetter!.responseContext).toBeUndefined();
    expect(deadLetter!.KinesisBatchInfo).toMatchObject({ startSequenceNumber: sequenceNumbers[0], endSequenceNumber: sequenceNumbers[2], batchSize: 3 });
  });

  it('resumes from its checkpoint after a restart: no record is handled twice, none is skipped', async () => {
    const source = await sourceOnNewStream('esm-restart', 2);
    const stateDir = join(dataDir, 'restart');
    const written = await put(source.streamName, Array.from({ length: 60 }, (_, index) => `first-${index}`));
    const handled = new Map<string, number>();
    const handler = async (event: KinesisStreamEvent) => {
      await sleep(20);
      for (const record of event.Records) handled.set(record.kinesis.sequenceNumber, (handled.get(record.kinesis.sequenceNumber) ?? 0) + 1);
    };
    const overrides = { batchSize: 5, batchWindowSeconds: 0 };

    const first = await start({ source, dataDir: stateDir, overrides, handler });
    await until(() => handled.size >= 15, 'some batches before the stop');
    await first.stop();
    const handledBeforeRestart = handled.size;
    expect(handledBeforeRestart).toBeLessThan(60);
    const checkpoints = first.stats().shards;

    written.push(...(await put(source.streamName, Array.from({ length: 20 }, (_, index) => `second-${index}`))));
    const second = await start({ source, dataDir: stateDir, overrides, handler });
    // The new poller starts at the saved checkpoints, not at TRIM_HORIZON.
    for (const [shardId, shard] of Object.entries(second.stats().shards)) expect(shard.checkpoint).toBe(checkpoints[shardId]?.checkpoint);
    await until(() => handled.size === written.length, 'every record handled');
    await sleep(300);

    expect([...handled.entries()].filter(([, count]) => count !== 1)).toEqual([]);
    expect(new Set(handled.keys())).toEqual(new Set(written));
    expect(second.stats().recordsIn).toBe(written.length - handledBeforeRestart);
  });
});
