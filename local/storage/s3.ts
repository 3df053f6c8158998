// S3 on 127.0.0.1: s3rver in this process, objects as files under the data dir so the lake survives
// restarts. Buckets are created by logical id from serverless.yml's resources.
import { mkdirSync } from 'node:fs';
import type { Server } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { resolve } from 'node:path';
import { CreateBucketCommand, ListBucketsCommand, S3Client, BucketAlreadyOwnedByYou, BucketAlreadyExists } from '@aws-sdk/client-s3';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { LOCAL_REGION, localAwsEnvironment } from '../aws-env.js';
import { assertPortFree } from '../ports.js';
import { localResourceName } from '../template/names.js';
import type { Templates } from '../template/templates.js';
import { whenAnswering } from './ready.js';

const require = createRequire(import.meta.url);

// s3rver makes ListObjectsV2 continuation tokens with DES, which OpenSSL 3 (Node 17 and later) refuses: every
// listing of more than 1,000 keys failed with InternalError (a lake of a few days has more objects than that).
// The token only has to survive a round trip through s3rver, so DES gets an identity cipher in this process;
// nothing else here can use DES, which OpenSSL refuses anyway.
const nodeCrypto = require('node:crypto') as Record<string, unknown>;
const identityCipher = () => ({ update: (data: Buffer | string, encoding?: BufferEncoding) => (typeof data === 'string' ? Buffer.from(data, encoding ?? 'utf8') : data), final: () => Buffer.alloc(0) });
for (const name of ['createCipheriv', 'createDecipheriv'] as const) {
  const original = nodeCrypto[name] as (algorithm: string, ...rest: unknown[]) => unknown;
  if ((original as { desIdentity?: boolean }).desIdentity) continue;
  const patched = (algorithm: string, ...rest: unknown[]) => (algorithm === 'des' ? identityCipher() : original(algorithm, ...rest));
  (patched as { desIdentity?: boolean }).desIdentity = true;
  nodeCrypto[name] = patched;
}

interface S3rverInstance {
  run(): Promise<AddressInfo>;
  close(): Promise<void>;
  httpServer?: Server;
}
const S3rver = require('s3rver') as new (options: {
  address: string;
  port: number;
  directory: string;
  silent: boolean;
  configureBuckets: Array<{ name: string }>;
  vhostBuckets: boolean;
}) => S3rverInstance;
// s3rver knows one hard-coded key pair; the local stack signs with its own (aws-env.ts), so register that too.
const s3rverAccounts = require('s3rver/lib/models/account.js') as { DUMMY_ACCOUNT: { createKeyPair(id: string, secret: string): void } };
const { AWS_ACCESS_KEY_ID: LOCAL_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY: LOCAL_SECRET_ACCESS_KEY } = localAwsEnvironment({ kinesis: '' });
s3rverAccounts.DUMMY_ACCOUNT.createKeyPair(LOCAL_ACCESS_KEY_ID!, LOCAL_SECRET_ACCESS_KEY!);

export interface S3EmulatorOptions {
  /** Directory the buckets and objects are stored in. */
  dataDir: string;
  /** 0 or undefined picks a free port. */
  port?: number;
  /** Buckets to create at start (kept if they exist). */
  buckets?: string[];
}

export interface S3Emulator {
  endpoint: string;
  port: number;
  stop(): Promise<void>;
}

export async function startS3Emulator(options: S3EmulatorOptions): Promise<S3Emulator> {
  const directory = resolve(options.dataDir);
  mkdirSync(directory, { recursive: true });
  if (options.port) await assertPortFree(options.port, 'S3 emulator');
  const server = new S3rver({
    address: '127.0.0.1',
    port: options.port ?? 0,
    directory,
    silent: true,
    // Path-style only: the SDK uses path-style URLs against a custom endpoint (aws-clients.ts).
    vhostBuckets: false,
    configureBuckets: (options.buckets ?? []).map((name) => ({ name })),
  });
  const { port } = await server.run();
  const endpoint = `http://127.0.0.1:${port}`;

  let stopping: Promise<void> | undefined;
  const stop = () =>
    (stopping ??= (async () => {
      const closed = server.close();
      // SDK keep-alive sockets would hold close() open; every write is on disk once its response was sent.
      server.httpServer?.closeIdleConnections();
      await closed;
    })());

  await whenAnswering(`s3rver on ${endpoint}`, createLocalS3Client(endpoint), (client) => client.send(new ListBucketsCommand({})), stop);
  return { endpoint, port, stop };
}

/** An S3 client for local tooling and tests: path-style, HTTP/1.1, local credentials. */
export function createLocalS3Client(endpoint: string): S3Client {
  return new S3Client({
    region: LOCAL_REGION,
    endpoint,
    forcePathStyle: true,
    credentials: { accessKeyId: LOCAL_ACCESS_KEY_ID!, secretAccessKey: LOCAL_SECRET_ACCESS_KEY! },
    requestHandler: new NodeHttpHandler({ connectionTimeout: 2_000, requestTimeout: 10_000 }),
  });
}

/** Creates the bucket of the `AWS::S3::Bucket` resource `logicalId` under its local name, unless it exists. */
export async function ensureBucketFromTemplate(client: S3Client, templates: Templates, logicalId: string): Promise<string> {
  if (templates.resources.get(logicalId)?.Type !== 'AWS::S3::Bucket') throw new Error(`"${logicalId}" is not an AWS::S3::Bucket resource in serverless.yml`);
  const bucket = localResourceName(logicalId);
  try {
    await client.send(new CreateBucketCommand({ Bucket: bucket }));
  } catch (error) {
    if (!(error instanceof BucketAlreadyOwnedByYou || error instanceof BucketAlreadyExists)) throw error;
  }
  return bucket;
}
