// `npm run bench [suite...]`: runs the benchmark suites, prints a table, writes bench/results.json.
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
import { trackerSize } from './tracker-size.js';
import { localStack } from './local-stack.js';

process.env['AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED'] ??= 'true'; // see README, Node versions

// cost last: it prices the figures the suites before it measured (bench/cost-model.ts).
const SUITES: Suite[] = [ingestCpu, ingestThroughput, enrichCpu, enrichThroughput, lake, lakeLocal, bundleSize, trackerSize, localStack, cost];
const RESULTS = fileURLToPath(new URL('./results.json', import.meta.url));

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
  Object.assign(results, await suite.run());
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
await writeFile(RESULTS, `${JSON.stringify(results, null, 2)}\n`);
console.log(`wrote ${RESULTS}`);
