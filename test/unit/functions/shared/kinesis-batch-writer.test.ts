import { KinesisClient, PutRecordsCommand, ResourceNotFoundException, ProvisionedThroughputExceededException } from '@aws-sdk/client-kinesis';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { StreamWriteError } from '../../../../functions/shared/errors.js';
import {
  chunkForPutRecords,
  KinesisBatchWriter,
  MAX_BYTES_PER_CALL,
  MAX_RECORDS_PER_CALL,
  type StreamRecord,
} from '../../../../functions/shared/kinesis-batch-writer.js';

const kinesis = mockClient(KinesisClient);
const record = (i: number, bytes = 64): StreamRecord => ({ data: Buffer.alloc(bytes, i % 256), partitionKey: `user-${i}` });
const records = (n: number, bytes?: number) => Array.from({ length: n }, (_, i) => record(i, bytes));
const far = () => Date.now() + 60_000;

/** A writer with a fake clock: sleeping advances time instantly, so backoff is observable. */
function fakeTimeWriter(extra: Partial<ConstructorParameters<typeof KinesisBatchWriter>[0]> = {}) {
  let clock = 1_000_000;
  const sleeps: number[] = [];
  const writer = new KinesisBatchWriter({
    client: new KinesisClient({ region: 'us-east-1' }),
    stream: 'events-raw',
    now: () => clock,
    random: () => 0.999,
    sleep: async (ms) => {
      sleeps.push(ms);
      clock += ms;
    },
    ...extra,
  });
  return { writer, sleeps, now: () => clock };
}

beforeEach(() => kinesis.reset());

describe('chunkForPutRecords', () => {
  it('splits at 500 records per call', () => {
    const input = records(1201);
    const chunks = chunkForPutRecords(input, input.map((_, i) => i));
    expect(chunks.map((c) => c.length)).toEqual([MAX_RECORDS_PER_CALL, MAX_RECORDS_PER_CALL, 201]);
    expect(chunks.flat()).toEqual(input.map((_, i) => i));
  });

  it('splits at 5 MiB per call, counting partition keys', () => {
    // Five records fill exactly 5 MiB with their keys; a sixth must start a new call.
    const key = 'k';
    const dataBytes = MAX_BYTES_PER_CALL / 5 - key.length;
    const input = Array.from({ length: 6 }, () => ({ data: Buffer.alloc(dataBytes), partitionKey: key }));
    expect(chunkForPutRecords(input, [0, 1, 2, 3, 4, 5]).map((c) => c.length)).toEqual([5, 1]);
    const oneByteMore = input.map((r) => ({ ...r, data: Buffer.alloc(dataBytes + 1) }));
    expect(chunkForPutRecords(oneByteMore, [0, 1, 2, 3, 4, 5]).map((c) => c.length)).toEqual([4, 2]);
  });
});

describe('KinesisBatchWriter', () => {
  it('writes every record in calls of at most 500', async () => {
    kinesis.on(PutRecordsCommand).callsFake((input) => ({ FailedRecordCount: 0, Records: input.Records.map(() => ({ SequenceNumber: '1', ShardId: 'shardId-000000000000' })) }));
    const writer = new KinesisBatchWriter({ client: new KinesisClient({ region: 'us-east-1' }), stream: 'events-raw' });
    const result = await writer.write(records(1100), { deadline: far() });
    expect(result.failed).toEqual([]);
    const calls = kinesis.commandCalls(PutRecordsCommand);
    expect(calls.map((c) => c.args[0].input.Records?.length)).toEqual([500, 500, 100]);
    expect(calls[0]!.args[0].input.StreamName).toBe('events-raw');
  });

  it('retries only the records that failed, in their original order', async () => {
    kinesis
      .on(PutRecordsCommand)
      .resolvesOnce({
        FailedRecordCount: 2,
        Records: [
          { SequenceNumber: '1', ShardId: 's0' },
          { ErrorCode: 'ProvisionedThroughputExceededException', ErrorMessage: 'Rate exceeded' },
          { SequenceNumber: '2', ShardId: 's0' },
          { ErrorCode: 'InternalFailure', ErrorMessage: 'Internal service failure.' },
        ],
      })
      .resolves({ FailedRecordCount: 0, Records: [{ SequenceNumber: '3' }, { SequenceNumber: '4' }] });
    const { writer, sleeps } = fakeTimeWriter();
    const input = records(4);

    const result = await writer.write(input, { deadline: 1_000_000 + 10_000 });

    expect(result).toMatchObject({ failed: [], calls: 2 });
    const retried = kinesis.commandCalls(PutRecordsCommand)[1]!.args[0].input.Records!;
    expect(retried.map((r) => r.PartitionKey)).toEqual(['user-1', 'user-3']);
    expect(sleeps).toHaveLength(1);
  });

  it('retries a throttled call with exponential backoff and full jitter', async () => {
    const throttled = new ProvisionedThroughputExceededException({ message: 'Rate exceeded', $metadata: { httpStatusCode: 400 } });
    kinesis.on(PutRecordsCommand).rejectsOnce(throttled).rejectsOnce(throttled).rejectsOnce(throttled).resolves({ FailedRecordCount: 0, Records: [{}, {}] });
    const { writer, sleeps } = fakeTimeWriter({ baseDelayMs: 100, maxDelayMs: 350 });

    const result = await writer.write(records(2), { deadline: 1_000_000 + 10_000 });

    expect(result.failed).toEqual([]);
    // random() = 0.999 sits at the top of each window: min(cap, base * 2^attempt).
    expect(sleeps).toEqual([199, 349, 349]);
  });

  it('draws each backoff uniformly from zero to the window (full jitter)', async () => {
    kinesis.on(PutRecordsCommand).rejects(new ProvisionedThroughputExceededException({ message: 'x', $metadata: {} }));
    const { writer, sleeps } = fakeTimeWriter({ baseDelayMs: 100, maxDelayMs: 10_000, random: () => 0.5 });
    await writer.write(records(1), { deadline: 1_000_000 + 1_000 });
    expect(sleeps.slice(0, 3)).toEqual([100, 200, 400]);
  });

  it('gives up at the deadline and reports exactly the records it could not write', async () => {
    kinesis.on(PutRecordsCommand).callsFake((input) => ({
      FailedRecordCount: 1,
      Records: input.Records.map((r: { PartitionKey: string }) =>
        r.PartitionKey === 'user-2' ? { ErrorCode: 'ProvisionedThroughputExceededException' } : { SequenceNumber: '1' },
      ),
    }));
    const { writer, now } = fakeTimeWriter();
    const deadline = 1_000_000 + 3_000;

    const result = await writer.write(records(5), { deadline });

    expect(result.failed).toEqual([2]);
    expect(result.lastErrorCode).toBe('ProvisionedThroughputExceededException');
    expect(now()).toBeLessThan(deadline);
  });

  it('throws a StreamWriteError for errors that retrying cannot fix', async () => {
    kinesis.on(PutRecordsCommand).rejects(new ResourceNotFoundException({ message: 'Stream events-raw not found', $metadata: { httpStatusCode: 400 } }));
    const { writer } = fakeTimeWriter();
    await expect(writer.write(records(3), { deadline: 1_000_000 + 5_000 })).rejects.toBeInstanceOf(StreamWriteError);
    expect(kinesis.commandCalls(PutRecordsCommand)).toHaveLength(1);
  });

  it('treats a request that got no answer (connection refused) as retryable', async () => {
    const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:4568'), { code: 'ECONNREFUSED' });
    kinesis.on(PutRecordsCommand).rejectsOnce(refused).resolves({ FailedRecordCount: 0, Records: [{}] });
    const { writer } = fakeTimeWriter();
    expect((await writer.write(records(1), { deadline: 1_000_000 + 5_000 })).failed).toEqual([]);
  });

  it('addresses the stream by ARN when given one', async () => {
    kinesis.on(PutRecordsCommand).resolves({ FailedRecordCount: 0, Records: [{}] });
    const arn = 'arn:aws:kinesis:us-east-1:000000000000:stream/events-raw';
    const writer = new KinesisBatchWriter({ client: new KinesisClient({ region: 'us-east-1' }), stream: arn });
    await writer.write(records(1), { deadline: far() });
    const input = kinesis.commandCalls(PutRecordsCommand)[0]!.args[0].input;
    expect(input.StreamARN).toBe(arn);
    expect(input.StreamName).toBeUndefined();
  });
});
