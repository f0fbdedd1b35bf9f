-- Title: Revenue by category and brand
-- Question: Which categories, brands and category-brand pairs bring the revenue?
-- Parameters: $top_n = 15, the rows listed in each table (report --top N).
-- Rule: revenue is the price of purchase events; buyers are distinct users with a purchase;
--   avg_price = revenue / purchases; share is the part of all purchase revenue in the range. A
--   category is category_code, or category_id when the code is empty; purchases without a brand
--   are left out of by_brand and by_category_brand (so their shares add up to less than 1).
--   Ranked by revenue, then purchases, then name.
-- Athena: `LIMIT $top_n` is `LIMIT ?` with an execution parameter on engine version 3 (Trino); engine
--   version 2 (Presto) takes only a number there. revenue is DECIMAL(38,2) on both; share and
--   avg_price cast to DOUBLE first (Athena divides DECIMALs as DECIMALs, with its own scale).
--
-- Runs over a table or view named `events` with the lake's columns (see docs/lake.md).

-- @table by_category
-- @chart bar x=category y=revenue
WITH purchases AS (
  SELECT COALESCE(NULLIF(category_code, ''), category_id) AS category, user_id, price
  FROM events
  WHERE event_type = 'purchase'
),
total AS (SELECT SUM(price) AS revenue FROM purchases),
per_category AS (
  SELECT category, COUNT(*) AS purchases, COUNT(DISTINCT user_id) AS buyers, SUM(price) AS revenue
  FROM purchases
  GROUP BY category
)
SELECT
  p.category,
  p.purchases,
  p.buyers,
  ROUND(p.revenue, 2) AS revenue,
  ROUND(CAST(p.revenue AS DOUBLE) / p.purchases, 2) AS avg_price,
  ROUND(CAST(p.revenue AS DOUBLE) / NULLIF(CAST(t.revenue AS DOUBLE), 0), 4) AS share
FROM per_category p CROSS JOIN total t
ORDER BY p.revenue DESC, p.purchases DESC, p.category
LIMIT $top_n;

-- @table by_brand
-- @chart bar x=brand y=revenue
WITH purchases AS (
  SELECT brand, user_id, price
  FROM events
  WHERE event_type = 'purchase'
),
total AS (SELECT SUM(price) AS revenue FROM purchases),
per_brand AS (
  SELECT brand, COUNT(*) AS purchases, COUNT(DISTINCT user_id) AS buyers, SUM(price) AS revenue
  FROM purchases
  WHERE brand IS NOT NULL AND brand <> ''
  GROUP BY brand
)
SELECT
  p.brand,
  p.purchases,
  p.buyers,
  ROUND(p.revenue, 2) AS revenue,
  ROUND(CAST(p.revenue AS DOUBLE) / p.purchases, 2) AS avg_price,
  ROUND(CAST(p.revenue AS DOUBLE) / NULLIF(CAST(t.revenue AS DOUBLE), 0), 4) AS share
FROM per_brand p CROSS JOIN total t
ORDER BY p.revenue DESC, p.purchases DESC, p.brand
LIMIT $top_n;

-- @table by_category_brand
-- @chart bar x=category y=revenue by=brand
WITH purchases AS (
  SELECT COALESCE(NULLIF(category_code, ''), category_id) AS category, brand, user_id, price
  FROM events
  WHERE event_type = 'purchase'
),
total AS (SELECT SUM(price) AS revenue FROM purchases),
per_pair AS (
  SELECT category, brand, COUNT(*) AS purchases, COUNT(DISTINCT user_id) AS buyers, SUM(price) AS revenue
  FROM purchases
  WHERE brand IS NOT NULL AND brand <> ''
  GROUP BY category, brand
)
SELECT
  p.category,
  p.brand,
  p.purchases,
  p.buyers,
  ROUND(p.revenue, 2) AS revenue,
  ROUND(CAST(p.revenue AS DOUBLE) / p.purchases, 2) AS avg_price,
  ROUND(CAST(p.revenue AS DOUBLE) / NULLIF(CAST(t.revenue AS DOUBLE), 0), 4) AS share
FROM per_pair p CROSS JOIN total t
ORDER BY p.revenue DESC, p.purchases DESC, p.category, p.brand
LIMIT $top_n;
