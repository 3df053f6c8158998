// The ingest path end to end on the embedded stack: HTTP API -> real ingest handler -> Kinesis emulator.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { Analytics } from '@segment/analytics-node';
import type { KinesisClient } from '@aws-sdk/client-kinesis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { partitionKeyFor } from '../../functions/shared/partition-key.js';
import { createLocalKinesisClient } from '../../local/kinesis/client.js';
import { startLocalStack, type LocalStack } from '../../local/stack.js';
import { basicAuth, recordsByMessageId } from './kinesis-records.js';

let dataDir: string;
let stack: LocalStack;
let kinesis: KinesisClient;

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'ingest-stack-'));
  stack = await startLocalStack({ dataDir });
  kinesis = createLocalKinesisClient(stack.endpoints.kinesis);
});

afterAll(async () => {
  kinesis?.destroy();
  await stack?.stop();
  rmSync(dataDir, { recursive: true, force: true });
});

describe('ingest on the local stack', () => {
  it('writes a batch posted to /v1/batch to events-raw with the partition key of each event', async () => {
    const run = randomUUID();
    const batch = [
      { type: 'track', event: 'Product Viewed', userId: `user-${run}`, anonymousId: `anon-a-${run}`, messageId: `m1-${run}`, properties: { sku: 'sku-1', price: 9.5 } },
      { type: 'page', name: 'Home', anonymousId: `anon-b-${run}`, messageId: `m2-${run}`, properties: { path: '/' } },
      { type: 'identify', userId: `user2-${run}`, messageId: `m3-${run}`, traits: { plan: 'pro' } },
    ];

    const response = await fetch(`${stack.endpoints.ingestUrl}/v1/batch`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: basicAuth(stack.endpoints.writeKey) },
      body: JSON.stringify({ batch, sentAt: new Date().toISOString() }),
    });
    const answer = (await response.json()) as { success: boolean; accepted: number; rejected: unknown[] };
    expect(response.status).toBe(200);
    expect(answer).toMatchObject({ success: true, accepted: 3, rejected: [] });

    const records = await recordsByMessageId(kinesis, stack.endpoints.streams.raw, batch.map((event) => event.messageId));
    expect(records.size).toBe(3);
    // The rule for events with both ids lives in partitionKeyFor (unit-tested); here: only-one-id events and the wiring.
    expect(records.get(`m1-${run}`)!.partitionKey).toBe(partitionKeyFor(batch[0]!));
    expect(records.get(`m2-${run}`)!.partitionKey).toBe(`anon-b-${run}`);
    expect(records.get(`m3-${run}`)!.partitionKey).toBe(`user2-${run}`);
    for (const event of batch) {
      const stored = records.get(event.messageId)!.data;
      expect(stored).toMatchObject(event);
      expect(typeof stored.receivedAt).toBe('string');
      expect(typeof stored.timestamp).toBe('string');
      expect((stored.context as { ip?: string }).ip).toBe('127.0.0.1');
      expect(stored).not.toHaveProperty('writeKey');
    }
  });

  it('refuses a wrong write key and writes nothing', async () => {
    const messageId = `unauthorised-${randomUUID()}`;
    const response = await fetch(`${stack.endpoints.ingestUrl}/v1/batch`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: basicAuth('wk_not-a-key') },
      body: JSON.stringify({ batch: [{ type: 'track', event: 'X', userId: 'u', messageId }] }),
    });
    expect(response.status).toBe(401);
    expect((await recordsByMessageId(kinesis, stack.endpoints.streams.raw, [messageId])).size).toBe(0);
  });

  it('delivers track, page and identify calls from @segment/analytics-node', async () => {
    const run = randomUUID();
    const analytics = new Analytics({
      writeKey: stack.endpoints.writeKey,
      host: stack.endpoints.ingestUrl,
      path: '/v1/batch',
      flushAt: 3,
      maxRetries: 2,
    });
    const failures: unknown[] = [];
    analytics.on('error', (error) => failures.push(error));
    analytics.track({ userId: `sdk-user-${run}`, event: 'Order Completed', messageId: `sdk-track-${run}`, properties: { revenue: 42 } });
    analytics.page({ anonymousId: `sdk-anon-${run}`, name: 'Pricing', messageId: `sdk-page-${run}`, properties: { path: '/pricing' } });
    analytics.identify({ userId: `sdk-user-${run}`, messageId: `sdk-identify-${run}`, traits: { email: 'a@example.com' } });
    await analytics.closeAndFlush({ timeout: 20_000 });
    expect(failures).toEqual([]);

    const ids = [`sdk-track-${run}`, `sdk-page-${run}`, `sdk-identify-${run}`];
    const records = await recordsByMessageId(kinesis, stack.endpoints.streams.raw, ids);
    expect([...records.keys()].sort()).toEqual([...ids].sort());
    expect(records.get(`sdk-track-${run}`)).toMatchObject({ partitionKey: `sdk-user-${run}`, data: { type: 'track', event: 'Order Completed', properties: { revenue: 42 } } });
    expect(records.get(`sdk-page-${run}`)).toMatchObject({ partitionKey: `sdk-anon-${run}`, data: { type: 'page', name: 'Pricing' } });
    expect(records.get(`sdk-identify-${run}`)).toMatchObject({ data: { type: 'identify', traits: { email: 'a@example.com' } } });
    expect((records.get(`sdk-track-${run}`)!.data.context as { library?: { name?: string } }).library?.name).toBe('@segment/analytics-node');
  });
});
