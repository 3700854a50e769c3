-- Popular products per customer group: the five best-selling products and categories (by
-- units, then revenue) for each age group × gender × country, new against returning
-- customers, over the Seoul business days first_key..last_key.
-- parameters: first_key, last_key
WITH sales AS (
  SELECT
    coalesce(age_group, 'unknown') AS age_group,
    coalesce(gender, 'undisclosed') AS gender,
    coalesce(country, '--') AS country,
    CASE WHEN is_new_customer THEN 'new' ELSE 'returning' END AS customer,
    CAST(product_id AS varchar) AS product_id,
    product_name,
    category,
    quantity,
    revenue
  FROM sales_fact
  WHERE year * 10000 + month * 100 + day BETWEEN ? AND ?
),
items AS (
  -- a product is named as the shop lists it; its id only when the name is unknown
  SELECT age_group, gender, country, customer, 'product' AS level, coalesce(max(product_name), product_id) AS item,
    sum(quantity) AS units, sum(revenue) AS revenue
  FROM sales GROUP BY age_group, gender, country, customer, product_id
  UNION ALL
  SELECT age_group, gender, country, customer, 'category' AS level, category AS item,
    sum(quantity) AS units, sum(revenue) AS revenue
  FROM sales GROUP BY age_group, gender, country, customer, category
),
ranked AS (
  SELECT
    items.*,
    row_number() OVER (
      PARTITION BY age_group, gender, country, customer, level ORDER BY units DESC, revenue DESC, item
    ) AS place
  FROM items
)
SELECT age_group, gender, country, customer, level, place, item, units, revenue
FROM ranked
WHERE place <= 5
ORDER BY age_group, gender, country, customer, level, place
