// Recover Lambda: started by hand, never by an event source (README "Recover bad rows"):
//   npx serverless invoke --stage <stage> --function recover --data '{"from":"2026-11-22","to":"2026-11-23","fix":[…]}'
// The work is in ./recover.ts, the same code `npm run recover` runs locally; the report is the answer, and
// s3://<lake>/audit/recover/<run id>.json keeps it.
import { Logger } from '@aws-lambda-powertools/logger';
import type { Context } from 'aws-lambda';
import { kinesisClient, s3Client } from '../shared/aws-clients.js';

import { KinesisBatchWriter } from '../shared/kinesis-batch-writer.js';
import { requiredSetting } from '../shared/settings.js';
import { parseRecoverRequest, recoverBadRows, type RecoveryReport } from './recover.js';

const stream = requiredSetting(process.env, 'RAW_STREAM_NAME');
const bucket = requiredSetting(process.env, 'LAKE_BUCKET_NAME');
const logger = new Logger({ serviceName: process.env['POWERTOOLS_SERVICE_NAME'] ?? 'recover' });
const writer = new KinesisBatchWriter({ client: kinesisClient({ maxAttempts: 1, requestTimeout: 5_000 }), stream });
const s3 = s3Client();

/** Time kept back to write the record and the report after the last send. */
const MARGIN_MS = 30_000;

export async function handler(event: unknown, context: Context): Promise<RecoveryReport> {
  const request = parseRecoverRequest(event);
  const report = await recoverBadRows(request, { s3, bucket, writer, deadline: Date.now() + context.getRemainingTimeInMillis() - MARGIN_MS });
  logger.info('recovery finished', { runId: report.runId, selected: report.selected, recovered: report.recovered, stillFailing: report.stillFailing, reportKey: report.reportKey });
  return report;
}
