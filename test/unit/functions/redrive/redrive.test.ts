import { GetRecordsCommand, GetShardIteratorCommand, KinesisClient } from '@aws-sdk/client-kinesis';
import type { KinesisStreamEvent } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import { redriveDeadLetter } from '../../../../functions/redrive/redrive.js';
import type { KinesisOnFailureRecord } from '../../../../functions/shared/on-failure-record.js';

const kinesisMock = mockClient(KinesisClient);
afterEach(() => kinesisMock.reset());
const kinesis = new KinesisClient({ region: 'us-east-1' });

const message = (start: string, end: string, batchSize: number): KinesisOnFailureRecord => ({
  requestContext: { requestId: 'r', functionArn: 'arn:aws:lambda:us-east-1:1:function:enrich', condition: 'RecordAgeExceeded', approximateInvokeCount: 1 },
  version: '1.0',
  timestamp: '2026-12-01T00:00:00.000Z',
  KinesisBatchInfo: { shardId: 'shardId-000000000001', startSequenceNumber: start, endSequenceNumber: end, approximateArrivalOfFirstRecord: '', approximateArrivalOfLastRecord: '', batchSize, streamArn: 'arn:aws:kinesis:us-east-1:1:stream/events-raw' },
});
const record = (seq: number) => ({ SequenceNumber: String(seq), PartitionKey: 'p', Data: Buffer.from(`{"n":${seq}}`), ApproximateArrivalTimestamp: new Date(0) });

describe('redriveDeadLetter', () => {
  it('reports the start of a range the stream trimmed, with its range, and redrives the rest', async () => {
    kinesisMock.on(GetShardIteratorCommand).resolves({ ShardIterator: 'it-1' });
    // Past its retention, the stream starts at its trim horizon (105): 100–104 are gone; 111 is past the range.
    kinesisMock.on(GetRecordsCommand).resolves({ Records: [105, 106, 107, 108, 109, 110, 111].map(record), NextShardIterator: 'it-2', MillisBehindLatest: 0 });
    const seen: string[] = [];
    const outcome = await redriveDeadLetter(message('100', '110', 11), {
      kinesis,
      invoke: async (event: KinesisStreamEvent) => {
        seen.push(...event.Records.map((r) => r.kinesis.sequenceNumber));
        return { batchItemFailures: [] };
      },
    });
    expect(seen).toEqual(['105', '106', '107', '108', '109', '110']);
    expect(outcome.pastRetention).toEqual({ fromSequenceNumber: '100', toSequenceNumber: '105', records: 5, reason: 'the stream no longer holds the start of the range' });
    expect(outcome.run).toEqual({ records: 6, done: 6, stillFailing: [] });
    expect(outcome.settled).toBe(true);
    expect(kinesisMock.commandCalls(GetShardIteratorCommand)[0]!.args[0].input).toMatchObject({ StreamName: 'events-raw', ShardIteratorType: 'AT_SEQUENCE_NUMBER', StartingSequenceNumber: '100' });
  });

  it('hands failed records (and the rest of their batch) to the consumer again, and keeps the message when they still fail', async () => {
    kinesisMock.on(GetShardIteratorCommand).resolves({ ShardIterator: 'it-1' });
    kinesisMock.on(GetRecordsCommand).resolves({ Records: [1, 2, 3, 4].map(record), MillisBehindLatest: 0 });
    const calls: string[][] = [];
    const outcome = await redriveDeadLetter(message('1', '4', 4), {
      kinesis,
      attempts: 2,
      invoke: async (event) => {
        calls.push(event.Records.map((r) => r.kinesis.sequenceNumber));
        return { batchItemFailures: [{ itemIdentifier: '3' }] };
      },
    });
    expect(calls).toEqual([['1', '2', '3', '4'], ['3', '4']]);
    expect(outcome.run).toEqual({ records: 4, done: 2, stillFailing: ['3', '4'] });
    expect(outcome.settled).toBe(false);
    expect(outcome.pastRetention).toBeNull();
  });
});
