-- One aggregate row per kind and window (schemas/aggregates/1-0-0.json; a test checks these columns against it).
-- Columns a kind does not use stay NULL. Times are ISO-8601 UTC strings, like the events' own.
CREATE TABLE aggregates_sink (
  `kind`             STRING,
  `window_start`     STRING,
  `window_end`       STRING,
  `page_host`        STRING,
  `page_path`        STRING,
  `referrer_host`    STRING,
  `utm_source`       STRING,
  `device_type`      STRING,
  `visitor_id`       STRING,
  `events`           BIGINT,
  `page_views`       BIGINT,
  `screen_views`     BIGINT,
  `track_events`     BIGINT,
  `other_events`     BIGINT,
  `bot_events`       BIGINT,
  `error_events`     BIGINT,
  `unique_visitors`  BIGINT,
  `sessions_started` BIGINT,
  `duration_seconds` BIGINT,
  `entry_page`       STRING,
  `exit_page`        STRING
) WITH (
  ${connector.aggregates-sink}
);

-- One row per anomalous metric value (schemas/anomalies/1-0-0.json).
CREATE TABLE anomalies_sink (
  `id`               STRING,
  `metric`           STRING,
  `dimension`        STRING,
  `window_start`     STRING,
  `window_end`       STRING,
  `observed`         DOUBLE,
  `expected`         DOUBLE,
  `stddev`           DOUBLE,
  `score`            DOUBLE,
  `direction`        STRING,
  `severity`         STRING,
  `baseline_windows` BIGINT
) WITH (
  ${connector.anomalies-sink}
);
