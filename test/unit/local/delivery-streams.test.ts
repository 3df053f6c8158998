// The template reader on delivery streams: a Kinesis source and Direct PUT, each into its definition, and the
// `!Ref` / `!GetAtt` of a delivery stream in a function's environment resolved to its local name and ARN.
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { AGGREGATES_TABLE, IDENTITIES_TABLE } from '../../../schemas/lake-tables.js';
import { directPutBackingStreamName } from '../../../local/template/delivery-streams.js';
import { readTemplates, templatesFromText } from '../../../local/template/templates.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');

/** A serverless.yml with the transform, a producer, and one delivery stream of each kind. */
function template(directPut: string, kinesis = KINESIS_SOURCE): string {
  return `
service: svc
functions:
  transform:
    handler: functions/firehose-transform/handler.handler
  producer:
    handler: functions/enrich/handler.handler
    environment:
      LINKS_STREAM: !Ref LinksDeliveryStream
      LINKS_STREAM_ARN: !GetAtt LinksDeliveryStream.Arn
resources:
  Resources:
    LakeBucket: { Type: AWS::S3::Bucket, Properties: {} }
    AggregatesStream: { Type: AWS::Kinesis::Stream, Properties: {} }
    IdentitiesTable:
      Type: AWS::Glue::Table
      Properties: { TableInput: { Name: identities } }
    AggregatesTable:
      Type: AWS::Glue::Table
      Properties: { TableInput: { Name: aggregates } }
    AggregatesDeliveryStream:
      Type: AWS::KinesisFirehose::DeliveryStream
      Properties:
${kinesis}
        ExtendedS3DestinationConfiguration:
          BucketARN: !GetAtt LakeBucket.Arn
          Prefix: aggregates/dt=!{partitionKeyFromLambda:dt}/hour=!{partitionKeyFromLambda:hour}/
          ErrorOutputPrefix: errors/aggregates/!{firehose:error-output-type}/
          DynamicPartitioningConfiguration: { Enabled: true }
          DataFormatConversionConfiguration:
            Enabled: true
            OutputFormatConfiguration: { Serializer: { ParquetSerDe: {} } }
            SchemaConfiguration: { TableName: !Ref AggregatesTable }
    LinksDeliveryStream:
      Type: AWS::KinesisFirehose::DeliveryStream
      Properties:
${directPut}
        ExtendedS3DestinationConfiguration:
          BucketARN: !GetAtt LakeBucket.Arn
          Prefix: identities/dt=!{partitionKeyFromLambda:dt}/hour=!{partitionKeyFromLambda:hour}/
          ErrorOutputPrefix: errors/identities/!{firehose:error-output-type}/
          DynamicPartitioningConfiguration: { Enabled: true }
          ProcessingConfiguration:
            Enabled: true
            Processors:
              - Type: Lambda
                Parameters:
                  - { ParameterName: LambdaArn, ParameterValue: !GetAtt TransformLambdaFunction.Arn }
          DataFormatConversionConfiguration:
            Enabled: true
            OutputFormatConfiguration: { Serializer: { ParquetSerDe: {} } }
            SchemaConfiguration: { TableName: !Ref IdentitiesTable }
`;
}

const KINESIS_SOURCE = `        DeliveryStreamName: \${self:service}-\${sls:stage}-aggregates
        DeliveryStreamType: KinesisStreamAsSource
        KinesisStreamSourceConfiguration: { KinesisStreamARN: !GetAtt AggregatesStream.Arn }`;

const DIRECT_PUT = `        DeliveryStreamName: \${self:service}-\${sls:stage}-identities
        DeliveryStreamType: DirectPut
        DeliveryStreamEncryptionConfigurationInput: { KeyType: AWS_OWNED_CMK }`;

describe('delivery stream definitions', () => {
  it('reads a DirectPut delivery stream: Direct PUT source, with a hidden backing stream of one shard named after it', () => {
    const templates = templatesFromText(template(DIRECT_PUT));
    const links = templates.deliveryStreams.find((d) => d.logicalId === 'LinksDeliveryStream')!;
    expect(links).toMatchObject({
      name: 'svc-local-identities',
      arn: 'arn:aws:firehose:us-east-1:000000000000:deliverystream/svc-local-identities',
      source: {
        kind: 'direct-put',
        streamName: 'firehose-directput-svc-local-identities',
        streamArn: 'arn:aws:kinesis:us-east-1:000000000000:stream/firehose-directput-svc-local-identities',
        shardCount: 1,
        encrypted: true,
      },
      processor: { functionKey: 'transform' },
      bucket: 'lake',
      prefix: 'identities/dt=!{partitionKeyFromLambda:dt}/hour=!{partitionKeyFromLambda:hour}/',
      dynamicPartitioning: true,
    });
    expect(links.table).toBe(IDENTITIES_TABLE);
    expect(links.source.streamName).toBe(directPutBackingStreamName(links.name));
  });

  it('still reads a KinesisStreamAsSource delivery stream: its stream, by its local name', () => {
    const aggregates = templatesFromText(template(DIRECT_PUT)).deliveryStreams.find((d) => d.logicalId === 'AggregatesDeliveryStream')!;
    expect(aggregates).toMatchObject({
      name: 'svc-local-aggregates',
      source: { kind: 'kinesis', logicalId: 'AggregatesStream', streamName: 'aggregates', streamArn: 'arn:aws:kinesis:us-east-1:000000000000:stream/aggregates' },
      processor: undefined,
    });
    expect(aggregates.table).toBe(AGGREGATES_TABLE);
  });

  it('takes DirectPut when DeliveryStreamType is left out (CloudFormation default), unencrypted without the SSE input', () => {
    const links = templatesFromText(template('        DeliveryStreamName: links')).deliveryStreams.find((d) => d.logicalId === 'LinksDeliveryStream')!;
    expect(links.source).toEqual({
      kind: 'direct-put',
      streamName: 'firehose-directput-links',
      streamArn: 'arn:aws:kinesis:us-east-1:000000000000:stream/firehose-directput-links',
      shardCount: 1,
      encrypted: false,
    });
  });

  it('refuses what does not run locally: another source type, a DirectPut stream with a Kinesis source', () => {
    expect(() => templatesFromText(template('        DeliveryStreamType: MSKAsSource'))).toThrow(/DeliveryStreamType "MSKAsSource" does not run locally/);
    expect(() =>
      templatesFromText(template(`${DIRECT_PUT}\n        KinesisStreamSourceConfiguration: { KinesisStreamARN: !GetAtt AggregatesStream.Arn }`)),
    ).toThrow(/a DirectPut delivery stream has no KinesisStreamSourceConfiguration/);
    expect(() => templatesFromText(template(DIRECT_PUT, '        DeliveryStreamType: KinesisStreamAsSource'))).toThrow(/KinesisStreamARN must be !GetAtt <Stream>.Arn/);
  });

  it("resolves a delivery stream's !Ref in a function's environment to its name, and !GetAtt .Arn to its ARN", () => {
    expect(templatesFromText(template(DIRECT_PUT)).environmentOf('producer')).toMatchObject({
      LINKS_STREAM: 'svc-local-identities',
      LINKS_STREAM_ARN: 'arn:aws:firehose:us-east-1:000000000000:deliverystream/svc-local-identities',
    });
  });
});

describe('serverless.yml', () => {
  const templates = readTemplates(join(ROOT, 'serverless.yml'));

  it('has the identities delivery stream as Direct PUT into identities/, through the transform, as Parquet', () => {
    const identities = templates.deliveryStreams.find((d) => d.logicalId === 'IdentitiesDeliveryStream');
    expect(identities).toMatchObject({
      name: 'clickstream-local-identities',
      source: { kind: 'direct-put', streamName: 'firehose-directput-clickstream-local-identities', shardCount: 1, encrypted: true },
      processor: { functionKey: 'firehoseTransform' },
      bucket: 'lake',
      prefix: 'identities/link=!{partitionKeyFromLambda:link}/',
      errorPrefix: 'errors/identities/!{firehose:error-output-type}/dt=!{timestamp:yyyy-MM-dd}/',
      dynamicPartitioning: true,
    });
    expect(identities!.table).toBe(IDENTITIES_TABLE);
    // Every other delivery stream keeps its Kinesis source.
    expect(templates.deliveryStreams.filter((d) => d.source.kind === 'kinesis').map((d) => d.logicalId).sort()).toEqual([
      'AggregatesDeliveryStream',
      'AnomaliesDeliveryStream',
      'EventsDeliveryStream',
    ]);
  });

  it("gives the enrich function the identities delivery stream's name", () => {
    expect(templates.environmentOf('enrich').IDENTITIES_DELIVERY_STREAM_NAME).toBe('clickstream-local-identities');
  });
});
