import { createHash } from 'node:crypto';

// Kinesis partition keys are at most 256 Unicode characters.
const MAX_PARTITION_KEY_LENGTH = 256;

/**
 * The partition key of an event: its anonymousId, else its userId. A device's events, including the
 * identify that links it to a user, stay ordered on one shard, and sessions (keyed by anonymousId)
 * never straddle shards. Server-side events that carry only a userId spread by user.
 */
export function partitionKeyFor(event: { anonymousId?: unknown; userId?: unknown; messageId?: unknown }): string {
  const id = event.anonymousId ?? event.userId ?? event.messageId;
  const key = String(id ?? '');
  if (key.length === 0) throw new TypeError('an event needs anonymousId, userId or messageId to be partitioned');
  return key.length <= MAX_PARTITION_KEY_LENGTH ? key : createHash('sha256').update(key).digest('hex');
}
