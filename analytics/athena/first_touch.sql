-- first_touch: where people first came from: the referrer and campaign of each person's first event in the
-- range, anonymous or not.
-- Parameters (positional ?): from_dt, to_dt
--   from_dt, to_dt: the history looked at, 'YYYY-MM-DD' (UTC, inclusive; they prune dt partitions). In the
--   Athena console enter them quoted: '2026-11-22'. A person's first touch is their first event in it: for
--   all-time first touches give the lake's first day as from_dt (npm run query does by default), and Athena
--   scans that much history; a shorter range counts a returning person by their first visit in it.
-- People: resolved users (the view events_resolved): a visitor who signed up later counts with their first
--   anonymous event, on whichever device, not with the event they signed up on. Devices never identified
--   are left out: they are visitors, not users. No bots.
-- first_referrer: the referring host, '(internal)' for a referrer on the page's own host, '(direct)' for
--   none. utm_*: as in referrers_and_campaigns. anonymous_first_touch: the people whose first event was
--   anonymous, so found only through stitching.
-- Dialect: the same text runs on Athena (Trino) and DuckDB.
WITH ev AS (
  SELECT DISTINCT message_id, resolved_user_id, resolved_by, event_time, referrer_host, page_host, utm_source, utm_medium, utm_campaign
  FROM events_resolved
  WHERE dt BETWEEN ? AND ?
    AND resolved_user_id IS NOT NULL
    AND is_bot = false
),
firsts AS (
  SELECT ev.*, ROW_NUMBER() OVER (PARTITION BY resolved_user_id ORDER BY event_time, message_id) AS n
  FROM ev
)
SELECT
  CASE WHEN referrer_host IS NULL THEN '(direct)' WHEN referrer_host = page_host THEN '(internal)' ELSE referrer_host END AS first_referrer,
  COALESCE(utm_source, '(none)') AS utm_source,
  COALESCE(utm_medium, '(none)') AS utm_medium,
  COALESCE(utm_campaign, '(none)') AS utm_campaign,
  COUNT(*) AS users,
  SUM(CASE WHEN resolved_by = 'device' THEN 1 ELSE 0 END) AS anonymous_first_touch
FROM firsts
WHERE n = 1
GROUP BY 1, 2, 3, 4
ORDER BY users DESC, first_referrer, utm_source, utm_medium, utm_campaign
LIMIT 100
