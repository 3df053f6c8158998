// `npm run erase`: erase people from the local lake and from what is still on its way to it
// (functions/erase/erase.ts, the code the deployed erase function runs). Needs `npm start` running: its
// enrich stage and Firehose transform read the suppression list this writes.
//   npm run erase -- --user-id <id> [--user-id …] [--anonymous-id <id> …] [--dry-run] [--json]
//   --dry-run                find and count their rows; change nothing
//   --endpoints-file <path>  the running stack's endpoints (default .local/endpoints.json)
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { s3Client } from '../functions/shared/aws-clients.js';
import { erasePeople, parseEraseRequest, type ErasureReport } from '../functions/erase/erase.js';
import { operationArgs, runningStack, type CliIo } from './running-stack.js';

const REPOSITORY_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

const USAGE = `Usage: npm run erase -- [--user-id <id> …] [--anonymous-id <id> …] [--dry-run] [--json] [--endpoints-file <path>]
Erases the people named (and the anonymousIds their userIds were seen with) from the running local pipeline (npm start).`;

/** Runs the CLI; returns the exit code. */
export async function runEraseCli(argv: string[], io: CliIo, repositoryRoot = REPOSITORY_ROOT): Promise<number> {
  const args = operationArgs(argv, { 'user-id': { type: 'string', multiple: true }, 'anonymous-id': { type: 'string', multiple: true }, 'dry-run': { type: 'boolean', default: false } }, USAGE, io, repositoryRoot);
  if ('exit' in args) return args.exit;
  const { values } = args;
  let request;
  try {
    request = parseEraseRequest({ userIds: values['user-id'] ?? [], anonymousIds: values['anonymous-id'] ?? [], ...(values['dry-run'] ? { dryRun: true } : {}) });
  } catch (error) {
    if (!(error instanceof RangeError)) throw error;
    io.stderr(`${error.message}\n${USAGE}\n`);
    return 2;
  }
  const endpoints = runningStack(values['endpoints-file'], io, 'its consumers must see the suppression list');
  if (!endpoints) return 1;

  const s3 = s3Client();
  try {
    const report = await erasePeople(request, {
      s3,
      bucket: endpoints.lakeBucket,
      settleSeconds: endpoints.erasure.settleSeconds,
      ...(values.json ? {} : { progress: (line: string) => io.stderr(`${line}\n`) }),
    });
    io.stdout(values.json ? `${JSON.stringify(report)}\n` : describe(report));
    return report.complete ? 0 : 1;
  } finally {
    s3.destroy();
  }
}

function describe(report: ErasureReport): string {
  const people = report.requested.userIdHashes.length + report.requested.anonymousIdHashes.length;
  const linked = report.linked.anonymousIdHashes.length + report.linked.userIdHashes.length;
  const lines = [
    `${report.dryRun ? 'Dry run (nothing changed): ' : ''}${people} id(s) asked for, ${linked} linked to them on their events`,
    `  ${'table'.padEnd(11)}${'objects read'.padStart(13)}${'rewritten'.padStart(11)}${'deleted'.padStart(9)}${'old versions'.padStart(14)}${'rows removed'.padStart(14)}${'rows kept'.padStart(11)}`,
    ...Object.entries(report.tables).map(
      ([name, t]) =>
        `  ${name.padEnd(11)}${String(t.objectsScanned).padStart(13)}${String(t.objectsRewritten).padStart(11)}${String(t.objectsDeleted).padStart(9)}${String(t.versionsRemoved).padStart(14)}${String(t.rowsRemoved).padStart(14)}${String(t.rowsKept).padStart(11)}`,
    ),
  ];
  if (!report.dryRun) {
    lines.push(`Suppression list: ${report.suppressionListSize} hashed id(s); their events still in the streams, or arriving later, are dropped.`);
    lines.push(`Complete: ${report.complete ? `yes, at ${report.finishedAt} (in ${report.seconds.toFixed(1)} s)` : 'no: the deadline came first; run the same command again'}.`);
  }
  if (report.reportKey) lines.push(`Report (ids as hashes only): s3://<lake>/${report.reportKey}`);
  return `${lines.join('\n')}\n`;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  process.exitCode = await runEraseCli(process.argv.slice(2), { stdout: (t) => process.stdout.write(t), stderr: (t) => process.stderr.write(t) });
}
