-- Products named: every product of `dim` (product_dim.sql, before it in the WITH list) and of the
-- facts CTE, with the name and category `dim` gives it, else those of its latest fact naming it.
-- Defines `<facts>_named` and `named` (product_id as text, product_name, category).
-- argument: facts, the CTE of the facts (business_date, product_id as text, product_name, category).
{facts}_named AS (
  SELECT product_id, max_by(product_name, business_date) AS product_name, max_by(category, business_date) AS category
  FROM {facts}
  WHERE product_name IS NOT NULL
  GROUP BY product_id
),
named AS (
  -- a product the dimension lacks keeps the name and category of its latest fact
  SELECT coalesce(dim.product_id, {facts}_named.product_id) AS product_id,
    coalesce(dim.product_name, {facts}_named.product_name) AS product_name,
    coalesce(dim.category, {facts}_named.category) AS category
  FROM dim FULL OUTER JOIN {facts}_named ON dim.product_id = {facts}_named.product_id
)
