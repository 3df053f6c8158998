// `npm run redrive` and `npm run replay`: the stream consumers of the running local pipeline, run again over
// records still in their streams (functions/redrive/redrive.ts, the code the deployed redrive function runs).
//   npm run redrive [-- --json]
//       every on-failure message no redrive has settled yet (.local data dir, dead-letters/*.jsonl): its range
//       read back from the stream and handed to the same consumer; what the stream no longer holds is reported
//   npm run replay -- --from <time> [--to <time>] [--json]
//       events-raw from a time through the enrich stage again (after fixing an enrichment); what it had
//       delivered before is not delivered twice
//   --endpoints-file <path>  the running stack's endpoints (default .local/endpoints.json)
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { kinesisClient, s3Client } from '../functions/shared/aws-clients.js';
import { redriveDeadLetter, replayStream, storeReport, totalsOf, type RedriveReport } from '../functions/redrive/redrive.js';
import { runIdAt } from '../functions/shared/run-id.js';
import { localStreamConsumers } from '../local/stack.js';
import { markRedriven, openDeadLetters } from '../local/storage/dead-letter-queue.js';
import { operationArgs, runningStack, type CliIo } from './running-stack.js';

const REPOSITORY_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/** A replay stops this far before now: newer records are the live consumer's (two writers of one id at once could both write it). */
export const LIVE_MARGIN_MS = 60_000;

const USAGE = `Usage: npm run redrive [-- --json] [--endpoints-file <path>]
       npm run replay -- --from <ISO time> [--to <ISO time>] [--json] [--endpoints-file <path>]`;

/** Runs the CLI (`mode` redrive or replay); returns the exit code. */
export async function runRedriveCli(mode: 'redrive' | 'replay', argv: string[], io: CliIo, repositoryRoot = REPOSITORY_ROOT): Promise<number> {
  const args = operationArgs(argv, { from: { type: 'string' }, to: { type: 'string' } }, USAGE, io, repositoryRoot);
  if ('exit' in args) return args.exit;
  const values = args.values as typeof args.values & { from?: string; to?: string };
  let window: { from: Date; to: Date } | undefined;
  if (mode === 'replay') {
    const from = values.from === undefined ? Number.NaN : Date.parse(values.from);
    const to = values.to === undefined ? Date.now() - LIVE_MARGIN_MS : Date.parse(values.to);
    if (Number.isNaN(from) || Number.isNaN(to) || from >= to) {
      io.stderr(`--from must be a time (ISO 8601) before --to (default: a minute ago); got ${values.from ?? 'none'} and ${values.to ?? 'none'}\n${USAGE}\n`);
      return 2;
    }
    // An explicit --to is taken as given: the person knows the live consumer is past it (npm start's status line says).
    window = { from: new Date(from), to: new Date(to) };
  } else if (values.from !== undefined || values.to !== undefined) {
    io.stderr(`--from and --to are for npm run replay\n${USAGE}\n`);
    return 2;
  }
  const endpoints = runningStack(values['endpoints-file'], io, 'its consumers are the ones run again');
  if (!endpoints) return 1;

  const consumers = await localStreamConsumers(endpoints);
  const kinesis = kinesisClient();
  const s3 = s3Client();
  const started = Date.now();
  const runId = runIdAt(started);
  try {
    const report: RedriveReport = { runId, startedAt: new Date(started).toISOString(), finishedAt: '', kind: mode, totals: { records: 0, done: 0, stillFailing: 0, pastRetention: 0 }, reportKey: null };
    if (window) {
      const enrich = consumers.find((c) => c.source.streamName === endpoints.streams.raw);
      if (!enrich) throw new Error(`no consumer of ${endpoints.streams.raw} in serverless.yml`);
      const stream = { streamName: enrich.source.streamName, streamArn: `arn:aws:kinesis:${endpoints.region}:000000000000:stream/${enrich.source.streamName}` };
      const shards = await replayStream(stream, window, { kinesis, invoke: enrich.invoke, batchSize: enrich.source.settings.batchSize, region: endpoints.region });
      report.replay = { stream: stream.streamName, from: window.from.toISOString(), to: window.to.toISOString(), shards };
    } else {
      report.deadLetters = [];
      for (const consumer of consumers) {
        const queue = consumer.source.onFailure?.name;
        if (!queue) continue;
        for (const message of openDeadLetters(endpoints.dataDir, queue)) {
          const outcome = await redriveDeadLetter(message, { kinesis, invoke: consumer.invoke, batchSize: consumer.source.settings.batchSize, region: endpoints.region });
          report.deadLetters.push({ queue, ...outcome });
          if (outcome.settled) markRedriven(endpoints.dataDir, queue, message, runId);
        }
      }
    }
    report.totals = totalsOf(report);
    report.finishedAt = new Date().toISOString();
    const stored = await storeReport(s3, endpoints.lakeBucket, report);
    io.stdout(values.json ? `${JSON.stringify(stored)}\n` : describe(stored));
    return stored.totals.stillFailing > 0 ? 1 : 0;
  } finally {
    kinesis.destroy();
    s3.destroy();
  }
}

function describe(report: RedriveReport): string {
  const t = report.totals;
  const lines: string[] = [];
  if (report.kind === 'replay' && report.replay) {
    lines.push(`Replayed ${report.replay.stream} from ${report.replay.from} to ${report.replay.to}: ${t.records} records through the enrich stage again`);
    for (const s of report.replay.shards) lines.push(`  ${s.shardId}  ${s.run.records} records, ${s.run.done} done${s.run.stillFailing.length ? `, ${s.run.stillFailing.length} still failing` : ''}`);
    lines.push('What had been delivered before was dropped as a duplicate by its messageId; the rest is on its way to the lake.');
  } else {
    lines.push(`${report.deadLetters?.length ?? 0} on-failure message(s) redriven: ${t.records} records read back, ${t.done} done, ${t.stillFailing} still failing`);
    for (const d of report.deadLetters ?? []) {
      lines.push(`  ${d.queue}  ${d.shardId} ${d.startSequenceNumber}…${d.endSequenceNumber} (${d.batchSize} records, ${d.condition}): ${d.run.done} done${d.run.stillFailing.length ? `, ${d.run.stillFailing.length} still failing (kept for the next redrive)` : ''}`);
      if (d.pastRetention) lines.push(`    past retention: ${d.pastRetention.records} record(s) from ${d.pastRetention.fromSequenceNumber} to ${d.pastRetention.toSequenceNumber}: ${d.pastRetention.reason}`);
    }
  }
  if (report.reportKey) lines.push(`Report: s3://<lake>/${report.reportKey}`);
  return `${lines.join('\n')}\n`;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const [first, ...rest] = process.argv.slice(2);
  const mode = first === 'replay' ? 'replay' : 'redrive';
  const args = first === 'replay' || first === 'redrive' ? rest : process.argv.slice(2);
  process.exitCode = await runRedriveCli(mode, args, { stdout: (t) => process.stdout.write(t), stderr: (t) => process.stderr.write(t) });
}
