// `npm start`: the whole pipeline on this machine, no AWS account. Its flags are in USAGE below
// (`npm start -- --help`).
import { join, resolve } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { startPipelineMonitor, type PipelineMonitor } from '../dashboard/monitor.js';
import { startDashboardServer, type DashboardServer } from '../dashboard/server.js';
import { serveTrackerDemo, type TrackerDemoServer } from '../local/demo/tracker-demo.js';
import { startDemoTraffic, type DemoTraffic } from '../local/demo/traffic.js';
import { createLocalKinesisClient } from '../local/kinesis/client.js';
import { sourceName } from '../local/firehose/delivery-stream.js';
import { DEFAULT_SNOWPLOW_APP_IDS, REPOSITORY_ROOT, startLocalStack, type LocalStack } from '../local/stack.js';
import { HELP_OPTION, parseCommandLine } from './command-line.js';
import { startStatusLine, statusSampleFrom } from './status-line.js';

// The lockfile pins an SDK that supports Node 20; its notice about future releases needing Node 22 is
// in the README, not repeated on every start.
process.env['AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED'] ??= 'true';

// After each full garbage collection, V8 lets the heap grow to a multiple of what is still live. It raises
// that multiple up to 4 on a busy process, and shrinks the heap only when the process goes idle, which a
// stack under steady load never does: at 200 events/s, 80 MB live held 275 MB and rising after 5 minutes.
// A fixed 1.5 costs a full collection about every 10 s at that rate (about 30 ms each) and holds the heap
// flat (README, "Crashes and load on the local stack").
setFlagsFromString('--heap-growing-percent=50');

const USAGE = `Usage: npm start [-- <flags>]

  --port <n>               ingest API port (default 4000)
  --dashboard-port <n>     live dashboard port (default: --port + 1; 0 = any free port)
  --tracker-port <n>       the tracker's demo shop (default: --port + 2)
  --function-url-port <n>  the ingest function URL, the other front (default: --port + 3)
  --kinesis-port <n>       Kinesis emulator port (default 4568)
  --data-dir <path>        state that survives restarts (default .local/data)
  --shards <n>             shards per stream when a stream is first created (default 2)
  --rate <n>               demo events per second (default 5)
  --no-demo                no generated traffic
  --spike-at <s|off>       demo traffic spike (5x for a minute) this many seconds in (default 480)
  --seed <n>               demo traffic seed (default 42)
  --duration <s>           run for s seconds, then drain and shut down
  --log-level <l>          Lambda log level: DEBUG | INFO | WARN (default) | ERROR
  --endpoints-file <p>     where to write the endpoints (default .local/endpoints.json)
  --no-analytics           don't run the Flink job
  --snowplow-app-ids <ids> Snowplow app ids (aid) to accept, comma-separated (default local-web)
  -h, --help               this text`;

const options = {
  ...HELP_OPTION,
  port: { type: 'string', default: '4000' },
  'dashboard-port': { type: 'string' },
  'tracker-port': { type: 'string' },
  'function-url-port': { type: 'string' },
  'kinesis-port': { type: 'string', default: '4568' },
  'data-dir': { type: 'string', default: join(REPOSITORY_ROOT, '.local', 'data') },
  shards: { type: 'string', default: '2' },
  rate: { type: 'string', default: '5' },
  'no-demo': { type: 'boolean', default: false },
  'spike-at': { type: 'string', default: '480' },
  seed: { type: 'string', default: '42' },
  duration: { type: 'string' },
  'log-level': { type: 'string', default: 'WARN' },
  'no-analytics': { type: 'boolean', default: false },
  'snowplow-app-ids': { type: 'string', default: DEFAULT_SNOWPLOW_APP_IDS.join(',') },
  'endpoints-file': { type: 'string', default: join(REPOSITORY_ROOT, '.local', 'endpoints.json') },
} as const;

const commandLine = parseCommandLine({ options, strict: true }, USAGE, { stdout: (text) => process.stdout.write(text), stderr: (text) => process.stderr.write(text) });
if ('exit' in commandLine) process.exit(commandLine.exit);
const flags = commandLine.parsed.values;

function numberFlag(name: string, value: string | undefined, minimum: number): number | undefined {
  if (value === undefined) return undefined;
  const parsed = Number(value);
  if (!Number.isFinite(parsed) || parsed < minimum) {
    console.error(`--${name} must be a number >= ${minimum}, got "${value}"`);
    process.exit(2);
  }
  return parsed;
}

// The handlers log as on AWS (Powertools JSON); at the default WARN only problems reach the terminal.
process.env['POWERTOOLS_LOG_LEVEL'] = flags['log-level'].toUpperCase();

const ingestPort = numberFlag('port', flags.port, 0)!;
const kinesisPort = numberFlag('kinesis-port', flags['kinesis-port'], 0)!;
// Next to the ingest port by default; with --port 0 (tests, parallel runs) any free port.
const besideIngest = (offset: number): string => (ingestPort === 0 ? '0' : String(ingestPort + offset));
const dashboardPort = numberFlag('dashboard-port', flags['dashboard-port'] ?? besideIngest(1), 0)!;
const trackerPort = numberFlag('tracker-port', flags['tracker-port'] ?? besideIngest(2), 0)!;
const functionUrlPort = numberFlag('function-url-port', flags['function-url-port'] ?? besideIngest(3), 0)!;
const shardCount = numberFlag('shards', flags.shards, 1)!;
const rate = numberFlag('rate', flags.rate, 0)!;
const durationSeconds = numberFlag('duration', flags.duration, 1);
const spikeAtSeconds = flags['spike-at'] === 'off' ? null : numberFlag('spike-at', flags['spike-at'], 0)!;
const seed = numberFlag('seed', flags.seed, 0)!;
const dataDir = resolve(flags['data-dir']);
const endpointsFile = resolve(flags['endpoints-file']);
const snowplowAppIds = flags['snowplow-app-ids'].split(',').map((id) => id.trim()).filter((id) => id.length > 0);

// Installed before anything starts: a Ctrl-C or SIGTERM while the emulators, the Flink job, the dashboard or
// the demo shop are still starting is kept and acted on once they are up, so that stop is orderly too (exit
// 0, emulators stopped). The endpoints file is written before the Flink job is up, so a script that waits
// for it and stops the stack at once sends its signal in the middle of the start.
let started = false;
let signalledDuringStart: NodeJS.Signals | undefined;
let shuttingDown = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (!started) {
      signalledDuringStart ??= signal;
      return;
    }
    // A terminal Ctrl-C can arrive twice (tsx relays it too); the first one already started the shutdown.
    if (shuttingDown) return;
    void shutDown(signal);
  });
}
let stack: LocalStack;
try {
  stack = await startLocalStack({
    dataDir,
    ingestPort,
    functionUrlPort,
    kinesisPort,
    shardCount,
    endpointsFile,
    snowplowAppIds,
    analytics: !flags['no-analytics'],
    log: (line) => console.log(`[flink] ${line}`),
  });
} catch (error) {
  console.error(`Could not start the local stack: ${(error as Error).message}`);
  if ((error as NodeJS.ErrnoException).code === 'EADDRINUSE') console.error('Pick other ports with --port / --function-url-port / --kinesis-port (0 = any free port).');
  process.exit(1);
}
const { endpoints } = stack;

const demo: DemoTraffic | undefined = flags['no-demo'] || rate === 0 ? undefined : startDemoTraffic({ ingestUrl: endpoints.ingestUrl, writeKey: endpoints.writeKey, rate, seed, spikeAtSeconds });

// The dashboard and the status line read the same monitor: stack counters, the Flink output streams, the lake.
const monitorKinesis = createLocalKinesisClient(endpoints.kinesis);
const monitor: PipelineMonitor = startPipelineMonitor({ stack, demo, kinesis: monitorKinesis });
let dashboard: DashboardServer;
let trackerDemo: TrackerDemoServer;
try {
  dashboard = await startDashboardServer({ monitor, port: dashboardPort });
  trackerDemo = await serveTrackerDemo({ port: trackerPort, ingestUrl: endpoints.ingestUrl, writeKey: endpoints.writeKey });
} catch (error) {
  console.error(`Could not start the dashboard or the demo shop: ${(error as Error).message}`);
  if ((error as NodeJS.ErrnoException).code === 'EADDRINUSE') console.error('Pick other ports with --dashboard-port / --tracker-port (0 = any free port).');
  await demo?.stop();
  await monitor.stop();
  await stack.stop();
  process.exit(1);
}
stack.publishEndpoints({ dashboardUrl: dashboard.url, trackerDemoUrl: trackerDemo.url });

console.log(`
Clickstream pipeline running locally
  dashboard    ${dashboard.url}  (live charts, anomalies, pipeline health)
  demo shop    ${trackerDemo.url}  (the browser tracker, sending to this stack)
  ingest API   ${endpoints.ingestUrl}/v1/batch  (Segment HTTP API)${endpoints.ingestFunctionUrl ? `\n  function URL ${endpoints.ingestFunctionUrl}/v1/batch  (the same ingest as a Lambda function URL: the cheaper front)` : ''}
  write key    ${endpoints.writeKey}
  Snowplow     collector ${endpoints.snowplow.collectorUrl}, app ids: ${endpoints.snowplow.appIds.join(', ') || 'none'}  (--snowplow-app-ids for yours)
  Kinesis      ${endpoints.kinesis}  streams: ${Object.values(endpoints.streams).join(', ')}
  DynamoDB     ${endpoints.dynamodb}  S3 ${endpoints.s3}  lake bucket: ${endpoints.lakeBucket}
  consumers    ${stack.mappings.map((m) => `${m.source.function.functionKey} λ ← ${m.source.streamName}`).join(', ') || 'none'}
  analytics    ${stack.analytics.running ? `Flink job running (pid ${stack.analytics.pid}, log ${stack.analytics.logFile}): 1-minute aggregates and anomalies` : stack.analytics.reason}
  firehose     ${stack.firehose.deliveryStreams.map((d) => `${d.definition.name} ← ${sourceName(d.definition)} → s3://${d.definition.bucket}/${d.definition.prefix.split('/')[0]}/ (${d.bufferSizeBytes / 1024 / 1024} MB / ${d.bufferIntervalMs / 1000} s)`).join(', ') || 'none'}${endpoints.firehose ? `\n  Firehose API ${endpoints.firehose}  (PutRecord, PutRecordBatch to the direct-put delivery streams)` : ''}
  query        npm run query -- --named top_pages
  data dir     ${dataDir}
  endpoints    ${endpointsFile}
  demo traffic ${demo ? `${rate} events/s, seed ${seed}, ${demo.spike ? `spike ${demo.spike.factor}x at ${new Date(demo.spike.startMs).toISOString().slice(11, 19)}Z` : 'no spike'}` : 'off'}

Send an event:
  WRITEKEY=${endpoints.writeKey}
  curl -s -u "$WRITEKEY:" -H 'content-type: application/json' ${endpoints.ingestUrl}/v1/batch \\
    -d '{"batch":[{"type":"track","event":"Signed Up","userId":"user-1","properties":{"plan":"pro"}}]}'

Ctrl-C stops everything without losing accepted events.
`);

// Under the banner: one live line on a terminal, a plain line every 10 s otherwise.
const status = startStatusLine({ output: process.stdout, alsoIntercept: [process.stderr], sample: () => statusSampleFrom(monitor.snapshot()) });

/** How long an orderly stop waits for the consumers and the local Firehose to catch up. */
const DRAIN_MS = 30_000;
async function shutDown(reason: string): Promise<void> {
  if (shuttingDown) return;
  shuttingDown = true;
  status.stop();
  console.log(`\n${reason}: stopping (HTTP intake and in-flight requests; then, for at most ${DRAIN_MS / 1000} s, the consumers and the Firehose catch up; then the emulators once their data is on disk)...`);
  await demo?.stop();
  if (demo) console.log(demo.statusLine());
  await Promise.all([dashboard.close(), trackerDemo.close()]);
  // Before the emulators go: the monitor's stream tails read from them.
  await monitor.stop();
  monitorKinesis.destroy();
  // A stop asked for (Ctrl+C, --duration) first lets what was accepted reach the lake, within a bound.
  const report = await stack.stop({ drainMs: DRAIN_MS });
  if (report.drained) console.log(`Everything accepted reached the consumers and the lake (${(report.drainMs / 1000).toFixed(1)} s to drain).`);
  else console.log(`Stopped after ${(DRAIN_MS / 1000).toFixed(0)} s of draining with ${report.behind.join('; ')}. Nothing is lost: the next npm start on this data dir delivers it.`);
  const lake = stack.firehose.stats().map((s) => `${s.deliveryStream}: ${s.recordsDelivered} rows in ${s.objectsWritten} objects, ${Object.values(s.failedRecords).reduce((a, b) => a + b, 0)} to errors/`);
  console.log(`Stopped.${demo ? ` Demo events accepted: ${demo.accepted}.` : ''}${lake.length ? ` Lake this run: ${lake.join('; ')}.` : ''}`);
  if (lake.length) console.log(`Query it: npm run query -- --named top_pages${dataDir === resolve(join(REPOSITORY_ROOT, '.local', 'data')) ? '' : ` --data-dir ${dataDir}`}`);
  process.exit(0);
}

started = true;
if (signalledDuringStart) void shutDown(signalledDuringStart);
if (durationSeconds !== undefined) setTimeout(() => void shutDown(`--duration ${durationSeconds}s elapsed`), durationSeconds * 1000);
