// Segment's Kotlin SDK (com.segment.analytics.kotlin:core from Maven Central, the JVM flavour) against the
// local stack: a plain Java program (segment-kotlin/, built with Maven) configures it with the ingest as
// apiHost, sends a screen, a track, an identify and a track as the identified user, and reports what the
// SDK built and what it put on the wire (POST <apiHost>/b, gzipped text/plain, the write key in the body).
// Every event it sent must come out of enrich on events-enriched exactly once, mapped field by field.
//
// Needs java and (to build the program when it is missing or older than its sources) mvn. In CI their
// absence fails the suite; elsewhere the suite is skipped with a note.
import { execFile, spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSdkStack, type EnrichedEvent, type SdkStack } from '../helpers/sdk-stack.js';

const SDK_VERSION = '1.19.2';
const PROJECT_DIR = fileURLToPath(new URL('./segment-kotlin/', import.meta.url));
const POM = join(PROJECT_DIR, 'pom.xml');
const JAR = join(PROJECT_DIR, 'target', 'segment-kotlin-sdk-test-all.jar');
const inCi = !['', '0', 'false'].includes((process.env['CI'] ?? '').toLowerCase());

const hasCommand = (command: string, versionArg: string): boolean => spawnSync(command, [versionArg], { stdio: 'ignore' }).error === undefined;

/** The jar is missing, or older than the POM or a source file. */
function jarIsStale(): boolean {
  if (!existsSync(JAR)) return true;
  const built = statSync(JAR).mtimeMs;
  const sources = [POM, ...readdirSync(join(PROJECT_DIR, 'src'), { recursive: true, encoding: 'utf8' }).map((f) => join(PROJECT_DIR, 'src', f))];
  return sources.some((file) => statSync(file).mtimeMs > built);
}

/** What is missing to run the suite (java; mvn only when the jar has to be built), or undefined. */
function missingTools(): string | undefined {
  if (!hasCommand('java', '-version')) return 'no java on the PATH';
  if (jarIsStale() && !hasCommand('mvn', '-v')) return 'no mvn on the PATH to build the program (its jar is missing or older than its sources)';
  return undefined;
}

const missing = missingTools();
const skip = missing !== undefined && !inCi;
if (skip) {
  console.warn(`[segment-kotlin SDK test] skipped: ${missing}. Install a JDK 17 and Maven (Debian: apt-get install -y openjdk-17-jdk-headless maven).`);
}

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function run(command: string, args: string[], timeoutMs: number): Promise<Run> {
  return new Promise((resolve, reject) => {
    execFile(command, args, { timeout: timeoutMs, maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
      if (error && typeof error.code !== 'number') return reject(new Error(`${command} failed: ${error.message}\n${stderr}`));
      resolve({ code: error ? (error.code as number) : 0, stdout, stderr });
    });
  });
}

/** An event as the SDK put it in the batch (the fields the assertions compare). */
interface SentEvent {
  type: string;
  messageId: string;
  anonymousId: string;
  userId?: string;
  event?: string;
  name?: string;
  properties?: Record<string, unknown>;
  traits?: Record<string, unknown>;
  context: { library?: { name?: string; version?: string } };
  timestamp: string;
}

/** The program's report (one JSON line on stdout). */
interface Report {
  ok: boolean;
  /** The SDK's own idea of its version (Analytics.version()). */
  sdkVersion: string;
  apiHost: string;
  anonymousId: string;
  userId: string;
  /** The events as the SDK built them (recorded after its timeline filled them in). */
  events: SentEvent[];
  /** Every request the SDK made to the apiHost, as it went on the wire. */
  uploads: {
    url: string;
    method: string;
    headers: Record<string, string>;
    body: { batch: SentEvent[]; sentAt: string; writeKey: string } | null;
    status: number | null;
    response: string | null;
  }[];
  settingsRequests: number;
  settingsUrl: string | null;
  errors: string[];
  problems: string[];
}

describe.skipIf(skip)(`Segment Kotlin SDK (com.segment.analytics.kotlin:core ${SDK_VERSION}, JVM) to the local stack`, () => {
  let sdk: SdkStack;

  beforeAll(async () => {
    if (missing) throw new Error(`${missing}: java and mvn are required in CI (this suite runs a Maven-built Java program); .ci/run installs a JDK 17 and Maven`);
    const started = startSdkStack();
    started.catch(() => undefined); // awaited (and its failure reported) below
    try {
      if (jarIsStale()) {
        const build = await run('mvn', ['-B', '-q', '-f', POM, 'package'], 540_000);
        if (build.code !== 0) throw new Error(`mvn package failed (exit ${build.code}):\n${build.stdout}\n${build.stderr}`);
      }
      expect(existsSync(JAR), 'the shaded jar after mvn package').toBe(true);
    } finally {
      sdk = await started;
    }
  }, 600_000);

  afterAll(async () => {
    await sdk?.stop();
  });

  it('delivers screen, track, identify and track (as the identified user) exactly once, with every field mapped', { timeout: 120_000 }, async () => {
    const runId = randomUUID();
    const result = await run('java', ['-jar', JAR, sdk.ingestUrl, sdk.writeKey, runId], 60_000);
    const reportLine = result.stdout.trim().split('\n').at(-1) ?? '';
    const context = `exit ${result.code}\nstdout: ${result.stdout}\nstderr: ${result.stderr}`;
    expect(reportLine.startsWith('{'), context).toBe(true);
    const report = JSON.parse(reportLine) as Report;
    expect({ code: result.code, problems: report.problems, errors: report.errors }, context).toEqual({ code: 0, problems: [], errors: [] });
    expect(report.ok).toBe(true);
    expect(report.sdkVersion).toBe(SDK_VERSION);
    // The settings came from the ingest (GET /v1/projects/<key>/settings), which named itself as apiHost:
    // without them the SDK would have sent to api.segment.io.
    expect(report.settingsRequests).toBe(1);
    expect(report.settingsUrl).toBe(`${sdk.ingestUrl}/v1/projects/${sdk.writeKey}/settings`);

    // What the SDK built: four events, in call order, on one anonymousId; the userId from the identify on.
    const built = report.events;
    expect(built.map((e) => [e.type, e.event ?? e.name ?? null])).toEqual([
      ['screen', 'Home'],
      ['track', 'Order Completed'],
      ['identify', null],
      ['track', 'Settings Opened'],
    ]);
    expect(new Set(built.map((e) => e.messageId)).size).toBe(4);
    expect(built.every((e) => e.anonymousId === report.anonymousId)).toBe(true);
    expect(report.anonymousId).toMatch(/^[0-9a-f-]{36}$/);
    expect(built.map((e) => e.userId ?? null)).toEqual([null, null, report.userId, report.userId]);

    // The wire: POST <ingest>/v1/b, text/plain, gzip, no Authorization (the write key is in the body), answered 200.
    expect(report.uploads.length).toBeGreaterThan(0);
    for (const upload of report.uploads) {
      expect(upload).toMatchObject({ url: new URL('/v1/b', sdk.ingestUrl).href, method: 'POST', status: 200 });
      expect(upload.headers).toEqual({ 'Content-Encoding': 'gzip', 'Content-Type': 'text/plain', 'User-Agent': `analytics-kotlin/${SDK_VERSION}` });
      expect(upload.body).toMatchObject({ writeKey: sdk.writeKey, sentAt: expect.any(String) });
    }
    const sent = report.uploads.flatMap((u) => u.body?.batch ?? []);
    expect(sent.map((e) => e.messageId).sort()).toEqual(built.map((e) => e.messageId).sort());
    for (const event of built) expect(sent.find((e) => e.messageId === event.messageId)).toMatchObject(event);
    const accepted = report.uploads.map((u) => JSON.parse(u.response ?? 'null') as { success?: boolean; accepted?: number; rejected?: unknown[] });
    expect(accepted.reduce((n, r) => n + (r.accepted ?? 0), 0)).toBe(sent.length);
    expect(accepted.every((r) => r.success === true && r.rejected?.length === 0)).toBe(true);

    // events-enriched: each sent event exactly once, field by field.
    const enriched = await sdk.enrichedEvents((e) => e.properties?.['run'] === runId || e.traits?.['run'] === runId, sent.length);
    expect(enriched.map((e) => e.messageId).sort()).toEqual(sent.map((e) => e.messageId).sort());
    const byId = new Map<string, EnrichedEvent>(enriched.map((e) => [e.messageId, e]));
    for (const original of sent) {
      const event = byId.get(original.messageId)!;
      expect(event, original.messageId).toMatchObject({
        type: original.type,
        anonymousId: report.anonymousId,
        ...(original.userId ? { userId: original.userId } : {}),
        ...(original.event ? { event: original.event } : {}),
        ...(original.name ? { name: original.name } : {}),
      });
      if (!original.userId) expect(event).not.toHaveProperty('userId');
      if (original.properties) expect(event.properties, `${original.type} properties`).toEqual(original.properties);
      if (original.traits) expect(event.traits, `${original.type} traits`).toEqual(original.traits);
      // The SDK's clock for the event is `timestamp` (it sends no originalTimestamp): ingest keeps it as
      // originalTimestamp and corrects the event time by the sentAt skew, a few ms on one machine.
      expect(Date.parse(event.originalTimestamp!)).toBe(Date.parse(original.timestamp));
      expect(Math.abs(Date.parse(event.timestamp) - Date.parse(original.timestamp))).toBeLessThan(2_000);
      expect(Date.parse(event.timestamp)).toBeLessThanOrEqual(Date.parse(event.receivedAt));
      expect(event.context?.['library']).toEqual({ name: 'analytics-kotlin', version: SDK_VERSION });
      expect(event.enrichment['event_date']).toBe(event.timestamp.slice(0, 10));
      // The HTTP User-Agent (analytics-kotlin/…) names the library, not the phone: it is not the event's, so
      // an app's events are not taken for a bot's.
      expect(event.context).not.toHaveProperty('userAgent');
      expect(event.enrichment['is_bot']).toBe(false);
    }
    // The values as the program set them, not only as the SDK echoed them.
    const orderCompleted = byId.get(sent.find((e) => e.event === 'Order Completed')!.messageId)!;
    expect(orderCompleted.properties).toMatchObject({ run: runId, revenue: 42.5, quantity: 3, shipping: { method: 'express', address: { city: 'Lyon', zip: '69001' } } });
    const identify = byId.get(sent.find((e) => e.type === 'identify')!.messageId)!;
    expect(identify).toMatchObject({ userId: `user-${runId}`, traits: { run: runId, email: 'wile@acme.test', plan: 'pro', logins: 7 } });
  });
});
