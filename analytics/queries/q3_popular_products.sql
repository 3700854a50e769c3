-- Popular products per customer group: the five best-selling products and categories (by
-- units, then revenue) for each age group × gender × country, new against returning
-- customers, over the Seoul business days first_key..last_key.
-- A product is its id (product_id, empty on a category's row), named by the product dimension of the
-- newest day published on or before the range's last day (its name and category as the shop lists them
-- then), else by its latest sale in the range. Two products may share a name: the report adds the id.
-- parameters: last_key, first_key, last_key
WITH {shared.product_dim(?)},
lines AS (
  SELECT
    coalesce(age_group, 'unknown') AS age_group,
    coalesce(gender, 'undisclosed') AS gender,
    coalesce(country, '--') AS country,
    CASE WHEN is_new_customer THEN 'new' ELSE 'returning' END AS customer,
    business_date,
    CAST(product_id AS varchar) AS product_id,
    product_name,
    category,
    quantity,
    revenue
  FROM sales_fact
  WHERE year * 10000 + month * 100 + day BETWEEN ? AND ?
),
{shared.named_products(lines)},
sales AS (
  -- a product is named as the shop lists it; its id only when the name is unknown
  SELECT lines.age_group, lines.gender, lines.country, lines.customer, lines.product_id,
    coalesce(named.product_name, lines.product_id) AS product, coalesce(named.category, lines.category) AS category,
    lines.quantity, lines.revenue
  FROM lines LEFT JOIN named ON lines.product_id = named.product_id
),
items AS (
  SELECT age_group, gender, country, customer, 'product' AS level, product_id, max(product) AS item,
    sum(quantity) AS units, sum(revenue) AS revenue
  FROM sales GROUP BY age_group, gender, country, customer, product_id
  UNION ALL
  SELECT age_group, gender, country, customer, 'category' AS level, CAST(NULL AS varchar) AS product_id,
    category AS item, sum(quantity) AS units, sum(revenue) AS revenue
  FROM sales GROUP BY age_group, gender, country, customer, category
),
ranked AS (
  SELECT
    items.*,
    row_number() OVER (
      PARTITION BY age_group, gender, country, customer, level ORDER BY units DESC, revenue DESC, item, product_id
    ) AS place
  FROM items
)
SELECT age_group, gender, country, customer, level, place, product_id, item, units, revenue
FROM ranked
WHERE place <= 5
ORDER BY age_group, gender, country, customer, level, place
