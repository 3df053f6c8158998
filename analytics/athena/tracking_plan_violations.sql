-- tracking_plan_violations: what breaks the tracking plans (schemas/events, schemas/traits), per event and property:
-- events a flagging plan let through (events.plan_violations) and events a rejecting plan turned into bad rows.
-- Parameters (positional ?): from_dt, to_dt, from_dt, to_dt
--   from_dt, to_dt: first and last day, 'YYYY-MM-DD' (UTC, inclusive), given twice: once for events (partitioned
--   by event time) and once for bad_rows (by the day the batch reached events-raw).
-- One row per event name (identify for traits), property path ("properties.revenue") and problem ("must be
-- number"), flagged or rejected, with how many events and the newest example. A rejected event fixed and replayed
-- (npm run recover) counts once here and again in events if it then passes.
-- Dialect: the same text runs on Athena (Trino) and DuckDB: split, split_part, regexp_extract and
-- CROSS JOIN UNNEST exist in both. regexp_extract without a match is NULL on Trino but '' on DuckDB, hence the
-- NULLIF before the fallback to the type (an identify has no "event").
WITH broken AS (
  SELECT COALESCE(event, type) AS event_name, plan_violations AS violations, 'flagged' AS outcome,
         message_id, CAST(received_at AS varchar) AS seen_at
  FROM events
  WHERE dt BETWEEN ? AND ? AND plan_violations IS NOT NULL
  UNION ALL
  SELECT COALESCE(NULLIF(regexp_extract(payload, '"event"\s*:\s*"([^"]*)"', 1), ''), regexp_extract(payload, '"type"\s*:\s*"([^"]*)"', 1)),
         reason, 'rejected', message_id, CAST(failed_at AS varchar)
  FROM bad_rows
  WHERE dt BETWEEN ? AND ? AND failure_type = 'tracking_plan_violation'
)
SELECT
  event_name,
  split_part(violation, ': ', 1) AS property,
  split_part(violation, ': ', 2) AS problem,
  outcome,
  COUNT(DISTINCT message_id) AS events,
  max_by(message_id, seen_at) AS latest_message_id
FROM broken
CROSS JOIN UNNEST(split(violations, '; ')) AS t(violation)
GROUP BY 1, 2, 3, 4
ORDER BY events DESC, event_name, property, problem, outcome
