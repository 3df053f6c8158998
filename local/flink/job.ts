// The Flink SQL job (analytics/flink) on the local stack: the same jar Managed Flink runs, built with -Plocal so
// `java -jar` starts a Flink mini cluster, reading events-enriched from the Kinesis emulator and writing the
// aggregates and anomalies streams. Without java or mvn it says "analytics off because …" instead of failing.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createWriteStream, existsSync, mkdirSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { LOCAL_REGION } from '../aws-env.js';
import { LOCAL_STREAM_NAMES, localStreamArn } from '../kinesis/streams.js';

export const FLINK_PROJECT_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', 'analytics', 'flink');
/** What `mvn package -Plocal` builds (pom.xml: the local profile's finalName). */
export const LOCAL_JOB_JAR = join(FLINK_PROJECT_DIR, 'target', 'clickstream-flink-job-0.1.0-local.jar');

export interface FlinkJobOptions {
  /** Plain-HTTP endpoint of the Kinesis emulator, e.g. http://127.0.0.1:4568. */
  kinesisEndpoint: string;
  /** The job's files go to <dataDir>/flink: properties, log, build log, checkpoints (resumed on restart). */
  dataDir: string;
  streams?: { enriched: string; aggregates: string; anomalies: string };
  /** Extra job properties (job-defaults.properties keys), e.g. watermark.out-of-orderness.seconds. */
  properties?: Record<string, string>;
  /** JVM heap of the mini cluster; the job itself needs little. */
  heapMb?: number;
  parallelism?: number;
  checkpointIntervalMs?: number;
  /**
   * Start the JVM again when it ends without being asked to (killed, out of memory), as `npm start` does; a
   * SIGINT or SIGTERM (a Ctrl-C reaches the whole process group) is a stop. Off by default, so tests see a crash.
   */
  restartOnCrash?: boolean;
  /** 'if-stale' (default) runs mvn when the jar is missing or older than the sources; 'never' only uses a built jar. */
  build?: 'if-stale' | 'never';
  jar?: string;
  log?: (line: string) => void;
}

export interface RunningFlinkJob {
  running: true;
  /** The JVM running now (a crashed one may have been started again). */
  readonly pid: number;
  jar: string;
  logFile: string;
  propertiesFile: string;
  /** Resolves with the exit code when the job ends for good: stopped, or crashed and not started again. */
  exited: Promise<number | null>;
  /** SIGTERM (Flink's shutdown hooks stop the mini cluster; checkpoints stay for the next start), SIGKILL after a grace period. */
  stop(): Promise<void>;
}

export interface FlinkJobOff {
  running: false;
  /** "analytics off because …" */
  reason: string;
}

export type FlinkJobStart = RunningFlinkJob | FlinkJobOff;

const STOP_GRACE_MS = 15_000;

/**
 * JVM flags for the local run. CBOR off for both AWS SDKs inside the connector: v2 (the sink) reads aws.cborEnabled,
 * v1 (the polling source) reads a property the connector's shading relocated, or AWS_CBOR_DISABLE (see env below).
 * The --add-opens are those Flink's own launcher passes on Java 17.
 */
function javaArguments(heapMb: number, jar: string, propertiesFile: string): string[] {
  return [
    `-Xmx${heapMb}m`,
    '-XX:MaxDirectMemorySize=256m',
    '-XX:+UseSerialGC',
    '-Daws.cborEnabled=false',
    '-Dorg.apache.flink.kinesis.shaded.com.amazonaws.sdk.disableCbor=true',
    '-Dorg.slf4j.simpleLogger.defaultLogLevel=warn', '-Dorg.slf4j.simpleLogger.log.org.apache.flink.streaming.connectors.kinesis=info',
    '-Dorg.slf4j.simpleLogger.showDateTime=true',
    '--add-opens=java.base/java.lang=ALL-UNNAMED',
    '--add-opens=java.base/java.util=ALL-UNNAMED',
    '--add-opens=java.base/java.time=ALL-UNNAMED',
    '--add-opens=java.base/java.nio=ALL-UNNAMED',
    '--add-opens=java.base/sun.nio.ch=ALL-UNNAMED',
    '--add-opens=java.base/java.net=ALL-UNNAMED',
    '--add-opens=java.base/java.io=ALL-UNNAMED',
    '--add-opens=java.base/java.util.concurrent=ALL-UNNAMED',
    '--add-opens=java.base/java.util.concurrent.atomic=ALL-UNNAMED',
    '--add-opens=java.base/java.lang.reflect=ALL-UNNAMED',
    '-jar',
    jar,
    '--properties',
    propertiesFile,
  ];
}

export async function startFlinkJob(options: FlinkJobOptions): Promise<FlinkJobStart> {
  const log = options.log ?? ((line: string) => console.log(`[flink] ${line}`));
  const flinkDir = resolve(options.dataDir, 'flink');
  mkdirSync(flinkDir, { recursive: true });
  const jar = options.jar ?? LOCAL_JOB_JAR;

  if (!commandWorks('java', ['-version'])) return off('java is not on PATH (install a JDK 11+, e.g. apt-get install openjdk-17-jdk-headless)');
  const jarState = jarFreshness(jar);
  if (jarState !== 'fresh') {
    if (options.build === 'never') {
      if (jarState === 'missing') return off(`${jar} is not built (mvn -f analytics/flink/pom.xml package -Plocal)`);
      log(`${jar} is older than its sources; using it anyway (build: 'never')`);
    } else if (!commandWorks('mvn', ['-v'])) {
      if (jarState === 'missing') return off(`the job jar is not built and mvn is not on PATH (apt-get install maven)`);
      log('the job jar is older than its sources and mvn is not on PATH: running the old jar');
    } else {
      const buildLog = join(flinkDir, 'build.log');
      log(`building the job jar (mvn package -Plocal; about a minute the first time, jars from Maven Central), log: ${buildLog}`);
      const started = Date.now();
      const code = await run('mvn', ['-q', '-B', '-T1', '-f', join(FLINK_PROJECT_DIR, 'pom.xml'), 'package', '-Plocal', '-DskipTests'], buildLog);
      if (code !== 0 || !existsSync(jar)) return off(`mvn package -Plocal failed (exit ${code}); see ${buildLog}`);
      log(`built ${jar} in ${((Date.now() - started) / 1000).toFixed(0)} s`);
    }
  }

  const propertiesFile = join(flinkDir, 'application-properties.json');
  writeFileSync(propertiesFile, `${JSON.stringify(localApplicationProperties(options, flinkDir), null, 2)}\n`);
  const logFile = join(flinkDir, 'flink-job.log');
  const logStream = createWriteStream(logFile, { flags: 'a' });
  let stopRequested = false;
  const crashes: number[] = [];
  let resolveFinalExit!: (code: number | null) => void;
  const exited = new Promise<number | null>((resolveExit) => (resolveFinalExit = resolveExit));

  // A JVM that ends without being asked to (killed, out of memory) is started again when restartOnCrash is
  // set: the job resumes from its last checkpoint, as Managed Flink restarts a failed job. At most three
  // times in five minutes; after that the job stays off and says so.
  const launch = (): ChildProcess => {
    const jvm = spawn('java', javaArguments(options.heapMb ?? 384, jar, propertiesFile), {
      cwd: flinkDir,
      env: { ...process.env, AWS_CBOR_DISABLE: 'true', CBOR_ENABLED: 'false' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    jvm.stdout?.pipe(logStream, { end: false });
    jvm.stderr?.pipe(logStream, { end: false });
    const killOnExit = () => jvm.kill('SIGKILL');
    process.once('exit', killOnExit);
    jvm.once('exit', (code, signal) => {
      process.removeListener('exit', killOnExit);
      // Ctrl-C in a terminal signals the whole process group: the JVM gets the SIGINT as `npm start` does,
      // and ends (exit code 130; 143 for a SIGTERM) before stop() is called. That is a stop, not a crash.
      if (stopRequested || isStopSignal(code, signal)) return finish(code);
      log(`job exited unexpectedly (${signal ?? `code ${code}`}); log: ${logFile}`);
      const now = Date.now();
      crashes.push(now);
      while (crashes.length > 0 && crashes[0]! < now - 5 * 60_000) crashes.shift();
      if (!options.restartOnCrash || crashes.length > 3) return finish(code);
      log('starting the job again; it resumes from its last checkpoint');
      child = launch();
    });
    return jvm;
  };
  const finish = (code: number | null) => {
    logStream.end();
    resolveFinalExit(code);
  };
  let child = launch();
  log(`job started (pid ${child.pid}, heap ${options.heapMb ?? 384} MB), log: ${logFile}`);

  let stopping: Promise<void> | undefined;
  return {
    running: true,
    get pid() {
      return child.pid!;
    },
    jar,
    logFile,
    propertiesFile,
    exited,
    stop: () => {
      stopRequested = true;
      return (stopping ??= stopJvm(child, exited));
    },
  };

  function off(reason: string): FlinkJobOff {
    const message = `analytics off because ${reason}`;
    log(message);
    return { running: false, reason: message };
  }
}

/** The runtime properties file, in Managed Flink's format (a list of property groups). */
export function localApplicationProperties(options: FlinkJobOptions, flinkDir: string): { PropertyGroupId: string; PropertyMap: Record<string, string> }[] {
  const streams = options.streams ?? LOCAL_STREAM_NAMES;
  const aws: Record<string, string> = {
    'aws.region': LOCAL_REGION,
    'aws.endpoint': options.kinesisEndpoint,
    'aws.trust.all.certificates': 'true',
    'aws.credentials.provider': 'BASIC',
    'aws.credentials.basic.accesskeyid': 'local',
    'aws.credentials.basic.secretkey': 'local',
  };
  const kinesis: Record<string, string> = {
    'events.stream.arn': localStreamArn(streams.enriched),
    'aggregates.stream.arn': localStreamArn(streams.aggregates),
    'anomalies.stream.arn': localStreamArn(streams.anomalies),
    'source.init.position': 'TRIM_HORIZON',
    // The emulator has no SubscribeToShard (EFO), and its port speaks no HTTP/2.
    'source.reader.type': 'POLLING',
    'sink.http-client.protocol.version': 'HTTP1_1',
  };
  const job: Record<string, string> = {
    parallelism: String(options.parallelism ?? 1),
    'checkpoint.interval.ms': String(options.checkpointIntervalMs ?? 10_000),
    'local.checkpoint.dir': join(flinkDir, 'checkpoints'),
  };
  for (const [key, value] of Object.entries(options.properties ?? {})) {
    const group = key.startsWith('aws.') ? aws : key in kinesis ? kinesis : job;
    group[key] = value;
  }
  return [
    { PropertyGroupId: 'aws', PropertyMap: aws },
    { PropertyGroupId: 'kinesis', PropertyMap: kinesis },
    { PropertyGroupId: 'job', PropertyMap: job },
  ];
}

/** 'stale' when any source file or the pom is newer than the jar. */
export function jarFreshness(jar: string): 'missing' | 'stale' | 'fresh' {
  if (!existsSync(jar)) return 'missing';
  const built = statSync(jar).mtimeMs;
  const newestSource = Math.max(statSync(join(FLINK_PROJECT_DIR, 'pom.xml')).mtimeMs, newestFile(join(FLINK_PROJECT_DIR, 'src', 'main')));
  return newestSource > built ? 'stale' : 'fresh';
}

function newestFile(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestFile(path) : statSync(path).mtimeMs);
  }
  return newest;
}

function commandWorks(command: string, args: string[]): boolean {
  const result = spawnSync(command, args, { stdio: 'ignore', timeout: 30_000 });
  return result.error === undefined && result.status === 0;
}

function run(command: string, args: string[], logFile: string): Promise<number | null> {
  return new Promise((resolveRun) => {
    const out = createWriteStream(logFile, { flags: 'w' });
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout?.pipe(out, { end: false });
    child.stderr?.pipe(out, { end: false });
    child.once('error', () => resolveRun(null));
    child.once('exit', (code) => {
      out.end();
      resolveRun(code);
    });
  });
}

/** An exit by SIGINT or SIGTERM: as a signal, or as the JVM's exit code for one (128 + the signal's number). */
function isStopSignal(code: number | null, signal: NodeJS.Signals | null): boolean {
  return signal === 'SIGINT' || signal === 'SIGTERM' || code === 130 || code === 143;
}

async function stopJvm(child: ChildProcess, exited: Promise<number | null>): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGTERM');
  const inTime = await Promise.race([exited.then(() => true), sleep(STOP_GRACE_MS).then(() => false)]);
  if (!inTime) {
    child.kill('SIGKILL');
    await exited;
  }
}
