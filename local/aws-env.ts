/**
 * The single place that points the AWS SDK at the local emulators.
 * Handlers honour only the standard SDK variables, so they never need an "if local" branch.
 */

export const LOCAL_REGION = 'us-east-1';

/** The account in the emulators' ARNs (kinesalite's default, and LocalStack's). */
export const LOCAL_ACCOUNT_ID = '000000000000';

export interface LocalServiceEndpoints {
  kinesis: string;
  s3?: string | null;
  dynamodb?: string | null;
  /** The local Firehose API (local/firehose/direct-put.ts): PutRecord(Batch) to Direct PUT delivery streams. */
  firehose?: string | null;
}

/** Environment variables that make any AWS SDK v3 client in a local process talk to the emulators. */
export function localAwsEnvironment(endpoints: LocalServiceEndpoints): Record<string, string> {
  const environment: Record<string, string> = {
    AWS_REGION: LOCAL_REGION,
    AWS_DEFAULT_REGION: LOCAL_REGION,
    AWS_ACCESS_KEY_ID: 'local',
    AWS_SECRET_ACCESS_KEY: 'local',
    AWS_ENDPOINT_URL_KINESIS: endpoints.kinesis,
  };
  if (endpoints.s3) environment.AWS_ENDPOINT_URL_S3 = endpoints.s3;
  if (endpoints.dynamodb) environment.AWS_ENDPOINT_URL_DYNAMODB = endpoints.dynamodb;
  if (endpoints.firehose) environment.AWS_ENDPOINT_URL_FIREHOSE = endpoints.firehose;
  return environment;
}
