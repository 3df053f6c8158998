// `npm run recover`: bad rows of the local lake, optionally fixed, validated again and sent back through the
// running local pipeline with their original messageId (functions/recover/recover.ts, the code the deployed
// recover function runs). Needs `npm start` running: the recovered events go through its enrich stage.
//   npm run recover -- --from 2026-11-22 [--to 2026-11-23] [--failure-type schema_violation …]
//                      [--reason-contains "must be string"] [--fix fix.json] [--dry-run] [--json]
//   --fix <file>             a JSON array of JSON Patch steps applied to each row before it is validated
//   --endpoints-file <path>  the running stack's endpoints (default .local/endpoints.json)
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { kinesisClient, s3Client } from '../functions/shared/aws-clients.js';
import { KinesisBatchWriter } from '../functions/shared/kinesis-batch-writer.js';
import { FixError } from '../functions/recover/fix.js';
import { parseRecoverRequest, recoverBadRows, type RecoveryReport } from '../functions/recover/recover.js';
import { operationArgs, runningStack, type CliIo } from './running-stack.js';

const REPOSITORY_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

const USAGE = `Usage: npm run recover -- --from YYYY-MM-DD [--to YYYY-MM-DD] [--failure-type <type> …] [--reason-contains <text>]
                           [--fix <fix.json>] [--dry-run] [--json] [--endpoints-file <path>]
Sends the chosen bad rows back through the running local pipeline (npm start) with their messageId.`;

export type RecoverCliIo = CliIo;

/** Runs the CLI; returns the exit code. */
export async function runRecoverCli(argv: string[], io: RecoverCliIo, repositoryRoot = REPOSITORY_ROOT): Promise<number> {
  const args = operationArgs(
    argv,
    {
      from: { type: 'string' },
      to: { type: 'string' },
      'failure-type': { type: 'string', multiple: true },
      'reason-contains': { type: 'string' },
      fix: { type: 'string' },
      'dry-run': { type: 'boolean', default: false },
    },
    USAGE,
    io,
    repositoryRoot,
  );
  if ('exit' in args) return args.exit;
  const values = args.values as typeof args.values & { from?: string; to?: string; 'failure-type'?: string[]; 'reason-contains'?: string; fix?: string; 'dry-run': boolean };
  const endpoints = runningStack(values['endpoints-file'], io, 'the recovered events go through its enrich stage');
  if (!endpoints) return 1;

  let request;
  try {
    const fix = values.fix === undefined ? undefined : (JSON.parse(readFileSync(resolve(values.fix), 'utf8')) as unknown);
    request = parseRecoverRequest({
      from: values.from,
      to: values.to ?? values.from,
      ...(values['failure-type'] ? { failureTypes: values['failure-type'] } : {}),
      ...(values['reason-contains'] === undefined ? {} : { reasonContains: values['reason-contains'] }),
      ...(fix === undefined ? {} : { fix }),
      ...(values['dry-run'] ? { dryRun: true } : {}),
    });
  } catch (error) {
    if (error instanceof FixError || error instanceof RangeError || error instanceof SyntaxError || (error as NodeJS.ErrnoException).code === 'ENOENT') {
      io.stderr(`${(error as Error).message}\n${USAGE}\n`);
      return 2;
    }
    throw error;
  }

  const kinesis = kinesisClient({ maxAttempts: 1, requestTimeout: 5_000 });
  const s3 = s3Client();
  try {
    const report = await recoverBadRows(request, { s3, bucket: endpoints.lakeBucket, writer: new KinesisBatchWriter({ client: kinesis, stream: endpoints.streams.raw }) });
    io.stdout(values.json ? `${JSON.stringify(report)}\n` : describe(report));
    return 0;
  } finally {
    kinesis.destroy();
    s3.destroy();
  }
}

function describe(report: RecoveryReport): string {
  const lines = [
    `${report.request.dryRun ? 'Dry run (nothing sent): ' : ''}${report.read} bad rows read for ${report.request.from}…${report.request.to}, ${report.selected} chosen`,
    `  recovered         ${report.recovered}${report.fixed > 0 ? ` (${report.fixed} changed by the fix)` : ''}${report.request.dryRun ? ' would be' : ', sent to events-raw with their messageId'}`,
    `  already recovered ${report.alreadyRecovered} (by an earlier run: skipped)`,
    `  still failing     ${report.stillFailing}`,
    ...report.failures.map((f) => `    ${String(f.rows).padStart(6)}  ${f.reason}  e.g. ${f.examples.slice(0, 2).join(', ')}`),
  ];
  if (report.reportKey) lines.push(`Report: s3://<lake>/${report.reportKey}; recovered rows listed in the table recovered_bad_rows.`);
  return `${lines.join('\n')}\n`;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  process.exitCode = await runRecoverCli(process.argv.slice(2), { stdout: (t) => process.stdout.write(t), stderr: (t) => process.stderr.write(t) });
}
