import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FirehoseTransformationEvent, FirehoseTransformationResult } from 'aws-lambda';
import { lambdaContext } from '../../../helpers/factories.js';
import { decodeRow, enrichedEvent, firehoseEvent } from '../../../helpers/lake.js';

describe('firehose-transform handler', () => {
  let handler: (event: FirehoseTransformationEvent, context: unknown) => Promise<FirehoseTransformationResult>;
  const previous = process.env['POWERTOOLS_LOG_LEVEL'];

  beforeAll(async () => {
    process.env['POWERTOOLS_LOG_LEVEL'] = 'SILENT';
    ({ handler } = (await import('../../../../functions/firehose-transform/handler.js')) as unknown as { handler: typeof handler });
  });
  afterAll(() => {
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
});
