-- late_events: how late events reach the pipeline, per UTC event day: the share flagged late, lateness
-- percentiles, and how many arrived after their day was over (they change "yesterday" after the fact).
-- Parameters (positional ?): from_dt, to_dt
--   from_dt, to_dt: first and last event date, 'YYYY-MM-DD' (UTC, inclusive; they prune dt partitions).
--   In the Athena console enter them quoted: '2026-11-22'.
-- Lateness: receivedAt - timestamp (the clock-corrected event time), in seconds; is_late when it exceeds
--   the enrich stage's LATENESS_BOUND_SECONDS (default 3600). Events land in the partition of their
--   event time, never of their arrival. Counts are DISTINCT message_id (Firehose is at least once);
--   the percentiles are approximate and read every delivered copy.
-- Dialect: Athena (Trino) text. DuckDB has no approx_percentile: the local runner substitutes
--   approx_quantile, same arguments (analytics/athena/dialect.ts).
SELECT
  dt AS day,
  COUNT(DISTINCT message_id) AS events,
  COUNT(DISTINCT CASE WHEN is_late THEN message_id END) AS late_events,
  ROUND(CAST(COUNT(DISTINCT CASE WHEN is_late THEN message_id END) AS DOUBLE) / COUNT(DISTINCT message_id), 4) AS late_share,
  approx_percentile(lateness_seconds, 0.5) AS p50_lateness_seconds,
  approx_percentile(lateness_seconds, 0.95) AS p95_lateness_seconds,
  MAX(lateness_seconds) AS max_lateness_seconds,
  COUNT(DISTINCT CASE WHEN CAST(CAST(received_at AS DATE) AS VARCHAR) > dt THEN message_id END) AS arrived_after_their_day
FROM events
WHERE dt BETWEEN ? AND ?
GROUP BY dt
ORDER BY dt
