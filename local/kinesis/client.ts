import { KinesisClient } from '@aws-sdk/client-kinesis';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { LOCAL_REGION } from '../aws-env.js';

/** A Kinesis client for local tooling (stream setup, tests); HTTP/1.1 because the emulator's plain port speaks no HTTP/2. */
export function createLocalKinesisClient(endpoint: string, maxAttempts = 3): KinesisClient {
  return new KinesisClient({
    region: LOCAL_REGION,
    endpoint,
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    requestHandler: new NodeHttpHandler({ connectionTimeout: 2_000, requestTimeout: 30_000 }),
    maxAttempts,
  });
}
