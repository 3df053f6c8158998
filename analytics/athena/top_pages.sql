-- top_pages: the most viewed pages in a date range, with how many visitors saw each.
-- Parameters (positional ?): from_dt, to_dt
--   from_dt, to_dt: first and last event date, 'YYYY-MM-DD' (UTC, inclusive). They prune dt partitions,
--   so a query reads only those days. In the Athena console enter them quoted: '2026-11-22'.
-- Counts: views are COUNT(DISTINCT message_id), so a record Firehose delivered twice counts once.
--   Visitors are anonymous_id (user_id for events that have none). Bot traffic is left out (see bot_share).
--   The page is page_path as parsed from context.page.url by the enrich stage, else context.page.path as sent.
-- Dialect: the same text runs on Athena (Trino) and DuckDB; dt is text ('YYYY-MM-DD') in both.
SELECT
  COALESCE(page_path, context_page_path, '(unknown)') AS page,
  COUNT(DISTINCT message_id) AS views,
  COUNT(DISTINCT COALESCE(anonymous_id, user_id)) AS visitors
FROM events
WHERE dt BETWEEN ? AND ?
  AND type = 'page'
  AND is_bot = false
GROUP BY 1
ORDER BY views DESC, page
LIMIT 100
