// The Firehose writer: PutRecordBatch's bounds, per-record retries, and errors retrying cannot fix.
import { FirehoseClient, PutRecordBatchCommand, ResourceNotFoundException, ServiceUnavailableException } from '@aws-sdk/client-firehose';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { StreamWriteError } from '../../../../functions/shared/errors.js';
import { FIREHOSE_MAX_RECORD_BYTES, FirehoseBatchWriter } from '../../../../functions/shared/firehose-batch-writer.js';

const firehose = mockClient(FirehoseClient);
const records = (n: number, bytes = 100) => Array.from({ length: n }, (_, i) => Buffer.alloc(bytes, i % 256));
const writer = () => new FirehoseBatchWriter({ client: new FirehoseClient({ region: 'us-east-1' }), deliveryStream: 'clickstream-dev-identities', sleep: async () => {} });
const far = () => Date.now() + 60_000;

beforeEach(() => firehose.reset());

describe('FirehoseBatchWriter', () => {
  it('puts at most 500 records and 4 MiB a call', async () => {
    firehose.on(PutRecordBatchCommand).callsFake((input: { Records: unknown[] }) => ({ FailedPutCount: 0, RequestResponses: input.Records.map((_, i) => ({ RecordId: `r${i}` })) }));
    expect(await writer().write(records(1001), { deadline: far() })).toEqual({ failed: [], calls: 3 });
    expect(firehose.commandCalls(PutRecordBatchCommand).map((c) => c.args[0].input.Records!.length)).toEqual([500, 500, 1]);
    firehose.resetHistory();
    await writer().write(records(9, 900 * 1024), { deadline: far() });
    expect(firehose.commandCalls(PutRecordBatchCommand).map((c) => c.args[0].input.Records!.length)).toEqual([4, 4, 1]);
    expect(firehose.commandCalls(PutRecordBatchCommand)[0]!.args[0].input.DeliveryStreamName).toBe('clickstream-dev-identities');
  });

  it('puts again only the records that failed, and a call that failed as a whole', async () => {
    firehose
      .on(PutRecordBatchCommand)
      .rejectsOnce(new ServiceUnavailableException({ message: 'slow down', $metadata: {} }))
      .resolvesOnce({ FailedPutCount: 1, RequestResponses: [{ RecordId: 'a' }, { ErrorCode: 'ServiceUnavailableException', ErrorMessage: 'busy' }, { RecordId: 'c' }] })
      .resolves({ FailedPutCount: 0, RequestResponses: [{ RecordId: 'b' }] });
    const input = records(3);
    expect(await writer().write(input, { deadline: far() })).toEqual({ failed: [], calls: 3, lastErrorCode: 'ServiceUnavailableException' });
    const calls = firehose.commandCalls(PutRecordBatchCommand).map((c) => c.args[0].input.Records!.map((r) => Buffer.from(r.Data!)[0]));
    expect(calls).toEqual([[0, 1, 2], [0, 1, 2], [1]]);
  });

  it('throws for a missing delivery stream, and refuses a record over 1,000 KiB', async () => {
    firehose.on(PutRecordBatchCommand).rejects(new ResourceNotFoundException({ message: 'no such stream', $metadata: { httpStatusCode: 400 } }));
    await expect(writer().write(records(1), { deadline: far() })).rejects.toBeInstanceOf(StreamWriteError);
    await expect(writer().write(records(1, FIREHOSE_MAX_RECORD_BYTES + 1), { deadline: far() })).rejects.toBeInstanceOf(RangeError);
  });

  it('reports what is left at the deadline', async () => {
    firehose.on(PutRecordBatchCommand).resolves({ FailedPutCount: 2, RequestResponses: [{ ErrorCode: 'ServiceUnavailableException' }, { ErrorCode: 'ServiceUnavailableException' }] });
    const result = await new FirehoseBatchWriter({ client: new FirehoseClient({ region: 'us-east-1' }), deliveryStream: 's' }).write(records(2), { deadline: Date.now() + 300 });
    expect(result.failed).toEqual([0, 1]);
    expect(result.calls).toBeGreaterThanOrEqual(1);
  });
});
