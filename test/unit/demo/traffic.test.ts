import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gunzipSync } from 'node:zlib';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { eventsFromRequest } from '../../../functions/ingest/events-from-request.js';
import { formatDemoStatus, startDemoTraffic, type DemoTraffic } from '../../../local/demo/traffic.js';
import type { DemoEvent } from '../../../local/demo/model.js';

const WRITE_KEY = 'wk_demo_test';

interface Received {
  authorization: string | undefined;
  gzip: boolean;
  batch: DemoEvent[];
  sentAt: string;
}

/** A stand-in for the ingest API: Basic auth, gzip, and the real per-event rules of eventsFromRequest. */
async function fakeIngest(): Promise<{ url: string; received: Received[]; server: Server }> {
  const received: Received[] = [];
  const server = createServer((request, response) => {
    void readBody(request).then((raw) => {
      const gzip = request.headers['content-encoding'] === 'gzip';
      const body = JSON.parse((gzip ? gunzipSync(raw) : raw).toString('utf8')) as { batch: DemoEvent[]; sentAt: string };
      received.push({ authorization: request.headers.authorization, gzip, ...body });
      if (request.url !== '/v1/batch' || request.headers.authorization !== `Basic ${Buffer.from(`${WRITE_KEY}:`).toString('base64')}`) {
        response.writeHead(401).end('{"success":false}');
        return;
      }
      const { events, rejected } = eventsFromRequest({ kind: 'batch' }, body, { receivedAtMs: Date.now(), sourceIp: '127.0.0.1', userAgent: 'test', writeKey: WRITE_KEY });
      response.writeHead(events.length === 0 ? 400 : 200, { 'content-type': 'application/json' });
      response.end(JSON.stringify({ success: events.length > 0, accepted: events.length, rejected }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, received, server };
}

const readBody = async (request: IncomingMessage): Promise<Buffer> => {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
};

let cleanup: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const step of cleanup) await step();
  cleanup = [];
});

describe('startDemoTraffic', () => {
  it('posts the model through /v1/batch with Basic auth, and counts what the API answered', async () => {
    const ingest = await fakeIngest();
    cleanup.push(() => new Promise((resolve) => ingest.server.close(() => resolve())));
    // Many faults, so a few seconds show them all (a retry follows its batch 2–6 s later).
    const demo: DemoTraffic = startDemoTraffic({
      ingestUrl: ingest.url,
      writeKey: WRITE_KEY,
      rate: 40,
      seed: 3,
      runId: 'unit',
      spikeAtSeconds: 0,
      retryShare: 1,
      invalidShare: 0.02, // a few invalid events in the seconds this runs, and still batches without one (only those are retried)
      warmupMs: 5 * 60_000,
      log: () => {},
    });
    cleanup.push(() => demo.stop());
    expect(demo.runId).toBe('unit');
    expect(demo.spike).not.toBeNull();
    await vi.waitFor(() => expect(demo.counters.retriedDuplicates).toBeGreaterThan(0), { timeout: 20_000, interval: 200 });
    await demo.stop();

    const c = demo.counters;
    expect(c.requests).toBe(ingest.received.length);
    expect(c.requests).toBeGreaterThanOrEqual(2);
    expect(c.sent).toBe(ingest.received.reduce((n, r) => n + r.batch.length, 0));
    expect(c.sent).toBe(c.accepted + c.rejected + c.failed);
    expect(c.failed).toBe(0);
    expect(c.rejected).toBe(c.invalidAtIngest);
    expect(c.invalid).toBeGreaterThan(0);
    expect(c.retriedDuplicates).toBeGreaterThan(0);
    expect(demo.accepted).toBe(c.accepted);
    for (const request of ingest.received) {
      expect(request.authorization).toBe(`Basic ${Buffer.from(`${WRITE_KEY}:`).toString('base64')}`);
      // sentAt is the moment of posting, on the body and every event.
      expect(request.batch.every((e) => e.sentAt === request.sentAt)).toBe(true);
      expect(Math.abs(Date.parse(request.sentAt) - Date.now())).toBeLessThan(10_000);
    }
    // Retried batches repeat messageIds already posted.
    const ids = ingest.received.flatMap((r) => r.batch.map((e) => e.messageId));
    expect(ids.length - new Set(ids).size).toBe(c.retriedDuplicates);
    expect(ids.every((id) => id.startsWith('demo-unit-'))).toBe(true);
    expect(demo.statusLine()).toBe(formatDemoStatus(c));
    expect(demo.statusLine()).toMatch(/^demo: \d+ sent, \d+ accepted, \d+ rejected \(\d+ expected\), \d+ retried duplicates/);
  });

  it('gzips larger bodies, and counts an unreachable or refusing API as failed, reported once', async () => {
    const ingest = await fakeIngest();
    cleanup.push(() => new Promise((resolve) => ingest.server.close(() => resolve())));
    const lines: string[] = [];
    const demo = startDemoTraffic({ ingestUrl: ingest.url, writeKey: 'wrong', rate: 60, seed: 1, spikeAtSeconds: null, gzip: 'auto', warmupMs: 60_000, log: (l) => lines.push(l) });
    cleanup.push(() => demo.stop());
    await new Promise((resolve) => setTimeout(resolve, 2_500));
    await demo.stop();
    expect(demo.counters.failed).toBe(demo.counters.sent);
    expect(demo.counters.accepted).toBe(0);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^\[demo\] ingest answered 401/);
    // 60 events of ~850 bytes: over the 16 KB threshold.
    expect(ingest.received.some((r) => r.gzip)).toBe(true);
  });

  it('stops promptly, between sends', async () => {
    const demo = startDemoTraffic({ ingestUrl: 'http://127.0.0.1:9', writeKey: WRITE_KEY, rate: 5, log: () => {} });
    const started = Date.now();
    await demo.stop();
    expect(Date.now() - started).toBeLessThan(1_000);
    expect(demo.counters.requests).toBe(0);
  });
});
