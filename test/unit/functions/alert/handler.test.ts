// The alert Lambda through its real wiring (Powertools batch processor, middy, the shared DedupStore and
// partial-batch response), with DynamoDB and SNS mocked. Every call is logged in order.
import { BatchGetItemCommand, BatchWriteItemCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { PublishBatchCommand, SNSClient, type PublishBatchCommandInput } from '@aws-sdk/client-sns';
import type { KinesisStreamBatchResponse } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type * as HandlerModule from '../../../../functions/alert/handler.js';
import { anomalyRow, ANOMALIES_STREAM_ARN } from '../../../helpers/analytics.js';
import { kinesisEvent, lambdaContext, sequenceNumber, type KinesisRecordOptions } from '../../../helpers/factories.js';

const dynamo = mockClient(DynamoDBClient);
const sns = mockClient(SNSClient);
let handler: typeof HandlerModule.handler;

let calls: string[] = [];
/** Anomaly ids the stub dedup table has marked. */
let marked = new Set<string>();
/** Anomaly ids SNS refuses (as if throttled). */
let refused = new Set<string>();

const A = anomalyRow();
const B = anomalyRow({ metric: 'error_events', observed: 30, expected: 2, stddev: 1.4, score: 20, severity: 'critical' });
const C = anomalyRow({ metric: 'bot_share', observed: 0.6, expected: 0.05, stddev: 0.02, score: 27.5 });
const onAnomalies = (rows: unknown[]) => kinesisEvent(rows.map((row): [unknown, KinesisRecordOptions] => [row, { streamArn: ANOMALIES_STREAM_ARN, partitionKey: 'p' }]));

beforeAll(async () => {
  Object.assign(process.env, {
    ALERT_TOPIC_ARN: 'arn:aws:sns:us-east-1:123456789012:clickstream-dev-alerts',
    DEDUP_TABLE_NAME: 'clickstream-dev-alert-dedup',
    POWERTOOLS_LOG_LEVEL: 'SILENT',
  });
  ({ handler } = await import('../../../../functions/alert/handler.js'));
});

beforeEach(() => {
  calls = [];
  marked = new Set();
  refused = new Set();
  dynamo.reset();
  sns.reset();
  dynamo.on(BatchGetItemCommand).callsFake((input) => {
    const table = Object.keys(input.RequestItems)[0]!;
    const ids = (input.RequestItems[table].Keys as { anomalyId: { S: string } }[]).map((k) => k.anomalyId.S);
    calls.push(`lookup:${ids.length}`);
    const expiresAt = String(Math.floor(Date.now() / 1000) + 3_600);
    return { Responses: { [table]: ids.filter((id) => marked.has(id)).map((id) => ({ anomalyId: { S: id }, expiresAt: { N: expiresAt } })) } };
  });
  dynamo.on(BatchWriteItemCommand).callsFake((input) => {
    for (const request of Object.values(input.RequestItems as Record<string, { PutRequest: { Item: { anomalyId: { S: string } } } }[]>)[0]!) {
      const id = request.PutRequest.Item.anomalyId.S;
      calls.push(`mark:${id.slice(0, 6)}`);
      marked.add(id);
    }
    return {};
  });
  sns.on(PublishBatchCommand).callsFake((input: PublishBatchCommandInput) => {
    const entries = input.PublishBatchRequestEntries!;
    calls.push(`publish:${entries.map((e) => e.Id!.slice(0, 6)).join(',')}`);
    return {
      Successful: entries.filter((e) => !refused.has(e.Id!)).map((e) => ({ Id: e.Id })),
      Failed: entries.filter((e) => refused.has(e.Id!)).map((e) => ({ Id: e.Id, Code: 'Throttled', SenderFault: false })),
    };
  });
});

const invoke = (event: ReturnType<typeof onAnomalies>) => handler(event, lambdaContext()) as Promise<KinesisStreamBatchResponse>;
const short = (row: { id: string }) => row.id.slice(0, 6);

describe('alert handler', () => {
  it('publishes each new anomaly once, then marks it; repeats in the batch are not published', async () => {
    const response = await invoke(onAnomalies([A, B, A]));
    expect(response).toEqual({ batchItemFailures: [] });
    expect(calls.slice(0, 2)).toEqual(['lookup:2', `publish:${short(A)},${short(B)}`]);
    expect(calls.slice(2).sort()).toEqual([`mark:${short(A)}`, `mark:${short(B)}`].sort()); // marks run side by side
    const [entryA] = sns.commandCalls(PublishBatchCommand)[0]!.args[0].input.PublishBatchRequestEntries!;
    expect(entryA!.Subject).toBe('[CRITICAL] Events spike on all: 420 vs 100 expected (z +6.4)');
  });

  it('does not publish again what an earlier invocation published (a Flink replay after a restore)', async () => {
    marked.add(A.id);
    await invoke(onAnomalies([A, C]));
    expect(calls.filter((c) => c.startsWith('publish'))).toEqual([`publish:${short(C)}`]);
  });

  it('reports only the records SNS refused, so Lambda retries exactly those and nothing is marked for them', async () => {
    refused.add(B.id);
    const response = await invoke(onAnomalies([A, B, C]));
    expect(response.batchItemFailures).toEqual([{ itemIdentifier: sequenceNumber(1) }]);
    expect(marked).toEqual(new Set([A.id, C.id]));
  });

  it('skips records that are not anomaly rows instead of retrying them forever', async () => {
    const response = await invoke(onAnomalies([{ id: 'nope' }, A]));
    expect(response).toEqual({ batchItemFailures: [] });
    expect(calls.filter((c) => c.startsWith('publish'))).toEqual([`publish:${short(A)}`]);
  });

  it('fails the invocation when the dedup table cannot be asked, so the batch is retried (bisected), never published unchecked', async () => {
    dynamo.on(BatchGetItemCommand).rejects(Object.assign(new Error('Requested resource not found'), { name: 'ResourceNotFoundException', $metadata: { httpStatusCode: 400 } }));
    // Every record to retry: Powertools throws (FullBatchFailureError), as for enrich; Lambda retries the batch.
    await expect(invoke(onAnomalies([A, B]))).rejects.toThrow(/All records failed/);
    expect(sns.commandCalls(PublishBatchCommand)).toHaveLength(0);
    expect(marked.size).toBe(0);
  });
});
