-- Append-only aggregate rows to the aggregates stream; `kind` says which dimensions and counts a row carries.
-- 'yyyy-MM-dd''T''HH:mm:ss.SSS''Z''' writes window bounds the way the events write theirs (UTC, Z).

INSERT INTO aggregates_sink (kind, window_start, window_end, events, page_views, screen_views, track_events,
                             other_events, bot_events, error_events, unique_visitors, sessions_started)
SELECT
  'total_minute',
  DATE_FORMAT(window_start, 'yyyy-MM-dd''T''HH:mm:ss.SSS''Z'''),
  DATE_FORMAT(window_end, 'yyyy-MM-dd''T''HH:mm:ss.SSS''Z'''),
  events, page_views, screen_views, track_events, other_events, bot_events, error_events, unique_visitors, sessions_started
FROM minute_totals;

INSERT INTO aggregates_sink (kind, window_start, window_end, page_host, page_path, events, page_views, track_events,
                             other_events, bot_events, unique_visitors)
SELECT
  'page_minute',
  DATE_FORMAT(window_start, 'yyyy-MM-dd''T''HH:mm:ss.SSS''Z'''),
  DATE_FORMAT(window_end, 'yyyy-MM-dd''T''HH:mm:ss.SSS''Z'''),
  page_host, page_path, events, page_views, track_events, other_events, bot_events, unique_visitors
FROM minute_pages;

INSERT INTO aggregates_sink (kind, window_start, window_end, referrer_host, events, page_views, unique_visitors)
SELECT
  'referrer_minute',
  DATE_FORMAT(window_start, 'yyyy-MM-dd''T''HH:mm:ss.SSS''Z'''),
  DATE_FORMAT(window_end, 'yyyy-MM-dd''T''HH:mm:ss.SSS''Z'''),
  referrer_host,
  COUNT(DISTINCT message_id),
  COUNT(DISTINCT message_id) FILTER (WHERE event_type = 'page'),
  COUNT(DISTINCT visitor_id)
FROM TABLE(TUMBLE(TABLE events, DESCRIPTOR(`event_time`), INTERVAL '1' MINUTE))
GROUP BY window_start, window_end, referrer_host;

INSERT INTO aggregates_sink (kind, window_start, window_end, utm_source, events, page_views, unique_visitors)
SELECT
  'utm_source_minute',
  DATE_FORMAT(window_start, 'yyyy-MM-dd''T''HH:mm:ss.SSS''Z'''),
  DATE_FORMAT(window_end, 'yyyy-MM-dd''T''HH:mm:ss.SSS''Z'''),
  utm_source,
  COUNT(DISTINCT message_id),
  COUNT(DISTINCT message_id) FILTER (WHERE event_type = 'page'),
  COUNT(DISTINCT visitor_id)
FROM TABLE(TUMBLE(TABLE events, DESCRIPTOR(`event_time`), INTERVAL '1' MINUTE))
GROUP BY window_start, window_end, utm_source;

INSERT INTO aggregates_sink (kind, window_start, window_end, device_type, events, page_views, bot_events, unique_visitors)
SELECT
  'device_minute',
  DATE_FORMAT(window_start, 'yyyy-MM-dd''T''HH:mm:ss.SSS''Z'''),
  DATE_FORMAT(window_end, 'yyyy-MM-dd''T''HH:mm:ss.SSS''Z'''),
  device_type,
  COUNT(DISTINCT message_id),
  COUNT(DISTINCT message_id) FILTER (WHERE event_type = 'page'),
  COUNT(DISTINCT message_id) FILTER (WHERE is_bot),
  COUNT(DISTINCT visitor_id)
FROM TABLE(TUMBLE(TABLE events, DESCRIPTOR(`event_time`), INTERVAL '1' MINUTE))
GROUP BY window_start, window_end, device_type;

-- Each visitor's minutes, the input of the session query below. A duplicate has its original's event time, so it
-- falls in the same minute and COUNT(DISTINCT) drops it here, in state that ends with the minute. The sessions then
-- keep one row of sums per visitor, not every id they have seen: a visitor who never pauses for the gap (a monitor,
-- a bot, the load benchmark) keeps a session open for hours, and its ids filled the job's heap and checkpoints. Like
-- the other 1-minute windows, an event behind the watermark once its minute has closed counts in no session.
CREATE VIEW visitor_minutes AS
SELECT
  visitor_id,
  window_time AS minute_time,
  MIN(`event_time`) AS first_time,
  MAX(`event_time`) AS last_time,
  COUNT(DISTINCT message_id) AS events,
  COUNT(DISTINCT message_id) FILTER (WHERE event_type IN ('page', 'screen')) AS page_views,
  MIN(timed_page) AS first_page,
  MAX(timed_page) AS last_page
FROM TABLE(TUMBLE(TABLE events, DESCRIPTOR(`event_time`), INTERVAL '1' MINUTE))
WHERE visitor_id IS NOT NULL
GROUP BY window_start, window_end, window_time, visitor_id;

-- Sessions per visitor: window_start/window_end are the first and last event (not the SESSION window's end, which
-- is the last minute plus the gap); emitted once the gap has passed in event time. The gap is counted in whole
-- minutes: a session ends after ${session.gap.minutes} whole minutes with no event of its visitor (SESSION merges
-- windows that touch, so minutes 12:00 and 12:30 are one session, 12:00 and 12:31 two; is_session_start in
-- 02-events.sql has the same rule).
INSERT INTO aggregates_sink (kind, window_start, window_end, visitor_id, events, page_views, duration_seconds,
                             entry_page, exit_page)
SELECT
  'session',
  DATE_FORMAT(MIN(first_time), 'yyyy-MM-dd''T''HH:mm:ss.SSS''Z'''),
  DATE_FORMAT(MAX(last_time), 'yyyy-MM-dd''T''HH:mm:ss.SSS''Z'''),
  visitor_id,
  SUM(events),
  SUM(page_views),
  CAST(TIMESTAMPDIFF(SECOND, MIN(first_time), MAX(last_time)) AS BIGINT),
  -- timed_page is "<23-character time><page>"
  SUBSTR(MIN(first_page), 24),
  SUBSTR(MAX(last_page), 24)
FROM TABLE(SESSION(TABLE visitor_minutes PARTITION BY visitor_id, DESCRIPTOR(minute_time), INTERVAL '${session.gap.minutes}' MINUTE))
GROUP BY window_start, window_end, visitor_id;

-- The live view: the open minute's totals so far, a row each ${live.step.seconds} s of event time (CUMULATE), so the
-- dashboard shows a posted event seconds after it arrives instead of after its minute ends. Each row is exact for
-- its part of the minute ([window_start, window_end)); the minute's last row equals its total_minute row. Append-only
-- like the others: readers that want final figures read total_minute.
INSERT INTO aggregates_sink (kind, window_start, window_end, events, page_views, screen_views, track_events,
                             other_events, bot_events, error_events, unique_visitors)
SELECT
  'total_live',
  DATE_FORMAT(window_start, 'yyyy-MM-dd''T''HH:mm:ss.SSS''Z'''),
  DATE_FORMAT(window_end, 'yyyy-MM-dd''T''HH:mm:ss.SSS''Z'''),
  COUNT(DISTINCT message_id),
  COUNT(DISTINCT message_id) FILTER (WHERE event_type = 'page'),
  COUNT(DISTINCT message_id) FILTER (WHERE event_type = 'screen'),
  COUNT(DISTINCT message_id) FILTER (WHERE event_type = 'track'),
  COUNT(DISTINCT message_id) FILTER (WHERE event_type NOT IN ('page', 'screen', 'track')),
  COUNT(DISTINCT message_id) FILTER (WHERE is_bot),
  COUNT(DISTINCT message_id) FILTER (WHERE is_error),
  COUNT(DISTINCT visitor_id)
FROM TABLE(CUMULATE(TABLE events, DESCRIPTOR(`event_time`), INTERVAL '${live.step.seconds}' SECOND, INTERVAL '1' MINUTE))
GROUP BY window_start, window_end;
