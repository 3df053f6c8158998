import { PublishBatchCommand, SNSClient, type PublishBatchCommandInput } from '@aws-sdk/client-sns';
import { mockClient } from 'aws-sdk-client-mock';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import { alertMessage } from '../../../../functions/alert/alert-message.js';
import { AlertPublishError } from '../../../../functions/alert/errors.js';
import { createAlertPublisher, JsonLinesAlertPublisher, SnsAlertPublisher } from '../../../../functions/alert/publishers.js';
import { anomalyRow } from '../../../helpers/analytics.js';

const TOPIC = 'arn:aws:sns:us-east-1:123456789012:clickstream-dev-alerts';
const sns = mockClient(SNSClient);
const alerts = (n: number) => Array.from({ length: n }, (_, i) => alertMessage(anomalyRow({ window_start: `2026-11-22T10:${String(i).padStart(2, '0')}:00.000Z` })));
const deadline = () => Date.now() + 5_000;

beforeEach(() => sns.reset());

describe('SNS publisher', () => {
  it('publishes in PublishBatch calls of at most 10, with subject, body and filterable attributes', async () => {
    sns.on(PublishBatchCommand).callsFake((input: PublishBatchCommandInput) => ({ Successful: input.PublishBatchRequestEntries!.map((e) => ({ Id: e.Id })), Failed: [] }));
    const publisher = new SnsAlertPublisher({ client: new SNSClient({ region: 'us-east-1' }), topicArn: TOPIC });
    const batch = alerts(23);
    expect(await publisher.publish(batch, { deadline: deadline() })).toEqual({ failed: new Set() });
    const calls = sns.commandCalls(PublishBatchCommand).map((c) => c.args[0].input);
    expect(calls.map((c) => c.PublishBatchRequestEntries!.length)).toEqual([10, 10, 3]);
    expect(calls[0]!.TopicArn).toBe(TOPIC);
    expect(calls[0]!.PublishBatchRequestEntries![0]).toEqual({
      Id: batch[0]!.id,
      Subject: batch[0]!.subject,
      Message: batch[0]!.body,
      MessageAttributes: {
        severity: { DataType: 'String', StringValue: 'critical' },
        metric: { DataType: 'String', StringValue: 'total_events' },
        direction: { DataType: 'String', StringValue: 'spike' },
      },
    });
  });

  it('names the entries SNS refused and the calls that were throttled, to retry them', async () => {
    const batch = alerts(12);
    sns
      .on(PublishBatchCommand)
      .resolvesOnce({ Successful: batch.slice(1, 10).map((a) => ({ Id: a.id })), Failed: [{ Id: batch[0]!.id, Code: 'InternalError', SenderFault: false }] })
      .rejectsOnce(Object.assign(new Error('Rate exceeded'), { name: 'ThrottledException', $metadata: { httpStatusCode: 429 } }));
    const publisher = new SnsAlertPublisher({ client: new SNSClient({ region: 'us-east-1' }), topicArn: TOPIC });
    const result = await publisher.publish(batch, { deadline: deadline() });
    expect([...result.failed].sort()).toEqual([batch[0]!.id, batch[10]!.id, batch[11]!.id].sort());
    expect(result.lastError).toBe('ThrottledException');
  });

  it('raises AlertPublishError when retrying cannot help (no such topic, access denied)', async () => {
    sns.on(PublishBatchCommand).rejects(Object.assign(new Error('Topic does not exist'), { name: 'NotFoundException', $metadata: { httpStatusCode: 404 } }));
    const publisher = new SnsAlertPublisher({ client: new SNSClient({ region: 'us-east-1' }), topicArn: TOPIC });
    await expect(publisher.publish(alerts(1), { deadline: deadline() })).rejects.toBeInstanceOf(AlertPublishError);
  });
});

describe('JSON-lines publisher', () => {
  it('appends one line per alert with the message and the anomaly, creating the directory', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'alerts-'));
    try {
      const file = join(dir, 'nested', 'alerts.jsonl');
      const publisher = createAlertPublisher({ kind: 'file', path: file }, { sns: () => { throw new Error('no SNS client for a file destination'); } });
      expect(publisher).toBeInstanceOf(JsonLinesAlertPublisher);
      const batch = alerts(2);
      await publisher.publish(batch.slice(0, 1), { deadline: deadline() });
      await publisher.publish(batch.slice(1), { deadline: deadline() });
      const lines = (await readFile(file, 'utf8')).trimEnd().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
      expect(lines).toHaveLength(2);
      expect(lines[1]).toMatchObject({ id: batch[1]!.id, subject: batch[1]!.subject, message: batch[1]!.body, anomaly: batch[1]!.anomaly });
      expect(publisher.destination).toBe(`file:${file}`);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('selects SNS for an sns destination', () => {
    const publisher = createAlertPublisher({ kind: 'sns', topicArn: TOPIC }, { sns: () => new SNSClient({ region: 'us-east-1' }) });
    expect(publisher).toBeInstanceOf(SnsAlertPublisher);
    expect(publisher.destination).toBe(TOPIC);
  });
});
