// Per-shard checkpoints of a local stream consumer (event source mapping, Firehose delivery loop), on disk so a
// restart resumes where it stopped. Written atomically (temp file + rename): a crash mid-write leaves the
// previous checkpoint, never a torn file.
// A consumer that writes output named after a range of records (the local Firehose) also records the range
// it is about to write, before writing it: a restart then redoes exactly that range, under the same names.
import { readFileSync } from 'node:fs';
import { writeFileAtomic } from '../atomic-write.js';

/** Sequence numbers of the first and last record of a range about to be delivered. */
export interface PlannedRange {
  first: string;
  last: string;
}

interface ShardEntry {
  sequenceNumber?: string;
  planned?: PlannedRange;
  updatedAt: string;
}

interface CheckpointFile {
  version: 1;
  /** Stream ARN the sequence numbers belong to: a file of another stream is not resumed from. */
  streamArn: string;
  shards: Record<string, ShardEntry>;
}

export class CheckpointStore {
  private readonly shards = new Map<string, string>();
  private readonly plans = new Map<string, PlannedRange>();

  constructor(
    readonly file: string,
    private readonly streamArn: string,
  ) {
    let stored: CheckpointFile | undefined;
    try {
      stored = JSON.parse(readFileSync(file, 'utf8')) as CheckpointFile;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw new Error(`checkpoint file ${file} is unreadable: ${(error as Error).message}`);
    }
    if (stored && stored.streamArn !== streamArn) {
      throw new Error(`checkpoint file ${file} belongs to ${stored.streamArn}, not ${streamArn}`);
    }
    for (const [shardId, entry] of Object.entries(stored?.shards ?? {})) {
      if (entry.sequenceNumber !== undefined) this.shards.set(shardId, entry.sequenceNumber);
      if (entry.planned) this.plans.set(shardId, entry.planned);
    }
  }

  /** The sequence number of the last record fully processed on the shard, if any. */
  get(shardId: string): string | undefined {
    return this.shards.get(shardId);
  }

  /** Moves the shard's checkpoint forward (never back), drops a plan it completes, and writes the file. */
  advance(shardId: string, sequenceNumber: string): void {
    const current = this.shards.get(shardId);
    if (current !== undefined && BigInt(sequenceNumber) <= BigInt(current)) return;
    this.shards.set(shardId, sequenceNumber);
    const plan = this.plans.get(shardId);
    if (plan && BigInt(sequenceNumber) >= BigInt(plan.last)) this.plans.delete(shardId);
    this.save();
  }

  /** Records, durably, the range the shard is about to deliver (see the header). */
  plan(shardId: string, range: PlannedRange): void {
    this.plans.set(shardId, range);
    this.save();
  }

  /** The range planned and not yet checkpointed, if the last run stopped in the middle of delivering it. */
  planned(shardId: string): PlannedRange | undefined {
    return this.plans.get(shardId);
  }

  all(): Record<string, string> {
    return Object.fromEntries(this.shards);
  }

  save(): void {
    const updatedAt = new Date().toISOString();
    const shards: Record<string, ShardEntry> = {};
    for (const shardId of new Set([...this.shards.keys(), ...this.plans.keys()])) {
      const sequenceNumber = this.shards.get(shardId);
      const planned = this.plans.get(shardId);
      shards[shardId] = { ...(sequenceNumber === undefined ? {} : { sequenceNumber }), ...(planned ? { planned } : {}), updatedAt };
    }
    const content: CheckpointFile = { version: 1, streamArn: this.streamArn, shards };
    writeFileAtomic(this.file, `${JSON.stringify(content, null, 2)}\n`);
  }
}
