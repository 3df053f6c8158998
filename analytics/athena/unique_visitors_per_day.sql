-- unique_visitors_per_day: distinct visitors, identified users and events per UTC day.
-- Parameters (positional ?): from_dt, to_dt
--   from_dt, to_dt: first and last event date, 'YYYY-MM-DD' (UTC, inclusive; they prune dt partitions).
--   In the Athena console enter them quoted: '2026-11-22'.
-- Counts: exact COUNT(DISTINCT ...), not approx_distinct, so the numbers reconcile with other reports;
--   events are DISTINCT message_id (Firehose is at least once). A visitor is anonymous_id, else user_id:
--   a browser that identifies later stays one visitor, since analytics.js keeps sending its anonymousId.
--   Bot traffic is left out (see bot_share).
-- Dialect: the same text runs on Athena (Trino) and DuckDB.
SELECT
  dt AS day,
  COUNT(DISTINCT COALESCE(anonymous_id, user_id)) AS visitors,
  COUNT(DISTINCT user_id) AS identified_users,
  COUNT(DISTINCT message_id) AS events
FROM events
WHERE dt BETWEEN ? AND ?
  AND is_bot = false
GROUP BY dt
ORDER BY dt
