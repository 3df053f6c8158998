// Trino, the engine Athena v3 is built on, as a single-node server for a test file: Trino's core server and its
// Hive plugin from Maven Central, unpacked once into .cache/trino/<version>/ (gitignored), run on a Java 24 or
// later with a small heap, on 127.0.0.1, with one Hive catalog (`lake`) whose metastore is a local directory.
//   npx tsx test/helpers/trino-server.ts install   downloads and unpacks it (needs mvn; .ci/run does this)
//   npx tsx test/helpers/trino-server.ts java      prints the Java home it would run on, or why there is none
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createWriteStream, existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { findFreePort } from '../../local/ports.js';

export const TRINO_VERSION = '476';
/** Trino 476 runs on Java 24 and later (its deployment docs). */
const MIN_JAVA_MAJOR = 24;
const REPOSITORY_ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const TRINO_DIR = join(REPOSITORY_ROOT, '.cache', 'trino', TRINO_VERSION);
const SERVER_LIB = join(TRINO_DIR, `trino-server-core-${TRINO_VERSION}`, 'lib');
// Only the Hive plugin: the core tarball's own plugins (Python functions, geospatial, …) would slow the start.
const PLUGIN_DIR = join(TRINO_DIR, 'plugin');
const ARTIFACTS = [
  { coordinates: `io.trino:trino-server-core:${TRINO_VERSION}:tar.gz`, into: '.' },
  { coordinates: `io.trino:trino-hive:${TRINO_VERSION}:zip`, into: 'plugin' },
];
const UNPACK_GOAL = 'org.apache.maven.plugins:maven-dependency-plugin:3.8.1:unpack';
const START_TIMEOUT_MS = 120_000;
const STOP_GRACE_MS = 10_000;

export const trinoInstalled = (): boolean => existsSync(SERVER_LIB) && existsSync(join(PLUGIN_DIR, `trino-hive-${TRINO_VERSION}`));

/** Downloads both archives through Maven (its ~/.m2 caches them) and unpacks them; a no-op when installed. */
export async function installTrino(): Promise<void> {
  if (trinoInstalled()) return;
  const staging = `${TRINO_DIR}.partial`;
  await rm(staging, { recursive: true, force: true });
  await mkdir(join(staging, 'maven'), { recursive: true });
  for (const { coordinates, into } of ARTIFACTS) {
    // Run from a scratch folder: without a pom, the plugin writes its markers under the working directory.
    const mvn = spawnSync('mvn', ['-B', '-q', UNPACK_GOAL, `-Dartifact=${coordinates}`, `-DoutputDirectory=${join(staging, into)}`], {
      cwd: join(staging, 'maven'),
      stdio: 'inherit',
    });
    if (mvn.error || mvn.status !== 0) throw new Error(`mvn could not fetch ${coordinates} from Maven Central (${mvn.error?.message ?? `exit ${mvn.status}`})`);
  }
  await rm(join(staging, 'maven'), { recursive: true });
  await rm(TRINO_DIR, { recursive: true, force: true });
  await rename(staging, TRINO_DIR);
}

// ---------------------------------------------------------------------------------------------
// Java

/** The major version of the Java at `home`, from its `release` file (every JDK and JRE since 9 has one). */
function javaMajor(home: string): number | undefined {
  if (!existsSync(join(home, 'bin', 'java')) || !existsSync(join(home, 'release'))) return undefined;
  const version = /^JAVA_VERSION="(\d+)/m.exec(readFileSync(join(home, 'release'), 'utf8'));
  return version ? Number(version[1]) : undefined;
}

/** The java.home of the `java` on PATH, if any. */
function javaOnPath(): string | undefined {
  const probe = spawnSync('java', ['-XshowSettings:properties', '-version'], { encoding: 'utf8' });
  return /^\s*java\.home = (.+)$/m.exec(probe.stderr ?? '')?.[1]?.trim();
}

const children = (dir: string): string[] => (existsSync(dir) ? readdirSync(dir).map((name) => join(dir, name)) : []);

/**
 * A Java home Trino can run on: TRINO_JAVA_HOME when set (and then only it), else the newest Java >= 24 among
 * JAVA_HOME, the java on PATH, and the usual install folders of Linux and macOS.
 */
export function findTrinoJava(): { javaHome: string; major: number } | { problem: string } {
  const explicit = process.env['TRINO_JAVA_HOME'];
  if (explicit) {
    const major = javaMajor(explicit);
    if (major !== undefined && major >= MIN_JAVA_MAJOR) return { javaHome: explicit, major };
    return { problem: `TRINO_JAVA_HOME=${explicit} is ${major === undefined ? 'not a Java home (no bin/java and release file)' : `Java ${major}`}; Trino ${TRINO_VERSION} needs Java ${MIN_JAVA_MAJOR} or later` };
  }
  const candidates = [
    process.env['JAVA_HOME'],
    javaOnPath(),
    ...children('/usr/lib/jvm'),
    ...children('/Library/Java/JavaVirtualMachines').map((jdk) => join(jdk, 'Contents', 'Home')),
  ].filter((home): home is string => Boolean(home));
  const found = [...new Set(candidates)].map((home) => ({ home, major: javaMajor(home) })).filter((j) => j.major !== undefined);
  const best = found.filter((j) => j.major! >= MIN_JAVA_MAJOR).sort((a, b) => b.major! - a.major!)[0];
  if (best) return { javaHome: best.home, major: best.major! };
  const seen = found.length > 0 ? `found only ${found.map((j) => `Java ${j.major} (${j.home})`).join(', ')}` : 'found none';
  return {
    problem: `Trino ${TRINO_VERSION} needs Java ${MIN_JAVA_MAJOR} or later: looked in TRINO_JAVA_HOME, JAVA_HOME, the java on PATH and /usr/lib/jvm/*, ${seen}. Install one (e.g. Eclipse Temurin 25 from adoptium.net) and set TRINO_JAVA_HOME to its home.`,
  };
}

const NOT_INSTALLED = `Trino ${TRINO_VERSION} is not installed in ${TRINO_DIR}: run \`npx tsx test/helpers/trino-server.ts install\` (needs mvn; about 450 MB from Maven Central)`;

/** Why Trino cannot run here (no Java >= 24, not installed), or undefined when it can. */
export function trinoUnavailable(): string | undefined {
  const java = findTrinoJava();
  if ('problem' in java) return java.problem;
  return trinoInstalled() ? undefined : NOT_INSTALLED;
}

// ---------------------------------------------------------------------------------------------
// The server

export interface TrinoServer {
  /** http://127.0.0.1:<port> */
  url: string;
  /** The Hive catalog over the local file system. */
  catalog: string;
  /** Milliseconds from spawn to "started". */
  startupMs: number;
  /** SIGTERM, SIGKILL after a grace period; removes the server's folder. */
  stop(): Promise<void>;
}

const properties = (entries: Record<string, string | number | boolean>): string =>
  Object.entries(entries).map(([key, value]) => `${key}=${value}`).join('\n') + '\n';

/** Starts one coordinator that is also its own worker, with the catalog `lake` (Hive connector, file metastore). */
export async function startTrino(): Promise<TrinoServer> {
  const java = findTrinoJava();
  if ('problem' in java) throw new Error(java.problem);
  if (!trinoInstalled()) throw new Error(NOT_INSTALLED);
  const dir = await mkdtemp(join(tmpdir(), 'trino-'));
  const port = await findFreePort();
  const url = `http://127.0.0.1:${port}`;
  await mkdir(join(dir, 'catalog'));
  await writeFile(
    join(dir, 'config.properties'),
    properties({
      coordinator: true,
      'node-scheduler.include-coordinator': true,
      'node.environment': 'test',
      'node.bind-ip': '127.0.0.1',
      'node.internal-address': '127.0.0.1',
      'http-server.http.port': port,
      'http-server.log.enabled': false,
      'discovery.uri': url,
      'plugin.dir': PLUGIN_DIR,
      'catalog.config-dir': join(dir, 'catalog'),
      'log.path': join(dir, 'server.log'),
    }),
  );
  await writeFile(
    join(dir, 'catalog', 'lake.properties'),
    properties({
      'connector.name': 'hive',
      'hive.metastore': 'file',
      'hive.metastore.catalog.dir': `local://${join(dir, 'metastore')}`,
      'fs.native-local.enabled': true,
      'local.location': '/',
      // Tables over folders that already hold data, as the Glue tables are over the lake bucket.
      'hive.non-managed-table-creates-enabled': true,
      // The Glue tables project their partitions (projection.* parameters), as Athena does.
      'hive.partition-projection-enabled': true,
      // A projected partition with no folder is an empty partition, not an error (Athena's behaviour).
      'hive.ignore-absent-partitions': true,
    }),
  );
  await mkdir(join(dir, 'metastore'));

  const output = createWriteStream(join(dir, 'jvm.log'));
  const jvm = spawn(
    join(java.javaHome, 'bin', 'java'),
    [
      '-Xmx1G',
      // C1 only and the serial collector: a run of a minute on two shared cores cannot pay back C2's compiles or
      // G1's threads (measured here: the start and the queries in about half the wall time).
      '-XX:TieredStopAtLevel=1',
      '-XX:+UseSerialGC',
      '-XX:+ExitOnOutOfMemoryError',
      // Trino attaches a Java agent to itself (object sizes) and loads native compression libraries.
      '-Djdk.attach.allowAttachSelf=true',
      '-XX:+EnableDynamicAgentLoading',
      '--enable-native-access=ALL-UNNAMED',
      `-Dconfig=${join(dir, 'config.properties')}`,
      '-cp',
      join(SERVER_LIB, '*'),
      'io.trino.server.TrinoServer',
    ],
    { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  jvm.stdout.pipe(output);
  jvm.stderr.pipe(output);
  // A test run that ends without afterAll (a crash, Ctrl-C) must not leave the JVM behind.
  const killOnExit = () => jvm.kill('SIGKILL');
  process.once('exit', killOnExit);
  const exited = new Promise<number | null>((resolve) => jvm.once('exit', (code) => {
    process.removeListener('exit', killOnExit);
    resolve(code);
  }));

  const stop = async () => {
    await stopJvm(jvm, exited);
    await rm(dir, { recursive: true, force: true });
  };
  const began = Date.now();
  try {
    await waitUntilStarted(url, exited);
  } catch (error) {
    const logs = logTail(dir);
    await stop();
    throw new Error(`${(error as Error).message}\n${logs}`);
  }
  return { url, catalog: 'lake', startupMs: Date.now() - began, stop };
}

async function waitUntilStarted(url: string, exited: Promise<number | null>): Promise<void> {
  let exit: number | null | undefined;
  void exited.then((code) => (exit = code));
  const deadline = Date.now() + START_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (exit !== undefined) throw new Error(`Trino exited while starting (code ${exit})`);
    try {
      const info = (await (await fetch(`${url}/v1/info`)).json()) as { starting?: boolean };
      if (info.starting === false) return;
    } catch {
      // Not listening yet.
    }
    await sleep(250);
  }
  throw new Error(`Trino did not start within ${START_TIMEOUT_MS / 1000} s`);
}

/** The last lines of the JVM's output and of Trino's log, for an error message. */
function logTail(dir: string): string {
  return ['jvm.log', 'server.log']
    .filter((file) => existsSync(join(dir, file)))
    .map((file) => `--- ${file} (last 30 lines)\n${readFileSync(join(dir, file), 'utf8').trimEnd().split('\n').slice(-30).join('\n')}`)
    .join('\n');
}

async function stopJvm(jvm: ChildProcess, exited: Promise<number | null>): Promise<void> {
  if (jvm.exitCode !== null || jvm.signalCode !== null) return;
  jvm.kill('SIGTERM');
  const inTime = await Promise.race([exited.then(() => true), sleep(STOP_GRACE_MS).then(() => false)]);
  if (!inTime) {
    jvm.kill('SIGKILL');
    await exited;
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const command = process.argv[2];
  if (command === 'install') {
    await installTrino();
    console.log(`Trino ${TRINO_VERSION} is in ${TRINO_DIR}`);
  } else if (command === 'java') {
    const java = findTrinoJava();
    if ('problem' in java) {
      console.error(java.problem);
      process.exitCode = 1;
    } else console.log(`${java.javaHome} (Java ${java.major})`);
  } else {
    console.error('usage: npx tsx test/helpers/trino-server.ts install|java');
    process.exitCode = 2;
  }
}
