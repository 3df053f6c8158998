-- One row per event with the dimensions every query uses. Counts below are COUNT(DISTINCT message_id): a record
-- the source delivers twice (Kinesis redelivery, kinesis-local's GetRecords repeat) is counted once per window.
-- Events and clock ticks in one stream (01-source.sql): a tick has every column NULL but its time and is_tick.
CREATE VIEW events_and_ticks AS
SELECT
  `type` AS event_type,
  `messageId` AS message_id,
  COALESCE(`anonymousId`, `userId`) AS visitor_id,
  `enrichment`.`page_host` AS page_host,
  `enrichment`.`page_path` AS page_path,
  COALESCE(`enrichment`.`referrer_host`, '(direct)') AS referrer_host,
  COALESCE(`enrichment`.`utm_source`, '(none)') AS utm_source,
  COALESCE(`enrichment`.`device_type`, '(unknown)') AS device_type,
  COALESCE(`enrichment`.`is_bot`, FALSE) AS is_bot,
  `type` = 'track' AND REGEXP(LOWER(COALESCE(`event`, '')), '${anomaly.error-event-pattern}') AS is_error,
  -- "<event time><page>", so MIN/MAX pick a session's entry and exit page whatever the arrival order.
  CASE
    WHEN `type` = 'page' THEN DATE_FORMAT(`event_time`, 'yyyy-MM-dd HH:mm:ss.SSS') || COALESCE(`enrichment`.`page_path`, `name`, '/')
    WHEN `type` = 'screen' THEN DATE_FORMAT(`event_time`, 'yyyy-MM-dd HH:mm:ss.SSS') || COALESCE(`name`, '(screen)')
  END AS timed_page,
  CASE WHEN `type` = 'track' THEN `event` END AS event_name,
  `event_time`,
  `arrival_time`,
  FALSE AS is_tick
FROM enriched_events
UNION ALL
SELECT
  CAST(NULL AS STRING), CAST(NULL AS STRING), CAST(NULL AS STRING), CAST(NULL AS STRING), CAST(NULL AS STRING),
  CAST(NULL AS STRING), CAST(NULL AS STRING), CAST(NULL AS STRING), FALSE, FALSE, CAST(NULL AS STRING),
  CAST(NULL AS STRING), `tick_time`, `arrival_time`, TRUE
FROM clock_ticks;

-- The events alone. Filtering the ticks out keeps the union's watermark: every window below closes on time even
-- when no event comes.
CREATE VIEW events AS
SELECT * FROM events_and_ticks WHERE NOT is_tick;

-- Flags the first event of each visitor's session: no earlier event, or ${session.gap.minutes} whole minutes with no
-- event since the previous one (the rule of the session query, 10-aggregates.sql, which cuts sessions between
-- minutes). MIN over "previous row and this row" is the previous event time when they came in order; the minutes are
-- taken after the OVER, so its input and state are those of the job before sessions counted whole minutes and a
-- checkpoint of that job restores. Ordered by arrival, not event time: an event-time OVER drops every row behind the
-- watermark, even one that its still-open 1-minute window counts, and the totals would then disagree with the others.
CREATE VIEW events_with_session_start AS
SELECT
  *,
  COUNT(*) OVER visitor = 1
    OR FLOOR(MIN(`event_time`) OVER visitor TO MINUTE)
       < FLOOR(`event_time` TO MINUTE) - INTERVAL '${session.gap.minutes}' MINUTE AS is_session_start
FROM events_and_ticks
WINDOW visitor AS (PARTITION BY visitor_id ORDER BY `arrival_time` ROWS BETWEEN 1 PRECEDING AND CURRENT ROW);

-- 1-minute totals: the aggregate row of kind total_minute and the input of the total/error/bot anomalies. The ticks
-- give every minute a row, 0 events for a minute with none (a tick counts in no column: its ids are NULL).
CREATE VIEW minute_totals AS
SELECT
  window_start,
  window_end,
  window_time,
  COUNT(DISTINCT message_id) AS events,
  COUNT(DISTINCT message_id) FILTER (WHERE event_type = 'page') AS page_views,
  COUNT(DISTINCT message_id) FILTER (WHERE event_type = 'screen') AS screen_views,
  COUNT(DISTINCT message_id) FILTER (WHERE event_type = 'track') AS track_events,
  COUNT(DISTINCT message_id) FILTER (WHERE event_type NOT IN ('page', 'screen', 'track')) AS other_events,
  COUNT(DISTINCT message_id) FILTER (WHERE is_bot) AS bot_events,
  COUNT(DISTINCT message_id) FILTER (WHERE is_error) AS error_events,
  COUNT(DISTINCT visitor_id) AS unique_visitors,
  COUNT(DISTINCT visitor_id) FILTER (WHERE is_session_start) AS sessions_started
FROM TABLE(TUMBLE(TABLE events_with_session_start, DESCRIPTOR(`event_time`), INTERVAL '1' MINUTE))
GROUP BY window_start, window_end, window_time;

-- 1-minute counts per page (events carrying a page path: page views and the track events sent from that page).
CREATE VIEW minute_pages AS
SELECT
  window_start,
  window_end,
  window_time,
  page_host,
  page_path,
  COUNT(DISTINCT message_id) AS events,
  COUNT(DISTINCT message_id) FILTER (WHERE event_type = 'page') AS page_views,
  COUNT(DISTINCT message_id) FILTER (WHERE event_type = 'track') AS track_events,
  COUNT(DISTINCT message_id) FILTER (WHERE event_type NOT IN ('page', 'track')) AS other_events,
  COUNT(DISTINCT message_id) FILTER (WHERE is_bot) AS bot_events,
  COUNT(DISTINCT visitor_id) AS unique_visitors
FROM TABLE(TUMBLE(TABLE events, DESCRIPTOR(`event_time`), INTERVAL '1' MINUTE))
WHERE page_path IS NOT NULL
GROUP BY window_start, window_end, window_time, page_host, page_path;
