// The stage's CloudWatch alarms (infra/alarms.yml) in the packaged template: one `serverless package` run,
// offline, like template.test.ts. The checks are generic where they can be (every function, delivery
// stream, queue and Flink application has its alarms), so a new resource without one fails here.
import { execFile } from 'node:child_process';
import { copyFile, mkdtemp, readdir, readFile, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
const STAGE = 'ci-alarms';
const PREFIX = `clickstream-${STAGE}-`;
// One param overridden on the command line, to show the defaults in infra/alarms.yml give way to it.
const ITERATOR_AGE_OVERRIDE = 120_000;

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type JsonObject = { [key: string]: Json };
interface CfnResource {
  Type: string;
  Condition?: string;
  Properties?: JsonObject;
}
interface CfnTemplate {
  Metadata?: JsonObject;
  Conditions?: Record<string, Json>;
  Resources: Record<string, CfnResource>;
}
interface Alarm {
  id: string;
  props: JsonObject;
}

const ofType = (t: CfnTemplate, type: string): [string, CfnResource][] => Object.entries(t.Resources).filter(([, r]) => r.Type === type);
const dimension = (props: JsonObject, name: string): Json | undefined =>
  ((props.Dimensions ?? []) as JsonObject[]).find((d) => d.Name === name)?.Value;

/**
 * A service folder of our own: symlinks to the checkout's files, but its own `.serverless/`. osls stages
 * every package in `<service>/.serverless` before copying it to --package, so two packages of one
 * checkout at once (template.test.ts runs in the other vitest worker) would clobber each other there.
 */
async function isolatedService(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'clickstream-alarms-service-'));
  const skip = new Set(['.serverless', '.esbuild', '.git', '.local', '.venv', 'dist', 'test-artifacts']);
  for (const entry of await readdir(repoRoot)) {
    if (skip.has(entry)) continue;
    // osls does not take a symlink for its configuration file.
    if (entry === 'serverless.yml') await copyFile(join(repoRoot, entry), join(dir, entry));
    else await symlink(join(repoRoot, entry), join(dir, entry));
  }
  return dir;
}

/** Offline: no AWS credentials of any kind, and an esbuild work folder of our own. */
function offlineEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('AWS_') && k !== 'SLS_ESBUILD_WORK_FOLDER') env[k] = v;
  return {
    ...env,
    AWS_SHARED_CREDENTIALS_FILE: join(tmpdir(), 'no-such-credentials'),
    AWS_CONFIG_FILE: join(tmpdir(), 'no-such-config'),
    AWS_EC2_METADATA_DISABLED: 'true',
    SLS_ESBUILD_WORK_FOLDER: join('.esbuild', `vitest-alarms-${process.pid}`),
    SLS_DEPRECATION_DISABLE: '*',
  };
}

describe('infra/alarms.yml → CloudWatch alarms', () => {
  let dir = '';
  let service = '';
  let template: CfnTemplate;
  let alarms: Alarm[];

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'clickstream-alarms-'));
    service = await isolatedService();
    const args = [
      join(repoRoot, 'node_modules', 'serverless', 'bin', 'serverless.js'),
      'package', '--stage', STAGE, '--package', dir,
      '--param', 'flinkJar=skip', // the template is what is checked here, not the job jar (no Maven needed)
      '--param', `alarmIteratorAgeMilliseconds=${ITERATOR_AGE_OVERRIDE}`,
    ];
    await new Promise<void>((resolve, reject) => {
      execFile(process.execPath, args, { cwd: service, env: offlineEnv(), timeout: 180_000, maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) =>
        error ? reject(new Error(`serverless package failed: ${error.message}\n${stdout}\n${stderr}`)) : resolve(),
      );
    });
    template = JSON.parse(await readFile(join(dir, 'cloudformation-template-update-stack.json'), 'utf8')) as CfnTemplate;
    alarms = ofType(template, 'AWS::CloudWatch::Alarm').map(([id, r]) => ({ id, props: r.Properties ?? {} }));
  }, 200_000);

  afterAll(async () => {
    for (const path of [dir, service]) if (path) await rm(path, { recursive: true, force: true }); // removes the symlinks, not their targets
  });

  const alarmsOn = (metric: string, dim: string, value: Json): Alarm[] =>
    alarms.filter((a) => a.props.MetricName === metric && JSON.stringify(dimension(a.props, dim)) === JSON.stringify(value));

  it('names every alarm <service>-<stage>-…, uniquely, and notifies AlertTopic on ALARM and on OK', () => {
    expect(alarms.length).toBeGreaterThanOrEqual(21);
    const names = alarms.map((a) => a.props.AlarmName as string);
    expect(new Set(names).size).toBe(names.length);
    for (const { id, props } of alarms) {
      expect(props.AlarmName, id).toMatch(new RegExp(`^${PREFIX}[a-z0-9-]+$`));
      expect(props.AlarmActions, id).toEqual([{ Ref: 'AlertTopic' }]);
      expect(props.OKActions, id).toEqual([{ Ref: 'AlertTopic' }]);
      expect(['breaching', 'notBreaching', 'ignore', 'missing'], `${id} TreatMissingData`).toContain(props.TreatMissingData);
      expect(props.DatapointsToAlarm, id).toBe(props.EvaluationPeriods);
      expect(String(props.AlarmDescription ?? '').length, `${id} description`).toBeGreaterThan(30);
    }
  });

  it('watches errors and throttles of every Lambda function', () => {
    const functions = ofType(template, 'AWS::Lambda::Function').map(([id]) => id);
    expect(functions).toEqual(expect.arrayContaining(['IngestLambdaFunction', 'EnrichLambdaFunction', 'FirehoseTransformLambdaFunction', 'AlertLambdaFunction']));
    for (const fn of functions) {
      for (const metric of ['Errors', 'Throttles']) {
        const [alarm, ...more] = alarmsOn(metric, 'FunctionName', { Ref: fn });
        expect(alarm, `${fn} ${metric}`).toBeDefined();
        expect(more).toEqual([]);
        expect(alarm!.props).toMatchObject({ Namespace: 'AWS/Lambda', Statistic: 'Sum', ComparisonOperator: 'GreaterThanThreshold', Threshold: 0, TreatMissingData: 'notBreaching' });
      }
    }
  });

  it('watches the iterator age of every Kinesis consumer, with the stage param overriding the default', () => {
    const mappings = ofType(template, 'AWS::Lambda::EventSourceMapping').filter(([, r]) => JSON.stringify(r.Properties?.EventSourceArn).includes('Stream'));
    const consumers = mappings.map(([, r]) => (r.Properties!.FunctionName as { 'Fn::GetAtt': [string, string] })['Fn::GetAtt'][0]);
    expect(consumers.sort()).toEqual(['AlertLambdaFunction', 'EnrichLambdaFunction']);
    for (const fn of consumers) {
      const [alarm] = alarmsOn('IteratorAge', 'FunctionName', { Ref: fn });
      expect(alarm?.props, fn).toMatchObject({ Statistic: 'Maximum', Period: 60, ComparisonOperator: 'GreaterThanThreshold', TreatMissingData: 'ignore' });
      // A --param value arrives as a string; CloudFormation reads "120000" as the number.
      expect(Number(alarm!.props.Threshold), fn).toBe(ITERATOR_AGE_OVERRIDE);
    }
    expect(Number((template.Metadata?.ClickstreamAlarms as JsonObject).iteratorAgeMilliseconds)).toBe(ITERATOR_AGE_OVERRIDE);
  });

  it('watches failed S3 deliveries and data freshness of every Firehose delivery stream', () => {
    const streams = ofType(template, 'AWS::KinesisFirehose::DeliveryStream').map(([id]) => id);
    expect(streams.sort()).toEqual(['AggregatesDeliveryStream', 'AnomaliesDeliveryStream', 'EventsDeliveryStream', 'IdentitiesDeliveryStream']);
    for (const stream of streams) {
      const [success] = alarmsOn('DeliveryToS3.Success', 'DeliveryStreamName', { Ref: stream });
      expect(success?.props, stream).toMatchObject({ Namespace: 'AWS/Firehose', Statistic: 'Average', Threshold: 1, ComparisonOperator: 'LessThanThreshold', TreatMissingData: 'notBreaching' });
      const [freshness] = alarmsOn('DeliveryToS3.DataFreshness', 'DeliveryStreamName', { Ref: stream });
      expect(freshness?.props, stream).toMatchObject({ Statistic: 'Maximum', Threshold: 1200, ComparisonOperator: 'GreaterThanThreshold' });
    }
  });

  it('pages on any message in any dead-letter queue', () => {
    const queues = ofType(template, 'AWS::SQS::Queue').map(([id]) => id);
    expect(queues.sort()).toEqual(['AlertDeadLetterQueue', 'EnrichDeadLetterQueue']);
    for (const queue of queues) {
      const [alarm] = alarmsOn('ApproximateNumberOfMessagesVisible', 'QueueName', { 'Fn::GetAtt': [queue, 'QueueName'] });
      expect(alarm?.props, queue).toMatchObject({ Namespace: 'AWS/SQS', Statistic: 'Maximum', Threshold: 0, ComparisonOperator: 'GreaterThanThreshold', EvaluationPeriods: 1 });
    }
  });

  it('watches Flink downtime (missing data = not running = breaching) and failed checkpoints', () => {
    const apps = ofType(template, 'AWS::KinesisAnalyticsV2::Application').map(([id]) => id);
    expect(apps).toEqual(['FlinkApplication']);
    const [downtime] = alarmsOn('downtime', 'Application', { Ref: 'FlinkApplication' });
    expect(downtime?.props).toMatchObject({ Namespace: 'AWS/KinesisAnalytics', Threshold: 0, TreatMissingData: 'breaching' });
    const [checkpoints] = alarmsOn('numberOfFailedCheckpoints', 'Application', { Ref: 'FlinkApplication' });
    expect(checkpoints?.props).toMatchObject({ Namespace: 'AWS/KinesisAnalytics', Threshold: 0, TreatMissingData: 'notBreaching' });
  });

  it('alarms on the ingest 5xx rate with metric math over the HTTP API 5xx and Count', () => {
    const alarm = alarms.find((a) => Array.isArray(a.props.Metrics));
    const metrics = (alarm?.props.Metrics ?? []) as JsonObject[];
    const stat = (id: string) => (metrics.find((m) => m.Id === id)?.MetricStat as JsonObject | undefined)?.Metric as JsonObject | undefined;
    expect(stat('errors')).toMatchObject({ Namespace: 'AWS/ApiGateway', MetricName: '5xx', Dimensions: [{ Name: 'ApiId', Value: { Ref: 'HttpApi' } }] });
    expect(stat('requests')).toMatchObject({ Namespace: 'AWS/ApiGateway', MetricName: 'Count' });
    const expression = metrics.find((m) => m.ReturnData === true);
    expect(expression?.Expression).toMatch(/100 \* FILL\(errors, 0\) \/ requests/);
    expect(alarm?.props).toMatchObject({ Threshold: 1, EvaluationPeriods: 5, TreatMissingData: 'notBreaching' });
  });

  it('lets CloudWatch deliver to the topic: a key it may use (not aws/sns) and a topic policy grant for the stage alarms', () => {
    expect(template.Conditions?.AlertTopicUsesAwsManagedKey).toEqual({ 'Fn::Equals': ['alias/aws/sns', 'alias/aws/sns'] });
    expect(template.Resources.AlertTopic!.Properties!.KmsMasterKeyId).toEqual({ 'Fn::If': ['AlertTopicUsesAwsManagedKey', { Ref: 'AlertTopicKey' }, 'alias/aws/sns'] });
    const key = template.Resources.AlertTopicKey!;
    expect(key.Properties!.EnableKeyRotation).toBe(true);
    const keyStatements = (key.Properties!.KeyPolicy as JsonObject).Statement as JsonObject[];
    const cloudwatchKey = keyStatements.find((s) => JSON.stringify(s.Principal) === '{"Service":"cloudwatch.amazonaws.com"}');
    expect(cloudwatchKey).toMatchObject({ Action: ['kms:Decrypt', 'kms:GenerateDataKey'], Condition: { StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } } } });
    for (const s of keyStatements) expect(JSON.stringify(s.Action), `${s.Sid} lists its actions`).not.toContain('*');

    const topicPolicy = ofType(template, 'AWS::SNS::TopicPolicy').find(([, r]) => JSON.stringify(r.Properties?.Topics) === '[{"Ref":"AlertTopic"}]');
    const statements = ((topicPolicy?.[1].Properties?.PolicyDocument as JsonObject).Statement ?? []) as JsonObject[];
    const publish = statements.find((s) => JSON.stringify(s.Principal) === '{"Service":"cloudwatch.amazonaws.com"}');
    expect(publish).toMatchObject({ Effect: 'Allow', Action: 'sns:Publish', Resource: { Ref: 'AlertTopic' } });
    const sourceArn = JSON.stringify((publish?.Condition as JsonObject).ArnLike);
    expect(sourceArn).toContain(`:alarm:${PREFIX}*`);

    // The alert function can still encrypt for the topic through SNS with the stack's key.
    const role = JSON.stringify(template.Resources.AlertRole!.Properties!.Policies);
    expect(role).toContain('"Fn::GetAtt":["AlertTopicKey","Arn"]');
  });
});
