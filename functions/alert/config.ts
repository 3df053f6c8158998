// The alert function's settings, read and checked once at cold start.
import { ConfigError } from '../shared/errors.js';
import { requiredSetting } from '../shared/settings.js';

/**
 * Where alerts go. Chosen by configuration, never by "am I local": the deployed function publishes to
 * SNS; `npm start` runs the same handler with ALERT_PUBLISHER=file and ALERTS_FILE under its data dir.
 */
export type AlertDestination = { kind: 'sns'; topicArn: string } | { kind: 'file'; path: string };

export interface AlertConfig {
  dedupTable: string;
  /** How long an anomaly id is remembered; Flink replays after a restore come within minutes. */
  dedupTtlSeconds: number;
  destination: AlertDestination;
}

const DEFAULT_DEDUP_TTL_HOURS = 24;

function destinationOf(env: NodeJS.ProcessEnv): AlertDestination {
  const kind = env['ALERT_PUBLISHER']?.trim() || 'sns';
  switch (kind) {
    case 'sns':
      return { kind, topicArn: requiredSetting(env, 'ALERT_TOPIC_ARN', ' (ALERT_PUBLISHER=sns)') };
    case 'file':
      return { kind, path: requiredSetting(env, 'ALERTS_FILE', ' (ALERT_PUBLISHER=file)') };
    default:
      throw new ConfigError(`ALERT_PUBLISHER must be sns or file, got "${kind}"`);
  }
}

export function loadAlertConfig(env: NodeJS.ProcessEnv = process.env): AlertConfig {
  const ttlRaw = env['DEDUP_TTL_HOURS']?.trim();
  const ttlHours = ttlRaw ? Number(ttlRaw) : DEFAULT_DEDUP_TTL_HOURS;
  if (!Number.isFinite(ttlHours) || ttlHours <= 0) throw new ConfigError(`DEDUP_TTL_HOURS must be a positive number, got "${ttlRaw}"`);
  return {
    dedupTable: requiredSetting(env, 'DEDUP_TABLE_NAME'),
    dedupTtlSeconds: Math.round(ttlHours * 3_600),
    destination: destinationOf(env),
  };
}
