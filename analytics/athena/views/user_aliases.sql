-- user_aliases: the user id each aliased id stands for now, after alias calls merged ids.
-- Columns: user_id varchar, resolved_user_id varchar
-- Reads: identities
-- An alias call (previousId → userId) says that previousId is now userId. The rules (README, "Identity
-- stitching"), each tested in test/unit/analytics/identity-views.test.ts:
--   1. an id follows its newest alias (by first_seen; on a tie, the greater userId): an id aliased to two
--      users belongs to the later one, and the earlier one keeps its own events;
--   2. two ids aliased to each other (an alias undone) follow the newer of the two aliases only;
--   3. a chain is followed up to four aliases (a → b → c → d → e); a longer one stops at its fourth, and a
--      loop of three or more ids (a tracker bug) resolves each id to where four steps lead;
--   4. an id that was never aliased stands for itself and is not in this view.
-- identities holds one row per link and enrich batch: the same alias seen twice is folded here.
WITH aliases AS (
  SELECT previous_id AS from_id, user_id AS to_id, MIN(first_seen) AS aliased_at
  FROM identities
  WHERE link = 'alias' AND previous_id IS NOT NULL
  GROUP BY previous_id, user_id
),
newest AS (
  SELECT from_id, to_id, aliased_at
  FROM (
    SELECT from_id, to_id, aliased_at, ROW_NUMBER() OVER (PARTITION BY from_id ORDER BY aliased_at DESC, to_id DESC) AS n
    FROM aliases
  ) ranked
  WHERE n = 1
),
successor AS (
  SELECT a.from_id, a.to_id
  FROM newest a
  LEFT JOIN newest b ON b.from_id = a.to_id AND b.to_id = a.from_id
  WHERE b.from_id IS NULL OR b.aliased_at < a.aliased_at OR (b.aliased_at = a.aliased_at AND b.to_id < a.to_id)
)
SELECT s1.from_id AS user_id, COALESCE(s4.to_id, s3.to_id, s2.to_id, s1.to_id) AS resolved_user_id
FROM successor s1
LEFT JOIN successor s2 ON s2.from_id = s1.to_id
LEFT JOIN successor s3 ON s3.from_id = s2.to_id
LEFT JOIN successor s4 ON s4.from_id = s3.to_id
