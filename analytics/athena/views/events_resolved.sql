-- events_resolved: every event with the person it belongs to, the anonymous ones before a signup included.
-- Columns: events.*, resolved_user_id varchar, resolved_by varchar
-- Reads: events, user_aliases, device_users
-- resolved_user_id: the event's userId, through user_aliases when that id was aliased; for an event with no
--   userId, the user its device belongs to at the event's time (device_users); NULL for a device that was
--   never identified. resolved_by: 'user_id', 'device', or NULL.
-- Nothing is rewritten: the view joins events to the identities as they are now, so a signup today
--   re-attributes that visitor's anonymous history at the next query, however old it is.
-- Filter on dt as on events: the partitions are pruned the same way.
SELECT
  e.*,
  COALESCE(a.resolved_user_id, e.user_id, d.resolved_user_id) AS resolved_user_id,
  CAST(CASE WHEN e.user_id IS NOT NULL THEN 'user_id' WHEN d.resolved_user_id IS NOT NULL THEN 'device' END AS VARCHAR) AS resolved_by
FROM events e
LEFT JOIN user_aliases a ON a.user_id = e.user_id
LEFT JOIN device_users d
  ON e.user_id IS NULL
  AND d.anonymous_id = e.anonymous_id
  AND (d.owns_after IS NULL OR e.event_time > d.owns_after)
  AND (d.owns_until IS NULL OR e.event_time <= d.owns_until)
