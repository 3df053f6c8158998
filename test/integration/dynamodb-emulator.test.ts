// The local DynamoDB (dynalite on its LevelDB store) over HTTP: a Query or Scan must not leave its LevelDB
// iterator open. Each open iterator holds a LevelDB snapshot and a buffer, and the dedup ledger queries once
// per batch, so a leak here grows `npm start` with every batch.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { CreateTableCommand, PutItemCommand, QueryCommand, ScanCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createLocalDynamoDbClient, dynaliteIteratorPrototype, startDynamoDbEmulator, type DynamoDbEmulator } from '../../local/storage/dynamodb.js';

let dataDir: string;
let emulator: DynamoDbEmulator;
let client: DynamoDBClient;
const TABLE = 'iterators';

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'dynamodb-emulator-'));
  emulator = await startDynamoDbEmulator({ dataDir });
  client = createLocalDynamoDbClient(emulator.endpoint);
  await client.send(
    new CreateTableCommand({
      TableName: TABLE,
      BillingMode: 'PAY_PER_REQUEST',
      KeySchema: [
        { AttributeName: 'pk', KeyType: 'HASH' },
        { AttributeName: 'sk', KeyType: 'RANGE' },
      ],
      AttributeDefinitions: [
        { AttributeName: 'pk', AttributeType: 'S' },
        { AttributeName: 'sk', AttributeType: 'S' },
      ],
    }),
  );
  await sleep(200); // dynalite makes the table ACTIVE after createTableMs
  for (let i = 0; i < 20; i++) await client.send(new PutItemCommand({ TableName: TABLE, Item: { pk: { S: 'shard-0#1' }, sk: { S: String(i).padStart(4, '0') } } }));
});

afterAll(async () => {
  client?.destroy();
  await emulator?.stop();
  rmSync(dataDir, { recursive: true, force: true });
});

it('closes the LevelDB iterator of every Query and Scan, whether read to the end or stopped by a Limit', async () => {
  // Which iterators are open: one counts from its first read until it is closed.
  const prototype = dynaliteIteratorPrototype() as ReturnType<typeof dynaliteIteratorPrototype> & { next(): Promise<unknown> };
  const { next, close } = prototype;
  const open = new Set<object>();
  prototype.next = function (this: object) {
    open.add(this);
    return next.call(this);
  };
  prototype.close = function (this: object) {
    open.delete(this);
    return close.call(this);
  };
  try {
    const queries = 60;
    for (let i = 0; i < queries; i++) {
      const query = { TableName: TABLE, KeyConditionExpression: 'pk = :b AND sk > :after', ExpressionAttributeValues: { ':b': { S: 'shard-0#1' }, ':after': { S: String(i % 20).padStart(4, '0') } }, ConsistentRead: true };
      const { Items } = await client.send(new QueryCommand(i % 3 === 0 ? { ...query, Limit: 2 } : query));
      expect(Items!.length).toBe(i % 3 === 0 ? Math.min(2, 19 - (i % 20)) : 19 - (i % 20));
    }
    const { Items } = await client.send(new ScanCommand({ TableName: TABLE }));
    expect(Items).toHaveLength(20);
    // A stream ends its iterator just after the response is sent.
    for (let waited = 0; open.size > 0 && waited < 2_000; waited += 50) await sleep(50);
    expect(open.size).toBe(0);
  } finally {
    prototype.next = next;
    prototype.close = close;
  }
});
