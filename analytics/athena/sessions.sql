-- sessions: visits per UTC day, where a visit (session) ends after 30 minutes without an event.
-- Parameters (positional ?): from_dt, to_dt
--   from_dt, to_dt: first and last event date, 'YYYY-MM-DD' (UTC, inclusive; they prune dt partitions).
--   In the Athena console enter them quoted: '2026-11-22'. A session running across from_dt is cut there.
-- Sessions: per visitor (anonymous_id, else user_id), events in event-time order; a gap of more than 30
--   minutes starts a new session (change 30 * 60 * 1000 below for another gap). A session counts on the
--   day it started. Bounce rate: the share of sessions with one event. Bot traffic is left out.
-- Duplicates: SELECT DISTINCT on message_id first, so a record Firehose delivered twice is one event.
-- Dialect: the same text runs on Athena (Trino) and DuckDB. date_diff('millisecond', a, b) is exact in
--   both (DuckDB counts unit boundaries, Trino whole units: the same for milliseconds, not for seconds).
WITH ev AS (
  SELECT DISTINCT message_id, COALESCE(anonymous_id, user_id) AS visitor, event_time
  FROM events
  WHERE dt BETWEEN ? AND ?
    AND is_bot = false
),
marked AS (
  SELECT
    visitor,
    message_id,
    event_time,
    CASE
      WHEN LAG(event_time) OVER (PARTITION BY visitor ORDER BY event_time, message_id) IS NULL THEN 1
      WHEN date_diff('millisecond', LAG(event_time) OVER (PARTITION BY visitor ORDER BY event_time, message_id), event_time) > 30 * 60 * 1000 THEN 1
      ELSE 0
    END AS starts_session
  FROM ev
),
numbered AS (
  SELECT
    visitor,
    event_time,
    SUM(starts_session) OVER (PARTITION BY visitor ORDER BY event_time, message_id ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS session_number
  FROM marked
),
visits AS (
  SELECT visitor, session_number, MIN(event_time) AS started_at, MAX(event_time) AS ended_at, COUNT(*) AS events
  FROM numbered
  GROUP BY visitor, session_number
)
SELECT
  CAST(CAST(started_at AS DATE) AS VARCHAR) AS day,
  COUNT(*) AS sessions,
  COUNT(DISTINCT visitor) AS visitors,
  ROUND(AVG(CAST(date_diff('millisecond', started_at, ended_at) AS DOUBLE) / 1000), 1) AS avg_duration_seconds,
  ROUND(AVG(CAST(events AS DOUBLE)), 2) AS avg_events_per_session,
  ROUND(CAST(SUM(CASE WHEN events = 1 THEN 1 ELSE 0 END) AS DOUBLE) / COUNT(*), 4) AS bounce_rate
FROM visits
GROUP BY 1
ORDER BY 1
