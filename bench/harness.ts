import type { KinesisClient } from '@aws-sdk/client-kinesis';
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import { createLakeViews } from '../analytics/athena/duckdb-lake.js';
import { lakeDirectory, S3RVER_OBJECT_SUFFIX } from '../local/storage/lake-location.js';

// The benchmark harness: each suite returns named figures; the runner prints them as a table and
// writes bench/results.json, comparing with the previous run's figures when there are any.

export interface Figure {
  value: number;
  unit: string;
  /** What the figure is measured against (a floor, a ceiling or a competing approach), same unit. */
  baseline?: number;
  /** value / baseline. */
  ratio?: number;
  /** The target this figure is held to, in words, e.g. "≤ 3x the floor". */
  target?: string;
  /** Whether the target was met, when there is one. */
  met?: boolean;
}

export type Figures = Record<string, Figure>;

export interface Suite {
  name: string;
  /**
   * The prefix of every figure the suite reports, when no other suite's share it: a run replaces all of the
   * suite's figures in bench/results.json, so none that a shorter run no longer reports is left beside them.
   */
  prefix?: string;
  run: () => Promise<Figures>;
}

export const figure = (value: number, unit: string, extra: Omit<Figure, 'value' | 'unit'> = {}): Figure => ({
  value: round(value),
  unit,
  ...extra,
  ...(extra.baseline !== undefined ? { baseline: round(extra.baseline), ratio: round(value / extra.baseline) } : {}),
});

export const round = (n: number): number => (Math.abs(n) >= 100 ? Math.round(n) : Math.round(n * 1000) / 1000);

/** Runs fn repeatedly for at least minMs after a warm-up and returns the mean time per call in ns. */
export async function timePerCall(fn: () => unknown | Promise<unknown>, { minMs = 1_500, warmupMs = 300 } = {}): Promise<number> {
  const until = (ms: number) => performance.now() + ms;
  for (const end = until(warmupMs); performance.now() < end; ) await fn();
  let calls = 0;
  const start = performance.now();
  for (const end = until(minMs); performance.now() < end; calls++) await fn();
  return ((performance.now() - start) * 1e6) / calls;
}

/** A Kinesis client that accepts every PutRecords at once: measures our CPU, not the network. */
export const stubKinesisClient = (): KinesisClient =>
  ({
    send: async (command: { input: { Records: unknown[] } }) => ({
      FailedRecordCount: 0,
      Records: command.input.Records.map(() => ({ SequenceNumber: '1', ShardId: 'shardId-000000000000' })),
    }),
  }) as unknown as KinesisClient;

/** Runs `fn` on a fresh DuckDB with the views of a local stack's lake (as `npm run query` reads it), then closes it. */
export async function withLocalLake<T>(dataDir: string, bucket: string | null | undefined, fn: (connection: DuckDBConnection) => Promise<T>): Promise<T> {
  const instance = await DuckDBInstance.create(':memory:');
  const connection = await instance.connect();
  try {
    await createLakeViews(connection, lakeDirectory(dataDir, bucket ?? undefined), { objectSuffix: S3RVER_OBJECT_SUFFIX });
    return await fn(connection);
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
}

/** Posts `count` events (`eventOf(n)`) to a local stack's ingest as fast as it takes them: `batch` a request, `inFlight` at once, retrying refusals. */
export async function postEvents(
  endpoints: { ingestUrl: string; writeKey: string },
  count: number,
  eventOf: (n: number) => Record<string, unknown>,
  { batch = 500, inFlight = 4 }: { batch?: number; inFlight?: number } = {},
): Promise<void> {
  const authorization = `Basic ${Buffer.from(`${endpoints.writeKey}:`).toString('base64')}`;
  let next = 0;
  await Promise.all(
    Array.from({ length: inFlight }, async () => {
      while (next < count) {
        const start = next;
        next += batch;
        const body = JSON.stringify({ batch: Array.from({ length: Math.min(batch, count - start) }, (_, i) => eventOf(start + i)) });
        for (;;) {
          const response = await fetch(`${endpoints.ingestUrl}/v1/batch`, { method: 'POST', headers: { 'content-type': 'application/json', authorization }, body });
          if (response.status === 200) break;
          await new Promise((resolve) => setTimeout(resolve, 500));
        }
      }
    }),
  );
}
