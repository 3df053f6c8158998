// DynamoDB on 127.0.0.1: dynalite in this process, its LevelDB under the data dir so tables and items
// survive restarts. Tables are created from their CloudFormation resources (infra/*.yml), never hand-copied.
import { mkdirSync } from 'node:fs';
import type { Server } from 'node:http';
import { createRequire } from 'node:module';
import { resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  CreateTableCommand,
  DescribeTableCommand,
  DynamoDBClient,
  ListTablesCommand,
  ResourceInUseException,
  type CreateTableCommandInput,
} from '@aws-sdk/client-dynamodb';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { LOCAL_REGION } from '../aws-env.js';
import { assertPortFree, listen } from '../ports.js';
import { localResourceName } from '../template/names.js';
import type { Templates } from '../template/templates.js';
import { whenAnswering } from './ready.js';

const require = createRequire(import.meta.url);
const dynalite = require('dynalite') as (options: { path?: string; createTableMs?: number; deleteTableMs?: number; updateTableMs?: number }) => Server;

/** What dynalite's streams call on their LevelDB iterators when a stream ends. */
interface ClosableIterator {
  close(): Promise<void>;
  return?(): Promise<IteratorReturnResult<undefined>>;
}

/**
 * The prototype every iterator of dynalite's LevelDB store shares (abstract-level's, found the way dynalite
 * finds it: dynalite → level → classic-level → abstract-level, so it is the copy dynalite runs).
 */
export function dynaliteIteratorPrototype(): ClosableIterator {
  const fromLevel = createRequire(createRequire(require.resolve('dynalite')).resolve('level'));
  const abstractLevel = createRequire(fromLevel.resolve('classic-level'))('abstract-level') as { AbstractIterator: { prototype: object } };
  return Object.getPrototypeOf(abstractLevel.AbstractIterator.prototype) as ClosableIterator;
}

/**
 * dynalite 4.0.0 wraps each LevelDB iterator in a stream that ends it with `iterator.return()`, the
 * async-iterator protocol's close, which abstract-level's iterators do not have. So every Query, Scan and
 * ListTables left its iterator open, holding the LevelDB snapshot it reads and a buffer: with the dedup
 * ledger's Query per batch, about 115 more a minute at 200 events/s. Giving the iterators a `return()` that
 * closes them fixes it where dynalite calls it.
 */
function closeIteratorsWhenDynaliteEndsThem(): void {
  const prototype = dynaliteIteratorPrototype();
  prototype.return ??= async function (this: ClosableIterator) {
    await this.close();
    return { done: true, value: undefined };
  };
}

export interface DynamoDbEmulatorOptions {
  /** Directory of the LevelDB store. */
  dataDir: string;
  /** 0 or undefined picks a free port. */
  port?: number;
}

export interface DynamoDbEmulator {
  endpoint: string;
  port: number;
  /** Stops accepting requests, lets pending writes finish and closes the store. */
  stop(): Promise<void>;
}

export async function startDynamoDbEmulator(options: DynamoDbEmulatorOptions): Promise<DynamoDbEmulator> {
  const dataDir = resolve(options.dataDir);
  mkdirSync(dataDir, { recursive: true });
  if (options.port) await assertPortFree(options.port, 'DynamoDB emulator');
  closeIteratorsWhenDynaliteEndsThem();
  const server = dynalite({ path: dataDir, createTableMs: 50, deleteTableMs: 50, updateTableMs: 50 });
  const { port, url: endpoint } = await listen(server, options.port ?? 0);

  let stopping: Promise<void> | undefined;
  const stop = () =>
    (stopping ??= new Promise<void>((resolveClose, reject) => {
      server.close((error?: Error) => (error ? reject(error) : resolveClose()));
      // SDK keep-alive sockets would hold close() open; the store closes once in-flight requests are done.
      server.closeIdleConnections();
    }));

  await whenAnswering(`dynalite on ${endpoint}`, createLocalDynamoDbClient(endpoint), (client) => client.send(new ListTablesCommand({})), stop);
  return { endpoint, port, stop };
}

/** A DynamoDB client for local tooling (table setup, tests). */
export function createLocalDynamoDbClient(endpoint: string): DynamoDBClient {
  return new DynamoDBClient({
    region: LOCAL_REGION,
    endpoint,
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    requestHandler: new NodeHttpHandler({ connectionTimeout: 2_000, requestTimeout: 10_000 }),
  });
}

/**
 * Creates the table of the `AWS::DynamoDB::Table` resource `logicalId` under its local name, unless it
 * exists (a restart on the same data dir), and waits until it is ACTIVE. Returns the local table name.
 * Key schema, attributes, indexes and billing mode come from the template. TimeToLiveSpecification is
 * not applied: dynalite has no TTL API. Readers that honour expiry check the TTL attribute themselves
 * (the dedup store does), so only the deletion of expired items is missing locally.
 */
export async function ensureTableFromTemplate(client: DynamoDBClient, templates: Templates, logicalId: string, timeoutMs = 10_000): Promise<string> {
  const resource = templates.resources.get(logicalId);
  if (resource?.Type !== 'AWS::DynamoDB::Table') throw new Error(`"${logicalId}" is not an AWS::DynamoDB::Table resource in serverless.yml`);
  const properties = templates.resolve(resource.Properties) as Record<string, unknown>;
  const tableName = localResourceName(logicalId);
  const input: CreateTableCommandInput = {
    TableName: tableName,
    KeySchema: properties.KeySchema as CreateTableCommandInput['KeySchema'],
    AttributeDefinitions: properties.AttributeDefinitions as CreateTableCommandInput['AttributeDefinitions'],
    BillingMode: (properties.BillingMode as CreateTableCommandInput['BillingMode']) ?? 'PROVISIONED',
    ...(properties.ProvisionedThroughput ? { ProvisionedThroughput: properties.ProvisionedThroughput as CreateTableCommandInput['ProvisionedThroughput'] } : {}),
    ...(properties.GlobalSecondaryIndexes ? { GlobalSecondaryIndexes: properties.GlobalSecondaryIndexes as CreateTableCommandInput['GlobalSecondaryIndexes'] } : {}),
    ...(properties.LocalSecondaryIndexes ? { LocalSecondaryIndexes: properties.LocalSecondaryIndexes as CreateTableCommandInput['LocalSecondaryIndexes'] } : {}),
  };
  try {
    await client.send(new CreateTableCommand(input));
  } catch (error) {
    if (!(error instanceof ResourceInUseException)) throw error;
  }
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const { Table } = await client.send(new DescribeTableCommand({ TableName: tableName }));
    if (Table?.TableStatus === 'ACTIVE') return tableName;
    if (Date.now() > deadline) throw new Error(`table ${tableName} is still ${Table?.TableStatus} after ${timeoutMs} ms`);
    await sleep(50);
  }
}
