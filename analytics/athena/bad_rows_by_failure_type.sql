-- bad_rows_by_failure_type: what the enrich stage rejected, per UTC day and failure type, how many of those
-- rows are still open and how many a recovery sent back (npm run recover), with the latest reason as an example.
-- Parameters (positional ?): from_dt, to_dt
--   from_dt, to_dt: first and last day, 'YYYY-MM-DD' (UTC, inclusive). bad_rows is partitioned by the day
--   its batch reached events-raw, not by event time. In the Athena console enter them quoted: '2026-11-22'.
-- Failure types (schemas/bad-row): invalid_json, schema_violation, size_violation, enrichment_failure,
--   adapter_failure.
--   A bad row is one Kinesis record (stream, shard, sequence number): counting those distinct makes a
--   replayed batch count once. payload holds the original record, to fix and replay. A row listed in
--   recovered_bad_rows was sent back through the pipeline: it counts as recovered, not open.
-- Dialect: the same text runs on Athena (Trino) and DuckDB; max_by(value, key) exists in both.
SELECT
  b.dt AS day,
  b.failure_type,
  COUNT(DISTINCT b.stream || '/' || b.shard_id || '/' || b.sequence_number) AS bad_rows,
  COUNT(DISTINCT CASE WHEN r.sequence_number IS NULL THEN b.stream || '/' || b.shard_id || '/' || b.sequence_number END) AS open_rows,
  COUNT(DISTINCT CASE WHEN r.sequence_number IS NOT NULL THEN b.stream || '/' || b.shard_id || '/' || b.sequence_number END) AS recovered_rows,
  COUNT(DISTINCT b.message_id) AS message_ids,
  MIN(b.failed_at) AS first_failed_at,
  MAX(b.failed_at) AS last_failed_at,
  max_by(b.reason, b.failed_at) AS latest_reason
FROM bad_rows b
LEFT JOIN (SELECT DISTINCT stream, shard_id, sequence_number FROM recovered_bad_rows) r
  ON r.stream = b.stream AND r.shard_id = b.shard_id AND r.sequence_number = b.sequence_number
WHERE b.dt BETWEEN ? AND ?
GROUP BY b.dt, b.failure_type
ORDER BY day, bad_rows DESC, b.failure_type
