// The whole command as a newcomer runs it: `npm start` (commands/start.ts) in its own process on a temporary
// data dir, a known set of events posted to it, and `npm run query` (commands/query.ts) until they are in the
// lake. Then: exactly once in `events`, the invalid ones in `bad_rows`, 1-minute aggregates from the Flink
// job when Java is present (always in CI), a clean exit on Ctrl+C, and a restart on the same data dir that
// keeps everything.
import { execFile, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { LocalEndpoints } from '../../local/stack.js';
import { basicAuth } from './kinesis-records.js';
import { START_COMMAND } from '../../bench/stack-process.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const tsx = join(root, 'node_modules', '.bin', 'tsx');
let dataDir: string;
const running = new Set<ChildProcess>();

beforeAll(() => {
  dataDir = mkdtempSync(join(tmpdir(), 'clickstream-npm-start-'));
});

afterAll(() => {
  for (const child of running) child.kill('SIGKILL');
  rmSync(dataDir, { recursive: true, force: true });
});

async function startCommand(): Promise<{ child: ChildProcess; endpoints: LocalEndpoints; output: () => string; exited: Promise<number | null> }> {
  const endpointsFile = join(dataDir, 'endpoints.json');
  rmSync(endpointsFile, { force: true });
  const child = spawn(START_COMMAND[0], [...START_COMMAND.slice(1), '--no-demo', '--duration', '240', '--data-dir', dataDir, '--port', '0', '--kinesis-port', '0', '--endpoints-file', endpointsFile], {
    cwd: root,
    env: { ...process.env, CI: 'true' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  running.add(child);
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((resolveExit) => child.once('exit', (code) => (running.delete(child), resolveExit(code))));
  const deadline = Date.now() + 90_000;
  while (!existsSync(endpointsFile)) {
    if (child.exitCode !== null || Date.now() > deadline) throw new Error(`npm start did not come up:\n${output}`);
    await sleep(200);
  }
  return { child, endpoints: JSON.parse(readFileSync(endpointsFile, 'utf8')) as LocalEndpoints, output: () => output, exited };
}

function query(sql: string): Promise<Record<string, unknown>[]> {
  return new Promise((resolveQuery, reject) => {
    execFile(tsx, ['commands/query.ts', '--json', '--data-dir', dataDir, sql], { cwd: root, timeout: 60_000 }, (error, stdout, stderr) => {
      if (error) reject(new Error(`${error.message}\n${stderr}`));
      else resolveQuery(stdout.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>));
    });
  });
}

async function post(endpoints: LocalEndpoints, batch: unknown[]): Promise<{ accepted: number; rejected: unknown[] }> {
  const response = await fetch(`${endpoints.ingestUrl}/v1/batch`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: basicAuth(endpoints.writeKey) },
    body: JSON.stringify({ batch }),
  });
  return (await response.json()) as { accepted: number; rejected: unknown[] };
}

// CI installs a JDK and builds the job's jar (.ci/run), so there the aggregates are required.
const javaPresent = process.env['CI'] === 'true' || spawnSync('java', ['-version']).status === 0;

const COUNTS = `SELECT count(*) AS total, count(DISTINCT message_id) AS distinct_ids FROM events WHERE message_id LIKE 'smoke-%'`;

it('takes posted events to the lake exactly once, exits cleanly, and keeps everything across a restart', { timeout: 420_000 }, async () => {
  const first = await startCommand();
  // Event times over the last three minutes, so the Flink job's 1-minute windows close (its watermark
  // follows the newest event time) without waiting for real minutes to pass.
  const now = Date.now();
  const valid = Array.from({ length: 20 }, (_, i) => ({
    type: 'page',
    timestamp: new Date(now - 180_000 + i * 9_000).toISOString(),
    name: `/smoke/${i % 4}`,
    messageId: `smoke-${i}`,
    anonymousId: `smoke-anon-${i % 5}`,
    properties: { path: `/smoke/${i % 4}` },
    context: { page: { url: `https://shop.example.com/smoke/${i % 4}`, path: `/smoke/${i % 4}` } },
  }));
  const invalid = [{ type: 'track', messageId: 'smoke-bad-0', anonymousId: 'smoke-anon-x' }]; // no `event`: a bad row
  expect(await post(first.endpoints, [...valid.slice(0, 15), ...invalid, { type: 'page', messageId: 'smoke-rejected' }])).toMatchObject({ accepted: 16 });
  expect((await post(first.endpoints, valid.slice(10))).accepted).toBe(10); // 5 of them are a client's retry

  const deadline = Date.now() + 150_000;
  let counts: Record<string, unknown> = {};
  for (;;) {
    counts = (await query(COUNTS).catch(() => [{}]))[0] ?? {};
    if (Number(counts['distinct_ids']) === valid.length || Date.now() > deadline) break;
    await sleep(2_000);
  }
  expect(counts).toEqual({ total: valid.length, distinct_ids: valid.length });
  const bad = await query(`SELECT message_id, failure_type FROM bad_rows WHERE message_id LIKE 'smoke-%'`);
  expect(bad).toEqual([{ message_id: 'smoke-bad-0', failure_type: 'schema_violation' }]);

  if (javaPresent) {
    const totals = `SELECT sum(page_views) AS page_views FROM aggregates WHERE kind = 'total_minute'`;
    let aggregated: Record<string, unknown> = {};
    while (Date.now() < deadline + 60_000) {
      aggregated = (await query(totals).catch(() => [{}]))[0] ?? {};
      if (Number(aggregated['page_views']) > 0) break;
      await sleep(3_000);
    }
    // The windows before the newest event's have closed: their page views are in the lake.
    expect(Number(aggregated['page_views'])).toBeGreaterThan(0);
    expect(first.output()).toMatch(/Flink job running/);
  }

  first.child.kill('SIGINT');
  expect(await first.exited).toBe(0);
  expect(first.output()).toMatch(/Stopped\./);

  const second = await startCommand();
  await sleep(8_000); // a full local Firehose buffer interval: a duplicate from a replay would have landed
  expect((await query(COUNTS))[0]).toEqual({ total: valid.length, distinct_ids: valid.length });
  expect(second.endpoints.writeKey).toBe(first.endpoints.writeKey);
  second.child.kill('SIGINT');
  expect(await second.exited).toBe(0);
});

it('--help lists every flag and exits 0; an unknown flag names itself, shows the flags and exits 2', () => {
  const run = (...args: string[]) => spawnSync(START_COMMAND[0], [...START_COMMAND.slice(1), ...args], { cwd: root, encoding: 'utf8', timeout: 60_000 });
  const help = run('--help');
  expect(help.status).toBe(0);
  for (const flag of ['--port', '--data-dir', '--rate', '--no-demo', '--duration', '--no-analytics', '--function-url-port']) expect(help.stdout).toContain(flag);
  const unknown = run('--colour');
  expect(unknown.status).toBe(2);
  expect(unknown.stderr).toMatch(/Unknown option '--colour'[\s\S]*--data-dir/);
});
