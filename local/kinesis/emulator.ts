// Kinesis on 127.0.0.1: kinesalite in a process of its own (./server.ts), its LevelDB under the
// data dir. Why kinesalite and not kinesis-local (kinesis-mock): kinesis-mock keeps every stream in memory
// and rewrites one JSON file with all of it every persist interval, in place. A kill -9 during that write
// leaves the file empty, and the next start fails on it; a kill -9 between two writes loses what it
// acknowledged since the last one; and the rewrite grows with the streams, so it slows as they fill.
// LevelDB appends each PutRecords to its log before kinesalite answers, and replays the log at open.
// kinesalite is also about ten times faster here. What it lacks (StreamARN, ON_DEMAND) the server adapts.
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { ListStreamsCommand } from '@aws-sdk/client-kinesis';
import { createLocalKinesisClient } from './client.js';
import { assertPortFree, findFreePort } from '../ports.js';

export interface KinesisEmulatorOptions {
  /** Directory for the LevelDB store, the pid file and the emulator log. */
  dataDir: string;
  /** HTTP port the SDK uses; 0 or undefined picks a free one. */
  plainPort?: number;
  readyTimeoutMs?: number;
}

export interface KinesisEmulator {
  endpoint: string;
  plainPort: number;
  /** The emulator process now (fault tests kill it; a crashed one is started again). */
  readonly pid: number;
  /** Stops the process; LevelDB is closed with everything acknowledged on disk. */
  stop(): Promise<void>;
}

const SERVER_SCRIPT = fileURLToPath(new URL('./server.ts', import.meta.url));
// `--import tsx` is resolved from the working directory: the repository root, where node_modules is.
const REPOSITORY_ROOT = fileURLToPath(new URL('../..', import.meta.url));
const PID_FILE = 'kinesis-server.pid';
const STOP_GRACE_MS = 5_000;

export async function startKinesisEmulator(options: KinesisEmulatorOptions): Promise<KinesisEmulator> {
  const dataDir = resolve(options.dataDir);
  mkdirSync(dataDir, { recursive: true });
  const pidFile = join(dataDir, PID_FILE);
  await endOrphan(pidFile);
  const plainPort = options.plainPort || (await findFreePort());
  // Otherwise the readiness check could succeed against another emulator already on that port.
  await assertPortFree(plainPort, 'Kinesis emulator');
  const endpoint = `http://127.0.0.1:${plainPort}`;
  const logFile = join(dataDir, 'kinesis-emulator.log');
  const log = createWriteStream(logFile, { flags: 'a' });

  let stopRequested = false;
  const recentOutput: string[] = [];
  const restarts: number[] = [];
  let current: { child: ChildProcess; exited: Promise<void> };

  const spawnServer = (): { child: ChildProcess; exited: Promise<void> } => {
    const child = spawn(process.execPath, ['--import', 'tsx', SERVER_SCRIPT, `--port=${plainPort}`, `--path=${join(dataDir, 'leveldb')}`, `--pid-file=${pidFile}`], {
      // stdin stays open and unused: the server ends when it closes, i.e. when this process ends in any way.
      stdio: ['pipe', 'pipe', 'pipe'],
      cwd: REPOSITORY_ROOT,
      // Own process group: a terminal Ctrl-C must reach only us, so we stop the emulator in the safe order.
      detached: true,
      // glibc gives each thread that allocates (libuv's pool, LevelDB's compaction) a heap of its own, and
      // LevelDB's memory spread over them grew the process as its table files piled up. With two heaps and
      // ./server.ts's table cache, filling it with 2.45 million records took its anonymous memory from 128
      // to 150 MB; with LevelDB's and glibc's defaults, 2.63 million took it from 146 to 266 MB.
      env: { ...process.env, MALLOC_ARENA_MAX: process.env['MALLOC_ARENA_MAX'] ?? '2' },
    });
    for (const stream of [child.stdout, child.stderr]) {
      stream?.on('data', (chunk: Buffer) => {
        log.write(chunk);
        recentOutput.push(chunk.toString());
        if (recentOutput.length > 20) recentOutput.shift();
      });
    }
    const exited = new Promise<void>((resolveExit) => child.once('exit', (code, signal) => {
      resolveExit();
      if (!stopRequested) restartAfterCrash(`${signal ?? `code ${code}`}`);
    }));
    return { child, exited };
  };

  // A crashed emulator (killed, out of memory) is started again on the same port and LevelDB, which
  // still holds everything it acknowledged; clients retry meanwhile. Five crashes in a minute: give up.
  const restartAfterCrash = (how: string) => {
    const now = Date.now();
    restarts.push(now);
    while (restarts.length > 0 && restarts[0]! < now - 60_000) restarts.shift();
    if (restarts.length > 5) {
      console.error(`[kinesis] emulator exited (${how}) for the sixth time in a minute; not restarting it. Log: ${logFile}`);
      return;
    }
    console.error(`[kinesis] emulator exited unexpectedly (${how}); starting it again on the same data. Log: ${logFile}`);
    setTimeout(() => {
      if (stopRequested) return;
      current = spawnServer();
      waitUntilAnswering(endpoint, current.child, 30_000).catch((error: Error) =>
        console.error(`[kinesis] the restarted emulator did not answer: ${error.message}\n${recentOutput.join('')}`),
      );
    }, 250);
  };

  current = spawnServer();
  try {
    await waitUntilAnswering(endpoint, current.child, options.readyTimeoutMs ?? 30_000);
  } catch (error) {
    stopRequested = true;
    current.child.kill('SIGKILL');
    log.end();
    throw new Error(`the Kinesis emulator did not become ready on ${endpoint}: ${(error as Error).message}\n${recentOutput.join('')}`);
  }

  let stopping: Promise<void> | undefined;
  return {
    endpoint,
    plainPort,
    get pid() {
      return current.child.pid!;
    },
    stop: () => {
      stopRequested = true;
      return (stopping ??= stopProcess(current.child, current.exited).finally(() => log.end()));
    },
  };
}

/**
 * An emulator left by an earlier run (its parent was killed while it shut down, or it was started by hand)
 * holds LevelDB's lock: end it. A pid file whose process is gone, or is not our server, is just removed.
 */
async function endOrphan(pidFile: string): Promise<void> {
  if (!existsSync(pidFile)) return;
  const pid = Number(readFileSync(pidFile, 'utf8').trim());
  if (Number.isInteger(pid) && pid > 0 && isOurServer(pid)) {
    console.warn(`[kinesis] ending the emulator process ${pid} left by an earlier run`);
    process.kill(pid, 'SIGTERM');
    const deadline = Date.now() + STOP_GRACE_MS;
    while (isAlive(pid) && Date.now() < deadline) await sleep(50);
    if (isAlive(pid)) process.kill(pid, 'SIGKILL');
    while (isAlive(pid)) await sleep(50);
  }
  rmSync(pidFile, { force: true });
}

function isOurServer(pid: number): boolean {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('kinesis/server.ts');
  } catch {
    // No /proc (macOS): trust the pid file only while the process lives.
    return isAlive(pid);
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
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
        await sleep(100);
      }
    }
  } finally {
    client.destroy();
  }
}

async function stopProcess(child: ChildProcess, exited: Promise<void>): Promise<void> {
  if (!isRunning(child)) return;
  child.kill('SIGTERM');
  const exitedInTime = await Promise.race([exited.then(() => true), sleep(STOP_GRACE_MS).then(() => false)]);
  if (!exitedInTime) {
    child.kill('SIGKILL');
    await exited;
  }
}

function isRunning(child: ChildProcess): boolean {
  return child.exitCode === null && child.signalCode === null;
}
