-- Title: Session funnel and cart abandonment (30-minute sessions)
-- Question: How many sessions view, cart and buy, and how many cart and then leave without buying?
-- Parameters: gap = 30 minutes (in each query): a session that is quiet this long has ended, and a
--   later event with the same user_session starts a new one (Google Analytics' rule; the live
--   rollups of `storepulse live` count sessions the same way, see docs/journey.md).
-- Rule: a session reaches a stage when it has at least one event of that type and of each earlier
--   stage (view, then cart, then purchase; order within the session is not required). It is
--   abandoned when it has a cart event and no purchase; abandoned value is the price of its cart
--   events. Events without a user_session are left out.
-- Athena: runs unchanged. event_time - LAG(event_time) is an INTERVAL DAY TO SECOND there and an
--   INTERVAL in DuckDB; both compare with INTERVAL '30' MINUTE. Athena reads the lake's
--   microsecond Parquet timestamps as timestamp(3): the ms precision the events have.
--
-- Runs over a table or view named `events` with the lake's columns (see docs/lake.md).

-- @table funnel
-- @chart kpi y=sessions,viewed,carted,purchased
WITH ordered AS (
  SELECT
    user_session,
    event_time,
    event_type,
    price,
    CASE
      WHEN event_time - LAG(event_time) OVER (PARTITION BY user_session ORDER BY event_time)
        >= INTERVAL '30' MINUTE THEN 1
      ELSE 0
    END AS starts_new
  FROM events
  WHERE user_session IS NOT NULL
),
numbered AS (
  SELECT
    ordered.*,
    SUM(starts_new) OVER (PARTITION BY user_session ORDER BY event_time ROWS UNBOUNDED PRECEDING) AS part
  FROM ordered
),
per_session AS (
  SELECT
    user_session,
    part,
    SUM(CASE WHEN event_type = 'view' THEN 1 ELSE 0 END) AS views,
    SUM(CASE WHEN event_type = 'cart' THEN 1 ELSE 0 END) AS carts,
    SUM(CASE WHEN event_type = 'purchase' THEN 1 ELSE 0 END) AS purchases,
    SUM(CASE WHEN event_type = 'cart' THEN price ELSE 0 END) AS cart_value
  FROM numbered
  GROUP BY user_session, part
)
SELECT
  COUNT(*) AS sessions,
  SUM(CASE WHEN views > 0 THEN 1 ELSE 0 END) AS viewed,
  SUM(CASE WHEN views > 0 AND carts > 0 THEN 1 ELSE 0 END) AS carted,
  SUM(CASE WHEN views > 0 AND carts > 0 AND purchases > 0 THEN 1 ELSE 0 END) AS purchased,
  SUM(CASE WHEN purchases > 0 THEN 1 ELSE 0 END) AS with_purchase,
  SUM(CASE WHEN carts > 0 THEN 1 ELSE 0 END) AS sessions_with_cart,
  SUM(CASE WHEN carts > 0 AND purchases = 0 THEN 1 ELSE 0 END) AS sessions_abandoned,
  ROUND(SUM(CASE WHEN carts > 0 AND purchases = 0 THEN cart_value ELSE 0 END), 2) AS abandoned_value
FROM per_session;
