// One worker per shard of a stream, for the local readers of Kinesis (event source mappings, delivery
// streams): the shards are listed at start and every `discoveryMs` after (a resharded stream gains
// shards), each new one gets a worker, and stop cuts every sleep short and waits for the workers to end.
import type { KinesisClient } from '@aws-sdk/client-kinesis';
import { BackgroundTasks } from '../background-tasks.js';
import { listShardIds } from './streams.js';

export interface ShardWorkersOptions<W> {
  kinesis: KinesisClient;
  streamName: string;
  /** How often ListShards runs to pick up new shards (default 10 s). */
  discoveryMs?: number;
  create: (shardId: string) => W;
  label: string;
  logger: Pick<Console, 'warn' | 'error'>;
}

export class ShardWorkers<W extends { run(): Promise<void> }> {
  readonly workers = new Map<string, W>();
  private readonly tasks = new BackgroundTasks();

  constructor(private readonly options: ShardWorkersOptions<W>) {}

  get stopping(): boolean {
    return this.tasks.stopping;
  }

  /** Resolves after `ms`, or at once when stopping. */
  sleep(ms: number): Promise<void> {
    return this.tasks.sleep(ms);
  }

  async start(): Promise<void> {
    await this.discover();
    this.tasks.track(this.discoveryLoop());
  }

  /** Resolves once every worker has ended. */
  stop(): Promise<void> {
    return this.tasks.stopAndWait();
  }

  private async discoveryLoop(): Promise<void> {
    while (!this.stopping) {
      await this.sleep(this.options.discoveryMs ?? 10_000);
      if (this.stopping) return;
      await this.discover().catch((error: unknown) => this.options.logger.warn(`${this.options.label} ListShards failed; trying again later: ${(error as Error).message}`));
    }
  }

  private async discover(): Promise<void> {
    for (const shardId of await listShardIds(this.options.kinesis, this.options.streamName)) {
      if (this.workers.has(shardId)) continue;
      const worker = this.options.create(shardId);
      this.workers.set(shardId, worker);
      this.tasks.track(worker.run().catch((error: unknown) => this.options.logger.error(`${this.options.label} ${shardId} stopped on an unexpected error`, error)));
    }
  }
}
