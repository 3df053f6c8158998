import { describe, expect, it } from 'vitest';
import { loadAlertConfig } from '../../../../functions/alert/config.js';
import { ConfigError } from '../../../../functions/shared/errors.js';

const TOPIC = 'arn:aws:sns:us-east-1:123456789012:clickstream-dev-alerts';

describe('alert config', () => {
  it('publishes to SNS by default', () => {
    expect(loadAlertConfig({ DEDUP_TABLE_NAME: 't', ALERT_TOPIC_ARN: TOPIC })).toEqual({
      dedupTable: 't',
      dedupTtlSeconds: 86_400,
      destination: { kind: 'sns', topicArn: TOPIC },
    });
  });

  it('writes to a JSON-lines file when configured so', () => {
    const config = loadAlertConfig({ DEDUP_TABLE_NAME: 't', ALERT_PUBLISHER: 'file', ALERTS_FILE: '/data/alerts.jsonl', ALERT_TOPIC_ARN: 'alerts', DEDUP_TTL_HOURS: '2' });
    expect(config.destination).toEqual({ kind: 'file', path: '/data/alerts.jsonl' });
    expect(config.dedupTtlSeconds).toBe(7_200);
  });

  it('fails at cold start with the missing or wrong setting named', () => {
    expect(() => loadAlertConfig({ DEDUP_TABLE_NAME: 't' })).toThrow(new ConfigError('ALERT_TOPIC_ARN must be set (ALERT_PUBLISHER=sns)'));
    expect(() => loadAlertConfig({ DEDUP_TABLE_NAME: 't', ALERT_PUBLISHER: 'file' })).toThrow(/ALERTS_FILE must be set/);
    expect(() => loadAlertConfig({ DEDUP_TABLE_NAME: 't', ALERT_PUBLISHER: 'email', ALERT_TOPIC_ARN: TOPIC })).toThrow(/sns or file, got "email"/);
    expect(() => loadAlertConfig({ ALERT_TOPIC_ARN: TOPIC })).toThrow(/DEDUP_TABLE_NAME/);
    expect(() => loadAlertConfig({ DEDUP_TABLE_NAME: 't', ALERT_TOPIC_ARN: TOPIC, DEDUP_TTL_HOURS: '-1' })).toThrow(ConfigError);
  });
});
