// Redrive Lambda: started by hand, never by an event source (README "Redrive dead letters and replay"):
//   npx serverless invoke --stage <stage> --function redrive --data '{"redrive":true}'
//   npx serverless invoke --stage <stage> --function redrive --data '{"replay":{"from":"2026-11-30T08:00:00Z","to":"2026-11-30T12:00:00Z"}}'
// redrive: every message of the consumers' on-failure queues, its range read back from the stream and handed
// to the consumer function itself (a synchronous Invoke: the same code, role and settings); a message is
// deleted once every record of it is done or reported past retention, and otherwise left for the next run.
// replay: events-raw from a time through the enrich function again. The work is in ./redrive.ts, the same code
// `npm run redrive` / `npm run replay` run locally; the report is the answer, and audit/redrive/ keeps it.
import { Logger } from '@aws-lambda-powertools/logger';
import { InvokeCommand } from '@aws-sdk/client-lambda';
import { DeleteMessageCommand, ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import type { Context, KinesisStreamBatchResponse, KinesisStreamEvent } from 'aws-lambda';
import { kinesisClient, lambdaClient, s3Client, sqsClient } from '../shared/aws-clients.js';
import type { KinesisOnFailureRecord } from '../shared/on-failure-record.js';
import { runIdAt } from '../shared/run-id.js';
import { requiredSetting } from '../shared/settings.js';
import { redriveDeadLetter, replayStream, storeReport, streamNameOf, totalsOf, type ConsumerInvoker, type RedriveReport } from './redrive.js';

const bucket = requiredSetting(process.env, 'LAKE_BUCKET_NAME');
const rawStreamArn = requiredSetting(process.env, 'RAW_STREAM_ARN');
const enrichFunction = requiredSetting(process.env, 'ENRICH_FUNCTION_NAME');
/** The on-failure queues of the stream consumers. */
const queues = [requiredSetting(process.env, 'ENRICH_DEAD_LETTER_QUEUE_URL'), requiredSetting(process.env, 'ALERT_DEAD_LETTER_QUEUE_URL')];
const logger = new Logger({ serviceName: process.env['POWERTOOLS_SERVICE_NAME'] ?? 'redrive' });
const kinesis = kinesisClient();
const lambda = lambdaClient();
const sqs = sqsClient();
const s3 = s3Client();

/** Time kept back to write the report. */
const MARGIN_MS = 60_000;

const invokerOf =
  (functionName: string): ConsumerInvoker =>
  async (event: KinesisStreamEvent) => {
    const answer = await lambda.send(new InvokeCommand({ FunctionName: functionName, Payload: Buffer.from(JSON.stringify(event)) }));
    const text = Buffer.from(answer.Payload ?? new Uint8Array()).toString('utf8');
    if (answer.FunctionError) throw new Error(`${functionName} failed: ${text.slice(0, 500)}`);
    return (text ? JSON.parse(text) : undefined) as KinesisStreamBatchResponse | undefined;
  };

export async function handler(event: unknown, context: Context): Promise<RedriveReport> {
  const request = (event ?? {}) as { redrive?: unknown; replay?: { from?: unknown; to?: unknown } };
  const deadline = Date.now() + context.getRemainingTimeInMillis() - MARGIN_MS;
  const started = Date.now();
  const report: RedriveReport = { runId: runIdAt(started), startedAt: new Date(started).toISOString(), finishedAt: '', kind: 'redrive', totals: { records: 0, done: 0, stillFailing: 0, pastRetention: 0 }, reportKey: null };
  if (request.replay) {
    const from = Date.parse(String(request.replay.from));
    const to = request.replay.to === undefined ? started - 60_000 : Date.parse(String(request.replay.to));
    if (Number.isNaN(from) || Number.isNaN(to) || from >= to) throw new RangeError('replay needs {"from": <ISO time>, "to": <ISO time, default a minute ago>}, from before to');
    report.kind = 'replay';
    const shards = await replayStream({ streamName: streamNameOf(rawStreamArn), streamArn: rawStreamArn }, { from: new Date(from), to: new Date(Math.min(to, started - 60_000)) }, { kinesis, invoke: invokerOf(enrichFunction), deadline });
    report.replay = { stream: streamNameOf(rawStreamArn), from: new Date(from).toISOString(), to: new Date(to).toISOString(), shards };
  } else if (request.redrive === true) {
    report.deadLetters = [];
    for (const queueUrl of queues) {
      while (Date.now() < deadline) {
        const received = await sqs.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 1, VisibilityTimeout: 900 }));
        if (!received.Messages?.length) break;
        for (const message of received.Messages) {
          const failure = JSON.parse(message.Body ?? '{}') as KinesisOnFailureRecord;
          // The message names the consumer that gave up: the same function gets the records again.
          const outcome = await redriveDeadLetter(failure, { kinesis, invoke: invokerOf(failure.requestContext.functionArn), deadline });
          report.deadLetters.push({ queue: queueUrl.slice(queueUrl.lastIndexOf('/') + 1), ...outcome });
          if (outcome.settled) await sqs.send(new DeleteMessageCommand({ QueueUrl: queueUrl, ReceiptHandle: message.ReceiptHandle }));
        }
      }
    }
  } else {
    throw new RangeError('start it with {"redrive": true} or {"replay": {"from": "<ISO time>", "to": "<ISO time>"}}');
  }
  report.totals = totalsOf(report);
  report.finishedAt = new Date().toISOString();
  const stored = await storeReport(s3, bucket, report);
  logger.info('redrive finished', { runId: stored.runId, kind: stored.kind, totals: stored.totals, reportKey: stored.reportKey });
  return stored;
}
