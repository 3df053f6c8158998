// The one reader of the templates: serverless.yml and the infra/*.yml it includes, parsed once into the
// typed definitions every local part takes (the gateway, the event source mappings, the local Firehose,
// the emulators' tables and buckets, the handlers' environments).
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { deliveryStreamDefinitions, type DeliveryStreamDefinition } from './delivery-streams.js';
import { templateDocument, type TemplateDocument } from './document.js';
import { functionDefinitions, type FunctionDefinition } from './functions.js';
import { httpApiConfig, type HttpApiConfig } from './http-api.js';
import { streamEventSources, type StreamEventSource } from './stream-event-sources.js';

export interface Templates extends TemplateDocument {
  /** Every function of `functions:`, by key. */
  functions: Map<string, FunctionDefinition>;
  /** Routes and CORS of the HTTP API, with the functions they call. */
  httpApi: HttpApiConfig;
  /** Every enabled Kinesis `stream` event: one event source mapping each. */
  streamEventSources: StreamEventSource[];
  /** Every `AWS::KinesisFirehose::DeliveryStream` with a Kinesis source and an S3 destination. */
  deliveryStreams: DeliveryStreamDefinition[];
  /** Logical ids of the resources of a CloudFormation type, e.g. `AWS::DynamoDB::Table`. */
  resourcesOfType(type: string): string[];
  /** The function's one stream event source; throws when it has none or several. */
  streamEventSource(functionKey: string): StreamEventSource;
  /** The function's environment as Lambda would see it locally. */
  environmentOf(functionKey: string): Record<string, string>;
}

export function readTemplates(serverlessYmlPath: string, stage = 'local'): Templates {
  return templatesFromText(readFileSync(serverlessYmlPath, 'utf8'), { baseDir: dirname(resolve(serverlessYmlPath)), stage });
}

export function templatesFromText(text: string, options: { baseDir?: string; stage?: string } = {}): Templates {
  const document = templateDocument(text, options.baseDir ?? process.cwd(), options.stage ?? 'local');
  const functions = functionDefinitions(document);
  const sources = streamEventSources(functions);
  return {
    ...document,
    functions,
    httpApi: httpApiConfig(document, functions),
    streamEventSources: sources,
    deliveryStreams: deliveryStreamDefinitions(document, functions),
    resourcesOfType: (type) => [...document.resources].filter(([, resource]) => resource.Type === type).map(([logicalId]) => logicalId),
    streamEventSource: (functionKey) => {
      const matching = sources.filter((source) => source.function.functionKey === functionKey);
      if (matching.length !== 1) throw new Error(`function "${functionKey}" has ${matching.length} enabled Kinesis stream events in serverless.yml; expected 1`);
      return matching[0]!;
    },
    environmentOf: (functionKey) => {
      const lambda = functions.get(functionKey);
      if (!lambda) throw new Error(`serverless.yml has no function "${functionKey}"`);
      return lambda.environment();
    },
  };
}
