// A bucket of s3rver as the local Firehose tests look at it: its keys through the S3 API, its rows as
// DuckDB reads them straight from s3rver's directory (the views `npm run query` has), and waiting.
import { ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import { DuckDBInstance } from '@duckdb/node-api';
import { setTimeout as sleep } from 'node:timers/promises';
import { createLakeViews } from '../../analytics/athena/duckdb-lake.js';
import { lakeDirectory, S3RVER_OBJECT_SUFFIX } from '../../local/storage/lake-location.js';

export async function waitFor(what: string, condition: () => boolean | Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

export async function listKeys(s3: S3Client, bucket: string, prefix = ''): Promise<string[]> {
  const listed = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix }));
  return (listed.Contents ?? []).map((o) => o.Key!).sort();
}

/** `sql` over the bucket's tables (events, identities, …) under `dataDir`, as DuckDB reads them from s3rver's directory. */
export async function lakeRows(dataDir: string, bucket: string, sql: string): Promise<Record<string, unknown>[]> {
  const instance = await DuckDBInstance.create(':memory:');
  const connection = await instance.connect();
  try {
    await createLakeViews(connection, lakeDirectory(dataDir, bucket), { objectSuffix: S3RVER_OBJECT_SUFFIX });
    return (await connection.runAndReadAll(sql)).getRowObjectsJS() as Record<string, unknown>[];
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
}
