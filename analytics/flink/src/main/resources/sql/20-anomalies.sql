-- Anomalies: each 1-minute metric value against its trailing baseline, the previous N windows of the same metric
-- and dimension. OVER frames must end at CURRENT ROW, so the baseline is the frame's SUM / SUM of squares / COUNT
-- minus the current row. `volume` is what the minimum-volume rule looks at. Minutes with no events (total_minute rows
-- the clock makes) are left out here: a metric that drops to zero is the silence query's (below), which says so once.
CREATE VIEW minute_metrics AS
SELECT 'total_events' AS metric, 'all' AS dimension, CAST(events AS DOUBLE) AS observed,
       CAST(events AS DOUBLE) AS volume, window_start, window_end, window_time
FROM minute_totals
WHERE events > 0
UNION ALL
SELECT 'error_events', 'all', CAST(error_events AS DOUBLE), CAST(error_events AS DOUBLE), window_start, window_end, window_time
FROM minute_totals
WHERE events > 0
UNION ALL
SELECT 'bot_share', 'all', CAST(bot_events AS DOUBLE) / events, CAST(events AS DOUBLE), window_start, window_end, window_time
FROM minute_totals
WHERE events > 0
UNION ALL
SELECT 'page_views', COALESCE(page_host, '') || page_path, CAST(page_views AS DOUBLE), CAST(page_views AS DOUBLE),
       window_start, window_end, window_time
FROM minute_pages
WHERE page_views > 0;

CREATE VIEW metric_baselines AS
SELECT
  metric, dimension, observed, volume, window_start, window_end,
  COUNT(*) OVER metric_history - 1 AS baseline_windows,
  SUM(observed) OVER metric_history - observed AS baseline_sum,
  SUM(observed * observed) OVER metric_history - observed * observed AS baseline_sum_sq,
  SUM(volume) OVER metric_history - volume AS baseline_volume
FROM minute_metrics
WINDOW metric_history AS (
  PARTITION BY metric, dimension ORDER BY window_time
  ROWS BETWEEN ${anomaly.baseline.windows} PRECEDING AND CURRENT ROW);

CREATE VIEW metric_scores AS
SELECT
  metric, dimension, observed, volume, window_start, window_end, baseline_windows,
  expected,
  baseline_volume / baseline_windows AS expected_volume,
  -- Floors keep a flat baseline from turning noise into infinite scores: Poisson noise for counts.
  GREATEST(
    SQRT(GREATEST(baseline_sum_sq / baseline_windows - expected * expected, 0.0)),
    CASE WHEN metric = 'bot_share' THEN CAST(${anomaly.ratio.min-stddev} AS DOUBLE) ELSE SQRT(GREATEST(expected, 1.0)) END
  ) AS `stddev`
FROM (
  SELECT *, baseline_sum / baseline_windows AS expected
  FROM metric_baselines
  WHERE baseline_windows >= ${anomaly.baseline.min-windows}
);

INSERT INTO anomalies_sink
SELECT
  MD5(metric || '|' || dimension || '|' || DATE_FORMAT(window_start, 'yyyy-MM-dd''T''HH:mm:ss.SSS''Z''')) AS id,
  metric,
  dimension,
  DATE_FORMAT(window_start, 'yyyy-MM-dd''T''HH:mm:ss.SSS''Z''') AS window_start,
  DATE_FORMAT(window_end, 'yyyy-MM-dd''T''HH:mm:ss.SSS''Z''') AS window_end,
  observed,
  expected,
  `stddev`,
  score,
  CASE WHEN score > 0 THEN 'spike' ELSE 'drop' END AS direction,
  CASE WHEN ABS(score) >= ${anomaly.z-critical} THEN 'critical' ELSE 'warning' END AS severity,
  baseline_windows
FROM (SELECT *, (observed - expected) / `stddev` AS score FROM metric_scores)
WHERE ABS(score) >= ${anomaly.z-threshold}
  AND GREATEST(volume, expected_volume) >= ${anomaly.min-volume};

-- Silence: a metric that usually has traffic goes to zero. Per metric and dimension, the minutes that had events
-- (minute_keys), looked at over a sliding ${silence.window.minutes}-minute window: the last minute empty, the one
-- before it not (so a silence is reported once, when it starts), and the minutes before that "usual traffic": events
-- in at least ${silence.min-active-minutes} of them and at least anomaly.min-volume per minute on average, so Poisson
-- noise alone (P(0) = e^-20 at 20 a minute) is not a silence. A minute with no events makes no row; the window still
-- closes when the watermark passes it, which the clock's ticks make sure of when nothing else arrives.
CREATE VIEW minute_keys AS
SELECT 'total_events' AS metric, 'all' AS dimension, events, window_start AS minute_start, window_time AS minute_time
FROM minute_totals
WHERE events > 0
UNION ALL
SELECT 'page_views', COALESCE(page_host, '') || page_path, page_views, window_start, window_time
FROM minute_pages
WHERE page_views > 0
UNION ALL
SELECT 'track_events', event_name, COUNT(DISTINCT message_id), window_start, window_time
FROM TABLE(TUMBLE(TABLE events, DESCRIPTOR(`event_time`), INTERVAL '1' MINUTE))
WHERE event_type = 'track' AND event_name IS NOT NULL
GROUP BY window_start, window_end, window_time, event_name;

CREATE VIEW silences AS
SELECT
  metric, dimension,
  window_end - INTERVAL '1' MINUTE AS silent_start,
  window_end AS silent_end,
  CAST(SUM(events) AS DOUBLE) / (${silence.window.minutes} - 1) AS expected,
  COUNT(*) AS active_minutes
FROM TABLE(HOP(TABLE minute_keys, DESCRIPTOR(minute_time), INTERVAL '1' MINUTE, INTERVAL '${silence.window.minutes}' MINUTE))
GROUP BY metric, dimension, window_start, window_end
HAVING MAX(minute_start) = window_end - INTERVAL '2' MINUTE;

INSERT INTO anomalies_sink
SELECT
  MD5(metric || '|' || dimension || '|' || DATE_FORMAT(silent_start, 'yyyy-MM-dd''T''HH:mm:ss.SSS''Z''') || '|silence') AS id,
  metric,
  dimension,
  DATE_FORMAT(silent_start, 'yyyy-MM-dd''T''HH:mm:ss.SSS''Z''') AS window_start,
  DATE_FORMAT(silent_end, 'yyyy-MM-dd''T''HH:mm:ss.SSS''Z''') AS window_end,
  CAST(0 AS DOUBLE) AS observed,
  expected,
  SQRT(expected) AS `stddev`,
  -SQRT(expected) AS score,
  'silence' AS direction,
  CASE WHEN metric = 'total_events' THEN 'critical' ELSE 'warning' END AS severity,
  CAST(${silence.window.minutes} - 1 AS BIGINT) AS baseline_windows
FROM silences
WHERE active_minutes >= ${silence.min-active-minutes}
  AND expected >= ${anomaly.min-volume};
