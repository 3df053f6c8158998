// The local stack as a third-party SDK meets it: ingest, the enrich consumer and the streams, started
// once per test file, and a way to wait for what one SDK sent to come out of enrich on events-enriched.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { KinesisClient } from '@aws-sdk/client-kinesis';
import { createLocalKinesisClient } from '../../local/kinesis/client.js';
import { startLocalStack, type LocalStack, type LocalStackOptions } from '../../local/stack.js';
import { readAllRecords } from '../integration/kinesis-records.js';

/** An event as enrich writes it to events-enriched (the Segment event plus `enrichment`). */
export type EnrichedEvent = Record<string, unknown> & {
  type: string;
  messageId: string;
  anonymousId?: string;
  userId?: string;
  event?: string;
  name?: string;
  properties?: Record<string, unknown>;
  traits?: Record<string, unknown>;
  context?: Record<string, unknown>;
  timestamp: string;
  originalTimestamp?: string;
  receivedAt: string;
  enrichment: Record<string, unknown>;
};

export interface SdkStack {
  stack: LocalStack;
  kinesis: KinesisClient;
  ingestUrl: string;
  writeKey: string;
  /**
   * The enriched events that `belongs` picks, polled until `count` of them are there (or the time is
   * up), then for `settleMs` more, so that a duplicate arriving late is seen too.
   */
  enrichedEvents(belongs: (event: EnrichedEvent) => boolean, count: number, options?: { timeoutMs?: number; settleMs?: number }): Promise<EnrichedEvent[]>;
  /** Raw events (what ingest wrote to events-raw) that `belongs` picks, read once. */
  rawEvents(belongs: (event: Record<string, unknown>) => boolean): Promise<Record<string, unknown>[]>;
  stop(): Promise<void>;
}

export async function startSdkStack(options: Omit<LocalStackOptions, 'dataDir'> = {}): Promise<SdkStack> {
  process.env['POWERTOOLS_LOG_LEVEL'] ??= 'WARN'; // the consumers' per-batch INFO lines
  const dataDir = mkdtempSync(join(tmpdir(), 'clickstream-sdk-'));
  const stack = await startLocalStack({ ...options, dataDir });
  const kinesis = createLocalKinesisClient(stack.endpoints.kinesis);
  const { streams } = stack.endpoints;

  return {
    stack,
    kinesis,
    ingestUrl: stack.endpoints.ingestUrl,
    writeKey: stack.endpoints.writeKey,
    async enrichedEvents(belongs, count, { timeoutMs = 45_000, settleMs = 2_000 } = {}) {
      const deadline = Date.now() + timeoutMs;
      let events: EnrichedEvent[] = [];
      let settleUntil: number | undefined;
      for (;;) {
        events = (await readAllRecords(kinesis, streams.enriched)).map((r) => r.data as EnrichedEvent).filter(belongs);
        if (events.length >= count) settleUntil ??= Date.now() + settleMs;
        if ((settleUntil !== undefined && Date.now() >= settleUntil) || Date.now() > deadline) return events;
        await sleep(250);
      }
    },
    async rawEvents(belongs) {
      return (await readAllRecords(kinesis, streams.raw)).map((r) => r.data).filter(belongs);
    },
    async stop() {
      kinesis.destroy();
      await stack.stop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
