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
-- One pass over ev (read once: each reference to a view is planned again, with every view under it):
-- each step's time is a window over the visitor's events, taken from the step before.
first_step AS (
  SELECT ev.*, MIN(CASE WHEN type = 'page' AND page = '/pricing' THEN event_time END) OVER (PARTITION BY visitor) AS t1 -- step 1
  FROM ev
),
second_step AS (
  SELECT
    first_step.*,
    MIN(CASE WHEN type = 'track' AND event = 'Signup Started' -- step 2
              AND event_time >= t1 AND event_time <= t1 + INTERVAL '1' DAY THEN event_time END) OVER (PARTITION BY visitor) AS t2
  FROM first_step
),
visitors AS (
  SELECT
    visitor,
    MIN(t1) AS t1,
    MIN(t2) AS t2,
    MIN(CASE WHEN type = 'track' AND event = 'Signed Up' -- step 3
              AND event_time >= t2 AND event_time <= t1 + INTERVAL '1' DAY THEN event_time END) AS t3
  FROM second_step
  GROUP BY visitor
),
counts AS (
  SELECT COUNT(t1) AS step1, COUNT(t2) AS step2, COUNT(t3) AS step3 FROM visitors
)
SELECT
  s.step,
  s.step_name,
  CASE s.step WHEN 1 THEN c.step1 WHEN 2 THEN c.step2 ELSE c.step3 END AS visitors,
  ROUND(CAST(CASE s.step WHEN 1 THEN c.step1 WHEN 2 THEN c.step2 ELSE c.step3 END AS DOUBLE) / NULLIF(c.step1, 0), 4) AS share_of_step_1
FROM counts c
CROSS JOIN (VALUES (1, 'page /pricing'), (2, 'track Signup Started'), (3, 'track Signed Up')) AS s (step, step_name)
ORDER BY s.step
