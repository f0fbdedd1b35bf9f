-- Title: Top categories per hour of day and per weekday
-- Question: Which categories draw the most events, and the most purchases, at each hour of the
--   day and on each day of the week?
-- Parameters: $top_n = 3, the categories kept per hour or weekday (report --top N).
-- Rule: a category is category_code, or category_id when the code is empty. Per hour (UTC) and
--   per ISO weekday (1 = Monday ... 7 = Sunday), categories are ranked by events and, separately,
--   by purchases; a row is kept when either rank is within top_n (the purchase rank only when the
--   category has purchases). share is the category's part of that hour's (weekday's) events.
-- Athena: write day_of_week(event_time) for isodow(event_time) (both 1 = Monday) and
--   date_format(event_time, '%W') for dayname(event_time); hour(event_time) is the same. $top_n is
--   an execution parameter there: `?`, its value given with EXECUTE ... USING.
--
-- Runs over a table or view named `events` with the lake's columns (see docs/lake.md).

-- @table by_hour
-- @chart bar x=hour_utc y=events by=category
WITH per_category AS (
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
FROM ranked
WHERE events_rank <= $top_n OR (purchases_rank <= $top_n AND purchases > 0)
ORDER BY hour_utc, events_rank;

-- @table by_weekday
-- @chart bar x=weekday_name y=events by=category
WITH per_category AS (
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
FROM ranked
WHERE events_rank <= $top_n OR (purchases_rank <= $top_n AND purchases > 0)
ORDER BY weekday, events_rank;
