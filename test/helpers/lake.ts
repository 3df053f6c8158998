// Inputs for the lake stage: enriched events as the enrich stage writes them to events-enriched (built by
// the real enrichEvent), and Firehose transformation events with a Kinesis source.
import type { FirehoseTransformationEvent, FirehoseTransformationEventRecord } from 'aws-lambda';
import type { TrackingPlans } from '../../functions/enrich/tracking-plan.js';
import { enrichEvent } from '../../functions/enrich/enrich-event.js';
import { UserAgentParser } from '../../functions/enrich/user-agent.js';
import type { EnrichedEvent, SegmentEvent } from '../../schemas/index.js';
import { rawEvent, sequenceNumber, SHARD_ID } from './factories.js';
import { realIpFacts } from './ip-facts.js';

export const ENRICHED_STREAM_ARN = 'arn:aws:kinesis:us-east-1:123456789012:stream/clickstream-dev-events-enriched';
export const DELIVERY_STREAM_ARN = 'arn:aws:firehose:us-east-1:123456789012:deliverystream/clickstream-dev-events';

const userAgents = new UserAgentParser(100);

/** An event as the enrich stage emits it, from a raw event (ingest's output) with `overrides`. */
/** An event as the enrich stage writes it; with `plans`, checked by them as enrich does (a flagging plan's verdict). */
export function enrichedEvent(overrides: Record<string, unknown> = {}, { latenessBoundSeconds = 3_600, plans }: { latenessBoundSeconds?: number; plans?: TrackingPlans } = {}): EnrichedEvent {
  const raw = rawEvent(overrides) as SegmentEvent & { messageId: string; receivedAt: string };
  return enrichEvent(raw, {
    latenessBoundSeconds,
    userAgents,
    ipFacts: realIpFacts(),
    arrivalMs: Date.parse(raw.receivedAt),
    enrichedAt: new Date(Date.parse(raw.receivedAt) + 1_000).toISOString(),
    plan: plans?.check(raw),
  });
}

export interface FirehoseRecordOptions {
  /** Position in the batch and in the shard. */
  n?: number;
  /** Raw bytes instead of the JSON of the value. */
  data?: Buffer | string;
  /** When Firehose received the record, epoch ms. */
  arrivalMs?: number;
}

/** One record as Firehose hands it to the transform: a 62-digit recordId, base64 data, Kinesis metadata. */
export function firehoseRecord(value: unknown, opts: FirehoseRecordOptions = {}): FirehoseTransformationEventRecord {
  const n = opts.n ?? 0;
  const bytes = opts.data !== undefined ? Buffer.from(opts.data) : Buffer.from(JSON.stringify(value), 'utf8');
  const arrivalMs = opts.arrivalMs ?? Date.parse('2026-11-22T10:00:07.000Z') + n;
  const seq = sequenceNumber(n);
  return {
    recordId: `${seq}${String(n).padStart(6, '0')}`,
    approximateArrivalTimestamp: arrivalMs,
    data: bytes.toString('base64'),
    kinesisRecordMetadata: {
      shardId: SHARD_ID,
      partitionKey: 'anon-7f3a9c',
      approximateArrivalTimestamp: arrivalMs,
      sequenceNumber: seq,
      subsequenceNumber: '0',
    },
  };
}

/** A transformation invocation of the given records (values are wrapped with firehoseRecord, numbered in order). */
export function firehoseEvent(items: readonly (FirehoseTransformationEventRecord | { value: unknown })[] | readonly unknown[]): FirehoseTransformationEvent {
  return {
    invocationId: 'f5f1b8a6-2a0e-4b4e-9a36-6f3f7c1d2e10',
    deliveryStreamArn: DELIVERY_STREAM_ARN,
    sourceKinesisStreamArn: ENRICHED_STREAM_ARN,
    region: 'us-east-1',
    records: items.map((item, n) => (isFirehoseRecord(item) ? item : firehoseRecord(item, { n }))),
  };
}

const isFirehoseRecord = (item: unknown): item is FirehoseTransformationEventRecord =>
  typeof item === 'object' && item !== null && 'recordId' in item && 'data' in item && 'approximateArrivalTimestamp' in item;

/** The JSON row inside an Ok record's base64 data. */
export const decodeRow = (data: string | undefined): Record<string, unknown> => JSON.parse(Buffer.from(data ?? '', 'base64').toString('utf8')) as Record<string, unknown>;
