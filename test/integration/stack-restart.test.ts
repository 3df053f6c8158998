// "Restarting any local component loses nothing": records accepted right before a stop are there after a restart.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { afterAll, expect, it } from 'vitest';
import { createLocalKinesisClient } from '../../local/kinesis/client.js';
import { startLocalStack, type LocalStack } from '../../local/stack.js';
import { basicAuth, readAllRecords } from './kinesis-records.js';

const dataDir = mkdtempSync(join(tmpdir(), 'stack-restart-'));
let running: LocalStack | undefined;

afterAll(async () => {
  await running?.stop();
  rmSync(dataDir, { recursive: true, force: true });
});

async function postBatch(stack: LocalStack, messageIds: string[]): Promise<void> {
  const response = await fetch(`${stack.endpoints.ingestUrl}/v1/batch`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: basicAuth(stack.endpoints.writeKey) },
    body: JSON.stringify({ batch: messageIds.map((messageId, index) => ({ type: 'track', event: 'Tick', anonymousId: `anon-${index % 7}`, messageId })) }),
  });
  expect(response.status).toBe(200);
  expect(await response.json()).toMatchObject({ accepted: messageIds.length });
}

it('keeps the records written just before a stop, and the write key, across a restart on the same data dir', async () => {
  const first = await startLocalStack({ dataDir });
  running = first;
  const beforeStop = Array.from({ length: 300 }, (_, index) => `before-${index}-${randomUUID()}`);
  await postBatch(first, beforeStop.slice(0, 150));
  // The last batch lands right before the stop.
  await postBatch(first, beforeStop.slice(150));
  await first.stop();
  running = undefined;

  // Same Kinesis port: the ingest handler module, loaded once per process, keeps its client's endpoint.
  const second = await startLocalStack({
    dataDir,
    kinesisPort: first.kinesisPort,
    dynamodbPort: first.dynamodbPort,
    s3Port: first.s3Port,
  });
  running = second;
  expect(second.endpoints.writeKey).toBe(first.endpoints.writeKey);
  expect(second.endpoints.writeKey).toMatch(/^wk_[A-Za-z0-9_-]{24}$/);

  await postBatch(second, [`after-${randomUUID()}`]);
  const kinesis = createLocalKinesisClient(second.endpoints.kinesis);
  try {
    const stored = (await readAllRecords(kinesis, second.endpoints.streams.raw)).map((record) => record.data.messageId);
    expect(stored.filter((id) => typeof id === 'string' && id.startsWith('before-')).sort()).toEqual([...beforeStop].sort());
    expect(stored).toHaveLength(beforeStop.length + 1);
  } finally {
    kinesis.destroy();
  }
});
