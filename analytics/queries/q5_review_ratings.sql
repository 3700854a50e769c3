-- Reviews: average rating and its distribution (one to five stars) per product, per category
-- and per week (Monday), over the reviews written on the Seoul days first_key..last_key.
-- A product is its id (product_id, empty on a category's or week's row), named by the product
-- dimension of the newest day published on or before the range's last day (its name and category as
-- the shop lists them then), else by the latest day of the range it was reviewed. Two products may
-- share a name: the report adds the id.
-- Products with at least three reviews, enough to matter, are ranked from the worst rated
-- (worst_place 1); the others have no place.
-- parameters: last_key, first_key, last_key
WITH {shared.product_dim(?)},
written AS (
  SELECT
    business_date,
    CAST(product_id AS varchar) AS product_id,
    product_name,
    category,
    CAST(date_trunc('week', business_date) AS date) AS week,
    rating
  FROM review_fact
  WHERE year * 10000 + month * 100 + day BETWEEN ? AND ?
),
{shared.named_products(written)},
reviews AS (
  SELECT written.product_id, coalesce(named.product_name, written.product_id) AS product,
    coalesce(named.category, written.category) AS category, written.week, written.rating
  FROM written LEFT JOIN named ON written.product_id = named.product_id
),
rated AS (
  SELECT 'product' AS level, product_id, max(product) AS item, max(category) AS category,
    count(*) AS reviews, round(avg(CAST(rating AS double)), 2) AS average_rating,
    count_if(rating = 1) AS one_star, count_if(rating = 2) AS two_stars, count_if(rating = 3) AS three_stars,
    count_if(rating = 4) AS four_stars, count_if(rating = 5) AS five_stars
  FROM reviews GROUP BY product_id
  UNION ALL
  SELECT 'category', CAST(NULL AS varchar), category, category,
    count(*), round(avg(CAST(rating AS double)), 2),
    count_if(rating = 1), count_if(rating = 2), count_if(rating = 3), count_if(rating = 4), count_if(rating = 5)
  FROM reviews GROUP BY category
  UNION ALL
  SELECT 'week', CAST(NULL AS varchar), CAST(week AS varchar), 'all',
    count(*), round(avg(CAST(rating AS double)), 2),
    count_if(rating = 1), count_if(rating = 2), count_if(rating = 3), count_if(rating = 4), count_if(rating = 5)
  FROM reviews GROUP BY week
)
SELECT
  rated.*,
  CASE WHEN level = 'product' AND reviews >= 3 THEN
    row_number() OVER (
      PARTITION BY level, reviews >= 3 ORDER BY average_rating, reviews DESC, item, product_id
    )
  END AS worst_place
FROM rated
ORDER BY level, item, product_id
