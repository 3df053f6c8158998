// The local stack with the real Flink job, for the analytics test files (one stack per file: a process loads the
// Lambda handlers once): start and stop around the file's tests, post batches, read the alerts file.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect } from 'vitest';
import { startLocalStack, type LocalStack } from '../../local/stack.js';
import { basicAuth } from './kinesis-records.js';

// CI installs a JDK and builds the job's jar (.ci/run): there these suites must run, never skip.
export const javaPresent = process.env['CI'] === 'true' || spawnSync('java', ['-version']).status === 0;

export interface AnalyticsStack {
  readonly stack: LocalStack;
  readonly dataDir: string;
  /** Posts the events to /v1/batch, 200 a request, and expects each request accepted. */
  post(batch: unknown[]): Promise<void>;
  /** What the alert consumer published so far (locally: <data dir>/alerts/alerts.jsonl). */
  readAlerts(): Record<string, unknown>[];
}

/** Starts the stack before the file's tests (with these Flink job properties) and stops it after them. */
export function withAnalyticsStack(analyticsProperties: Record<string, string>): AnalyticsStack {
  let stack: LocalStack | undefined;
  let dataDir = '';
  beforeAll(async () => {
    if (!javaPresent) return;
    dataDir = mkdtempSync(join(tmpdir(), 'clickstream-analytics-'));
    process.env['POWERTOOLS_LOG_LEVEL'] ??= 'WARN';
    stack = await startLocalStack({ dataDir, analytics: true, analyticsProperties, log: () => undefined });
    if (!stack.analytics.running) throw new Error(stack.analytics.reason);
  }, 300_000);

  afterAll(async () => {
    await stack?.stop();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  return {
    get stack() {
      if (!stack) throw new Error('the analytics stack is not running');
      return stack;
    },
    get dataDir() {
      return dataDir;
    },
    async post(batch) {
      for (let i = 0; i < batch.length; i += 200) {
        const response = await fetch(`${this.stack.endpoints.ingestUrl}/v1/batch`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: basicAuth(this.stack.endpoints.writeKey) },
          body: JSON.stringify({ batch: batch.slice(i, i + 200) }),
        });
        expect(response.status).toBe(200);
      }
    },
    readAlerts() {
      const file = join(dataDir, 'alerts', 'alerts.jsonl');
      return existsSync(file) ? readFileSync(file, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>) : [];
    },
  };
}
