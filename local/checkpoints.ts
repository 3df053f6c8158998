// Per-shard checkpoints of a local event source mapping, on disk so a restart resumes where it stopped.
// Written atomically (temp file + rename): a crash mid-write leaves the previous checkpoint, never a torn file.
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

interface CheckpointFile {
  version: 1;
  /** Stream ARN the sequence numbers belong to: a file of another stream is not resumed from. */
  streamArn: string;
  shards: Record<string, { sequenceNumber: string; updatedAt: string }>;
}

export class CheckpointStore {
  private readonly shards = new Map<string, string>();

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
    for (const [shardId, entry] of Object.entries(stored?.shards ?? {})) this.shards.set(shardId, entry.sequenceNumber);
  }

  /** The sequence number of the last record fully processed on the shard, if any. */
  get(shardId: string): string | undefined {
    return this.shards.get(shardId);
  }

  /** Moves the shard's checkpoint forward (never back) and writes the file. */
  advance(shardId: string, sequenceNumber: string): void {
    const current = this.shards.get(shardId);
    if (current !== undefined && BigInt(sequenceNumber) <= BigInt(current)) return;
    this.shards.set(shardId, sequenceNumber);
    this.save();
  }

  all(): Record<string, string> {
    return Object.fromEntries(this.shards);
  }

  save(): void {
    const updatedAt = new Date().toISOString();
    const content: CheckpointFile = {
      version: 1,
      streamArn: this.streamArn,
      shards: Object.fromEntries([...this.shards].map(([shardId, sequenceNumber]) => [shardId, { sequenceNumber, updatedAt }])),
    };
    mkdirSync(dirname(this.file), { recursive: true });
    const temporary = `${this.file}.${process.pid}.tmp`;
    writeFileSync(temporary, `${JSON.stringify(content, null, 2)}\n`);
    renameSync(temporary, this.file);
  }
}
