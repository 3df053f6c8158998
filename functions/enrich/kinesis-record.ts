// A Kinesis record as the enrich stage sees it: the shared RawRecord (functions/shared/kinesis-record.ts),
// decoded to JSON, with undecodable bytes as a bad event.
import { isUtf8 } from 'node:buffer';
import { exceedsJsonDepth, tooDeepReason } from '../shared/json-depth.js';
import { BadEventError } from './errors.js';

export { rawRecord, type RawRecord } from '../shared/kinesis-record.js';

/**
 * The record's JSON value. Throws BadEventError: invalid_json for bytes that are not UTF-8 JSON,
 * size_violation for JSON nested deeper than ingest allows (a producer writing to the stream directly).
 */
export function decodeJson(data: Buffer): unknown {
  if (!isUtf8(data)) throw new BadEventError('invalid_json', 'record data is not valid UTF-8');
  let value: unknown;
  try {
    value = JSON.parse(data.toString('utf8')) as unknown;
  } catch (error) {
    throw new BadEventError('invalid_json', `record data is not JSON: ${(error as Error).message}`, null, { cause: error });
  }
  if (exceedsJsonDepth(value)) throw new BadEventError('size_violation', tooDeepReason('record data'));
  return value;
}
