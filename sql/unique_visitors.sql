-- Title: Unique visitors per day
-- Question: How many different users visit the store each day, and how many sessions and
--   events do they make?
-- Parameters: none. A day is the UTC date of event_time (the lake's event_date partition).
-- Rule: a visitor is a distinct user_id with at least one event that day; a session is a
--   distinct non-empty user_session.
-- Athena: runs unchanged. COUNT(DISTINCT ...) is exact on both (approx_distinct is Athena's
--   cheaper estimate). A Glue crawler may make event_date a string partition: day is then text.
--
-- Runs over a table or view named `events` with the lake's columns (see docs/lake.md).

-- @table daily
-- @chart line x=day y=unique_visitors,sessions
SELECT
  event_date AS day,
  COUNT(DISTINCT user_id) AS unique_visitors,
  COUNT(DISTINCT user_session) AS sessions,
  COUNT(*) AS events,
  SUM(CASE WHEN event_type = 'purchase' THEN 1 ELSE 0 END) AS purchases,
  ROUND(CAST(COUNT(*) AS DOUBLE) / COUNT(DISTINCT user_id), 2) AS events_per_visitor
FROM events
GROUP BY event_date
ORDER BY day;
