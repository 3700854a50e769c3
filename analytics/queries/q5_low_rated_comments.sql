-- Reviews, for quality follow-up: the twenty latest comments rated two stars or fewer,
-- written on the Seoul days first_key..last_key, each product named by the product dimension of
-- the range's last day, else by its name on the latest day of the range it was reviewed.
-- parameters: last_key, first_key, last_key
WITH dim AS (
  -- the products as the shop lists them on the range's last day (the curated product dimension)
  SELECT CAST(product_id AS varchar) AS product_id, product_name, category
  FROM product_dim
  WHERE year * 10000 + month * 100 + day = ?
),
written AS (
  SELECT review_id, created_at, business_date, CAST(product_id AS varchar) AS product_id, product_name, category,
    rating, body
  FROM review_fact
  WHERE year * 10000 + month * 100 + day BETWEEN ? AND ?
),
written_named AS (
  SELECT product_id, max_by(product_name, business_date) AS product_name, max_by(category, business_date) AS category
  FROM written
  WHERE product_name IS NOT NULL
  GROUP BY product_id
),
named AS (
  -- a product the dimension lacks keeps the name and category of its latest fact in the range
  SELECT coalesce(dim.product_id, written_named.product_id) AS product_id,
    coalesce(dim.product_name, written_named.product_name) AS product_name,
    coalesce(dim.category, written_named.category) AS category
  FROM dim FULL OUTER JOIN written_named ON dim.product_id = written_named.product_id
)
SELECT
  written.created_at,
  written.business_date,
  written.product_id,
  coalesce(named.product_name, written.product_id) AS product,
  coalesce(named.category, written.category) AS category,
  written.rating,
  written.body
FROM written LEFT JOIN named ON written.product_id = named.product_id
WHERE written.rating <= 2
  AND written.body IS NOT NULL
ORDER BY written.created_at DESC, written.review_id DESC
LIMIT 20
