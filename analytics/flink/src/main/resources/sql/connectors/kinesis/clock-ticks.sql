-- The clock on AWS and locally: Flink's built-in datagen connector. A TIMESTAMP field with max-past 0 is the
-- current time (UTC wall clock), one row every 1/ticks-per-second s, for ever.
'connector' = 'datagen',
'rows-per-second' = '${clock.ticks-per-second}',
'fields.tick_time.max-past' = '0'
