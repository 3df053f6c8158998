-- funnel: of the visitors who viewed the pricing page, how many then started a signup, and how many
-- then completed it, each step in order and within 24 hours of the first.
-- Parameters (positional ?): from_dt, to_dt
--   from_dt, to_dt: first and last event date, 'YYYY-MM-DD' (UTC, inclusive; they prune dt partitions).
--   In the Athena console enter them quoted: '2026-11-22'.
-- Steps (defaults for a SaaS site with Segment's B2B spec events; edit the literals marked "step"):
--   1. page view of /pricing (page_path, parsed from context.page.url)
--   2. track "Signup Started"
--   3. track "Signed Up"
--   The window is INTERVAL '1' DAY from a visitor's first step-1 event (edit both occurrences).
-- People, not devices: the resolved user (the view events_resolved), else the device (anonymous_id): a
--   visitor who viewed /pricing on a phone and signed up later on a laptop is one person through the
--   funnel, and their anonymous steps before they signed up count for them. Duplicates (Firehose is at
--   least once) are removed by DISTINCT message_id. No bots.
-- Dialect: the same text runs on Athena (Trino) and DuckDB.
WITH ev AS (
  SELECT DISTINCT
    message_id,
    COALESCE(resolved_user_id, anonymous_id) AS visitor,
    event_time,
    type,
    event,
    COALESCE(page_path, context_page_path) AS page
  FROM events_resolved
  WHERE dt BETWEEN ? AND ?
    AND is_bot = false
),
step1 AS (
  SELECT visitor, MIN(event_time) AS at
  FROM ev
  WHERE type = 'page' AND page = '/pricing' -- step 1
  GROUP BY visitor
),
step2 AS (
  SELECT s.visitor, s.at AS started_at, MIN(e.event_time) AS at
  FROM step1 s
  JOIN ev e ON e.visitor = s.visitor
  WHERE e.type = 'track' AND e.event = 'Signup Started' -- step 2
    AND e.event_time >= s.at
    AND e.event_time <= s.at + INTERVAL '1' DAY
  GROUP BY s.visitor, s.at
),
step3 AS (
  SELECT s.visitor, MIN(e.event_time) AS at
  FROM step2 s
  JOIN ev e ON e.visitor = s.visitor
  WHERE e.type = 'track' AND e.event = 'Signed Up' -- step 3
    AND e.event_time >= s.at
    AND e.event_time <= s.started_at + INTERVAL '1' DAY
  GROUP BY s.visitor
),
steps AS (
  SELECT 1 AS step, 'page /pricing' AS step_name, COUNT(*) AS visitors FROM step1
  UNION ALL
  SELECT 2, 'track Signup Started', COUNT(*) FROM step2
  UNION ALL
  SELECT 3, 'track Signed Up', COUNT(*) FROM step3
)
SELECT
  step,
  step_name,
  visitors,
  ROUND(CAST(visitors AS DOUBLE) / NULLIF(MAX(CASE WHEN step = 1 THEN visitors END) OVER (), 0), 4) AS share_of_step_1
FROM steps
ORDER BY step
