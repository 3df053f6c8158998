-- first_touch: where people first came from: the referrer and campaign of each person's very first event,
-- for the people whose first event falls in the range.
-- Parameters (positional ?): from_dt, to_dt
--   from_dt, to_dt: first and last date of the first events counted, 'YYYY-MM-DD' (UTC, inclusive).
--   In the Athena console enter them quoted: '2026-11-22'. Every event up to to_dt is read, however old:
--   a person's first touch can be months before the range (the dt <= to_dt filter still prunes after it).
-- People: resolved users (the view events_resolved): a visitor who signed up later counts with their first
--   anonymous event, on whichever device, not with the event they signed up on. Devices never identified
--   are left out: they are visitors, not users. No bots.
-- first_referrer: the referring host, '(internal)' for a referrer on the page's own host, '(direct)' for
--   none. utm_*: as in referrers_and_campaigns. anonymous_first_touch: the people whose first event was
--   anonymous, so found only through stitching.
-- Dialect: the same text runs on Athena (Trino) and DuckDB.
WITH bounds AS (
  SELECT CAST(? AS VARCHAR) AS from_dt, CAST(? AS VARCHAR) AS to_dt
),
ev AS (
  SELECT DISTINCT e.message_id, e.resolved_user_id, e.resolved_by, e.event_time, e.dt, e.referrer_host, e.page_host, e.utm_source, e.utm_medium, e.utm_campaign
  FROM events_resolved e
  CROSS JOIN bounds b
  WHERE e.dt <= b.to_dt
    AND e.resolved_user_id IS NOT NULL
    AND e.is_bot = false
),
firsts AS (
  SELECT ev.*, ROW_NUMBER() OVER (PARTITION BY resolved_user_id ORDER BY event_time, message_id) AS n
  FROM ev
)
SELECT
  CASE WHEN f.referrer_host IS NULL THEN '(direct)' WHEN f.referrer_host = f.page_host THEN '(internal)' ELSE f.referrer_host END AS first_referrer,
  COALESCE(f.utm_source, '(none)') AS utm_source,
  COALESCE(f.utm_medium, '(none)') AS utm_medium,
  COALESCE(f.utm_campaign, '(none)') AS utm_campaign,
  COUNT(*) AS users,
  SUM(CASE WHEN f.resolved_by = 'device' THEN 1 ELSE 0 END) AS anonymous_first_touch
FROM firsts f
CROSS JOIN bounds b
WHERE f.n = 1
  AND f.dt >= b.from_dt
GROUP BY 1, 2, 3, 4
ORDER BY users DESC, first_referrer, utm_source, utm_medium, utm_campaign
LIMIT 100
