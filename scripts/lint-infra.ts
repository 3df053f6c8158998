// npm run lint:infra [-- --skip-package]
//
// Offline validation of the CloudFormation that `serverless package` generates, for the stages CI
// deploys from (dev: ON_DEMAND streams, provisioned: PROVISIONED streams):
//   1. .venv (gitignored) with the exact tools of requirements-infra.txt: created or brought in line;
//   2. `serverless package --stage <s> --package dist/package/<s>`, with no AWS credentials at all;
//   3. cfn-lint on dist/package/<s>/cloudformation-template-update-stack.json: any error fails,
//      warnings are printed;
//   4. checkov (framework cloudformation): a failed check of HIGH or CRITICAL severity fails, and so
//      does a failed check without a severity. Checkov gets its severities from the Prisma Cloud API,
//      which it cannot reach offline (nor without an API key), so in practice EVERY failed check
//      fails the lint unless it is suppressed, with a reason, in infra/checkov-suppressions.yml;
//   5. the suppressions: each must have a comment and must still match a check (a stale or mistyped
//      one fails), and all of them are printed at the end, for review.
// Exit code 0 only when every stage is clean; CI (.ci/run) runs exactly this.
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const repoRoot = fileURLToPath(new URL('..', import.meta.url));
const STAGES = ['dev', 'provisioned'] as const;
const VENV = join(repoRoot, '.venv');
const VENV_BIN = join(VENV, process.platform === 'win32' ? 'Scripts' : 'bin');
const REQUIREMENTS = join(repoRoot, 'requirements-infra.txt');
const SUPPRESSIONS_FILE = 'infra/checkov-suppressions.yml';
const BLOCKING_SEVERITIES = new Set(['HIGH', 'CRITICAL']);

const skipPackage = process.argv.includes('--skip-package');
const started = performance.now();
const elapsed = (): string => `${((performance.now() - started) / 1000).toFixed(1)} s`;
const rel = (path: string): string => relative(repoRoot, path) || '.';

function run(cmd: string, args: string[], options: { env?: NodeJS.ProcessEnv; allowFailure?: boolean } = {}): SpawnSyncReturns<string> {
  const result = spawnSync(cmd, args, { cwd: repoRoot, env: options.env ?? process.env, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  if (result.error) throw new Error(`${cmd} ${args.join(' ')}: ${result.error.message}`);
  if (!options.allowFailure && result.status !== 0) {
    throw new Error(`${cmd} ${args.join(' ')} exited with ${result.status}\n${result.stdout}\n${result.stderr}`);
  }
  return result;
}

// ---------------------------------------------------------------------------------------------
// 1. Python venv with the pinned tools

/** `name==version` lines of requirements-infra.txt. */
function pinnedRequirements(): Map<string, string> {
  const pins = new Map<string, string>();
  for (const line of readFileSync(REQUIREMENTS, 'utf8').split('\n')) {
    const text = line.replace(/#.*/, '').trim();
    if (!text) continue;
    const match = /^([A-Za-z0-9._-]+)==([^\s;]+)$/.exec(text);
    if (!match) throw new Error(`requirements-infra.txt: "${text}" is not an exact pin (name==version)`);
    pins.set(match[1]!, match[2]!);
  }
  return pins;
}

/** Pins that .venv does not satisfy (missing or another version), checked without pip. */
function unsatisfiedPins(python: string, pins: Map<string, string>): string[] {
  const check = [
    'import json, sys, importlib.metadata as m',
    'pins = json.load(sys.stdin)',
    'def version(name):',
    '    try: return m.version(name)',
    '    except m.PackageNotFoundError: return None',
    'print(json.dumps([f"{n}=={v} (have {version(n)})" for n, v in pins.items() if version(n) != v]))',
  ].join('\n');
  const result = spawnSync(python, ['-c', check], { input: JSON.stringify(Object.fromEntries(pins)), encoding: 'utf8' });
  if (result.status !== 0) return [`(cannot inspect the venv: ${result.stderr.trim()})`];
  return JSON.parse(result.stdout) as string[];
}

function ensureVenv(): { cfnLint: string; checkov: string } {
  const python = join(VENV_BIN, 'python');
  if (!existsSync(python)) {
    const system = process.env.PYTHON ?? 'python3';
    console.log(`venv: creating ${rel(VENV)} with ${system}`);
    run(system, ['-c', 'import sys; sys.exit(0 if sys.version_info >= (3, 9) else "Python >= 3.9 is needed for cfn-lint and checkov")']);
    run(system, ['-m', 'venv', VENV]);
  }
  const pins = pinnedRequirements();
  const missing = unsatisfiedPins(python, pins);
  if (missing.length > 0) {
    console.log(`venv: installing requirements-infra.txt (${missing.length} of ${pins.size} pins not satisfied, e.g. ${missing[0]})`);
    run(python, ['-m', 'pip', 'install', '--disable-pip-version-check', '--no-input', '--quiet', '-r', REQUIREMENTS]);
    const still = unsatisfiedPins(python, pins);
    if (still.length > 0) throw new Error(`venv: still not as pinned after pip install: ${still.join(', ')}`);
  }
  const tools = { cfnLint: join(VENV_BIN, 'cfn-lint'), checkov: join(VENV_BIN, 'checkov') };
  console.log(`venv: ${rel(VENV)}, Python ${run(python, ['--version']).stdout.trim().replace(/^Python /, '')}, cfn-lint ${pins.get('cfn-lint')}, checkov ${pins.get('checkov')} (${elapsed()})`);
  return tools;
}

// ---------------------------------------------------------------------------------------------
// 2. Package, offline

/** The environment without AWS credentials of any kind: packaging must need none. */
function offlineEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) if (!key.startsWith('AWS_')) env[key] = value;
  return {
    ...env,
    AWS_SHARED_CREDENTIALS_FILE: join(repoRoot, '.venv', 'no-such-credentials'),
    AWS_CONFIG_FILE: join(repoRoot, '.venv', 'no-such-config'),
    AWS_EC2_METADATA_DISABLED: 'true',
  };
}

function packageStage(stage: string): string {
  const dir = join(repoRoot, 'dist', 'package', stage);
  const template = join(dir, 'cloudformation-template-update-stack.json');
  if (skipPackage) {
    if (!existsSync(template)) throw new Error(`--skip-package: ${rel(template)} does not exist`);
    return template;
  }
  rmSync(dir, { recursive: true, force: true }); // never lint a stale template
  const t0 = performance.now();
  run(process.execPath, [join(repoRoot, 'node_modules', 'serverless', 'bin', 'serverless.js'), 'package', '--stage', stage, '--package', dir], { env: offlineEnv() });
  console.log(`serverless package --stage ${stage}: ${rel(dir)} (${((performance.now() - t0) / 1000).toFixed(1)} s)`);
  return template;
}

// ---------------------------------------------------------------------------------------------
// 3. cfn-lint

interface CfnLintMatch {
  Level: 'Error' | 'Warning' | 'Informational';
  Message: string;
  Rule: { Id: string };
  Location: { Start: { LineNumber: number }; Path?: (string | number)[] };
}

function cfnLint(tool: string, template: string): { errors: number; warnings: number } {
  const result = run(tool, ['--format', 'json', '--', template], { allowFailure: true });
  let matches: CfnLintMatch[];
  try {
    matches = JSON.parse(result.stdout) as CfnLintMatch[];
  } catch {
    throw new Error(`cfn-lint did not answer JSON (exit ${result.status}):\n${result.stdout}\n${result.stderr}`);
  }
  const errors = matches.filter((m) => m.Level === 'Error');
  const warnings = matches.filter((m) => m.Level !== 'Error');
  console.log(`  cfn-lint: ${errors.length} error(s), ${warnings.length} warning(s)`);
  for (const m of [...errors, ...warnings]) {
    const path = m.Location.Path?.join('/') ?? '';
    console.log(`    ${m.Level === 'Error' ? 'ERROR  ' : 'warning'} ${m.Rule.Id} ${path} (line ${m.Location.Start.LineNumber}): ${m.Message}`);
  }
  return { errors: errors.length, warnings: warnings.length };
}

// ---------------------------------------------------------------------------------------------
// 4. checkov

interface CheckovCheck {
  check_id: string;
  check_name: string;
  resource: string; // "AWS::S3::Bucket.LakeBucket"
  severity?: string | null;
  check_result: { result: string; suppress_comment?: string };
}
interface CheckovReport {
  check_type: string;
  results: { passed_checks: CheckovCheck[]; failed_checks: CheckovCheck[]; skipped_checks: CheckovCheck[]; parsing_errors: string[] };
}

interface Suppression {
  resource: string;
  id: string;
  comment: string;
}

const logicalIdOf = (checkovResource: string): string => checkovResource.slice(checkovResource.lastIndexOf('.') + 1);

/** The inline suppressions in the packaged template (Metadata.checkov.skip of each resource). */
function templateSuppressions(template: string): Suppression[] {
  const parsed = JSON.parse(readFileSync(template, 'utf8')) as { Resources: Record<string, { Metadata?: { checkov?: { skip?: { id?: string; comment?: string }[] } } }> };
  return Object.entries(parsed.Resources).flatMap(([resource, r]) =>
    (r.Metadata?.checkov?.skip ?? []).map((s) => ({ resource, id: String(s.id ?? ''), comment: String(s.comment ?? '').trim() })),
  );
}

interface CheckovOutcome {
  blocking: string[];
  suppressions: Suppression[];
  severitiesKnown: boolean;
}

function checkov(tool: string, template: string): CheckovOutcome {
  // --skip-download: no call to the Prisma Cloud API (it is unreachable offline and only adds a traceback).
  const result = run(tool, ['--file', template, '--framework', 'cloudformation', '--output', 'json', '--skip-download'], { allowFailure: true });
  let parsed: CheckovReport | CheckovReport[];
  try {
    parsed = JSON.parse(result.stdout) as CheckovReport | CheckovReport[];
  } catch {
    throw new Error(`checkov did not answer JSON (exit ${result.status}):\n${result.stdout.slice(0, 4000)}\n${result.stderr.slice(-4000)}`);
  }
  const reports = Array.isArray(parsed) ? parsed : [parsed];
  const all = (key: 'passed_checks' | 'failed_checks' | 'skipped_checks') => reports.flatMap((r) => r.results?.[key] ?? []);
  const passed = all('passed_checks');
  const failed = all('failed_checks');
  const skipped = all('skipped_checks');
  const parsingErrors = reports.flatMap((r) => r.results?.parsing_errors ?? []);
  const severitiesKnown = [...passed, ...failed, ...skipped].some((c) => typeof c.severity === 'string');
  console.log(`  checkov: ${passed.length} passed, ${failed.length} failed, ${skipped.length} suppressed`);

  const blocking: string[] = [];
  for (const file of parsingErrors) blocking.push(`checkov could not parse ${file}`);
  for (const c of failed) {
    const severity = c.severity ?? 'no severity';
    const blocks = !c.severity || BLOCKING_SEVERITIES.has(c.severity.toUpperCase());
    console.log(`    ${blocks ? 'FAILED ' : 'warning'} ${c.check_id} ${c.resource} (${severity}): ${c.check_name}`);
    if (blocks) blocking.push(`checkov ${c.check_id} on ${c.resource} (${severity}): ${c.check_name}`);
  }

  // Every inline suppression has a reason and still matches a check that checkov skipped.
  const suppressions = templateSuppressions(template);
  const skippedKeys = new Set(skipped.map((c) => `${logicalIdOf(c.resource)} ${c.check_id}`));
  for (const s of suppressions) {
    if (!/^CKV2?_[A-Z0-9]+_\d+$/.test(s.id)) blocking.push(`suppression on ${s.resource}: "${s.id}" is not a checkov check id`);
    if (s.comment.length < 20) blocking.push(`suppression ${s.id} on ${s.resource} has no reason (comment)`);
    if (!skippedKeys.has(`${s.resource} ${s.id}`)) blocking.push(`suppression ${s.id} on ${s.resource} matched no check: remove it, or fix its id`);
  }
  // A suppression that is not in the template (a checkov config file, a CLI --skip-check) would escape review.
  const inTemplate = new Set(suppressions.map((s) => `${s.resource} ${s.id}`));
  for (const c of skipped) {
    const key = `${logicalIdOf(c.resource)} ${c.check_id}`;
    if (!inTemplate.has(key)) blocking.push(`checkov skipped ${c.check_id} on ${c.resource} without a suppression in ${SUPPRESSIONS_FILE}`);
  }
  return { blocking, suppressions, severitiesKnown };
}

// ---------------------------------------------------------------------------------------------

function main(): number {
  for (const config of ['.checkov.yaml', '.checkov.yml']) {
    if (existsSync(join(repoRoot, config))) {
      console.error(`${config}: checkov would read skips from it that this lint cannot audit; put suppressions in ${SUPPRESSIONS_FILE}`);
      return 1;
    }
  }
  const tools = ensureVenv();
  const problems: string[] = [];
  const suppressions = new Map<string, Suppression & { stages: string[] }>();
  let warnings = 0;
  let severitiesKnown = false;

  for (const stage of STAGES) {
    const template = packageStage(stage);
    console.log(`\n== ${stage}: ${rel(template)}`);
    const lint = cfnLint(tools.cfnLint, template);
    warnings += lint.warnings;
    if (lint.errors > 0) problems.push(`${stage}: cfn-lint found ${lint.errors} error(s)`);
    const outcome = checkov(tools.checkov, template);
    severitiesKnown ||= outcome.severitiesKnown;
    problems.push(...outcome.blocking.map((p) => `${stage}: ${p}`));
    for (const s of outcome.suppressions) {
      const key = `${s.resource} ${s.id}`;
      const seen = suppressions.get(key);
      if (seen) seen.stages.push(stage);
      else suppressions.set(key, { ...s, stages: [stage] });
    }
  }

  console.log(`\n== checkov suppressions (${suppressions.size}, from ${SUPPRESSIONS_FILE})`);
  for (const s of [...suppressions.values()].sort((a, b) => a.id.localeCompare(b.id) || a.resource.localeCompare(b.resource))) {
    const where = s.stages.length === STAGES.length ? '' : ` [${s.stages.join(', ')} only]`;
    console.log(`  ${s.id.padEnd(12)} ${s.resource.padEnd(32)} ${s.comment}${where}`);
  }
  if (!severitiesKnown) {
    console.log('\nnote: checkov reported no severities (they come from the Prisma Cloud API, not reachable offline), so every failed check counts as blocking.');
  }

  console.log(`\nlint:infra: ${STAGES.length} stages, ${problems.length} blocking problem(s), ${warnings} cfn-lint warning(s), ${suppressions.size} checkov suppression(s) (${elapsed()})`);
  for (const p of problems) console.error(`  ✗ ${p}`);
  return problems.length === 0 ? 0 : 1;
}

try {
  process.exitCode = main();
} catch (error) {
  console.error(`lint:infra: ${(error as Error).message}`);
  process.exitCode = 1;
}
