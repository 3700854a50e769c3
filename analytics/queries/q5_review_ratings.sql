-- Reviews: average rating and its distribution (one to five stars) per product, per category
-- and per week (Monday), over the reviews written on the Seoul days first_key..last_key.
-- A product is its id, named by the product dimension of the range's last day (its name and
-- category as the shop lists them then), else by the latest day of the range it was reviewed.
-- Products with at least three reviews, enough to matter, are ranked from the worst rated
-- (worst_place 1); the others have no place.
-- parameters: last_key, first_key, last_key
WITH dim AS (
  -- the products as the shop lists them on the range's last day (the curated product dimension)
  SELECT CAST(product_id AS varchar) AS product_id, product_name, category
  FROM product_dim
  WHERE year * 10000 + month * 100 + day = ?
),
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
),
reviews AS (
  SELECT written.product_id, coalesce(named.product_name, written.product_id) AS product,
    coalesce(named.category, written.category) AS category, written.week, written.rating
  FROM written LEFT JOIN named ON written.product_id = named.product_id
),
rated AS (
  SELECT 'product' AS level, max(product) AS item, max(category) AS category,
    count(*) AS reviews, round(avg(CAST(rating AS double)), 2) AS average_rating,
    count_if(rating = 1) AS one_star, count_if(rating = 2) AS two_stars, count_if(rating = 3) AS three_stars,
    count_if(rating = 4) AS four_stars, count_if(rating = 5) AS five_stars
  FROM reviews GROUP BY product_id
  UNION ALL
  SELECT 'category', category, category,
    count(*), round(avg(CAST(rating AS double)), 2),
    count_if(rating = 1), count_if(rating = 2), count_if(rating = 3), count_if(rating = 4), count_if(rating = 5)
  FROM reviews GROUP BY category
  UNION ALL
  SELECT 'week', CAST(week AS varchar), 'all',
    count(*), round(avg(CAST(rating AS double)), 2),
    count_if(rating = 1), count_if(rating = 2), count_if(rating = 3), count_if(rating = 4), count_if(rating = 5)
  FROM reviews GROUP BY week
)
SELECT
  rated.*,
  CASE WHEN level = 'product' AND reviews >= 3 THEN
    row_number() OVER (
      PARTITION BY level, reviews >= 3 ORDER BY average_rating, reviews DESC, item
    )
  END AS worst_place
FROM rated
ORDER BY level, item
