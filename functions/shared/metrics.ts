// Counters of one batch as a CloudWatch Embedded Metric Format document, merged into the batch's
// summary log line by the Powertools Logger: one line gives both the log and the metrics, with no
// metrics library and no PutMetricData call.
export const METRICS_NAMESPACE = 'Clickstream';

/** EMF fields for the counters. The dimension is the `service` key every Powertools log line carries. */
export function emfFields(counters: Readonly<Record<string, number>>, now = Date.now()): Record<string, unknown> {
  return {
    _aws: {
      Timestamp: now,
      CloudWatchMetrics: [
        {
          Namespace: METRICS_NAMESPACE,
          Dimensions: [['service']],
          Metrics: Object.keys(counters).map((name) => ({ Name: name, Unit: 'Count' })),
        },
      ],
    },
    ...counters,
  };
}
