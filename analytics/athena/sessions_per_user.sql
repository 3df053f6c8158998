-- sessions_per_user: the visits of each identified person, across their devices, with the anonymous visits
-- before they signed up.
-- Parameters (positional ?): from_dt, to_dt
--   from_dt, to_dt: first and last event date, 'YYYY-MM-DD' (UTC, inclusive; they prune dt partitions).
--   In the Athena console enter them quoted: '2026-11-22'. A session running across from_dt is cut there.
-- People: resolved users (the view events_resolved). A session is a person's events in event-time order,
--   whatever the device, until a gap of more than 30 minutes (as in sessions). devices: distinct
--   anonymousIds; anonymous_events: events attributed through a device (sent before the person identified,
--   or logged out). The 100 people with the most sessions. No bots.
-- Dialect: the same text runs on Athena (Trino) and DuckDB.
WITH ev AS (
  SELECT DISTINCT message_id, resolved_user_id, resolved_by, anonymous_id, event_time
  FROM events_resolved
  WHERE dt BETWEEN ? AND ?
    AND is_bot = false
    AND resolved_user_id IS NOT NULL
),
-- One pass over ev (read once: each reference to a view is planned again, with every view under it).
marked AS (
  SELECT
    ev.*,
    CASE
      WHEN LAG(event_time) OVER (PARTITION BY resolved_user_id ORDER BY event_time, message_id) IS NULL THEN 1
      WHEN date_diff('millisecond', LAG(event_time) OVER (PARTITION BY resolved_user_id ORDER BY event_time, message_id), event_time) > 30 * 60 * 1000 THEN 1
      ELSE 0
    END AS starts_session
  FROM ev
)
SELECT
  resolved_user_id,
  SUM(starts_session) AS sessions,
  COUNT(*) AS events,
  COUNT(DISTINCT anonymous_id) AS devices,
  SUM(CASE WHEN resolved_by = 'device' THEN 1 ELSE 0 END) AS anonymous_events,
  CAST(CAST(MIN(event_time) AS DATE) AS VARCHAR) AS first_day,
  CAST(CAST(MAX(event_time) AS DATE) AS VARCHAR) AS last_day
FROM marked
GROUP BY resolved_user_id
ORDER BY sessions DESC, events DESC, resolved_user_id
LIMIT 100
