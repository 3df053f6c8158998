// The local on-failure destination of an event source mapping: one JSON document per line in a file
// under the data dir. It keeps the messages across restarts and is readable with any tool (jq, tail -f);
// SQS semantics (visibility, receipt handles) add nothing for a destination that people only inspect.
import { appendFileSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

import type { KinesisOnFailureRecord } from '../../functions/shared/on-failure-record.js';
export type { KinesisOnFailureRecord };

export class DeadLetterQueue {
  constructor(
    readonly name: string,
    readonly file: string,
  ) {}

  send(message: KinesisOnFailureRecord): void {
    mkdirSync(dirname(this.file), { recursive: true });
    // One write per line: a crash leaves whole lines behind it.
    appendFileSync(this.file, `${JSON.stringify(message)}\n`);
  }

  read(): KinesisOnFailureRecord[] {
    return readDeadLetterFile(this.file);
  }
}

/** Where the queue `name` keeps its messages under a data dir. */
export function deadLetterFile(dataDir: string, name: string): string {
  return join(dataDir, 'dead-letters', `${name}.jsonl`);
}

/** Every message in the local queue `name` under `dataDir`, oldest first. */
export function readDeadLetters(dataDir: string, name: string): KinesisOnFailureRecord[] {
  return readDeadLetterFile(deadLetterFile(dataDir, name));
}

function readDeadLetterFile(file: string): KinesisOnFailureRecord[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
  return text
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as KinesisOnFailureRecord);
}

/** A message's identity in the local queue: the batch it names and when it was sent. */
const messageKey = (m: KinesisOnFailureRecord): string => `${m.KinesisBatchInfo.shardId}/${m.KinesisBatchInfo.startSequenceNumber}/${m.KinesisBatchInfo.endSequenceNumber}/${m.timestamp}`;

const redrivenFile = (dataDir: string, name: string): string => join(dataDir, 'dead-letters', `${name}.redriven.jsonl`);

/** The messages of the local queue `name` that no redrive has settled yet, oldest first. */
export function openDeadLetters(dataDir: string, name: string): KinesisOnFailureRecord[] {
  let settled: Set<string>;
  try {
    settled = new Set(
      readFileSync(redrivenFile(dataDir, name), 'utf8')
        .split('\n')
        .filter((line) => line.trim() !== '')
        .map((line) => (JSON.parse(line) as { key: string }).key),
    );
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    settled = new Set();
  }
  return readDeadLetters(dataDir, name).filter((m) => !settled.has(messageKey(m)));
}

/** Records that a redrive settled a message (the local counterpart of deleting it from SQS). */
export function markRedriven(dataDir: string, name: string, message: KinesisOnFailureRecord, runId: string): void {
  const file = redrivenFile(dataDir, name);
  mkdirSync(dirname(file), { recursive: true });
  appendFileSync(file, `${JSON.stringify({ key: messageKey(message), runId, at: new Date().toISOString() })}\n`);
}
