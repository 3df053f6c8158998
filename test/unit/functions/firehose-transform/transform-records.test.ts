import type { FirehoseTransformationResultRecord } from 'aws-lambda';
import { describe, expect, it, vi } from 'vitest';
import { EVENTS_TABLE } from '../../../../schemas/lake-tables.js';
import { assertFirehoseCompatible } from '../../../../schemas/lake-rows.js';
import { createRecordTransformer, RESPONSE_BUDGET_BYTES } from '../../../../functions/firehose-transform/transform-records.js';
import { decodeRow, enrichedEvent, firehoseEvent, firehoseRecord } from '../../../helpers/lake.js';

const silentLogger = () => ({ warn: vi.fn(), info: vi.fn() });

function transform(records: Parameters<typeof firehoseEvent>[0], opts: { maxResponseBytes?: number } = {}) {
  const logger = silentLogger();
  const event = firehoseEvent(records);
  const result = createRecordTransformer({ logger, ...opts })(event.records);
  return { event, logger, ...result, records: result.response.records };
}

describe('Firehose transform: contract', () => {
  it('answers every record, in order, with its recordId, Ok, base64 JSON data and dt/hour partition keys', () => {
    // Prepare
    const events = [enrichedEvent({ messageId: 'm-1' }), enrichedEvent({ messageId: 'm-2', type: 'page', name: 'Home' })];

    // Act
    const { event, records, ok, failures } = transform(events);

    // Assess
    expect(records.map((r) => r.recordId)).toEqual(event.records.map((r) => r.recordId));
    expect(ok).toBe(2);
    expect(failures).toEqual([]);
    for (const [i, record] of records.entries()) {
      expect(record.result).toBe('Ok');
      expect(record.metadata).toEqual({ partitionKeys: { dt: '2026-11-22', hour: '10' } });
      const row = decodeRow(record.data);
      expect(row['message_id']).toBe(`m-${i + 1}`);
      expect(() => assertFirehoseCompatible(row, EVENTS_TABLE.columns)).not.toThrow();
    }
  });

  it('never answers Dropped', () => {
    const { records } = transform([enrichedEvent(), 'not an event', { type: 'page' }]);
    expect(records.map((r) => r.result)).not.toContain('Dropped');
  });

  it('answers an empty batch with no records', () => {
    expect(transform([]).response).toEqual({ records: [] });
  });
});

describe('Firehose transform: partition keys from the event time, never the arrival time', () => {
  it('puts an event from 23:59 that arrives after midnight into the previous day, hour 23', () => {
    // Prepare: the client sent it at 23:59:30, ingest received it at 00:00:10, Firehose at 00:00:15.
    const late = enrichedEvent({ timestamp: '2026-11-22T23:59:30.000Z', originalTimestamp: '2026-11-22T23:59:30.000Z', receivedAt: '2026-11-23T00:00:10.000Z' });
    const record = firehoseRecord(late, { arrivalMs: Date.parse('2026-11-23T00:00:15.000Z') });

    // Act
    const { records } = transform([record]);

    // Assess
    expect(records[0]!.metadata?.partitionKeys).toEqual({ dt: '2026-11-22', hour: '23' });
    expect(decodeRow(records[0]!.data)).toMatchObject({ event_date: '2026-11-22', event_hour: 23, received_at: Date.parse('2026-11-23T00:00:10.000Z') });
  });

  it('keeps an event two days late in the partition of the hour it happened', () => {
    const late = enrichedEvent({ timestamp: '2026-11-20T07:15:00.000Z', receivedAt: '2026-11-22T10:00:05.000Z' });
    const { records } = transform([late]);
    expect(records[0]!.metadata?.partitionKeys).toEqual({ dt: '2026-11-20', hour: '07' });
    expect(decodeRow(records[0]!.data)).toMatchObject({ is_late: true, lateness_seconds: 2 * 86_400 + 2 * 3_600 + 45 * 60 + 5 });
  });

  it('partitions by UTC: a timestamp with an offset lands in its UTC date and hour', () => {
    const offset = enrichedEvent({ timestamp: '2026-11-23T01:30:00.000+02:00', receivedAt: '2026-11-22T23:30:05.000Z' });
    const { records } = transform([offset]);
    expect(records[0]!.metadata?.partitionKeys).toEqual({ dt: '2026-11-22', hour: '23' });
    expect(decodeRow(records[0]!.data)['event_time']).toBe(Date.parse('2026-11-22T23:30:00.000Z'));
  });

  it('pads the hour to two digits, as the partition projection expects (digits 2)', () => {
    const { records } = transform([enrichedEvent({ timestamp: '2026-11-22T05:00:00.000Z', receivedAt: '2026-11-22T05:00:01.000Z' })]);
    expect(records[0]!.metadata?.partitionKeys.hour).toBe('05');
  });
});

describe('Firehose transform: ProcessingFailed, with the reason logged', () => {
  const cases: [string, ReturnType<typeof firehoseRecord>, RegExp, string][] = [
    ['bytes that are not UTF-8', firehoseRecord(null, { data: Buffer.from([0xff, 0xfe, 0x00, 0x7b]) }), /not valid UTF-8/, 'not_json'],
    ['text that is not JSON', firehoseRecord(null, { data: '{"type":"track",' }), /not JSON/, 'not_json'],
    [
      'an event nested 100,000 levels deep',
      firehoseRecord(null, { data: `${JSON.stringify(enrichedEvent()).slice(0, -1)},"traits":{"t":${'['.repeat(100_000)}${']'.repeat(100_000)}}}` }),
      /^record data nests deeper than 64 levels$/,
      'schema_violation',
    ],
    ['a JSON array', firehoseRecord([enrichedEvent()]), /not an enriched event/, 'schema_violation'],
    ['a raw Segment event (no enrichment)', firehoseRecord({ type: 'track', event: 'X', anonymousId: 'a', messageId: 'm', timestamp: '2026-11-22T10:00:00.000Z', receivedAt: '2026-11-22T10:00:01.000Z' }), /enrichment/, 'schema_violation'],
    ['an enriched event whose userId is an object', firehoseRecord({ ...enrichedEvent(), userId: { id: 1 } }), /userId/, 'schema_violation'],
    [
      'enrichment.event_date disagreeing with timestamp',
      firehoseRecord({ ...enrichedEvent(), enrichment: { ...enrichedEvent().enrichment, event_date: '2026-11-21' } }),
      /disagree with timestamp/,
      'bad_event_time',
    ],
  ];

  it.each(cases)('%s', (_name, record, reason, kind) => {
    // Act
    const { records, failures, logger } = transform([enrichedEvent({ messageId: 'good-before' }), record, enrichedEvent({ messageId: 'good-after' })]);

    // Assess: the bad record fails alone, with its original data echoed; its neighbours are delivered.
    expect(records.map((r) => r.result)).toEqual(['Ok', 'ProcessingFailed', 'Ok']);
    expect(records[1]).toEqual({ recordId: record.recordId, result: 'ProcessingFailed', data: record.data });
    expect(failures).toEqual([expect.objectContaining({ recordId: record.recordId, kind, reason: expect.stringMatching(reason), sequenceNumber: record.kinesisRecordMetadata!.sequenceNumber })]);
    expect(logger.warn).toHaveBeenCalledWith(expect.stringContaining('processing-failed'), expect.objectContaining({ recordId: record.recordId, kind, reason: expect.stringMatching(reason) }));
  });
});

describe('Firehose transform: the 6 MB Lambda response bound', () => {
  const bigEvent = (id: string, bytes: number) => enrichedEvent({ messageId: id, properties: { blob: 'x'.repeat(bytes) } });

  it('keeps a response that would be over 6 MB under the budget, failing only the rows that no longer fit', () => {
    // Prepare: 8 records of ~0.9 MB each (Kinesis allows 1 MiB): ~7.2 MB of rows, 9.6 MB once base64'd.
    const events = Array.from({ length: 8 }, (_, i) => bigEvent(`big-${i}`, 900_000));
    events.push(enrichedEvent({ messageId: 'small-last' }));

    // Act
    const { records, failures, responseBytes, response } = transform(events);

    // Assess
    const serialized = Buffer.byteLength(JSON.stringify(response));
    expect(serialized).toBe(responseBytes);
    expect(serialized).toBeLessThanOrEqual(RESPONSE_BUDGET_BYTES);
    expect(serialized).toBeLessThan(6 * 1024 * 1024);
    const results = records.map((r) => r.result);
    expect(results.slice(0, 4)).toEqual(['Ok', 'Ok', 'Ok', 'Ok']);
    expect(results.slice(4, 8)).toEqual(Array(4).fill('ProcessingFailed'));
    // The reserve for the records behind keeps room for a small last record.
    expect(results[8]).toBe('Ok');
    expect(failures.every((f) => f.kind === 'response_too_large' && /does not fit in the 6000000-byte Lambda response/.test(f.reason))).toBe(true);
  });

  it('fills the budget in order and counts the response to the byte', () => {
    // Quotes escape twice in a JSON text column: each row is larger than the record it came from.
    const events = Array.from({ length: 5 }, (_, i) => enrichedEvent({ messageId: `m-${i}`, properties: { quoted: '"'.repeat(2_000) } }));
    const full = transform(events);
    const okEntry = (r: FirehoseTransformationResultRecord) => Buffer.byteLength(JSON.stringify(r)) + 1;
    // A budget that fits exactly three rows plus two failed entries.
    const failed = full.event.records.slice(3).reduce((sum, r) => sum + Buffer.byteLength(JSON.stringify({ recordId: r.recordId, result: 'ProcessingFailed', data: r.data })) + 1, 0);
    const budget = Buffer.byteLength('{"records":[]}') + full.records.slice(0, 3).reduce((s, r) => s + okEntry(r), 0) + failed - 1;

    const limited = transform(events, { maxResponseBytes: budget });

    expect(limited.records.map((r) => r.result)).toEqual(['Ok', 'Ok', 'Ok', 'ProcessingFailed', 'ProcessingFailed']);
    expect(Buffer.byteLength(JSON.stringify(limited.response))).toBe(budget);
  });

  it('leaves failed records without data when even an all-failed answer would not fit', () => {
    const events = Array.from({ length: 3 }, (_, i) => enrichedEvent({ messageId: `m-${i}` }));
    const { records, response } = transform(events, { maxResponseBytes: 400 });
    expect(records.every((r) => r.result === 'ProcessingFailed' && r.data === '')).toBe(true);
    expect(Buffer.byteLength(JSON.stringify(response))).toBeLessThanOrEqual(400);
  });
});
