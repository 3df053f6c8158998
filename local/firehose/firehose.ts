// A local Firehose: one delivery loop per `AWS::KinesisFirehose::DeliveryStream` of the template
// (local/template/delivery-streams.ts), with Firehose's semantics (Firehose developer guide: "Transform source data",
// "Handle failure in data transformation", "Dynamic partitioning", "Convert input data format",
// "Custom prefixes for Amazon S3 objects"):
//   - a KinesisStreamAsSource delivery stream reads its stream in the emulator; a DirectPut one takes
//     PutRecord / PutRecordBatch on the Firehose API (direct-put.ts, AWS_ENDPOINT_URL_FIREHOSE), which answers
//     once the records are in a hidden stream of the emulator (`firehose-directput-<name>`, one shard), and
//     reads that stream the same way;
//   - reads every shard of the source stream in the emulator, and buffers by size and interval;
//   - invokes the REAL transform Lambda with FirehoseTransformationEvents of at most the processor's
//     BufferSizeInMBs, retried NumberOfRetries times when it throws, times out or answers out of contract;
//   - Ok rows are grouped by metadata.partitionKeys into the evaluated Prefix and converted to Parquet
//     (Snappy) with the Glue table's columns via DuckDB; Dropped rows are counted; ProcessingFailed rows,
//     failed invocations, rows the Hive JSON SerDe would refuse and rows without their partition keys go
//     to the ErrorOutputPrefix as Firehose's JSON error documents;
//   - objects are PUT through the S3 API, named <deliveryStreamName>-1-YYYY-MM-DD-HH-mm-ss-<id>.
//
// Exactly once across restarts: see delivery-stream.ts. For Direct PUT that starts at the API's answer: a
// record acknowledged to its producer is in the backing stream, and from there delivered exactly once; a
// record answered as failed is the producer's to send again (and, as on AWS, one it sends again after an
// answer it did not get may be delivered twice).
//
// Deviations, on purpose: buffers are per shard, not per delivery stream (so names can be derived from a
// shard's range); a new delivery stream reads from TRIM_HORIZON, not LATEST, so nothing enriched before
// its first start is missed; the buffering hints are local (1 MB / 5 s by default), not the deployed ones.
// Direct PUT: records wait in the backing stream (kept 24 h, like Firehose keeps undelivered data), not in
// Firehose's own store; the API has none of Firehose's throughput quotas, and no control plane.
import type { DeliveryStreamDefinition } from '../template/delivery-streams.js';
import type { FirehoseProcessorHandler } from './buffer-converter.js';
import { startDeliveryStream, type DeliveryStreamOptions, type DeliveryStreamStats, type LocalDeliveryStream } from './delivery-stream.js';
import type { FirehoseApi } from './direct-put.js';

export interface LocalFirehose {
  /** The Firehose API of the Direct PUT delivery streams (AWS_ENDPOINT_URL_FIREHOSE), or null when not given. */
  endpoint: string | null;
  deliveryStreams: LocalDeliveryStream[];
  stats(): DeliveryStreamStats[];
  /** Closes the API (the producers have stopped: what they put last is in the backing streams), then stops the loops. */
  stop(): Promise<void>;
}

/**
 * One delivery loop per definition, each with its processor from `processors` (by function key). `api`, started
 * before (startFirehoseApi: the producers' environment needs its endpoint), is then this Firehose's to close.
 */
export async function startLocalFirehose(
  options: Omit<DeliveryStreamOptions, 'definition' | 'processor'> & {
    definitions: readonly DeliveryStreamDefinition[];
    processors: Record<string, FirehoseProcessorHandler>;
    api?: FirehoseApi;
  },
): Promise<LocalFirehose> {
  const { definitions, processors, api, ...shared } = options;
  const deliveryStreams: LocalDeliveryStream[] = [];
  try {
    for (const definition of definitions) {
      const processor = definition.processor ? processors[definition.processor.functionKey] : undefined;
      deliveryStreams.push(await startDeliveryStream({ ...shared, definition, ...(processor ? { processor } : {}) }));
    }
  } catch (error) {
    await api?.close();
    await Promise.allSettled(deliveryStreams.map((d) => d.stop()));
    throw error;
  }
  let stopping: Promise<void> | undefined;
  return {
    endpoint: api?.endpoint ?? null,
    deliveryStreams,
    stats: () => {
      const counters = api?.counters() ?? {};
      return deliveryStreams.map((d) => {
        const stats = d.stats();
        const accepted = counters[stats.deliveryStream];
        return stats.directPut && accepted ? { ...stats, directPut: { ...stats.directPut, ...accepted } } : stats;
      });
    },
    stop: () =>
      (stopping ??= (async () => {
        await api?.close();
        await Promise.all(deliveryStreams.map((d) => d.stop()));
      })()),
  };
}
