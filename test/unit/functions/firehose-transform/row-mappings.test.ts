// One transform for every delivery stream into the lake: the stream's name picks the table.
import { describe, expect, it } from 'vitest';
import { UnknownDeliveryStreamError } from '../../../../functions/firehose-transform/errors.js';
import { AGGREGATE_ROWS, ANOMALY_ROWS, EVENT_ROWS, rowMappingFor } from '../../../../functions/firehose-transform/row-mappings.js';
import { createRecordTransformer } from '../../../../functions/firehose-transform/transform-records.js';
import { AGGREGATES_TABLE, ANOMALIES_TABLE } from '../../../../schemas/lake-tables.js';
import { AGGREGATES_DELIVERY_STREAM_ARN, aggregateRow, ANOMALIES_DELIVERY_STREAM_ARN, anomalyRow } from '../../../helpers/analytics.js';
import { DELIVERY_STREAM_ARN, decodeRow, firehoseEvent } from '../../../helpers/lake.js';

const logger = { warn: () => undefined, info: () => undefined };
const transform = createRecordTransformer({ logger });

describe('row mappings', () => {
  it('picks the table from the delivery stream name <service>-<stage>-<table>', () => {
    expect(rowMappingFor(DELIVERY_STREAM_ARN)).toBe(EVENT_ROWS);
    expect(rowMappingFor(AGGREGATES_DELIVERY_STREAM_ARN)).toBe(AGGREGATE_ROWS);
    expect(rowMappingFor(ANOMALIES_DELIVERY_STREAM_ARN)).toBe(ANOMALY_ROWS);
    expect(rowMappingFor('arn:aws:firehose:us-east-1:000000000000:deliverystream/clickstream-local-anomalies')).toBe(ANOMALY_ROWS); // npm start's names
  });

  it('refuses a delivery stream it has no table for, instead of converting with the wrong one', () => {
    expect(() => rowMappingFor('arn:aws:firehose:us-east-1:1:deliverystream/clickstream-dev-sessions')).toThrow(UnknownDeliveryStreamError);
  });

  it('turns an aggregates row into a row of the aggregates table, partitioned by the UTC date and hour of window_start', () => {
    const { response, failures } = transform(firehoseEvent([aggregateRow(), aggregateRow({ kind: 'page_minute', page_host: 'shop.example.com', page_path: '/p/42', window_start: '2026-11-23T00:00:00.000Z', window_end: '2026-11-23T00:01:00.000Z' })]).records, AGGREGATE_ROWS);
    expect(failures).toEqual([]);
    expect(response.records.map((r) => r.metadata?.partitionKeys)).toEqual([{ dt: '2026-11-22', hour: '23' }, { dt: '2026-11-23', hour: '00' }]);
    const row = decodeRow(response.records[1]!.data);
    // Timestamps as epoch ms (the declared HiveJsonSerDe format); nulls left out; only the table's columns.
    expect(row).toMatchObject({ kind: 'page_minute', page_host: 'shop.example.com', window_start: Date.parse('2026-11-23T00:00:00.000Z'), events: 120 });
    expect(row).not.toHaveProperty('visitor_id');
    for (const key of Object.keys(row)) expect(AGGREGATES_TABLE.columns.map((c) => c.name)).toContain(key);
  });

  it('turns an anomaly row into a row of the anomalies table', () => {
    const anomaly = anomalyRow();
    const { response } = transform(firehoseEvent([anomaly]).records, ANOMALY_ROWS);
    expect(response.records[0]).toMatchObject({ result: 'Ok', metadata: { partitionKeys: { dt: '2026-11-22', hour: '10' } } });
    expect(decodeRow(response.records[0]!.data)).toEqual({ ...anomaly, window_start: Date.parse(anomaly.window_start), window_end: Date.parse(anomaly.window_end) });
    expect(ANOMALIES_TABLE.columns.find((c) => c.name === 'window_start')?.type).toBe('timestamp');
  });

  it('answers ProcessingFailed, with the schema named, for a record that is not a row of the table', () => {
    const { response, failures } = transform(firehoseEvent([anomalyRow(), { kind: 'total_minute' }]).records, AGGREGATE_ROWS);
    expect(response.records.map((r) => r.result)).toEqual(['ProcessingFailed', 'ProcessingFailed']);
    expect(failures[0]!.reason).toMatch(/^not an aggregate row \(schemas\/aggregates\)/);
  });
});
