// Follows every shard of a stream in the emulator and hands each record to a callback: the read-only view
// the dashboard and the status line take of the Flink outputs (aggregates, anomalies). No checkpoints: a
// tail starts at TRIM_HORIZON, so after a restart it sees the stream's retained history again and the
// consumer keeps what it needs (the dashboard keeps the last hour). A missing stream is polled for, not an error.
import type { KinesisClient } from '@aws-sdk/client-kinesis';
import { setTimeout as sleep } from 'node:timers/promises';
import { ShardReader, type ShardRecord } from './shard-reader.js';
import { listShardIds } from './streams.js';

export interface StreamTailOptions {
  kinesis: KinesisClient;
  streamName: string;
  onRecord: (record: ShardRecord, shardId: string) => void;
  /** Wait between reads of a shard with nothing new (default 1 s). */
  idlePollMs?: number;
  /** How often ListShards runs to pick up new shards (default 30 s). */
  shardDiscoveryMs?: number;
  logger?: Pick<Console, 'warn'>;
}

export interface StreamTailStats {
  streamName: string;
  /** Records handed to onRecord. */
  records: number;
  /** Approximate arrival time of the newest record, epoch ms; null before the first. */
  lastArrivalMs: number | null;
  /** The largest MillisBehindLatest over the shards at their last read; null before the first read. */
  millisBehindLatest: number | null;
}

export interface StreamTail {
  stats(): StreamTailStats;
  stop(): Promise<void>;
}

const READ_LIMIT = 1_000;

export function startStreamTail(options: StreamTailOptions): StreamTail {
  const { kinesis, streamName, onRecord } = options;
  const idlePollMs = options.idlePollMs ?? 1_000;
  const discoveryMs = options.shardDiscoveryMs ?? 30_000;
  const logger = options.logger ?? console;
  const readers = new Map<string, ShardReader>();
  const running = new Set<Promise<void>>();
  const abort = new AbortController();
  let records = 0;
  let lastArrivalMs: number | null = null;
  let discoveryWarned = false;

  const pause = (ms: number) => sleep(ms, undefined, { signal: abort.signal }).catch(() => undefined);

  const follow = async (shardId: string, reader: ShardReader): Promise<void> => {
    while (!abort.signal.aborted) {
      const { records: page, caughtUp, closed } = await reader.read(READ_LIMIT);
      for (const record of page) {
        records++;
        lastArrivalMs = Math.max(lastArrivalMs ?? 0, record.arrivalMs);
        try {
          onRecord(record, shardId);
        } catch (error) {
          logger.warn(`[tail ${streamName}] a record of ${shardId} was not handled: ${(error as Error).message}`);
        }
      }
      if (closed) return;
      if (caughtUp || page.length === 0) await pause(idlePollMs);
    }
  };

  const discover = async (): Promise<void> => {
    while (!abort.signal.aborted) {
      try {
        for (const shardId of await listShardIds(kinesis, streamName)) {
          if (readers.has(shardId)) continue;
          const reader = new ShardReader({ kinesis, streamName, shardId, startingPosition: 'TRIM_HORIZON', logger, label: `[tail ${streamName}]` });
          readers.set(shardId, reader);
          const task = follow(shardId, reader).finally(() => running.delete(task));
          running.add(task);
        }
        discoveryWarned = false;
      } catch (error) {
        // The stream may not exist yet, or the emulator is going away: try again later, say so once.
        if (!discoveryWarned && !abort.signal.aborted) logger.warn(`[tail ${streamName}] cannot list shards yet: ${(error as Error).message}`);
        discoveryWarned = true;
      }
      await pause(discoveryMs);
    }
  };
  const discovery = discover();

  return {
    stats: () => {
      const behind = [...readers.values()].map((r) => r.millisBehindLatest).filter((ms): ms is number => ms !== null);
      return { streamName, records, lastArrivalMs, millisBehindLatest: behind.length > 0 ? Math.max(...behind) : null };
    },
    stop: async () => {
      abort.abort();
      await discovery;
      while (running.size > 0) await Promise.allSettled([...running]);
    },
  };
}
