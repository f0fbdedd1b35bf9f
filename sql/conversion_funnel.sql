-- Title: Daily conversion funnel
-- Question: Each day, how many visitors view, then cart, then buy, and at what rates?
-- Parameters: none. A day is the UTC date of event_time (the lake's event_date partition).
-- Rule: per day and user: viewed when the user has a view event that day; carted when viewed and
--   has a cart event; purchased when carted and has a purchase event (order within the day is not
--   required). buyers counts every user with a purchase that day, carted or not. view_to_cart =
--   carted / viewed, cart_to_purchase = purchased / carted, conversion = buyers / visitors; revenue
--   is the price of the day's purchase events.
-- Athena: runs unchanged (rates cast to DOUBLE, as integer / integer truncates there; revenue is
--   DECIMAL(38,2) on both). With a Glue crawler's string event_date, day is text.
--
-- Runs over a table or view named `events` with the lake's columns (see docs/lake.md).

-- @table daily
-- @chart line x=day y=viewed,carted,purchased
WITH per_user_day AS (
  SELECT
    event_date AS day,
    user_id,
    MAX(CASE WHEN event_type = 'view' THEN 1 ELSE 0 END) AS viewed,
    MAX(CASE WHEN event_type = 'cart' THEN 1 ELSE 0 END) AS carted,
    MAX(CASE WHEN event_type = 'purchase' THEN 1 ELSE 0 END) AS bought,
    SUM(CASE WHEN event_type = 'purchase' THEN price ELSE 0 END) AS revenue
  FROM events
  GROUP BY event_date, user_id
),
per_day AS (
  SELECT
    day,
    COUNT(*) AS visitors,
    SUM(viewed) AS viewed,
    SUM(viewed * carted) AS carted,
    SUM(viewed * carted * bought) AS purchased,
    SUM(bought) AS buyers,
    SUM(revenue) AS revenue
  FROM per_user_day
  GROUP BY day
)
SELECT
  day,
  visitors,
  viewed,
  carted,
  purchased,
  buyers,
  ROUND(CAST(carted AS DOUBLE) / NULLIF(viewed, 0), 4) AS view_to_cart,
  ROUND(CAST(purchased AS DOUBLE) / NULLIF(carted, 0), 4) AS cart_to_purchase,
  ROUND(CAST(buyers AS DOUBLE) / visitors, 4) AS conversion,
  ROUND(revenue, 2) AS revenue
FROM per_day
ORDER BY day;
