// What each CloudFormation resource the local stack serves is called on this machine, and its local ARN.
import { LOCAL_ACCOUNT_ID, LOCAL_REGION } from '../aws-env.js';
import { LOCAL_STREAM_NAMES, localStreamArn } from '../kinesis/streams.js';
import type { TemplateDocument } from './document.js';
import { isRecord } from './yaml.js';

/** The local physical name of each resource, by logical id. */
export const LOCAL_RESOURCE_NAMES: Readonly<Record<string, string>> = {
  RawEventsStream: LOCAL_STREAM_NAMES.raw,
  EnrichedEventsStream: LOCAL_STREAM_NAMES.enriched,
  DedupLedgerTable: 'enrich-dedup-ledger',
  LakeBucket: 'lake',
  EnrichDeadLetterQueue: 'enrich-dlq',
  AggregatesStream: LOCAL_STREAM_NAMES.aggregates,
  AnomaliesStream: LOCAL_STREAM_NAMES.anomalies,
  AlertDedupTable: 'alert-dedup',
  AlertDeadLetterQueue: 'alert-dlq',
  // Only so that ALERT_TOPIC_ARN resolves: locally the alert consumer writes to a file (ALERT_PUBLISHER=file).
  AlertTopic: 'alerts',
};

/** The local name of a resource; a logical id the local stack does not serve is a configuration error. */
export function localResourceName(logicalId: string): string {
  const name = LOCAL_RESOURCE_NAMES[logicalId];
  if (name === undefined) throw new Error(`no local stand-in for the CloudFormation resource "${logicalId}" (add it to LOCAL_RESOURCE_NAMES)`);
  return name;
}

/** The local ARN of a resource of a CloudFormation type, as `!GetAtt <logicalId>.Arn` would give on AWS. */
export function localResourceArn(logicalId: string, type: string | undefined): string {
  const name = localResourceName(logicalId);
  switch (type) {
    case 'AWS::Kinesis::Stream':
      return localStreamArn(name);
    case 'AWS::SQS::Queue':
      return `arn:aws:sqs:${LOCAL_REGION}:${LOCAL_ACCOUNT_ID}:${name}`;
    case 'AWS::DynamoDB::Table':
      return `arn:aws:dynamodb:${LOCAL_REGION}:${LOCAL_ACCOUNT_ID}:table/${name}`;
    case 'AWS::S3::Bucket':
      return `arn:aws:s3:::${name}`;
    default:
      throw new Error(`resource "${logicalId}" (${type ?? 'not found'}) has no local ARN`);
  }
}

/** The logical id behind `!Ref X` or `!GetAtt X.Arn`, or undefined for anything else. */
export function referencedLogicalId(value: unknown): string | undefined {
  if (!isRecord(value)) return undefined;
  if (typeof value.Ref === 'string') return value.Ref;
  const getAtt = value['Fn::GetAtt'];
  if (Array.isArray(getAtt) && typeof getAtt[0] === 'string') return getAtt[0];
  if (typeof getAtt === 'string') return getAtt.split('.')[0];
  return undefined;
}

/**
 * A delivery stream's name is the template's own (DeliveryStreamName, resolved for the local stage), so it
 * keeps the `<service>-<stage>-<table>` the transform reads; without one, `<service>-<stage>-<logicalId>`.
 */
export function localDeliveryStreamName(template: TemplateDocument, logicalId: string): string {
  const resource = template.resources.get(logicalId);
  if (resource?.Type !== 'AWS::KinesisFirehose::DeliveryStream') throw new Error(`"${logicalId}" is not an AWS::KinesisFirehose::DeliveryStream of the template`);
  const name = template.resolve(resource.Properties.DeliveryStreamName);
  return typeof name === 'string' ? name : `${template.service}-${template.stage}-${logicalId}`;
}

export function localDeliveryStreamArn(name: string): string {
  return `arn:aws:firehose:${LOCAL_REGION}:${LOCAL_ACCOUNT_ID}:deliverystream/${name}`;
}
