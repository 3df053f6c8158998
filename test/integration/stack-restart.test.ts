// "Restarting any local component loses nothing": records accepted right before a stop are there after a restart.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { PutRecordBatchCommand } from '@aws-sdk/client-firehose';
import { afterAll, expect, it } from 'vitest';
import { firehoseClient } from '../../functions/shared/aws-clients.js';
import { createLocalKinesisClient } from '../../local/kinesis/client.js';
import { REPOSITORY_ROOT, startLocalStack, type LocalStack } from '../../local/stack.js';
import { readTemplates } from '../../local/template/templates.js';
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

it('keeps the records written just before a stop, those Firehose Direct PUT acknowledged, and the write key, across a restart on the same data dir', async () => {
  const first = await startLocalStack({ dataDir });
  running = first;
  const beforeStop = Array.from({ length: 300 }, (_, index) => `before-${index}-${randomUUID()}`);
  await postBatch(first, beforeStop.slice(0, 150));
  // The last batch lands right before the stop.
  await postBatch(first, beforeStop.slice(150));
  // And identity links through the local Firehose API, as the enrich handler sends them: its client builder, its
  // environment's endpoint (AWS_ENDPOINT_URL_FIREHOSE) and delivery stream name.
  const identities = readTemplates(join(REPOSITORY_ROOT, 'serverless.yml')).environmentOf('enrich').IDENTITIES_DELIVERY_STREAM_NAME!;
  expect(identities).toBe('clickstream-local-identities');
  expect(process.env['AWS_ENDPOINT_URL_FIREHOSE']).toBe(first.endpoints.firehose);
  const seen = new Date().toISOString();
  const links = Array.from({ length: 30 }, (_, index) => ({ link: 'identify', anonymous_id: `a-${index}-${randomUUID()}`, user_id: `u-${index}`, previous_id: null, first_seen: seen, last_seen: seen, events: 1 }));
  const firehose = firehoseClient();
  try {
    const put = await firehose.send(new PutRecordBatchCommand({ DeliveryStreamName: identities, Records: links.map((link) => ({ Data: Buffer.from(JSON.stringify(link)) })) }));
    expect(put.FailedPutCount).toBe(0);
  } finally {
    firehose.destroy();
  }
  await first.stop();
  const firstIdentities = first.firehose.stats().find((d) => d.deliveryStream === identities)!;
  expect(firstIdentities.directPut).toMatchObject({ backingStream: 'firehose-directput-clickstream-local-identities', recordsAccepted: 30, recordsFailed: 0 });
  running = undefined;

  // Same ports: the handler modules, loaded once per process, keep their clients' endpoints.
  const second = await startLocalStack({
    dataDir,
    kinesisPort: first.kinesisPort,
    dynamodbPort: first.dynamodbPort,
    s3Port: first.s3Port,
    firehosePort: first.firehosePort,
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
    // The acknowledged links are in the delivery stream's backing stream, and were delivered once, to identities/.
    const backing = (await readAllRecords(kinesis, firstIdentities.directPut!.backingStream)).map((record) => record.data['anonymous_id']);
    expect(backing.filter((id) => links.some((link) => link.anonymous_id === id))).toHaveLength(30);
    const secondIdentities = second.firehose.stats().find((d) => d.deliveryStream === identities)!;
    expect([firstIdentities, secondIdentities].reduce((n, d) => n + d.recordsDelivered, 0)).toBe(30);
    for (const d of [firstIdentities, secondIdentities]) expect(Object.values(d.failedRecords).reduce((a, b) => a + b, 0) + d.dropped).toBe(0);
  } finally {
    kinesis.destroy();
  }
});
