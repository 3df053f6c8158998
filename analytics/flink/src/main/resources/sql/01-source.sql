-- The enriched event on events-enriched (schemas/enriched/1-0-0.json), reduced to the fields the job reads.
-- Event time is the clock-corrected `timestamp` the ingest stage wrote (ISO-8601 UTC, e.g. 2024-05-01T12:00:00.123Z);
-- an unparseable one becomes 1970-01-01, which every window drops as late instead of failing the job on a NULL rowtime.
CREATE TABLE enriched_events (
  `type`        STRING,
  `messageId`   STRING,
  `anonymousId` STRING,
  `userId`      STRING,
  `event`       STRING,
  `name`        STRING,
  `timestamp`   STRING,
  `enrichment`  ROW<
    `is_bot`        BOOLEAN,
    `device_type`   STRING,
    `page_host`     STRING,
    `page_path`     STRING,
    `referrer_host` STRING,
    `utm_source`    STRING
  >,
  `event_time` AS COALESCE(
    TRY_CAST(REPLACE(REPLACE(`timestamp`, 'T', ' '), 'Z', '') AS TIMESTAMP(3)),
    TIMESTAMP '1970-01-01 00:00:00.000'),
  -- Arrival order, for the per-visitor session-start flag (02-events.sql).
  `arrival_time` AS PROCTIME(),
  WATERMARK FOR `event_time` AS `event_time` - INTERVAL '${watermark.out-of-orderness.seconds}' SECOND
) WITH (
  ${connector.events-source}
);

-- The clock: one row per second of wall-clock time (locally and on AWS: the built-in datagen connector). Unioned
-- into the events (02-events.sql) it keeps event time moving when no event arrives: once the events source has been
-- idle for source.idle-timeout, the watermark follows the clock, so minutes with no events close on time, total_minute
-- reports them with 0 events and the silence query sees a page or the whole site go quiet. While events flow, the
-- union's watermark is the smaller of the two, so the clock never makes an arriving event late.
CREATE TABLE clock_ticks (
  `tick_time`    TIMESTAMP(3),
  `arrival_time` AS PROCTIME(),
  WATERMARK FOR `tick_time` AS `tick_time` - INTERVAL '${watermark.out-of-orderness.seconds}' SECOND
) WITH (
  ${connector.clock-ticks}
);
