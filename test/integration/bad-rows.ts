// Reads every bad row the enrich stage stored in the lake bucket, for assertions.
import { GetObjectCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import type { BadRow } from '../../schemas/index.js';

export async function readBadRows(s3: S3Client, bucket: string): Promise<{ key: string; row: BadRow }[]> {
  const listed = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: 'bad-rows/' }));
  const rows: { key: string; row: BadRow }[] = [];
  for (const object of listed.Contents ?? []) {
    const body = await (await s3.send(new GetObjectCommand({ Bucket: bucket, Key: object.Key! }))).Body!.transformToString();
    for (const line of body.split('\n').filter(Boolean)) rows.push({ key: object.Key!, row: JSON.parse(line) as BadRow });
  }
  return rows;
}
