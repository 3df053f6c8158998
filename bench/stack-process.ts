// `npm start` as a person runs it, in a process group of its own, for the fault suite and the load
// benchmarks: started on fixed ports and a data dir that outlive it, killed with SIGKILL (the whole group,
// as an OOM kill or a closed laptop lid does, or one component), started again on the same data dir; and
// read from outside: the lake through DuckDB, each process's memory through /proc.
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, existsSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { lakeDirectory, S3RVER_OBJECT_SUFFIX } from '../local/storage/lake-location.js';
import { findFreePort } from '../local/ports.js';
import type { LocalEndpoints } from '../local/stack.js';
import { withLocalLake } from './harness.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
/**
 * `npm start`'s command (package.json): one node process with tsx's loader. Not the tsx CLI, which runs the
 * script in a child and, when that child does not acknowledge a relayed SIGINT within 30 ms (it is busy
 * under load), SIGKILLs it and exits 130: an orderly stop turned into a crash.
 */
export const START_COMMAND = [process.execPath, '--import', 'tsx', 'commands/start.ts'] as const;
const COMPONENT_MARKERS = { stack: 'commands/start.ts', kinesis: 'kinesis/server.ts', flink: 'java' } as const;

export interface StackProcessOptions {
  dataDir: string;
  /** Run the Flink job (needs java and the jar). */
  analytics: boolean;
  /** Where the processes' output goes (appended across restarts). */
  logFile: string;
  extraArgs?: string[];
}

export interface RunningStack {
  child: ChildProcess;
  endpoints: LocalEndpoints;
  exited: Promise<number | null>;
}

/** Fixed ports, so a restarted stack serves where the clients already send. */
export async function stackPorts(): Promise<Record<'port' | 'dashboard' | 'tracker' | 'kinesis', number>> {
  return { port: await findFreePort(), dashboard: await findFreePort(), tracker: await findFreePort(), kinesis: await findFreePort() };
}

export class StackProcess {
  private current: RunningStack | undefined;
  private readonly endpointsFile: string;

  private constructor(
    private readonly options: StackProcessOptions,
    private readonly ports: Awaited<ReturnType<typeof stackPorts>>,
  ) {
    this.endpointsFile = join(options.dataDir, 'endpoints.json');
  }

  static async create(options: StackProcessOptions): Promise<StackProcess> {
    return new StackProcess(options, await stackPorts());
  }

  get running(): RunningStack | undefined {
    return this.current;
  }

  get endpoints(): LocalEndpoints {
    if (!this.current) throw new Error('the stack is not running');
    return this.current.endpoints;
  }

  /** Starts `npm start` (commands/start.ts) and resolves once it has written its endpoints. */
  async start(timeoutMs = 180_000): Promise<RunningStack> {
    rmSync(this.endpointsFile, { force: true });
    const { port, dashboard, tracker, kinesis } = this.ports;
    const args = [...START_COMMAND.slice(1), '--no-demo', '--data-dir', this.options.dataDir, '--endpoints-file', this.endpointsFile,
      '--port', String(port), '--dashboard-port', String(dashboard), '--tracker-port', String(tracker), '--function-url-port', '0', '--kinesis-port', String(kinesis),
      ...(this.options.analytics ? [] : ['--no-analytics']), ...(this.options.extraArgs ?? [])];
    const log = createWriteStream(this.options.logFile, { flags: 'a' });
    log.write(`\n===== start ${new Date().toISOString()} =====\n`);
    // Its own process group: killing the group is killing `npm start` and every child in it.
    const child = spawn(START_COMMAND[0], args, { cwd: ROOT, env: { ...process.env, CI: 'true' }, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    child.stdout!.pipe(log, { end: false });
    child.stderr!.pipe(log, { end: false });
    const exited = new Promise<number | null>((resolveExit) => child.once('exit', (code) => resolveExit(code)));
    const deadline = Date.now() + timeoutMs;
    while (!existsSync(this.endpointsFile)) {
      if (child.exitCode !== null || child.signalCode !== null || Date.now() > deadline) {
        throw new Error(`npm start did not come up (exit ${child.exitCode ?? child.signalCode}); see ${this.options.logFile}`);
      }
      await sleep(200);
    }
    this.current = { child, endpoints: JSON.parse(readFileSync(this.endpointsFile, 'utf8')) as LocalEndpoints, exited };
    return this.current;
  }

  /** SIGKILL to the whole process group: nothing gets to clean up. */
  async killGroup(): Promise<void> {
    const running = this.current;
    if (!running) return;
    this.current = undefined;
    process.kill(-running.child.pid!, 'SIGKILL');
    await running.exited;
  }

  /** Ctrl+C: the orderly stop (drains what it can, saves checkpoints). */
  async interrupt(timeoutMs = 120_000): Promise<number | null> {
    const running = this.current;
    if (!running) return null;
    this.current = undefined;
    process.kill(-running.child.pid!, 'SIGINT');
    const code = await Promise.race([running.exited, sleep(timeoutMs).then(() => 'timeout' as const)]);
    if (code === 'timeout') {
      process.kill(-running.child.pid!, 'SIGKILL');
      throw new Error(`npm start did not stop within ${timeoutMs} ms of Ctrl+C`);
    }
    return code;
  }

  /** The pid of a component: `kinesis` (the emulator) or `flink` (the job's JVM), found by its data dir. */
  componentPid(component: 'kinesis' | 'flink'): number | undefined {
    return processTable().find((p) => p.cmdline.includes(COMPONENT_MARKERS[component]) && p.cmdline.includes(this.options.dataDir))?.pid;
  }

  /**
   * Each process of the stack (`npm start` itself, the emulator, the JVM), read from /proc in one pass: its resident
   * memory in MB (the largest process of that name) and the CPU time it has used so far in seconds (user + system,
   * all threads, summed over the processes of that name).
   */
  usage(): Record<string, { rssMb: number; cpuSeconds: number }> {
    const result: Record<string, { rssMb: number; cpuSeconds: number }> = {};
    for (const p of processTable()) {
      if (!p.cmdline.includes(this.options.dataDir)) continue;
      const name = (Object.keys(COMPONENT_MARKERS) as (keyof typeof COMPONENT_MARKERS)[]).find((key) => p.cmdline.includes(COMPONENT_MARKERS[key]));
      if (!name) continue;
      const seen = (result[name] ??= { rssMb: 0, cpuSeconds: 0 });
      seen.rssMb = Math.max(seen.rssMb, p.rssMb);
      seen.cpuSeconds += p.cpuSeconds;
    }
    return result;
  }

  /** Lake figures for the events whose messageId starts with `prefix`: rows, distinct ids, and the ids. */
  async lake(prefix: string): Promise<{ rows: number; distinct: number; ids: Set<string> }> {
    try {
      return await withLocalLake(this.options.dataDir, undefined, async (connection) => {
        const reader = await connection.runAndReadAll(`SELECT message_id FROM events WHERE starts_with(message_id, '${prefix.replaceAll("'", "''")}')`);
        const ids = reader.getRowObjectsJS().map((row) => String(row['message_id']));
        return { rows: ids.length, distinct: new Set(ids).size, ids: new Set(ids) };
      });
    } catch (error) {
      // No events table yet, or a Parquet object still being written: nothing to count yet.
      if (/No files found|does not exist|Invalid Input|IO Error/i.test((error as Error).message)) return { rows: 0, distinct: 0, ids: new Set() };
      throw error;
    }
  }

  /** Bad rows (JSON lines under bad-rows/) that name an id with this prefix. */
  badRows(prefix: string): number {
    const dir = join(lakeDirectory(this.options.dataDir), 'bad-rows');
    if (!existsSync(dir)) return 0;
    let count = 0;
    for (const file of readdirSync(dir, { recursive: true }) as string[]) {
      if (!file.endsWith(S3RVER_OBJECT_SUFFIX)) continue;
      count += readFileSync(join(dir, file), 'utf8').split('\n').filter((line) => line.includes(`"${prefix}`)).length;
    }
    return count;
  }
}

interface ProcessInfo {
  pid: number;
  cmdline: string;
  rssMb: number;
  cpuSeconds: number;
}

/** Linux's USER_HZ: the unit of the CPU times in /proc/<pid>/stat (100 on every mainstream architecture). */
const CLOCK_TICKS_PER_SECOND = 100;

function processTable(): ProcessInfo[] {
  const table: ProcessInfo[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const cmdline = readFileSync(`/proc/${entry}/cmdline`, 'utf8').replaceAll('\0', ' ');
      const status = readFileSync(`/proc/${entry}/status`, 'utf8');
      const rssKb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
      // utime and stime are fields 14 and 15; the command name (field 2) may hold spaces, so count after its ')'.
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      const cpuSeconds = (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS_PER_SECOND;
      table.push({ pid: Number(entry), cmdline, rssMb: rssKb / 1024, cpuSeconds });
    } catch {
      // The process ended while we looked.
    }
  }
  return table;
}
