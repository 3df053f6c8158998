// Reads the alerts the local alert consumer writes under the data dir (its stand-in for SNS), for the
// anomaly timeline. Its exact format is not settled yet, so the reader is lenient:
//   - every *.jsonl file under the alerts directory (default <data dir>/alerts/), or one given file;
//   - one JSON document per line; the anomaly is the line itself, or its `anomaly` / `detail` member, or the JSON
//     text of its `Message` / `message` member (an SNS-shaped notification);
//   - a missing directory or file is "no alerts yet"; a half-written last line is read once it is complete;
//     a line that is not an anomaly is counted and skipped.
// Files are read from where the last read stopped, so a tick costs only what was appended.
import { closeSync, existsSync, fstatSync, openSync, readdirSync, readSync, statSync } from 'node:fs';
import { join } from 'node:path';

export class AlertsFileReader {
  private readonly offsets = new Map<string, number>();
  /** Lines that held no recognisable anomaly. */
  unreadable = 0;

  /** `path`: a directory of *.jsonl files, or one file. */
  constructor(readonly path: string) {}

  /** Whether anything exists at the path yet. */
  get present(): boolean {
    return existsSync(this.path);
  }

  /** The documents appended since the last call (each the candidate anomaly of one complete line). */
  readNew(): unknown[] {
    const found: unknown[] = [];
    for (const file of this.files()) {
      for (const line of this.newLines(file)) {
        const candidate = candidateOf(line);
        if (candidate === undefined) this.unreadable++;
        else found.push(candidate);
      }
    }
    return found;
  }

  private files(): string[] {
    try {
      if (!existsSync(this.path)) return [];
      if (statSync(this.path).isFile()) return [this.path];
      return readdirSync(this.path)
        .filter((name) => name.endsWith('.jsonl'))
        .sort()
        .map((name) => join(this.path, name));
    } catch {
      return [];
    }
  }

  private newLines(file: string): string[] {
    let fd: number;
    try {
      fd = openSync(file, 'r');
    } catch {
      return [];
    }
    try {
      const size = fstatSync(fd).size;
      let offset = this.offsets.get(file) ?? 0;
      // Truncated or replaced: read it again from the start (ids dedup what was seen).
      if (size < offset) offset = 0;
      if (size === offset) return [];
      const buffer = Buffer.alloc(size - offset);
      const read = readSync(fd, buffer, 0, buffer.length, offset);
      const text = buffer.subarray(0, read).toString('utf8');
      const lastNewline = text.lastIndexOf('\n');
      if (lastNewline < 0) return [];
      this.offsets.set(file, offset + Buffer.byteLength(text.slice(0, lastNewline + 1)));
      return text
        .slice(0, lastNewline)
        .split('\n')
        .filter((line) => line.trim() !== '');
    } finally {
      closeSync(fd);
    }
  }
}

function parse(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** The object that should be an anomaly row in one line, per the shapes above. */
function candidateOf(line: string): unknown {
  const document = parse(line);
  if (typeof document !== 'object' || document === null) return undefined;
  const record = document as Record<string, unknown>;
  if (typeof record['id'] === 'string' && typeof record['metric'] === 'string') return record;
  for (const key of ['anomaly', 'detail']) {
    if (typeof record[key] === 'object' && record[key] !== null) return record[key];
  }
  for (const key of ['Message', 'message']) {
    if (typeof record[key] === 'string') {
      const inner = parse(record[key] as string);
      if (typeof inner === 'object' && inner !== null) return inner;
    }
  }
  return undefined;
}
