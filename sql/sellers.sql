-- Title: Top and bottom sellers
-- Question: Which products bring the most revenue, and which sell least for the attention they get?
-- Parameters: $top_n = 10, the products listed at each end (report --top N).
-- Rule: per product: views, carts and purchases are its events of each type; revenue is the price
--   of its purchase events; conversion = purchases / views. top: products with a purchase, by
--   revenue (then purchases, then product_id). bottom: products with a view, by fewest purchases,
--   then least revenue, then most views (much seen, little bought), then product_id. category is
--   category_code, or category_id when no event of the product has a code.
-- Athena: `LIMIT $top_n` is `LIMIT ?` with an execution parameter on engine version 3 (Trino); engine
--   version 2 (Presto) takes only a number there. revenue is DECIMAL(38,2) on both; conversion
--   casts to DOUBLE first, as integer / integer truncates on Athena.
--
-- Runs over a table or view named `events` with the lake's columns (see docs/lake.md).

-- @table top
-- @chart bar x=product_id y=revenue
WITH per_product AS (
  SELECT
    product_id,
    COALESCE(MAX(category_code), MAX(category_id)) AS category,
    MAX(brand) AS brand,
    SUM(CASE WHEN event_type = 'view' THEN 1 ELSE 0 END) AS views,
    SUM(CASE WHEN event_type = 'cart' THEN 1 ELSE 0 END) AS carts,
    SUM(CASE WHEN event_type = 'purchase' THEN 1 ELSE 0 END) AS purchases,
    SUM(CASE WHEN event_type = 'purchase' THEN price ELSE 0 END) AS revenue
  FROM events
  GROUP BY product_id
)
SELECT
  product_id,
  category,
  brand,
  views,
  carts,
  purchases,
  ROUND(revenue, 2) AS revenue,
  ROUND(CAST(purchases AS DOUBLE) / NULLIF(views, 0), 4) AS conversion
FROM per_product
WHERE purchases > 0
ORDER BY revenue DESC, purchases DESC, product_id
LIMIT $top_n;

-- @table bottom
-- @chart bar x=product_id y=views
WITH per_product AS (
  SELECT
    product_id,
    COALESCE(MAX(category_code), MAX(category_id)) AS category,
    MAX(brand) AS brand,
    SUM(CASE WHEN event_type = 'view' THEN 1 ELSE 0 END) AS views,
    SUM(CASE WHEN event_type = 'cart' THEN 1 ELSE 0 END) AS carts,
    SUM(CASE WHEN event_type = 'purchase' THEN 1 ELSE 0 END) AS purchases,
    SUM(CASE WHEN event_type = 'purchase' THEN price ELSE 0 END) AS revenue
  FROM events
  GROUP BY product_id
)
SELECT
  product_id,
  category,
  brand,
  views,
  carts,
  purchases,
  ROUND(revenue, 2) AS revenue,
  ROUND(CAST(purchases AS DOUBLE) / views, 4) AS conversion
FROM per_product
WHERE views > 0
ORDER BY purchases, revenue, views DESC, product_id
LIMIT $top_n;
