// The lake of a local stack as an analyst reads it (`npm run query`), and waiting for it, for assertions.
import { setTimeout as sleep } from 'node:timers/promises';
import { runQueryCli } from '../../commands/query.js';
import { REPOSITORY_ROOT } from '../../local/stack.js';

/** The rows of `sql` over the lake under `dataDir`, each a JSON object. */
export async function queryLake(dataDir: string, ...sql: string[]): Promise<Record<string, unknown>[]> {
  let out = '';
  let err = '';
  const code = await runQueryCli(['--data-dir', dataDir, '--json', ...sql], { stdout: (t) => (out += t), stderr: (t) => (err += t) }, REPOSITORY_ROOT);
  if (code !== 0) throw new Error(err);
  return out.trim().split('\n').filter(Boolean).map((line) => JSON.parse(line) as Record<string, unknown>);
}

/** `read()` again every half second until `done` says so; throws with the last value after `timeoutMs`. */
export async function until<T>(what: string, read: () => Promise<T>, done: (value: T) => boolean, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (done(value)) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}: ${JSON.stringify(value).slice(0, 300)}`);
    await sleep(500);
  }
}
