-- device_users: whose a device's anonymous events are, and from when to when.
-- Columns: anonymous_id varchar, resolved_user_id varchar, first_seen timestamp(3), last_seen timestamp(3), owns_after timestamp(3), owns_until timestamp(3), users_on_device bigint
-- Reads: identities, user_aliases
-- A device (an anonymousId) is linked to a user by an identify call, an alias call, or any event that
-- carried both ids; the user is resolved through user_aliases. The rules (README, "Identity stitching"):
--   1. a device linked to one user: all its anonymous events are that user's, before the link and after,
--      with no time limit (a visitor's browsing weeks before signup counts for them);
--   2. a device linked to several users (a shared computer, a family tablet): an anonymous event belongs to
--      the next user first seen on the device after it (the person who then signed in); after the last
--      user's first sighting, to that last user. This row owns the anonymous events of anonymous_id with
--      owns_after < event time <= owns_until (NULL: no bound on that side);
--   3. events that carry a userId are that user's, never another's, whatever the device.
-- An alias from an anonymousId (previousId that is no user id) links that device as well.
WITH links AS (
  SELECT anonymous_id AS device_id, user_id, first_seen, last_seen
  FROM identities
  WHERE anonymous_id IS NOT NULL
  UNION ALL
  SELECT previous_id, user_id, first_seen, last_seen
  FROM identities
  WHERE link = 'alias' AND previous_id IS NOT NULL
    AND previous_id NOT IN (SELECT user_id FROM identities)
),
users AS (
  SELECT l.device_id AS anonymous_id, COALESCE(a.resolved_user_id, l.user_id) AS resolved_user_id, MIN(l.first_seen) AS first_seen, MAX(l.last_seen) AS last_seen
  FROM links l
  LEFT JOIN user_aliases a ON a.user_id = l.user_id
  GROUP BY l.device_id, COALESCE(a.resolved_user_id, l.user_id)
)
SELECT
  anonymous_id,
  resolved_user_id,
  first_seen,
  last_seen,
  LAG(first_seen) OVER (PARTITION BY anonymous_id ORDER BY first_seen, resolved_user_id) AS owns_after,
  CASE WHEN LEAD(first_seen) OVER (PARTITION BY anonymous_id ORDER BY first_seen, resolved_user_id) IS NULL THEN NULL ELSE first_seen END AS owns_until,
  COUNT(*) OVER (PARTITION BY anonymous_id) AS users_on_device
FROM users
