import { describe, expect, it } from 'vitest';
import { loadEnrichConfig } from '../../../../functions/enrich/config.js';
import { ConfigError } from '../../../../functions/shared/errors.js';

const env = { ENRICHED_STREAM_NAME: 'events-enriched', DEDUP_TABLE_NAME: 'dedup', LAKE_BUCKET_NAME: 'lake' };

describe('loadEnrichConfig', () => {
  it('reads the required names and applies documented defaults', () => {
    expect(loadEnrichConfig(env)).toEqual({
      enrichedStream: 'events-enriched',
      dedupTable: 'dedup',
      dedupTtlSeconds: 86_400,
      dedupCacheIds: 2_000_000,
      lakeBucket: 'lake',
      badRowsPrefix: 'bad-rows/',
      latenessBoundSeconds: 3_600,
      maxEventBytes: 65_536,
      userAgentCacheSize: 1_000,
      erasureRefreshSeconds: 60,
    });
  });

  it('refuses an erasure refresh that is not a positive number of seconds', () => {
    expect(loadEnrichConfig({ ...env, ERASURE_REFRESH_SECONDS: '5' }).erasureRefreshSeconds).toBe(5);
    expect(() => loadEnrichConfig({ ...env, ERASURE_REFRESH_SECONDS: '0' })).toThrow(/ERASURE_REFRESH_SECONDS must be a positive number/);
  });

  it('takes overrides, and a stream ARN before a name', () => {
    const config = loadEnrichConfig({
      ...env,
      ENRICHED_STREAM_ARN: 'arn:aws:kinesis:us-east-1:123456789012:stream/x',
      DEDUP_TTL_HOURS: '48',
      LATENESS_BOUND_SECONDS: '600',
      BAD_ROWS_PREFIX: 'failed',
      USER_AGENT_CACHE_SIZE: '0',
    });
    expect(config).toMatchObject({
      enrichedStream: 'arn:aws:kinesis:us-east-1:123456789012:stream/x',
      dedupTtlSeconds: 172_800,
      latenessBoundSeconds: 600,
      badRowsPrefix: 'failed/',
      userAgentCacheSize: 0,
    });
  });

  it.each([
    ['no enriched stream', { ...env, ENRICHED_STREAM_NAME: '' }, /ENRICHED_STREAM_ARN/],
    ['no table', { ...env, DEDUP_TABLE_NAME: undefined }, /DEDUP_TABLE_NAME/],
    ['no bucket', { ...env, LAKE_BUCKET_NAME: ' ' }, /LAKE_BUCKET_NAME/],
    ['a TTL that is not a number', { ...env, DEDUP_TTL_HOURS: 'a day' }, /DEDUP_TTL_HOURS/],
    ['a zero lateness bound', { ...env, LATENESS_BOUND_SECONDS: '0' }, /LATENESS_BOUND_SECONDS/],
  ])('raises a ConfigError for %s', (_label, bad, message) => {
    expect(() => loadEnrichConfig(bad)).toThrow(ConfigError);
    expect(() => loadEnrichConfig(bad)).toThrow(message);
  });
});
