-- Title: Most frequent visitors
-- Question: Which users come back most often, and what do they do when they come?
-- Parameters: $top_n = 20, the users listed (report --top N).
-- Rule: a visit is a distinct non-empty user_session; active_days counts the UTC dates with an
--   event. Users are ranked by visits, then active days, then events, then user_id. revenue is the
--   price of their purchase events. With flagged bot traffic counted (report --traffic all) bots
--   fill this list; by default it is people only.
-- Athena: `LIMIT $top_n` is `LIMIT ?` with an execution parameter on engine version 3 (Trino); engine
--   version 2 (Presto) takes only a number there. first_seen and last_seen are timestamp(3) there.
--
-- Runs over a table or view named `events` with the lake's columns (see docs/lake.md).

-- @table visitors
-- @chart bar x=user_id y=visits
SELECT
  user_id,
  COUNT(DISTINCT user_session) AS visits,
  COUNT(DISTINCT event_date) AS active_days,
  COUNT(*) AS events,
  SUM(CASE WHEN event_type = 'view' THEN 1 ELSE 0 END) AS views,
  SUM(CASE WHEN event_type = 'cart' THEN 1 ELSE 0 END) AS carts,
  SUM(CASE WHEN event_type = 'purchase' THEN 1 ELSE 0 END) AS purchases,
  ROUND(SUM(CASE WHEN event_type = 'purchase' THEN price ELSE 0 END), 2) AS revenue,
  MIN(event_time) AS first_seen,
  MAX(event_time) AS last_seen
FROM events
GROUP BY user_id
ORDER BY visits DESC, active_days DESC, events DESC, user_id
LIMIT $top_n;
