-- Title: Top categories per hour of day and per weekday
-- Question: Which categories draw the most events, and the most purchases, at each hour of the
--   day and on each day of the week?
-- Parameters: top_n = 3 (in each query's params), the categories kept per hour or weekday.
-- Rule: a category is category_code, or category_id when the code is empty. Per hour (UTC) and
--   per ISO weekday (1 = Monday ... 7 = Sunday), categories are ranked by events and, separately,
--   by purchases; a row is kept when either rank is within top_n (the purchase rank only when the
--   category has purchases). share is the category's part of that hour's (weekday's) events.
-- Dialect: DuckDB. On Athena use hour(event_time) as is, day_of_week(event_time) for
--   isodow(event_time), and date_format(event_time, '%W') for dayname(event_time).
--
-- Runs over a table or view named `events` with the lake's columns (see docs/lake.md).

-- @table by_hour
WITH params AS (SELECT 3 AS top_n),
per_category AS (
  SELECT
    hour(event_time) AS hour_utc,
    COALESCE(NULLIF(category_code, ''), category_id) AS category,
    COUNT(*) AS events,
    SUM(CASE WHEN event_type = 'purchase' THEN 1 ELSE 0 END) AS purchases
  FROM events
  GROUP BY 1, 2
),
ranked AS (
  SELECT
    hour_utc,
    category,
    events,
    purchases,
    ROUND(CAST(events AS DOUBLE) / SUM(events) OVER (PARTITION BY hour_utc), 4) AS share,
    ROW_NUMBER() OVER (PARTITION BY hour_utc ORDER BY events DESC, purchases DESC, category) AS events_rank,
    ROW_NUMBER() OVER (PARTITION BY hour_utc ORDER BY purchases DESC, events DESC, category) AS purchases_rank
  FROM per_category
)
SELECT hour_utc, category, events, purchases, share, events_rank, purchases_rank
FROM ranked CROSS JOIN params
WHERE events_rank <= params.top_n OR (purchases_rank <= params.top_n AND purchases > 0)
ORDER BY hour_utc, events_rank;

-- @table by_weekday
WITH params AS (SELECT 3 AS top_n),
per_category AS (
  SELECT
    isodow(event_time) AS weekday,
    dayname(event_time) AS weekday_name,
    COALESCE(NULLIF(category_code, ''), category_id) AS category,
    COUNT(*) AS events,
    SUM(CASE WHEN event_type = 'purchase' THEN 1 ELSE 0 END) AS purchases
  FROM events
  GROUP BY 1, 2, 3
),
ranked AS (
  SELECT
    weekday,
    weekday_name,
    category,
    events,
    purchases,
    ROUND(CAST(events AS DOUBLE) / SUM(events) OVER (PARTITION BY weekday), 4) AS share,
    ROW_NUMBER() OVER (PARTITION BY weekday ORDER BY events DESC, purchases DESC, category) AS events_rank,
    ROW_NUMBER() OVER (PARTITION BY weekday ORDER BY purchases DESC, events DESC, category) AS purchases_rank
  FROM per_category
)
SELECT weekday, weekday_name, category, events, purchases, share, events_rank, purchases_rank
FROM ranked CROSS JOIN params
WHERE events_rank <= params.top_n OR (purchases_rank <= params.top_n AND purchases > 0)
ORDER BY weekday, events_rank;
