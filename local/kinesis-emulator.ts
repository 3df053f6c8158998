import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdirSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { ListStreamsCommand } from '@aws-sdk/client-kinesis';
import { createLocalKinesisClient } from './kinesis-client.js';
import { assertPortFree, findFreePort } from './ports.js';

const require = createRequire(import.meta.url);

export interface KinesisEmulatorOptions {
  /** Directory for the persisted stream data and the emulator log. */
  dataDir: string;
  /** Plain HTTP port the SDK uses; 0 or undefined picks a free one. */
  plainPort?: number;
  /** TLS port kinesis-mock always opens; 0 or undefined picks a free one. */
  tlsPort?: number;
  /** How often kinesis-mock writes its state to disk. */
  persistIntervalMs?: number;
  readyTimeoutMs?: number;
}

export interface KinesisEmulator {
  endpoint: string;
  plainPort: number;
  tlsPort: number;
  persistFile: string;
  /** Waits until everything accepted so far is on disk, then stops the process. */
  stop(): Promise<void>;
}

export const DEFAULT_PERSIST_INTERVAL_MS = 1_000;
const PERSIST_FILE_NAME = 'kinesis-data.json';

export async function startKinesisEmulator(options: KinesisEmulatorOptions): Promise<KinesisEmulator> {
  const mainScript = require.resolve('kinesis-local/main.js');
  const certificate = join(dirname(mainScript), 'server.json');
  const dataDir = resolve(options.dataDir);
  mkdirSync(dataDir, { recursive: true });
  const plainPort = options.plainPort || (await findFreePort());
  const tlsPort = options.tlsPort || (await findFreePort());
  // Otherwise the readiness check could succeed against another emulator already on that port.
  await assertPortFree(plainPort, 'Kinesis emulator');
  await assertPortFree(tlsPort, 'Kinesis emulator TLS');
  const persistIntervalMs = options.persistIntervalMs ?? DEFAULT_PERSIST_INTERVAL_MS;

  const log = createWriteStream(join(dataDir, 'kinesis-emulator.log'), { flags: 'a' });
  const child = spawn(process.execPath, [mainScript], {
    cwd: dataDir,
    env: {
      ...process.env,
      KINESIS_MOCK_CERT_PATH: certificate,
      KINESIS_MOCK_PLAIN_PORT: String(plainPort),
      KINESIS_MOCK_TLS_PORT: String(tlsPort),
      SHOULD_PERSIST_DATA: 'true',
      LOAD_DATA_IF_EXISTS: 'true',
      PERSIST_PATH: dataDir,
      PERSIST_FILE_NAME,
      PERSIST_INTERVAL: `${persistIntervalMs}ms`,
      CREATE_STREAM_DURATION: '200ms',
      LOG_LEVEL: 'WARN',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
    // Own process group: a terminal Ctrl-C must reach only us, so we stop the emulator in the safe order.
    detached: true,
  });
  // Detached children outlive a crashed parent; do not leave one holding the port.
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);
  child.once('exit', () => process.removeListener('exit', killOnExit));
  const recentOutput: string[] = [];
  for (const stream of [child.stdout, child.stderr]) {
    stream?.on('data', (chunk: Buffer) => {
      log.write(chunk);
      recentOutput.push(chunk.toString());
      if (recentOutput.length > 20) recentOutput.shift();
    });
  }
  let stopRequested = false;
  const exited = new Promise<void>((resolveExit) =>
    child.once('exit', (code, signal) => {
      if (!stopRequested) console.error(`[kinesis] emulator exited unexpectedly (${signal ?? `code ${code}`}); log: ${join(dataDir, 'kinesis-emulator.log')}`);
      resolveExit();
    }),
  );

  const endpoint = `http://127.0.0.1:${plainPort}`;
  try {
    await waitUntilAnswering(endpoint, child, options.readyTimeoutMs ?? 60_000);
  } catch (error) {
    stopRequested = true;
    child.kill('SIGKILL');
    log.end();
    throw new Error(`kinesis-local did not become ready on ${endpoint}: ${(error as Error).message}\n${recentOutput.join('')}`);
  }

  const persistFile = join(dataDir, PERSIST_FILE_NAME);
  let stopping: Promise<void> | undefined;
  return {
    endpoint,
    plainPort,
    tlsPort,
    persistFile,
    stop: () => {
      stopRequested = true;
      return (stopping ??= stopEmulator(child, exited, persistFile, persistIntervalMs).finally(() => log.end()));
    },
  };
}

async function waitUntilAnswering(endpoint: string, child: ChildProcess, timeoutMs: number): Promise<void> {
  const client = createLocalKinesisClient(endpoint, 1);
  const deadline = Date.now() + timeoutMs;
  try {
    for (;;) {
      if (!isRunning(child)) throw new Error(`process exited (${child.signalCode ?? `code ${child.exitCode}`})`);
      try {
        await client.send(new ListStreamsCommand({}));
        return;
      } catch (error) {
        if (Date.now() > deadline) throw error;
        await sleep(200);
      }
    }
  } finally {
    client.destroy();
  }
}

/**
 * Measured on kinesis-local 0.6.2: SIGTERM writes the final state and exits within ~50 ms, but only once every
 * client connection is closed; while an SDK keep-alive socket stays open it hangs and its periodic persist loop
 * has already stopped, so a SIGKILL then would lose the last interval. Hence: first wait until a periodic persist
 * has started after the stop request (two fresh file writes), then SIGTERM, then SIGKILL if it still hangs.
 */
async function stopEmulator(child: ChildProcess, exited: Promise<void>, persistFile: string, persistIntervalMs: number): Promise<void> {
  if (!isRunning(child)) return;
  const persisted = await waitForPersistStartedAfter(Date.now(), persistFile, child, persistIntervalMs * 4 + 5_000);
  if (!persisted && isRunning(child)) {
    console.warn(`[kinesis] no fresh write of ${persistFile} seen before stopping; the last ${persistIntervalMs} ms may be lost`);
  }
  child.kill('SIGTERM');
  const exitedInTime = await Promise.race([exited.then(() => true), sleep(1_500).then(() => false)]);
  if (!exitedInTime) {
    // Hung on a client keep-alive connection; the state on disk is already complete (see above).
    child.kill('SIGKILL');
    await exited;
  }
}

/** True once the persist file has been written twice after `sinceMs`, so the second write snapshotted a later state. */
async function waitForPersistStartedAfter(sinceMs: number, persistFile: string, child: ChildProcess, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  const freshWrites = new Set<number>();
  while (Date.now() < deadline && isRunning(child)) {
    const modifiedAt = modificationTime(persistFile);
    if (modifiedAt !== undefined && modifiedAt >= sinceMs) freshWrites.add(modifiedAt);
    if (freshWrites.size >= 2) return true;
    await sleep(25);
  }
  return false;
}

function isRunning(child: ChildProcess): boolean {
  return child.exitCode === null && child.signalCode === null;
}

function modificationTime(file: string): number | undefined {
  try {
    return statSync(file).mtimeMs;
  } catch {
    return undefined;
  }
}
