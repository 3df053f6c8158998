// Erase Lambda: started by hand, never by an event source (README "Erase a person"):
//   npx serverless invoke --stage <stage> --function erase --data '{"userIds":["u-123"],"anonymousIds":["a-456"]}'
// The work is in ./erase.ts, the same code `npm run erase` runs locally; the report is the answer, and
// s3://<lake>/audit/erase/<run id>.json keeps it (ids as hashes only).
import { Logger } from '@aws-lambda-powertools/logger';
import type { Context } from 'aws-lambda';
import { s3Client } from '../shared/aws-clients.js';
import { ConfigError } from '../shared/errors.js';
import { requiredSetting } from '../shared/settings.js';
import { refreshSecondsFrom } from '../shared/suppression.js';
import { erasePeople, parseEraseRequest, settleSecondsFor, type ErasureReport } from './erase.js';

const bucket = requiredSetting(process.env, 'LAKE_BUCKET_NAME');
const bufferIntervalSeconds = Number(requiredSetting(process.env, 'FIREHOSE_BUFFER_INTERVAL_SECONDS'));
if (!Number.isFinite(bufferIntervalSeconds) || bufferIntervalSeconds < 0) throw new ConfigError('FIREHOSE_BUFFER_INTERVAL_SECONDS must be a number of seconds');
const settleSeconds = settleSecondsFor({ refreshSeconds: refreshSecondsFrom(process.env), bufferIntervalSeconds });
const logger = new Logger({ serviceName: process.env['POWERTOOLS_SERVICE_NAME'] ?? 'erase' });
const s3 = s3Client();

/** Time kept back to write the report. */
const MARGIN_MS = 30_000;

export async function handler(event: unknown, context: Context): Promise<ErasureReport> {
  const request = parseEraseRequest(event);
  const report = await erasePeople(request, {
    s3,
    bucket,
    settleSeconds,
    deadline: Date.now() + context.getRemainingTimeInMillis() - MARGIN_MS,
    progress: (line) => logger.info(line),
  });
  logger.info('erasure finished', { runId: report.runId, complete: report.complete, tables: report.tables, reportKey: report.reportKey });
  return report;
}
