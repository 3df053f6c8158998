// The ingest function's settings, read and checked once at cold start.
import { ConfigError } from '../shared/errors.js';
import { parseAllowedOrigins } from './origins.js';
import { parseWriteKeys, type WriteKeyEntry } from './write-keys.js';

export type WriteKeySource = { kind: 'list'; keys: WriteKeyEntry[] } | { kind: 'ssm'; parameterName: string };

export interface IngestConfig {
  /** Name or ARN of the raw events stream. */
  stream: string;
  writeKeys: WriteKeySource;
  /** ALLOWED_ORIGINS: "*" (the default) or a comma-separated list, as the HTTP API's CORS has them. */
  allowedOrigins: string[];
}

export function loadIngestConfig(env: NodeJS.ProcessEnv = process.env): IngestConfig {
  const stream = env['RAW_STREAM_ARN'] || env['RAW_STREAM_NAME'];
  if (!stream) throw new ConfigError('RAW_STREAM_NAME (or RAW_STREAM_ARN) must name the raw events stream');

  const allowedOrigins = parseAllowedOrigins(env['ALLOWED_ORIGINS']);
  const parameterName = env['WRITE_KEYS_PARAMETER'];
  const listed = parseWriteKeys(env['WRITE_KEYS'] ?? '');
  if (listed.length > 0) return { stream, writeKeys: { kind: 'list', keys: listed }, allowedOrigins };
  if (parameterName) return { stream, writeKeys: { kind: 'ssm', parameterName }, allowedOrigins };
  throw new ConfigError('set WRITE_KEYS (comma-separated) or WRITE_KEYS_PARAMETER (an SSM parameter name)');
}
