-- The product dimension of one day: every product as the shop lists it then, its id as text (the
-- facts' ids are text in the clickstream), its name and its category. Ends a WITH list's `dim`.
-- argument: day_key, the day's partition key (year * 10000 + month * 100 + day): `?` in a query of
-- analytics/queries/ (the range's last day, a parameter), the newest published day in the dashboard's
-- data sets (analytics/dashboard.py).
dim AS (
  -- the products as the shop lists them on the one day asked for (the curated product dimension)
  SELECT CAST(product_id AS varchar) AS product_id, product_name, category
  FROM product_dim
  WHERE year * 10000 + month * 100 + day = {day_key}
)
