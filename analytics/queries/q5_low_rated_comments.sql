-- Reviews, for quality follow-up: the twenty latest comments rated two stars or fewer,
-- written on the Seoul days first_key..last_key, each product named by the product dimension of
-- the newest day published on or before the range's last day, else by its name on the latest day of
-- the range it was reviewed. Two products may share a name: the report adds the id.
-- parameters: last_key, first_key, last_key
WITH {shared.product_dim(?)},
written AS (
  SELECT review_id, created_at, business_date, CAST(product_id AS varchar) AS product_id, product_name, category,
    rating, body
  FROM review_fact
  WHERE year * 10000 + month * 100 + day BETWEEN ? AND ?
),
{shared.named_products(written)}
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
