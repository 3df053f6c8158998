-- bot_share: the share of events and visitors per UTC day that come from bots (isbot on the user agent).
-- Parameters (positional ?): from_dt, to_dt
--   from_dt, to_dt: first and last event date, 'YYYY-MM-DD' (UTC, inclusive; they prune dt partitions).
--   In the Athena console enter them quoted: '2026-11-22'.
-- Counts: DISTINCT message_id (Firehose is at least once); visitors are anonymous_id, else user_id.
--   Events without a user agent (server-side calls) count as not bots.
-- Dialect: the same text runs on Athena (Trino) and DuckDB; conditional counts use CASE, not FILTER.
SELECT
  dt AS day,
  COUNT(DISTINCT message_id) AS events,
  COUNT(DISTINCT CASE WHEN is_bot THEN message_id END) AS bot_events,
  ROUND(CAST(COUNT(DISTINCT CASE WHEN is_bot THEN message_id END) AS DOUBLE) / COUNT(DISTINCT message_id), 4) AS bot_event_share,
  COUNT(DISTINCT COALESCE(anonymous_id, user_id)) AS visitors,
  COUNT(DISTINCT CASE WHEN is_bot THEN COALESCE(anonymous_id, user_id) END) AS bot_visitors
FROM events
WHERE dt BETWEEN ? AND ?
GROUP BY dt
ORDER BY dt
