// Firehose prefix expressions as the local Firehose evaluates them, and the planned range the checkpoint
// store keeps so a restart redelivers exactly the range it was writing.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { CheckpointStore } from '../../../local/kinesis/checkpoints.js';
import { evaluatePrefix, formatTimestamp, lambdaPartitionKeysOf, PrefixEvaluationError } from '../../../local/firehose/prefix.js';

const AT = Date.parse('2026-11-22T07:05:09.123Z');

it('evaluates the prefixes of infra/lake.yml', () => {
  const prefix = 'events/dt=!{partitionKeyFromLambda:dt}/hour=!{partitionKeyFromLambda:hour}/';
  expect(lambdaPartitionKeysOf(prefix)).toEqual(['dt', 'hour']);
  expect(evaluatePrefix(prefix, { partitionKeys: { dt: '2026-11-21', hour: '23' }, timestampMs: AT })).toBe('events/dt=2026-11-21/hour=23/');
  expect(evaluatePrefix('errors/!{firehose:error-output-type}/dt=!{timestamp:yyyy-MM-dd}/', { timestampMs: AT, errorOutputType: 'processing-failed' })).toBe(
    'errors/processing-failed/dt=2026-11-22/',
  );
});

it('uses Firehose default prefix when none is set, and Java DateTimeFormatter letters and quotes', () => {
  expect(evaluatePrefix('', { timestampMs: AT })).toBe('2026/11/22/07/');
  expect(formatTimestamp(AT, "yyyy'-'MM'-'dd'T'HH:mm:ss yy")).toBe('2026-11-22T07:05:09 26');
  expect(() => formatTimestamp(AT, 'EEE')).toThrow(PrefixEvaluationError);
});

it('refuses a record whose partition key is missing', () => {
  expect(() => evaluatePrefix('events/dt=!{partitionKeyFromLambda:dt}/', { partitionKeys: {}, timestampMs: AT })).toThrow(/partition key "dt" is missing/);
});

it('keeps a planned range across a restart until the checkpoint passes it', () => {
  const dir = mkdtempSync(join(tmpdir(), 'checkpoints-'));
  try {
    const file = join(dir, 'c.json');
    const store = new CheckpointStore(file, 'arn:stream');
    store.plan('shard-0', { first: '100', last: '200' });
    const reopened = new CheckpointStore(file, 'arn:stream');
    expect(reopened.get('shard-0')).toBeUndefined();
    expect(reopened.planned('shard-0')).toEqual({ first: '100', last: '200' });
    reopened.advance('shard-0', '150');
    expect(new CheckpointStore(file, 'arn:stream').planned('shard-0')).toEqual({ first: '100', last: '200' });
    reopened.advance('shard-0', '200');
    const done = new CheckpointStore(file, 'arn:stream');
    expect([done.get('shard-0'), done.planned('shard-0')]).toEqual(['200', undefined]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
