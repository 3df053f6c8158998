// What makes a record a row of one lake table: its schema, its dt/hour partition keys and its columns.
// One transform Lambda serves every delivery stream into the lake; the invocation's delivery stream picks
// the table. Delivery streams are named `<service>-<stage>-<table>` (infra/lake.yml), and
// test/infra/template.test.ts checks that every stream using this transform follows the convention, so
// the Lambda needs no mapping of its own and no reference to the delivery streams (which would be a cycle:
// a delivery stream already references the Lambda).
import {
  validateAggregateRow,
  validateAnomalyRow,
  validateEnrichedEvent,
  validateIdentityRow,
  type AggregateRow,
  type AnomalyRow,
  type EnrichedEvent,
  type IdentityRow,
  type Validation,
} from '../../schemas/index.js';
import { AGGREGATES_TABLE, ANOMALIES_TABLE, EVENTS_TABLE, IDENTITIES_TABLE, type LakeTable } from '../../schemas/lake-tables.js';
import type { SuppressionList } from '../shared/suppression.js';
import { UnknownDeliveryStreamError } from './errors.js';
import { linkPartitionKeys, partitionKeysFor, windowPartitionKeys, type PartitionKeys } from './partition-keys.js';

export interface RowMapping<T = unknown> {
  table: LakeTable;
  /** What the record must be (its JSON Schema), named in the failure reason. */
  schemaName: string;
  validate(value: unknown): Validation<T>;
  partitionKeys(row: T): PartitionKeys;
  /** Whether the row belongs to a person on the suppression list (a table without person ids has none). */
  erased?(row: T, list: SuppressionList): boolean;
}

const mapping = <T>(m: RowMapping<T>): RowMapping => m as RowMapping;

/** events-enriched → events: partitioned by the event time. */
export const EVENT_ROWS = mapping<EnrichedEvent>({
  table: EVENTS_TABLE,
  schemaName: 'an enriched event (schemas/enriched)',
  validate: validateEnrichedEvent,
  partitionKeys: partitionKeysFor,
  erased: (row, list) => list.erases(row),
});

/** aggregates (Flink) → aggregates: partitioned by window_start. */
export const AGGREGATE_ROWS = mapping<AggregateRow>({
  table: AGGREGATES_TABLE,
  schemaName: 'an aggregate row (schemas/aggregates)',
  validate: validateAggregateRow,
  partitionKeys: windowPartitionKeys,
  // Only the session rows carry a visitor id; the totals count people without naming them.
  erased: (row, list) => list.erasesVisitor(row.visitor_id),
});

/** anomalies (Flink) → anomalies: partitioned by window_start. */
export const ANOMALY_ROWS = mapping<AnomalyRow>({
  table: ANOMALIES_TABLE,
  schemaName: 'an anomaly row (schemas/anomalies)',
  validate: validateAnomalyRow,
  partitionKeys: windowPartitionKeys,
});

/** identities (the enrich stage's identity links, Direct PUT) → identities: partitioned by the kind of link. */
export const IDENTITY_ROWS = mapping<IdentityRow>({
  table: IDENTITIES_TABLE,
  schemaName: 'an identity link (schemas/identities)',
  validate: validateIdentityRow,
  partitionKeys: linkPartitionKeys,
  // The rule of the events the link was seen on.
  erased: (row, list) => list.erases({ userId: row.user_id, anonymousId: row.anonymous_id ?? undefined, previousId: row.previous_id ?? undefined }),
});

export const ROW_MAPPINGS: readonly RowMapping[] = [EVENT_ROWS, AGGREGATE_ROWS, ANOMALY_ROWS, IDENTITY_ROWS];

/**
 * The mapping of the delivery stream that invoked the transform, from the last `-` part of its name
 * (arn:aws:firehose:…:deliverystream/clickstream-dev-aggregates → aggregates). An unknown stream is a
 * wiring error: the whole invocation fails, and Firehose retries it and then writes its records under
 * errors/processing-failed/, rather than converting them with the wrong table.
 */
export function rowMappingFor(deliveryStreamArn: string): RowMapping {
  const name = deliveryStreamArn.slice(deliveryStreamArn.lastIndexOf('/') + 1);
  const suffix = name.slice(name.lastIndexOf('-') + 1);
  const found = ROW_MAPPINGS.find((m) => m.table.name === suffix);
  if (!found) {
    throw new UnknownDeliveryStreamError(
      `delivery stream ${JSON.stringify(name)} does not end in -<table> for a table this transform knows (${ROW_MAPPINGS.map((m) => m.table.name).join(', ')})`,
      deliveryStreamArn,
    );
  }
  return found;
}
