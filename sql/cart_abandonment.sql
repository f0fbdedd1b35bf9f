-- Title: Users and sessions that cart but do not buy
-- Question: How many users and sessions put products in the cart and then do not buy, how much
--   value do they leave behind, and which products are abandoned most?
-- Parameters: none. top_products is shown 20 rows at a time (--limit to change).
-- Rule: a session is abandoned when it has at least one cart event and no purchase event; a
--   user is abandoning when they have at least one cart event and no purchase event in the whole
--   lake. Abandoned value is the price of the cart events in abandoned sessions (a product carted
--   twice counts twice, as in the data). Events without a user_session count for users only.
-- Athena: runs unchanged. price is DECIMAL(12,2): SUM gives DECIMAL(38,2) and ROUND keeps it a
--   DECIMAL on both; rates cast to DOUBLE first, since integer / integer truncates on Athena.
--
-- Runs over a table or view named `events` with the lake's columns (see docs/lake.md).

-- @table summary
-- @chart kpi y=users_with_cart,users_abandoning,sessions_with_cart,sessions_abandoned
WITH per_user AS (
  SELECT
    user_id,
    SUM(CASE WHEN event_type = 'cart' THEN 1 ELSE 0 END) AS carts,
    SUM(CASE WHEN event_type = 'purchase' THEN 1 ELSE 0 END) AS purchases
  FROM events
  GROUP BY user_id
),
per_session AS (
  SELECT
    user_session,
    SUM(CASE WHEN event_type = 'cart' THEN 1 ELSE 0 END) AS carts,
    SUM(CASE WHEN event_type = 'purchase' THEN 1 ELSE 0 END) AS purchases,
    SUM(CASE WHEN event_type = 'cart' THEN price ELSE 0 END) AS cart_value
  FROM events
  WHERE user_session IS NOT NULL
  GROUP BY user_session
),
users AS (
  SELECT
    COUNT(*) AS users_with_cart,
    COALESCE(SUM(CASE WHEN purchases = 0 THEN 1 ELSE 0 END), 0) AS users_abandoning
  FROM per_user
  WHERE carts > 0
),
sessions AS (
  SELECT
    COUNT(*) AS sessions_with_cart,
    COALESCE(SUM(CASE WHEN purchases = 0 THEN 1 ELSE 0 END), 0) AS sessions_abandoned,
    COALESCE(SUM(CASE WHEN purchases = 0 THEN cart_value ELSE 0 END), 0) AS abandoned_value
  FROM per_session
  WHERE carts > 0
)
SELECT
  users.users_with_cart,
  users.users_abandoning,
  ROUND(CAST(users.users_abandoning AS DOUBLE) / NULLIF(users.users_with_cart, 0), 4) AS user_abandonment_rate,
  sessions.sessions_with_cart,
  sessions.sessions_abandoned,
  ROUND(CAST(sessions.sessions_abandoned AS DOUBLE) / NULLIF(sessions.sessions_with_cart, 0), 4)
    AS session_abandonment_rate,
  ROUND(sessions.abandoned_value, 2) AS abandoned_value
FROM users CROSS JOIN sessions;

-- @table top_products (limit 20)
-- @chart bar x=product_id y=abandoned_carts
WITH abandoned_sessions AS (
  SELECT user_session
  FROM events
  WHERE user_session IS NOT NULL
  GROUP BY user_session
  HAVING SUM(CASE WHEN event_type = 'cart' THEN 1 ELSE 0 END) > 0
     AND SUM(CASE WHEN event_type = 'purchase' THEN 1 ELSE 0 END) = 0
)
SELECT
  e.product_id,
  COALESCE(MAX(e.category_code), MAX(e.category_id)) AS category,
  MAX(e.brand) AS brand,
  COUNT(*) AS abandoned_carts,
  COUNT(DISTINCT e.user_session) AS sessions,
  COUNT(DISTINCT e.user_id) AS users,
  ROUND(SUM(e.price), 2) AS abandoned_value
FROM events e
JOIN abandoned_sessions a ON a.user_session = e.user_session
WHERE e.event_type = 'cart'
GROUP BY e.product_id
ORDER BY abandoned_carts DESC, abandoned_value DESC, e.product_id;
