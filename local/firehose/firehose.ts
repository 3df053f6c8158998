// A local Firehose: one delivery loop per `AWS::KinesisFirehose::DeliveryStream` of the template
// (local/template/delivery-streams.ts), with Firehose's semantics (Firehose developer guide: "Transform source data",
// "Handle failure in data transformation", "Dynamic partitioning", "Convert input data format",
// "Custom prefixes for Amazon S3 objects"):
//   - reads every shard of the source stream in the emulator, and buffers by size and interval;
//   - invokes the REAL transform Lambda with FirehoseTransformationEvents of at most the processor's
//     BufferSizeInMBs, retried NumberOfRetries times when it throws, times out or answers out of contract;
//   - Ok rows are grouped by metadata.partitionKeys into the evaluated Prefix and converted to Parquet
//     (Snappy) with the Glue table's columns via DuckDB; Dropped rows are counted; ProcessingFailed rows,
//     failed invocations, rows the Hive JSON SerDe would refuse and rows without their partition keys go
//     to the ErrorOutputPrefix as Firehose's JSON error documents;
//   - objects are PUT through the S3 API, named <deliveryStreamName>-1-YYYY-MM-DD-HH-mm-ss-<id>.
//
// Exactly once across restarts: see delivery-stream.ts.
//
// Deviations, on purpose: buffers are per shard, not per delivery stream (so names can be derived from a
// shard's range); a new delivery stream reads from TRIM_HORIZON, not LATEST, so nothing enriched before
// its first start is missed; the buffering hints are local (1 MB / 5 s by default), not the deployed ones.
import type { DeliveryStreamDefinition } from '../template/delivery-streams.js';
import type { FirehoseProcessorHandler } from './buffer-converter.js';
import { startDeliveryStream, type DeliveryStreamOptions, type DeliveryStreamStats, type LocalDeliveryStream } from './delivery-stream.js';

export interface LocalFirehose {
  deliveryStreams: LocalDeliveryStream[];
  stats(): DeliveryStreamStats[];
  stop(): Promise<void>;
}

/** One delivery loop per definition, each with its processor from `processors` (by function key). */
export async function startLocalFirehose(
  options: Omit<DeliveryStreamOptions, 'definition' | 'processor'> & {
    definitions: readonly DeliveryStreamDefinition[];
    processors: Record<string, FirehoseProcessorHandler>;
  },
): Promise<LocalFirehose> {
  const { definitions, processors, ...shared } = options;
  const deliveryStreams: LocalDeliveryStream[] = [];
  try {
    for (const definition of definitions) {
      const processor = definition.processor ? processors[definition.processor.functionKey] : undefined;
      deliveryStreams.push(await startDeliveryStream({ ...shared, definition, ...(processor ? { processor } : {}) }));
    }
  } catch (error) {
    await Promise.allSettled(deliveryStreams.map((d) => d.stop()));
    throw error;
  }
  return {
    deliveryStreams,
    stats: () => deliveryStreams.map((d) => d.stats()),
    stop: async () => {
      await Promise.all(deliveryStreams.map((d) => d.stop()));
    },
  };
}
