// A file written whole or not at all: the content goes to a temporary file next to it, which is then
// renamed over it. A kill -9 mid-write leaves the previous file (or none), never a torn one.
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

export function writeFileAtomic(file: string, content: string, options: { mode?: number } = {}): void {
  mkdirSync(dirname(file), { recursive: true });
  const temporary = `${file}.${process.pid}.tmp`;
  writeFileSync(temporary, content, options);
  renameSync(temporary, file);
}
