import { describe, expect, it } from 'vitest';
import { assertFirehoseCompatible, HIVE_JSON_TIMESTAMP_FORMATS, LakeRowError } from '../../../schemas/lake-rows.js';
import type { LakeColumn } from '../../../schemas/lake-tables.js';

const columns: Pick<LakeColumn, 'name' | 'type'>[] = [
  { name: 'message_id', type: 'string' },
  { name: 'event_time', type: 'timestamp' },
  { name: 'event_hour', type: 'int' },
  { name: 'lateness_seconds', type: 'bigint' },
  { name: 'score', type: 'double' },
  { name: 'is_bot', type: 'boolean' },
];

const refused = (row: unknown): string => {
  try {
    assertFirehoseCompatible(row, columns);
  } catch (error) {
    expect(error).toBeInstanceOf(LakeRowError);
    return (error as Error).message;
  }
  throw new Error(`accepted ${JSON.stringify(row)}`);
};

describe('assertFirehoseCompatible: what Firehose (Hive JSON SerDe, TimestampFormats millis) would refuse', () => {
  it('declares epoch milliseconds as the one timestamp encoding', () => {
    expect(HIVE_JSON_TIMESTAMP_FORMATS).toEqual(['millis']);
  });

  it('accepts typed values, NULLs and absent columns', () => {
    expect(() =>
      assertFirehoseCompatible({ message_id: 'm', event_time: 1_795_317_600_000, event_hour: 23, lateness_seconds: 2 ** 40, score: 0.5, is_bot: false }, columns),
    ).not.toThrow();
    expect(() => assertFirehoseCompatible({ message_id: null, is_bot: null }, columns)).not.toThrow();
    expect(() => assertFirehoseCompatible({}, columns)).not.toThrow();
  });

  it.each([
    ['an ISO timestamp string', { event_time: '2026-11-22T10:00:00.000Z' }, /event_time \(timestamp\) must be epoch milliseconds/],
    ['epoch seconds with a fraction', { event_time: 1_795_317_600.5 }, /epoch milliseconds/],
    ['a timestamp after year 9999', { event_time: 253_402_300_800_000 }, /between years 1 and 9999/],
    ['a number as a string in an int column', { event_hour: '23' }, /event_hour \(int\) must be a 32-bit integer JSON number, got string "23"/],
    ['an int column over 32 bits', { event_hour: 2 ** 31 }, /32-bit/],
    ['a fraction in a bigint column', { lateness_seconds: 1.5 }, /integer JSON number/],
    ['a bigint beyond 2^53', { lateness_seconds: 2 ** 60 }, /within ±2\^53/],
    ['a string in a boolean column', { is_bot: 'true' }, /must be true or false/],
    ['nested JSON in a string column', { message_id: { id: 'm' } }, /must be a JSON string, got an object/],
    ['a number in a string column', { message_id: 42 }, /must be a JSON string/],
    ['a key that is no column', { messageId: 'm' }, /messageId is not a column of the table \(columns are lower case\): Firehose would drop it/],
    ['a key with a period', { 'context.ip': '1.2.3.0' }, /periods are not allowed/],
  ])('refuses %s', (_name, row, message) => {
    expect(refused(row)).toMatch(message);
  });

  it.each([['an array', [{ message_id: 'm' }]], ['a string', 'm'], ['null', null]])('refuses a record that is %s', (_name, row) => {
    expect(refused(row)).toMatch(/one JSON object/);
  });
});
