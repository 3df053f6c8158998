import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { describe, expect, it } from 'vitest';
import { BadRowWriter, badRowsKey, toBadRow } from '../../../../functions/enrich/bad-rows.js';
import { BadEventError, EnrichmentError } from '../../../../functions/enrich/errors.js';
import { rawRecord } from '../../../../functions/shared/kinesis-record.js';
import { validateBadRow } from '../../../../schemas/index.js';
import { kinesisRecord, rawEvent, sequenceNumber, SHARD_ID } from '../../../helpers/factories.js';

const failedAt = '2026-11-22T10:00:07.000Z';

describe('toBadRow', () => {
  it.each([
    ['invalid_json', new BadEventError('invalid_json', 'record data is not JSON: Unexpected token'), '{"type":"track",'],
    ['schema_violation', new BadEventError('schema_violation', "(event) must have required property 'event'", 'msg-9'), JSON.stringify({ type: 'track', anonymousId: 'a', messageId: 'msg-9' })],
    ['size_violation', new BadEventError('size_violation', 'record is 70000 bytes; the limit is 65536'), JSON.stringify(rawEvent())],
    ['enrichment_failure', new EnrichmentError('event has no usable timestamp', 'msg-0001'), JSON.stringify(rawEvent({ timestamp: undefined }))],
  ])('shapes a %s row with the original payload, matching schemas/bad-row', (failureType, error, payload) => {
    const record = rawRecord(kinesisRecord(undefined, { n: 3, data: payload }));
    const row = toBadRow(record, error, failedAt);
    expect(row).toEqual({
      failure_type: failureType,
      reason: error.message,
      payload,
      payload_encoding: 'utf-8',
      message_id: error.messageId,
      stream: 'clickstream-dev-events-raw',
      shard_id: SHARD_ID,
      sequence_number: sequenceNumber(3),
      approximate_arrival: '2026-11-22T10:00:06.003Z',
      failed_at: failedAt,
    });
    expect(validateBadRow(row)).toEqual({ ok: true, value: row });
  });

  it('keeps bytes that are not UTF-8 as base64, flagged, so they survive byte for byte', () => {
    const bytes = Buffer.from([0x7b, 0xff, 0xfe, 0x00, 0x22]);
    const row = toBadRow(rawRecord(kinesisRecord(undefined, { data: bytes })), new BadEventError('invalid_json', 'not UTF-8'), failedAt);
    expect(row.payload_encoding).toBe('base64');
    expect(Buffer.from(row.payload, 'base64').equals(bytes)).toBe(true);
  });
});

describe('badRowsKey', () => {
  it('derives the key from the shard, the first sequence number and its arrival date only', () => {
    const first = rawRecord(kinesisRecord(rawEvent(), { n: 0, arrival: Date.parse('2026-11-22T23:59:59.500Z') / 1000 }));
    const key = badRowsKey('bad-rows/', first);
    expect(key).toBe(`bad-rows/dt=2026-11-22/${SHARD_ID}-${sequenceNumber(0)}.jsonl`);
    // Same first record → same key, however the rest of the retried batch looks.
    expect(badRowsKey('bad-rows/', rawRecord(kinesisRecord(rawEvent({ messageId: 'other' }), { n: 0, arrival: first.arrivalMs / 1000 })))).toBe(key);
    expect(badRowsKey('bad-rows/', rawRecord(kinesisRecord(rawEvent(), { n: 1 })))).not.toBe(key);
  });
});

describe('BadRowWriter', () => {
  it('puts the rows as one JSON-lines object under the deterministic key', async () => {
    const s3 = mockClient(S3Client);
    s3.on(PutObjectCommand).resolves({});
    const writer = new BadRowWriter({ client: new S3Client({ region: 'us-east-1' }), bucket: 'lake', prefix: 'bad-rows/' });
    const first = rawRecord(kinesisRecord(undefined, { data: 'nope' }));
    const rows = [toBadRow(first, new BadEventError('invalid_json', 'not JSON'), failedAt), toBadRow(first, new BadEventError('invalid_json', 'again'), failedAt)];
    const key = await writer.write(first, rows, { deadline: Date.now() + 5_000 });
    const input = s3.commandCalls(PutObjectCommand)[0]!.args[0].input;
    expect(input).toMatchObject({ Bucket: 'lake', Key: key, ContentType: 'application/x-ndjson' });
    const lines = String(input.Body).trimEnd().split('\n').map((l) => JSON.parse(l) as unknown);
    expect(lines).toEqual(rows);
    s3.restore();
  });
});
