// The local S3 (s3rver) as the lake's readers use it: a listing longer than one page (1,000 keys) pages
// through with ListObjectsV2 continuation tokens, which s3rver makes with a cipher OpenSSL 3 refuses.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateBucketCommand, ListObjectsV2Command, PutObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createLocalS3Client, startS3Emulator, type S3Emulator } from '../../local/storage/s3.js';

let dataDir: string;
let emulator: S3Emulator;

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'local-s3-'));
  emulator = await startS3Emulator({ dataDir });
});

afterAll(async () => {
  await emulator?.stop();
  rmSync(dataDir, { recursive: true, force: true });
});

it('lists more than 1,000 keys page by page, each key once', { timeout: 120_000 }, async () => {
  const s3 = createLocalS3Client(emulator.endpoint);
  await s3.send(new CreateBucketCommand({ Bucket: 'lake' }));
  const keys = Array.from({ length: 1_203 }, (_, i) => `events/dt=2026-11-30/hour=${String(i % 24).padStart(2, '0')}/part-${String(i).padStart(5, '0')}.parquet`);
  for (let i = 0; i < keys.length; i += 50) await Promise.all(keys.slice(i, i + 50).map((Key) => s3.send(new PutObjectCommand({ Bucket: 'lake', Key, Body: 'x' }))));
  const listed: string[] = [];
  let token: string | undefined;
  let pages = 0;
  do {
    const page = await s3.send(new ListObjectsV2Command({ Bucket: 'lake', Prefix: 'events/', ...(token ? { ContinuationToken: token } : {}) }));
    listed.push(...(page.Contents ?? []).map((o) => o.Key!));
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
    pages++;
  } while (token);
  expect(pages).toBe(2);
  expect(listed.sort()).toEqual([...keys].sort());
  s3.destroy();
});
