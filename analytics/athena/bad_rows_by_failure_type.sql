-- bad_rows_by_failure_type: what the enrich stage rejected, per UTC day and failure type, with the
-- latest reason as an example.
-- Parameters (positional ?): from_dt, to_dt
--   from_dt, to_dt: first and last day, 'YYYY-MM-DD' (UTC, inclusive). bad_rows is partitioned by the day
--   its batch reached events-raw, not by event time. In the Athena console enter them quoted: '2026-11-22'.
-- Failure types (schemas/bad-row): invalid_json, schema_violation, size_violation, enrichment_failure.
--   A bad row is one Kinesis record (stream, shard, sequence number): counting those distinct makes a
--   replayed batch count once. payload holds the original record, to fix and replay.
-- Dialect: the same text runs on Athena (Trino) and DuckDB; max_by(value, key) exists in both.
SELECT
  dt AS day,
  failure_type,
  COUNT(DISTINCT stream || '/' || shard_id || '/' || sequence_number) AS bad_rows,
  COUNT(DISTINCT message_id) AS message_ids,
  MIN(failed_at) AS first_failed_at,
  MAX(failed_at) AS last_failed_at,
  max_by(reason, failed_at) AS latest_reason
FROM bad_rows
WHERE dt BETWEEN ? AND ?
GROUP BY dt, failure_type
ORDER BY dt, bad_rows DESC, failure_type
