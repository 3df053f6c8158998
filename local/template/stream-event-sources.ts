// The `stream` events of serverless.yml (Lambda event source mappings on Kinesis), read once so the local
// poller runs with exactly the wiring that is deployed. Defaults are Lambda's own where the event leaves one out.
import type { FunctionDefinition } from './functions.js';
import { localResourceName, referencedLogicalId } from './names.js';
import { isRecord, numberOr } from './yaml.js';

export type StartingPosition = 'TRIM_HORIZON' | 'LATEST' | 'AT_TIMESTAMP';

/** The event source mapping settings Lambda applies to a Kinesis source. */
export interface StreamMappingSettings {
  batchSize: number;
  /** MaximumBatchingWindowInSeconds. */
  batchWindowSeconds: number;
  bisectBatchOnFunctionError: boolean;
  /** FunctionResponseTypes contains ReportBatchItemFailures. */
  reportBatchItemFailures: boolean;
  /** -1: retry until the record expires. */
  maximumRetryAttempts: number;
  /** -1: no age limit. */
  maximumRecordAgeInSeconds: number;
  parallelizationFactor: number;
  startingPosition: StartingPosition;
  /** Epoch seconds, for AT_TIMESTAMP. */
  startingPositionTimestamp?: number;
}

export interface StreamEventSource {
  function: FunctionDefinition;
  /** CloudFormation logical id of the source stream, e.g. RawEventsStream. */
  streamLogicalId: string;
  /** Local physical stream name, e.g. events-raw. */
  streamName: string;
  settings: StreamMappingSettings;
  /** The on-failure destination, when one is configured. */
  onFailure?: { logicalId: string; name: string; type: string };
}

// Lambda's defaults (CreateEventSourceMapping API reference) and the framework's for `startingPosition`.
const LAMBDA_DEFAULTS: StreamMappingSettings = {
  batchSize: 100,
  batchWindowSeconds: 0,
  bisectBatchOnFunctionError: false,
  reportBatchItemFailures: false,
  maximumRetryAttempts: -1,
  maximumRecordAgeInSeconds: -1,
  parallelizationFactor: 1,
  startingPosition: 'TRIM_HORIZON',
};
/** Every enabled Kinesis `stream` event of every function in serverless.yml. */
export function streamEventSources(functions: Map<string, FunctionDefinition>): StreamEventSource[] {
  const sources: StreamEventSource[] = [];
  for (const lambda of functions.values()) {
    for (const [index, event] of lambda.events.entries()) {
      if (!isRecord(event) || !('stream' in event)) continue;
      const source = streamEventSource(event.stream, `functions.${lambda.functionKey}.events[${index}].stream`, lambda);
      if (source) sources.push(source);
    }
  }
  return sources;
}

function streamEventSource(stream: unknown, where: string, lambda: FunctionDefinition): StreamEventSource | undefined {
  // The short form `stream: <arn>` carries no settings.
  const settings = isRecord(stream) ? stream : { arn: stream };
  if (settings.enabled === false) return undefined;
  const type = settings.type ?? (typeof settings.arn === 'string' && settings.arn.includes(':kinesis:') ? 'kinesis' : undefined);
  if (type !== 'kinesis') {
    throw new Error(`${where}: only Kinesis stream events run locally (got type ${JSON.stringify(type)})`);
  }
  if (settings.consumer !== undefined && settings.consumer !== false) {
    throw new Error(`${where}: enhanced fan-out (consumer) needs SubscribeToShard, which the local Kinesis emulator lacks`);
  }
  const streamLogicalId = referencedLogicalId(settings.arn);
  if (!streamLogicalId) throw new Error(`${where}.arn must be !GetAtt <Stream>.Arn of a stream in this service (got ${JSON.stringify(settings.arn)})`);

  const functionResponseType = settings.functionResponseType;
  if (functionResponseType !== undefined && functionResponseType !== 'ReportBatchItemFailures') {
    throw new Error(`${where}.functionResponseType must be ReportBatchItemFailures (got ${JSON.stringify(functionResponseType)})`);
  }
  const startingPosition = settings.startingPosition ?? LAMBDA_DEFAULTS.startingPosition;
  if (startingPosition !== 'TRIM_HORIZON' && startingPosition !== 'LATEST' && startingPosition !== 'AT_TIMESTAMP') {
    throw new Error(`${where}.startingPosition must be TRIM_HORIZON, LATEST or AT_TIMESTAMP (got ${JSON.stringify(startingPosition)})`);
  }
  const startingPositionTimestamp = settings.startingPositionTimestamp === undefined ? undefined : numberOr(settings.startingPositionTimestamp, 0, `${where}.startingPositionTimestamp`);

  const destinations = isRecord(settings.destinations) ? settings.destinations : {};
  const onFailure = destinations.onFailure;
  const onFailureLogicalId = referencedLogicalId(isRecord(onFailure) ? onFailure.arn : onFailure);
  if (onFailure !== undefined && !onFailureLogicalId) throw new Error(`${where}.destinations.onFailure must reference a resource of this service`);

  return {
    function: lambda,
    streamLogicalId,
    streamName: localResourceName(streamLogicalId),
    settings: {
      batchSize: numberOr(settings.batchSize, LAMBDA_DEFAULTS.batchSize, `${where}.batchSize`),
      batchWindowSeconds: numberOr(settings.batchWindow, LAMBDA_DEFAULTS.batchWindowSeconds, `${where}.batchWindow`),
      bisectBatchOnFunctionError: settings.bisectBatchOnFunctionError === true,
      reportBatchItemFailures: functionResponseType === 'ReportBatchItemFailures',
      maximumRetryAttempts: numberOr(settings.maximumRetryAttempts, LAMBDA_DEFAULTS.maximumRetryAttempts, `${where}.maximumRetryAttempts`),
      maximumRecordAgeInSeconds: numberOr(settings.maximumRecordAgeInSeconds, LAMBDA_DEFAULTS.maximumRecordAgeInSeconds, `${where}.maximumRecordAgeInSeconds`),
      parallelizationFactor: numberOr(settings.parallelizationFactor, LAMBDA_DEFAULTS.parallelizationFactor, `${where}.parallelizationFactor`),
      startingPosition,
      ...(startingPositionTimestamp === undefined ? {} : { startingPositionTimestamp }),
    },
    ...(onFailureLogicalId
      ? {
          onFailure: {
            logicalId: onFailureLogicalId,
            name: localResourceName(onFailureLogicalId),
            type: isRecord(onFailure) && typeof onFailure.type === 'string' ? onFailure.type : 'sqs',
          },
        }
      : {}),
  };
}
