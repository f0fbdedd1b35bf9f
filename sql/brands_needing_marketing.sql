-- Title: Brands that need more marketing
-- Question: Which brands draw many views but turn few of them into purchases?
-- Parameters: min_views = 100 (in each query's params): brands with fewer views are left out,
--   too little data to judge. The views cut is the 75th percentile (top quartile).
--   flagged is shown 20 rows at a time (--limit to change).
-- Rule: among brands with at least min_views views, a brand needs marketing when its views are
--   in the top quartile (views >= the 75th percentile of those brands' views) and its
--   view-to-purchase conversion (purchases / views) is below the median conversion of those
--   brands. Events without a brand are left out.
-- Athena: write approx_percentile(views, 0.75) for quantile_cont(views, 0.75) and
--   approx_percentile(conversion, 0.5) for median(conversion). Those are estimates (and pick a
--   value rather than interpolate), so a brand near a cut-off may be flagged on one and not the
--   other. The numbers in reason are CAST(double AS VARCHAR), which each engine formats its own way
--   (exponent notation for large values on Athena).
--
-- Runs over a table or view named `events` with the lake's columns (see docs/lake.md).

-- @table flagged (limit 20)
-- @chart bar x=brand y=views
WITH params AS (SELECT 100 AS min_views),
per_brand AS (
  SELECT
    brand,
    SUM(CASE WHEN event_type = 'view' THEN 1 ELSE 0 END) AS views,
    SUM(CASE WHEN event_type = 'cart' THEN 1 ELSE 0 END) AS carts,
    SUM(CASE WHEN event_type = 'purchase' THEN 1 ELSE 0 END) AS purchases,
    SUM(CASE WHEN event_type = 'purchase' THEN price ELSE 0 END) AS revenue
  FROM events
  WHERE brand IS NOT NULL AND brand <> ''
  GROUP BY brand
),
eligible AS (
  SELECT per_brand.*, CAST(purchases AS DOUBLE) / views AS conversion
  FROM per_brand CROSS JOIN params
  WHERE views >= params.min_views
),
thresholds AS (
  SELECT quantile_cont(views, 0.75) AS views_cut, median(conversion) AS median_conversion
  FROM eligible
)
SELECT
  e.brand,
  e.views,
  e.carts,
  e.purchases,
  ROUND(e.conversion, 4) AS conversion,
  ROUND(e.revenue, 2) AS revenue,
  'views ' || CAST(e.views AS VARCHAR) || ' in the top quartile (>= ' || CAST(ROUND(t.views_cut, 1) AS VARCHAR)
    || '); view-to-purchase ' || CAST(ROUND(100 * e.conversion, 2) AS VARCHAR) || '% below the brand median '
    || CAST(ROUND(100 * t.median_conversion, 2) AS VARCHAR) || '%' AS reason
FROM eligible e CROSS JOIN thresholds t
WHERE e.views >= t.views_cut AND e.conversion < t.median_conversion
ORDER BY e.views DESC, e.brand;

-- @table thresholds
-- @chart kpi y=brands,brands_considered,views_cut
WITH params AS (SELECT 100 AS min_views),
per_brand AS (
  SELECT
    brand,
    SUM(CASE WHEN event_type = 'view' THEN 1 ELSE 0 END) AS views,
    SUM(CASE WHEN event_type = 'purchase' THEN 1 ELSE 0 END) AS purchases
  FROM events
  WHERE brand IS NOT NULL AND brand <> ''
  GROUP BY brand
),
eligible AS (
  SELECT views, CAST(purchases AS DOUBLE) / views AS conversion
  FROM per_brand CROSS JOIN params
  WHERE views >= params.min_views
)
SELECT
  (SELECT COUNT(*) FROM per_brand) AS brands,
  COUNT(*) AS brands_considered,
  (SELECT min_views FROM params) AS min_views,
  quantile_cont(views, 0.75) AS views_cut,
  ROUND(median(conversion), 4) AS median_conversion
FROM eligible;
