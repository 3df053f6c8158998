import { GetObjectCommand, NoSuchKey, S3Client } from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SUPPRESSION_LIST_KEY, SuppressionList } from '../../../../functions/shared/suppression.js';
import type { FirehoseTransformationEvent, FirehoseTransformationResult } from 'aws-lambda';
import { lambdaContext } from '../../../helpers/factories.js';
import { decodeRow, enrichedEvent, firehoseEvent } from '../../../helpers/lake.js';

describe('firehose-transform handler', () => {
  let handler: (event: FirehoseTransformationEvent, context: unknown) => Promise<FirehoseTransformationResult>;
  const previous = process.env['POWERTOOLS_LOG_LEVEL'];

  const s3 = mockClient(S3Client);
  let list: SuppressionList | undefined;
  beforeAll(async () => {
    process.env['POWERTOOLS_LOG_LEVEL'] = 'SILENT';
    process.env['LAKE_BUCKET_NAME'] = 'lake';
    process.env['ERASURE_REFRESH_SECONDS'] = '0.001';
    s3.on(GetObjectCommand, { Bucket: 'lake', Key: SUPPRESSION_LIST_KEY }).callsFake(async () => {
      if (!list) throw new NoSuchKey({ message: 'The specified key does not exist.', $metadata: {} });
      const body = JSON.stringify(list.with({}, '2026-12-01T00:00:00Z'));
      return { Body: { transformToString: async () => body } };
    });
    ({ handler } = (await import('../../../../functions/firehose-transform/handler.js')) as unknown as { handler: typeof handler });
  });
  afterAll(() => {
    s3.restore();
    delete process.env['ERASURE_REFRESH_SECONDS'];
    if (previous === undefined) delete process.env['POWERTOOLS_LOG_LEVEL'];
    else process.env['POWERTOOLS_LOG_LEVEL'] = previous;
  });

  it('answers a Firehose invocation with one result per record', async () => {
    const event = firehoseEvent([enrichedEvent(), 'not an event']);
    const result = await handler(event, lambdaContext());
    expect(result.records.map((r) => [r.recordId, r.result])).toEqual([
      [event.records[0]!.recordId, 'Ok'],
      [event.records[1]!.recordId, 'ProcessingFailed'],
    ]);
    expect(decodeRow(result.records[0]!.data)['message_id']).toBe('msg-0001');
  });

  it('answers Dropped for the rows of a person on the suppression list, read from the lake bucket', async () => {
    list = new SuppressionList(SuppressionList.EMPTY.with({ user: ['u-erased'] }, '2026-12-01T00:00:00Z'));
    try {
      const event = firehoseEvent([enrichedEvent({ messageId: 'm-1', userId: 'u-erased' }), enrichedEvent({ messageId: 'm-2', userId: 'u-kept' })]);
      const result = await handler(event, lambdaContext());
      expect(result.records.map((r) => r.result)).toEqual(['Dropped', 'Ok']);
      expect(decodeRow(result.records[1]!.data)['message_id']).toBe('m-2');
    } finally {
      list = undefined;
    }
  });
});
