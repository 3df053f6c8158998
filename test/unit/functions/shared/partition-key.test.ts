import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { partitionKeyFor } from '../../../../functions/shared/partition-key.js';

/** The shard Kinesis picks: MD5 of the key as a 128-bit integer, in equal hash-key ranges. */
function shardOf(partitionKey: string, shards: number): number {
  const hash = BigInt(`0x${createHash('md5').update(partitionKey, 'utf8').digest('hex')}`);
  const range = 2n ** 128n / BigInt(shards);
  return Number(hash / range);
}

describe('partitionKeyFor', () => {
  it('uses the anonymousId, so a device stays ordered across identify', () => {
    expect(partitionKeyFor({ anonymousId: 'anon-1', userId: 'user-9' })).toBe('anon-1');
  });

  it('falls back to the userId for server-side events', () => {
    expect(partitionKeyFor({ userId: 42 })).toBe('42');
  });

  it('hashes ids longer than the 256 characters Kinesis allows', () => {
    const key = partitionKeyFor({ userId: 'u'.repeat(300) });
    expect(key.length).toBeLessThanOrEqual(256);
    expect(key).toBe(partitionKeyFor({ userId: 'u'.repeat(300) }));
  });

  it('spreads 10,000 users over 4 shards with no shard above 30%', () => {
    const counts = [0, 0, 0, 0];
    for (let i = 0; i < 10_000; i++) counts[shardOf(partitionKeyFor({ anonymousId: `anon-${i}` }), 4)]!++;
    for (const c of counts) expect(c / 10_000).toBeLessThanOrEqual(0.3);
    expect(new Set(Array.from({ length: 100 }, (_, i) => partitionKeyFor({ userId: `user-${i}` }))).size).toBe(100);
  });

  it('refuses an event with no id at all rather than sending a constant key', () => {
    expect(() => partitionKeyFor({})).toThrow(TypeError);
  });
});
