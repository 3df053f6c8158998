-- referrers_and_campaigns: where visits come from: referring host and UTM campaign, by visitors.
-- Parameters (positional ?): from_dt, to_dt
--   from_dt, to_dt: first and last event date, 'YYYY-MM-DD' (UTC, inclusive; they prune dt partitions).
--   In the Athena console enter them quoted: '2026-11-22'.
-- Counts page views that entered from outside the site: a referrer on the page's own host is internal
--   navigation and is left out; no referrer is '(direct)'. utm_* come from context.campaign, else from
--   the page URL (campaign_origin says which). Visitors: anonymous_id, else user_id; page views:
--   DISTINCT message_id (Firehose is at least once). No bots.
-- Dialect: the same text runs on Athena (Trino) and DuckDB.
SELECT
  COALESCE(referrer_host, '(direct)') AS referrer,
  COALESCE(utm_source, '(none)') AS utm_source,
  COALESCE(utm_medium, '(none)') AS utm_medium,
  COALESCE(utm_campaign, '(none)') AS utm_campaign,
  COUNT(DISTINCT COALESCE(anonymous_id, user_id)) AS visitors,
  COUNT(DISTINCT message_id) AS page_views
FROM events
WHERE dt BETWEEN ? AND ?
  AND type = 'page'
  AND is_bot = false
  AND (referrer_host IS NULL OR page_host IS NULL OR referrer_host <> page_host)
GROUP BY 1, 2, 3, 4
ORDER BY visitors DESC, page_views DESC, referrer, utm_source, utm_medium, utm_campaign
LIMIT 100
