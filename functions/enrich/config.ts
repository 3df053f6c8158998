// The enrich function's settings, read and checked once at cold start.
import { ConfigError } from '../shared/errors.js';
import { requiredSetting } from '../shared/settings.js';
import { refreshSecondsFrom } from '../shared/suppression.js';

export interface EnrichConfig {
  /** Name or ARN of events-enriched. */
  enrichedStream: string;
  /** The identities delivery stream (Firehose Direct PUT); undefined: identity links are not written. */
  identitiesDeliveryStream: string | undefined;
  dedupTable: string;
  /** How long a messageId is remembered: a copy arriving later than this is not recognised. */
  dedupTtlSeconds: number;
  /** Ids of the dedup ledger held in memory (53 bytes each, measured) before old hour buckets are let go. */
  dedupCacheIds: number;
  lakeBucket: string;
  /** Key prefix of bad-row objects, with a trailing slash. */
  badRowsPrefix: string;
  /** An event received more than this after its (corrected) event time is flagged late. */
  latenessBoundSeconds: number;
  /** Raw records above this many bytes are size violations (ingest stores at most 32 KB + server fields). */
  maxEventBytes: number;
  /** Parsed user agents kept in memory; 0 turns the cache off. */
  userAgentCacheSize: number;
  /** How often the suppression list of erased people is read again (functions/shared/suppression.ts). */
  erasureRefreshSeconds: number;
}

/** Raw records above this many bytes are size violations, unless MAX_EVENT_BYTES says otherwise. */
export const DEFAULT_MAX_EVENT_BYTES = 64 * 1024;

const DEFAULTS = {
  DEDUP_TTL_HOURS: 24,
  DEDUP_CACHE_IDS: 2_000_000,
  LATENESS_BOUND_SECONDS: 3_600,
  MAX_EVENT_BYTES: DEFAULT_MAX_EVENT_BYTES,
  USER_AGENT_CACHE_SIZE: 1_000,
  BAD_ROWS_PREFIX: 'bad-rows/',
};

function positiveNumber(env: NodeJS.ProcessEnv, name: keyof typeof DEFAULTS, { allowZero = false } = {}): number {
  const raw = env[name]?.trim();
  if (!raw) return DEFAULTS[name] as number;
  const value = Number(raw);
  if (!Number.isFinite(value) || value < 0 || (!allowZero && value === 0)) {
    throw new ConfigError(`${name} must be a ${allowZero ? 'non-negative' : 'positive'} number, got "${raw}"`);
  }
  return value;
}

export function loadEnrichConfig(env: NodeJS.ProcessEnv = process.env): EnrichConfig {
  const prefix = env['BAD_ROWS_PREFIX']?.trim() || DEFAULTS.BAD_ROWS_PREFIX;
  return {
    enrichedStream: requiredSetting(env, ['ENRICHED_STREAM_ARN', 'ENRICHED_STREAM_NAME']),
    identitiesDeliveryStream: env['IDENTITIES_DELIVERY_STREAM_NAME']?.trim() || undefined,
    dedupTable: requiredSetting(env, 'DEDUP_TABLE_NAME'),
    dedupTtlSeconds: Math.round(positiveNumber(env, 'DEDUP_TTL_HOURS') * 3_600),
    dedupCacheIds: Math.floor(positiveNumber(env, 'DEDUP_CACHE_IDS')),
    lakeBucket: requiredSetting(env, 'LAKE_BUCKET_NAME'),
    badRowsPrefix: prefix.endsWith('/') ? prefix : `${prefix}/`,
    latenessBoundSeconds: positiveNumber(env, 'LATENESS_BOUND_SECONDS'),
    maxEventBytes: positiveNumber(env, 'MAX_EVENT_BYTES'),
    userAgentCacheSize: Math.floor(positiveNumber(env, 'USER_AGENT_CACHE_SIZE', { allowZero: true })),
    erasureRefreshSeconds: refreshSecondsFrom(env),
  };
}
