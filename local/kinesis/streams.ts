import {
  CreateStreamCommand,
  DescribeStreamSummaryCommand,
  ListShardsCommand,
  ResourceInUseException,
  ResourceNotFoundException,
  type KinesisClient,
} from '@aws-sdk/client-kinesis';
import { setTimeout as sleep } from 'node:timers/promises';
import { LOCAL_ACCOUNT_ID, LOCAL_REGION } from '../aws-env.js';

/** The one source of the local physical stream names, by logical role in the pipeline. */
export const LOCAL_STREAM_NAMES = {
  raw: 'events-raw',
  enriched: 'events-enriched',
  aggregates: 'aggregates',
  anomalies: 'anomalies',
} as const;

export type StreamRole = keyof typeof LOCAL_STREAM_NAMES;
export const DEFAULT_SHARD_COUNT = 2;

export function localStreamArn(streamName: string): string {
  return `arn:aws:kinesis:${LOCAL_REGION}:${LOCAL_ACCOUNT_ID}:stream/${streamName}`;
}

/** Creates every pipeline stream that does not exist yet (a restart on persisted data keeps them) and waits for ACTIVE. */
export async function ensurePipelineStreams(client: KinesisClient, shardCount = DEFAULT_SHARD_COUNT, timeoutMs = 30_000): Promise<void> {
  await Promise.all(Object.values(LOCAL_STREAM_NAMES).map((name) => ensureStream(client, name, shardCount, timeoutMs)));
}

export async function ensureStream(client: KinesisClient, streamName: string, shardCount: number, timeoutMs: number): Promise<void> {
  try {
    await client.send(new CreateStreamCommand({ StreamName: streamName, ShardCount: shardCount }));
  } catch (error) {
    if (!(error instanceof ResourceInUseException)) throw error;
  }
  await waitUntilActive(client, streamName, timeoutMs);
}

async function waitUntilActive(client: KinesisClient, streamName: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const status = await streamStatus(client, streamName);
    if (status === 'ACTIVE') return;
    if (Date.now() > deadline) throw new Error(`stream ${streamName} is still ${status} after ${timeoutMs} ms`);
    await sleep(100);
  }
}

async function streamStatus(client: KinesisClient, streamName: string): Promise<string> {
  try {
    const summary = await client.send(new DescribeStreamSummaryCommand({ StreamName: streamName }));
    return summary.StreamDescriptionSummary?.StreamStatus ?? 'UNKNOWN';
  } catch (error) {
    // Right after CreateStream the emulator may not list the stream yet.
    if (error instanceof ResourceNotFoundException) return 'NOT_FOUND';
    throw error;
  }
}

/** All shard ids of a stream, following ListShards pagination. */
export async function listShardIds(client: KinesisClient, streamName: string): Promise<string[]> {
  const shardIds: string[] = [];
  let nextToken: string | undefined;
  do {
    const page = await client.send(
      nextToken ? new ListShardsCommand({ NextToken: nextToken }) : new ListShardsCommand({ StreamName: streamName }),
    );
    for (const shard of page.Shards ?? []) if (shard.ShardId) shardIds.push(shard.ShardId);
    nextToken = page.NextToken;
  } while (nextToken);
  return shardIds;
}
