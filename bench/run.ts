// `npm run bench [suite...]`: runs the benchmark suites, prints a table, writes bench/results.json.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { bundleSize } from './bundle-size.js';
import { cost } from './cost-model.js';
import type { Figures, Suite } from './harness.js';
import { enrichCpu } from './enrich-cpu.js';
import { ingestCpu } from './ingest-cpu.js';
import { ingestThroughput } from './ingest-throughput.js';
import { enrichThroughput } from './enrich-throughput.js';
import { lake } from './lake.js';
import { lakeLocal } from './lake-local.js';
import { dashboardLake } from './dashboard-lake.js';
import { trackerSize } from './tracker-size.js';
import { localStack } from './local-stack.js';
import { stackCeiling, stackSoak, stackSustained } from './stack-load.js';
import { analyticsLatency } from './analytics-latency.js';
import { recoverBench } from './recover.js';
import { eraseBench } from './erase.js';

process.env['AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED'] ??= 'true'; // see README, Node versions

// cost last: it prices the figures the suites before it measured (bench/cost-model.ts).
const SUITES: Suite[] = [ingestCpu, ingestThroughput, enrichCpu, enrichThroughput, lake, lakeLocal, dashboardLake, bundleSize, trackerSize, localStack, stackCeiling, stackSustained, stackSoak, analyticsLatency, recoverBench, eraseBench, cost];
const RESULTS = fileURLToPath(new URL('./results.json', import.meta.url));
const FIGURES_MARK = 'FIGURES ';

// Each suite runs in a process of its own: suites that start the local stack load the Lambda handlers,
// which a process does only once, and no suite's warm caches or leftovers skew the next one's figures.
const only = process.argv.indexOf('--only');
if (only !== -1) {
  const suite = SUITES.find((s) => s.name === process.argv[only + 1]);
  if (!suite) throw new Error(`no such suite: ${process.argv[only + 1]}`);
  process.stdout.write(`${FIGURES_MARK}${JSON.stringify(await suite.run())}\n`);
  process.exit(0);
}

const wanted = process.argv.slice(2).filter((a) => !a.startsWith('-'));
const suites = wanted.length ? SUITES.filter((s) => wanted.includes(s.name)) : SUITES;
if (suites.length === 0) {
  console.error(`no such suite: ${wanted.join(', ')}; suites: ${SUITES.map((s) => s.name).join(', ')}`);
  process.exit(2);
}

const previous: Figures = existsSync(RESULTS) ? (JSON.parse(await readFile(RESULTS, 'utf8')) as Figures) : {};
const results: Figures = { ...previous };
for (const suite of suites) {
  process.stderr.write(`running ${suite.name}…\n`);
  const figures = await runInChild(suite.name);
  if (suite.prefix) for (const name of Object.keys(results)) if (name.startsWith(suite.prefix)) delete results[name];
  Object.assign(results, figures);
  // Written after every suite: a later one may price these figures (cost), and a failure keeps the rest.
  await writeFile(RESULTS, `${JSON.stringify(results, null, 2)}\n`);
}

function runInChild(name: string): Promise<Figures> {
  return new Promise((resolveRun, reject) => {
    const child = spawn(process.execPath, [...process.execArgv, fileURLToPath(import.meta.url), '--only', name], { stdio: ['ignore', 'pipe', 'inherit'] });
    let stdout = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.once('exit', (code) => {
      const line = stdout.split('\n').find((l) => l.startsWith(FIGURES_MARK));
      if (code === 0 && line) resolveRun(JSON.parse(line.slice(FIGURES_MARK.length)) as Figures);
      else reject(new Error(`suite ${name} failed (exit ${code})`));
    });
  });
}

const rows = Object.entries(results).map(([name, f]) => ({
    figure: name,
    value: `${f.value} ${f.unit}`,
    baseline: f.baseline !== undefined ? `${f.baseline} ${f.unit}` : '',
    ratio: f.ratio !== undefined ? `${f.ratio}x` : '',
    target: f.target ? `${f.target} ${f.met ? '✓' : '✗'}` : '',
    previous: previous[name] ? `${previous[name]!.value} ${previous[name]!.unit}` : '',
  }));
console.table(rows);
console.log(`wrote ${RESULTS}`);
