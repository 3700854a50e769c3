-- Reviews, for quality follow-up: the twenty latest comments rated two stars or fewer,
-- written on the Seoul days first_key..last_key.
-- parameters: first_key, last_key
SELECT
  created_at,
  business_date,
  CAST(product_id AS varchar) AS product_id,
  coalesce(product_name, CAST(product_id AS varchar)) AS product,
  category,
  rating,
  body
FROM review_fact
WHERE year * 10000 + month * 100 + day BETWEEN ? AND ?
  AND rating <= 2
  AND body IS NOT NULL
ORDER BY created_at DESC, review_id DESC
LIMIT 20
