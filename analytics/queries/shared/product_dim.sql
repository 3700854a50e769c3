-- The product dimension that names products: the newest published day's on or before a last day, every
-- product as the shop lists it then, its id as text (the facts' ids are text in the clickstream), its name and
-- its category. Ends a WITH list's `dim`. Only published days count: Athena lists only the partitions the publish
-- step registered (a day whole), DuckDB reads only the days a manifest names (analytics/lake.py). So a range
-- whose last day is not published yet (its night has not run, or failed) is named by the day before it.
-- argument: last_key, the last day's partition key (year * 10000 + month * 100 + day): `?` in a query of
-- analytics/queries/ (the range's last day, a parameter), Seoul's day at the refresh in the dashboard's data
-- sets (analytics/dashboard.py), so the newest published.
dim AS (
  -- one day's list, the newest published: product_dim is one small file a day
  SELECT CAST(product_id AS varchar) AS product_id, product_name, category
  FROM product_dim
  WHERE year * 10000 + month * 100 + day = (
    SELECT max(year * 10000 + month * 100 + day) FROM product_dim
    WHERE year * 10000 + month * 100 + day <= {last_key}
  )
)
