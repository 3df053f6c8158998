// The `AWS::KinesisFirehose::DeliveryStream` resources of serverless.yml's infra, read once so the local
// Firehose delivers with the deployed wiring: source (a Kinesis stream, or Direct PUT), transform Lambda and
// its retries, bucket, prefix and error prefix, dynamic partitioning, and the Glue table the records are
// converted with.
import { LAKE_TABLES, type LakeTable } from '../../schemas/lake-tables.js';
import { localStreamArn } from '../kinesis/streams.js';
import type { TemplateDocument } from './document.js';
import { functionLogicalId, type FunctionDefinition } from './functions.js';
import { localDeliveryStreamArn, localDeliveryStreamName, localResourceName, referencedLogicalId } from './names.js';
import { isRecord, numberOr } from './yaml.js';

/** The transform Lambda, with the processor's parameters. */
export interface DeliveryStreamProcessor extends FunctionDefinition {
  /** Processor parameter BufferSizeInMBs: the most input one invocation gets (default 1 MB). */
  invocationBytes: number;
  /** Processor parameter NumberOfRetries (default 3). */
  numberOfRetries: number;
}

/** DeliveryStreamType KinesisStreamAsSource: Firehose reads the stream of the template. */
export interface KinesisStreamSource {
  kind: 'kinesis';
  /** The `AWS::Kinesis::Stream` of KinesisStreamARN. */
  logicalId: string;
  streamName: string;
  streamArn: string;
}

/**
 * DeliveryStreamType DirectPut: producers call PutRecord / PutRecordBatch. Locally the Firehose API
 * (local/firehose/direct-put.ts) appends what it accepts to a hidden stream of the Kinesis emulator, of
 * one shard, named after the delivery stream, and the delivery loop reads that stream like a Kinesis source.
 */
export interface DirectPutSource {
  kind: 'direct-put';
  /** The hidden backing stream: `firehose-directput-<delivery stream name>`. */
  streamName: string;
  streamArn: string;
  shardCount: number;
  /** DeliveryStreamEncryptionConfigurationInput is set: PutRecord(Batch) answer Encrypted true. */
  encrypted: boolean;
}

export type DeliveryStreamSource = KinesisStreamSource | DirectPutSource;

/** The hidden stream of the Kinesis emulator behind a Direct PUT delivery stream (delivery stream names are at most 64 characters, stream names 128). */
export const directPutBackingStreamName = (deliveryStreamName: string): string => `firehose-directput-${deliveryStreamName}`;

export interface DeliveryStreamDefinition {
  logicalId: string;
  /** DeliveryStreamName, resolved for the local stage. */
  name: string;
  arn: string;
  /** Where the records come from; either way, `streamName` is the emulator's stream the delivery loop reads. */
  source: DeliveryStreamSource;
  processor: DeliveryStreamProcessor | undefined;
  bucket: string;
  prefix: string;
  errorPrefix: string;
  dynamicPartitioning: boolean;
  /** The Glue table records are converted to Parquet with; undefined: delivered as they are. */
  table: LakeTable | undefined;
  /** BufferingHints as deployed, for reference: the local loop closes objects much sooner. */
  deployedBuffering: { sizeMB: unknown; intervalSeconds: unknown };
}

const FIREHOSE_DEFAULT_PROCESSOR_RETRIES = 3;

/** Every delivery stream (Kinesis source or Direct PUT) with an extended S3 destination in the template. */
export function deliveryStreamDefinitions(template: TemplateDocument, functions: Map<string, FunctionDefinition>): DeliveryStreamDefinition[] {
  const definitions: DeliveryStreamDefinition[] = [];
  for (const [logicalId, resource] of template.resources) {
    if (resource.Type !== 'AWS::KinesisFirehose::DeliveryStream') continue;
    definitions.push(deliveryStreamDefinition(template, functions, logicalId, template.resolve(resource.Properties) as Record<string, unknown>));
  }
  return definitions;
}

function deliveryStreamDefinition(
  template: TemplateDocument,
  functions: Map<string, FunctionDefinition>,
  logicalId: string,
  properties: Record<string, unknown>,
): DeliveryStreamDefinition {
  const where = `${logicalId} (AWS::KinesisFirehose::DeliveryStream)`;
  const name = localDeliveryStreamName(template, logicalId);
  const source = sourceOf(properties, name, where);

  const destination = properties.ExtendedS3DestinationConfiguration;
  if (!isRecord(destination)) throw new Error(`${where}: only ExtendedS3DestinationConfiguration runs locally`);
  const bucketId = referencedLogicalId(destination.BucketARN);
  if (!bucketId) throw new Error(`${where}: BucketARN must be !GetAtt <Bucket>.Arn`);
  const prefix = typeof destination.Prefix === 'string' ? destination.Prefix : '';
  const errorPrefix = typeof destination.ErrorOutputPrefix === 'string' ? destination.ErrorOutputPrefix : '';
  const dynamicPartitioning = isRecord(destination.DynamicPartitioningConfiguration) && destination.DynamicPartitioningConfiguration.Enabled === true;
  if (/!\{partitionKeyFromQuery:/.test(prefix)) throw new Error(`${where}: partitionKeyFromQuery (JQ metadata extraction) does not run locally; use partition keys from the Lambda`);
  if (dynamicPartitioning && !errorPrefix) throw new Error(`${where}: dynamic partitioning needs an ErrorOutputPrefix`);

  const buffering = isRecord(destination.BufferingHints) ? destination.BufferingHints : {};
  return {
    logicalId,
    name,
    arn: localDeliveryStreamArn(name),
    source,
    processor: processorOf(functions, destination.ProcessingConfiguration, where),
    bucket: localResourceName(bucketId),
    prefix,
    errorPrefix,
    dynamicPartitioning,
    table: tableOf(template, destination.DataFormatConversionConfiguration, where),
    deployedBuffering: { sizeMB: buffering.SizeInMBs, intervalSeconds: buffering.IntervalInSeconds },
  };
}

/** The Kinesis stream of a KinesisStreamAsSource delivery stream, or the backing stream of a DirectPut one. */
function sourceOf(properties: Record<string, unknown>, name: string, where: string): DeliveryStreamSource {
  // DirectPut is CloudFormation's default when DeliveryStreamType is left out.
  const type = properties.DeliveryStreamType ?? 'DirectPut';
  if (type === 'DirectPut') {
    if (properties.KinesisStreamSourceConfiguration !== undefined) throw new Error(`${where}: a DirectPut delivery stream has no KinesisStreamSourceConfiguration`);
    const streamName = directPutBackingStreamName(name);
    return { kind: 'direct-put', streamName, streamArn: localStreamArn(streamName), shardCount: 1, encrypted: isRecord(properties.DeliveryStreamEncryptionConfigurationInput) };
  }
  if (type !== 'KinesisStreamAsSource') throw new Error(`${where}: DeliveryStreamType ${JSON.stringify(type)} does not run locally (KinesisStreamAsSource and DirectPut do)`);
  const sourceConfiguration = isRecord(properties.KinesisStreamSourceConfiguration) ? properties.KinesisStreamSourceConfiguration : {};
  const sourceId = referencedLogicalId(sourceConfiguration.KinesisStreamARN);
  if (!sourceId) throw new Error(`${where}: KinesisStreamSourceConfiguration.KinesisStreamARN must be !GetAtt <Stream>.Arn`);
  const streamName = localResourceName(sourceId);
  return { kind: 'kinesis', logicalId: sourceId, streamName, streamArn: localStreamArn(streamName) };
}

/** The one Lambda processor, with the function it names in serverless.yml. */
function processorOf(functions: Map<string, FunctionDefinition>, configuration: unknown, where: string): DeliveryStreamProcessor | undefined {
  if (!isRecord(configuration) || configuration.Enabled !== true) return undefined;
  const processors = (Array.isArray(configuration.Processors) ? configuration.Processors : []).filter(isRecord);
  const lambdas = processors.filter((p) => p.Type === 'Lambda');
  if (processors.length !== lambdas.length || lambdas.length !== 1) throw new Error(`${where}: locally, ProcessingConfiguration needs exactly one processor, of Type Lambda`);
  const parameters = new Map(
    (Array.isArray(lambdas[0]!.Parameters) ? lambdas[0]!.Parameters : []).filter(isRecord).map((p) => [p.ParameterName, p.ParameterValue] as const),
  );
  const lambdaId = referencedLogicalId(parameters.get('LambdaArn'));
  const lambda = [...functions.values()].find((f) => functionLogicalId(f.functionKey) === lambdaId);
  if (!lambda) throw new Error(`${where}: the processor's LambdaArn must be !GetAtt <Function>LambdaFunction.Arn of a function in serverless.yml`);
  return {
    ...lambda,
    invocationBytes: numberOr(parameters.get('BufferSizeInMBs'), 1, `${where} BufferSizeInMBs`) * 1024 * 1024,
    numberOfRetries: numberOr(parameters.get('NumberOfRetries'), FIREHOSE_DEFAULT_PROCESSOR_RETRIES, `${where} NumberOfRetries`),
  };
}

/** Format conversion's Glue table, whose columns come from schemas/lake-tables.ts. */
function tableOf(template: TemplateDocument, configuration: unknown, where: string): LakeTable | undefined {
  if (!isRecord(configuration) || configuration.Enabled !== true) return undefined;
  const serializer = isRecord(configuration.OutputFormatConfiguration) ? configuration.OutputFormatConfiguration.Serializer : undefined;
  if (!isRecord(serializer) || !isRecord(serializer.ParquetSerDe)) throw new Error(`${where}: locally, format conversion writes Parquet only`);
  const schema = isRecord(configuration.SchemaConfiguration) ? configuration.SchemaConfiguration : {};
  const tableId = referencedLogicalId(schema.TableName);
  const tableInput = tableId ? template.resources.get(tableId)?.Properties.TableInput : undefined;
  const tableName = isRecord(tableInput) ? tableInput.Name : schema.TableName;
  const table = LAKE_TABLES.find((t) => t.name === tableName);
  if (!table) throw new Error(`${where}: the Glue table ${JSON.stringify(tableName)} has no columns in schemas/lake-tables.ts`);
  return table;
}
