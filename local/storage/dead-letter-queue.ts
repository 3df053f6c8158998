// The local on-failure destination of an event source mapping: one JSON document per line in a file
// under the data dir. It keeps the messages across restarts and is readable with any tool (jq, tail -f);
// SQS semantics (visibility, receipt handles) add nothing for a destination that people only inspect.
import { appendFileSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

/** What Lambda sends to an on-failure destination for a Kinesis batch it gives up on (Lambda developer guide). */
export interface KinesisOnFailureRecord {
  requestContext: {
    requestId: string;
    functionArn: string;
    condition: 'RetryAttemptsExhausted' | 'RecordAgeExceeded';
    approximateInvokeCount: number;
  };
  /** The last invocation's outcome; absent when the batch expired before any invocation. */
  responseContext?: {
    statusCode: number;
    executedVersion: string;
    functionError?: string;
  };
  version: '1.0';
  timestamp: string;
  KinesisBatchInfo: {
    shardId: string;
    startSequenceNumber: string;
    endSequenceNumber: string;
    approximateArrivalOfFirstRecord: string;
    approximateArrivalOfLastRecord: string;
    batchSize: number;
    streamArn: string;
  };
}

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
