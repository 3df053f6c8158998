// The dynamic partition keys of a row: the UTC date and hour of the event's corrected time (`timestamp`,
// set by ingest from the client's clock offset), never the arrival time, so a late event lands in the
// partition of the hour it happened in.
import type { FirehoseTransformationMetadata } from 'aws-lambda';
import { UntransformableRecordError } from './errors.js';

export type PartitionKeys = FirehoseTransformationMetadata['partitionKeys'];

export function partitionKeysFor(event: { timestamp: string; enrichment: { event_date: string; event_hour: number } }): PartitionKeys {
  const ms = Date.parse(event.timestamp);
  const iso = Number.isNaN(ms) ? '' : new Date(ms).toISOString();
  // toISOString writes years outside 0000-9999 with a sign and six digits: not a dt= value.
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}/.test(iso)) {
    throw new UntransformableRecordError('bad_event_time', `timestamp ${JSON.stringify(event.timestamp)} is not a usable event time`);
  }
  const keys = { dt: iso.slice(0, 10), hour: iso.slice(11, 13) };
  // The columns event_date / event_hour must say what the path says, or a query on one misses rows of the other.
  const { event_date, event_hour } = event.enrichment;
  if (event_date !== keys.dt || event_hour !== Number(keys.hour)) {
    throw new UntransformableRecordError(
      'bad_event_time',
      `enrichment.event_date/event_hour (${event_date} ${event_hour}) disagree with timestamp ${event.timestamp} (${keys.dt} ${keys.hour})`,
    );
  }
  return keys;
}

/**
 * The partition keys of a row of the Flink job (aggregates, anomalies): the UTC date and hour of its
 * window's start, the event time the row describes.
 */
export const windowPartitionKeys = (row: { window_start: string }): PartitionKeys => timePartitionKeys('window_start', row.window_start);

/** The partition key of an identity link: its kind (schemas/lake-tables.ts says why the table is not by date). */
export const linkPartitionKeys = (row: { link: string }): PartitionKeys => ({ link: row.link });

function timePartitionKeys(field: string, value: string): PartitionKeys {
  const ms = Date.parse(value);
  const iso = Number.isNaN(ms) ? '' : new Date(ms).toISOString();
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}/.test(iso)) {
    throw new UntransformableRecordError('bad_event_time', `${field} ${JSON.stringify(value)} is not a usable time`);
  }
  return { dt: iso.slice(0, 10), hour: iso.slice(11, 13) };
}
