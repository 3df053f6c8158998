// The `AWS::KinesisFirehose::DeliveryStream` resources of serverless.yml's infra, read once so the local
// Firehose delivers with the deployed wiring: source stream, transform Lambda and its retries, bucket,
// prefix and error prefix, dynamic partitioning, and the Glue table the records are converted with.
// Also the evaluation of Firehose's prefix expressions (Firehose developer guide, "Custom prefixes for
// Amazon S3 objects"): !{partitionKeyFromLambda:k}, !{timestamp:<Java pattern>}, !{firehose:error-output-type},
// !{firehose:random-string}.
import { LAKE_TABLES, type LakeTable } from '../../schemas/lake-tables.js';
import { LOCAL_ACCOUNT_ID, LOCAL_REGION } from '../aws-env.js';
import { isRecord, localResourceName, referencedLogicalId, type ServerlessProject } from './resources.js';
import { localStreamArn } from '../kinesis/streams.js';

export interface DeliveryStreamProcessor {
  functionKey: string;
  functionName: string;
  /** `handler:` as written in serverless.yml. */
  handler: string;
  arn: string;
  timeoutSeconds: number;
  memorySizeMb: number;
  /** Processor parameter BufferSizeInMBs: the most input one invocation gets (default 1 MB). */
  invocationBytes: number;
  /** Processor parameter NumberOfRetries (default 3). */
  numberOfRetries: number;
}

export interface DeliveryStreamDefinition {
  logicalId: string;
  /** DeliveryStreamName, resolved for the local stage. */
  name: string;
  arn: string;
  source: { logicalId: string; streamName: string; streamArn: string };
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

const LAMBDA_DEFAULT_TIMEOUT_SECONDS = 6;
const LAMBDA_DEFAULT_MEMORY_MB = 1024;
const FIREHOSE_DEFAULT_PROCESSOR_BYTES = 1024 * 1024;
const FIREHOSE_DEFAULT_PROCESSOR_RETRIES = 3;

/** Every delivery stream with a Kinesis source and an extended S3 destination in the template. */
export function deliveryStreamDefinitions(project: ServerlessProject): DeliveryStreamDefinition[] {
  const definitions: DeliveryStreamDefinition[] = [];
  for (const [logicalId, resource] of project.resources) {
    if (resource.Type !== 'AWS::KinesisFirehose::DeliveryStream') continue;
    definitions.push(deliveryStreamDefinition(project, logicalId, project.resolve(resource.Properties) as Record<string, unknown>));
  }
  return definitions;
}

function deliveryStreamDefinition(project: ServerlessProject, logicalId: string, properties: Record<string, unknown>): DeliveryStreamDefinition {
  const where = `${logicalId} (AWS::KinesisFirehose::DeliveryStream)`;
  if (properties.DeliveryStreamType !== 'KinesisStreamAsSource') throw new Error(`${where}: only DeliveryStreamType KinesisStreamAsSource runs locally`);
  const name = typeof properties.DeliveryStreamName === 'string' ? properties.DeliveryStreamName : `${project.service}-${project.stage}-${logicalId}`;
  const sourceConfiguration = isRecord(properties.KinesisStreamSourceConfiguration) ? properties.KinesisStreamSourceConfiguration : {};
  const sourceId = referencedLogicalId(sourceConfiguration.KinesisStreamARN);
  if (!sourceId) throw new Error(`${where}: KinesisStreamSourceConfiguration.KinesisStreamARN must be !GetAtt <Stream>.Arn`);
  const streamName = localResourceName(sourceId);

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
    arn: `arn:aws:firehose:${LOCAL_REGION}:${LOCAL_ACCOUNT_ID}:deliverystream/${name}`,
    source: { logicalId: sourceId, streamName, streamArn: localStreamArn(streamName) },
    processor: processorOf(project, destination.ProcessingConfiguration, where),
    bucket: localResourceName(bucketId),
    prefix,
    errorPrefix,
    dynamicPartitioning,
    table: tableOf(project, destination.DataFormatConversionConfiguration, where),
    deployedBuffering: { sizeMB: buffering.SizeInMBs, intervalSeconds: buffering.IntervalInSeconds },
  };
}

/** The one Lambda processor, with the function it names in serverless.yml. */
function processorOf(project: ServerlessProject, configuration: unknown, where: string): DeliveryStreamProcessor | undefined {
  if (!isRecord(configuration) || configuration.Enabled !== true) return undefined;
  const processors = (Array.isArray(configuration.Processors) ? configuration.Processors : []).filter(isRecord);
  const lambdas = processors.filter((p) => p.Type === 'Lambda');
  if (processors.length !== lambdas.length || lambdas.length !== 1) throw new Error(`${where}: locally, ProcessingConfiguration needs exactly one processor, of Type Lambda`);
  const parameters = new Map(
    (Array.isArray(lambdas[0]!.Parameters) ? lambdas[0]!.Parameters : []).filter(isRecord).map((p) => [p.ParameterName, p.ParameterValue] as const),
  );
  const lambdaId = referencedLogicalId(parameters.get('LambdaArn'));
  const functions = isRecord(project.document.functions) ? project.document.functions : {};
  // The Serverless Framework names a function's resource <NormalizedKey>LambdaFunction.
  const functionKey = Object.keys(functions).find((key) => `${normalizedFunctionName(key)}LambdaFunction` === lambdaId);
  if (!functionKey) throw new Error(`${where}: the processor's LambdaArn must be !GetAtt <Function>LambdaFunction.Arn of a function in serverless.yml`);
  const provider = isRecord(project.document.provider) ? (project.resolve(project.document.provider) as Record<string, unknown>) : {};
  const definition = project.resolve(functions[functionKey]) as Record<string, unknown>;
  if (typeof definition.handler !== 'string') throw new Error(`serverless.yml: functions.${functionKey}.handler must be a string`);
  const functionName = typeof definition.name === 'string' ? definition.name : `${project.service}-${project.stage}-${functionKey}`;
  return {
    functionKey,
    functionName,
    handler: definition.handler,
    arn: `arn:aws:lambda:${LOCAL_REGION}:${LOCAL_ACCOUNT_ID}:function:${functionName}`,
    timeoutSeconds: numberOr(definition.timeout ?? provider.timeout, LAMBDA_DEFAULT_TIMEOUT_SECONDS),
    memorySizeMb: numberOr(definition.memorySize ?? provider.memorySize, LAMBDA_DEFAULT_MEMORY_MB),
    invocationBytes: parameters.has('BufferSizeInMBs') ? numberOr(parameters.get('BufferSizeInMBs'), 1) * 1024 * 1024 : FIREHOSE_DEFAULT_PROCESSOR_BYTES,
    numberOfRetries: numberOr(parameters.get('NumberOfRetries'), FIREHOSE_DEFAULT_PROCESSOR_RETRIES),
  };
}

/** Format conversion's Glue table, whose columns come from schemas/lake-tables.ts. */
function tableOf(project: ServerlessProject, configuration: unknown, where: string): LakeTable | undefined {
  if (!isRecord(configuration) || configuration.Enabled !== true) return undefined;
  const serializer = isRecord(configuration.OutputFormatConfiguration) ? configuration.OutputFormatConfiguration.Serializer : undefined;
  if (!isRecord(serializer) || !isRecord(serializer.ParquetSerDe)) throw new Error(`${where}: locally, format conversion writes Parquet only`);
  const schema = isRecord(configuration.SchemaConfiguration) ? configuration.SchemaConfiguration : {};
  const tableId = referencedLogicalId(schema.TableName);
  const tableInput = tableId ? project.resources.get(tableId)?.Properties.TableInput : undefined;
  const tableName = isRecord(tableInput) ? tableInput.Name : schema.TableName;
  const table = LAKE_TABLES.find((t) => t.name === tableName);
  if (!table) throw new Error(`${where}: the Glue table ${JSON.stringify(tableName)} has no columns in schemas/lake-tables.ts`);
  return table;
}

/** The Serverless Framework's normalizeNameToAlphaNumericOnly + capitalised first letter. */
const normalizedFunctionName = (key: string): string => {
  const alphanumeric = key.replace(/-/g, 'Dash').replace(/_/g, 'Underscore');
  return alphanumeric.charAt(0).toUpperCase() + alphanumeric.slice(1);
};

function numberOr(value: unknown, fallback: number): number {
  if (value === undefined || value === null || value === '') return fallback;
  const parsed = Number(value);
  return Number.isFinite(parsed) ? parsed : fallback;
}

// ---------------------------------------------------------------------------------------------
// Prefix expressions

export class PrefixEvaluationError extends Error {
  override name = 'PrefixEvaluationError';
}

export interface PrefixValues {
  /** metadata.partitionKeys from the transform. */
  partitionKeys?: Record<string, string> | undefined;
  /** Approximate arrival of the oldest record in the object (epoch ms): what !{timestamp:…} formats. */
  timestampMs: number;
  errorOutputType?: string;
  randomString?: string;
}

const EXPRESSION = /!\{([A-Za-z]+):([^}]*)\}/g;

/** The names of the Lambda partition keys a prefix uses. */
export const lambdaPartitionKeysOf = (prefix: string): string[] =>
  [...prefix.matchAll(EXPRESSION)].filter((m) => m[1] === 'partitionKeyFromLambda').map((m) => m[2]!);

/** The prefix with its expressions evaluated; an empty prefix is Firehose's default yyyy/MM/dd/HH/. */
export function evaluatePrefix(prefix: string, values: PrefixValues): string {
  if (prefix === '') return `${formatTimestamp(values.timestampMs, 'yyyy/MM/dd/HH')}/`;
  return prefix.replace(EXPRESSION, (_, namespace: string, value: string) => {
    switch (namespace) {
      case 'partitionKeyFromLambda': {
        const key = values.partitionKeys?.[value];
        if (key === undefined || key === '') throw new PrefixEvaluationError(`partition key "${value}" is missing from the record's metadata.partitionKeys`);
        return key;
      }
      case 'timestamp':
        return formatTimestamp(values.timestampMs, value);
      case 'firehose':
        if (value === 'error-output-type' && values.errorOutputType) return values.errorOutputType;
        if (value === 'random-string' && values.randomString) return values.randomString;
        throw new PrefixEvaluationError(`!{firehose:${value}} has no value here`);
      default:
        throw new PrefixEvaluationError(`!{${namespace}:…} is not supported locally`);
    }
  });
}

/** A UTC time with the Java DateTimeFormatter letters Firehose prefixes use (y M d H m s, 'quoted text'). */
export function formatTimestamp(ms: number, pattern: string): string {
  const date = new Date(ms);
  const fields: Record<string, number> = {
    y: date.getUTCFullYear(),
    M: date.getUTCMonth() + 1,
    d: date.getUTCDate(),
    H: date.getUTCHours(),
    m: date.getUTCMinutes(),
    s: date.getUTCSeconds(),
  };
  return pattern.replace(/'([^']*)'|([A-Za-z])\2*/g, (token, quoted: string | undefined, letter: string | undefined) => {
    if (quoted !== undefined) return quoted === '' ? "'" : quoted;
    const field = fields[letter!];
    if (field === undefined) throw new PrefixEvaluationError(`timestamp pattern letter "${letter}" is not supported locally (in "${pattern}")`);
    if (letter === 'y' && token.length === 2) return String(field % 100).padStart(2, '0');
    return String(field).padStart(token.length, '0');
  });
}
