-- Sales rate: per Seoul business day and product, units, revenue and orders (the curated
-- daily_product_stats) beside the clickstream's funnel: sessions that viewed the product,
-- added it to a cart and bought it, and the view → cart and cart → purchase rates, over the
-- Seoul days first_key..last_key. Crawlers are left out of the funnel.
-- The clickstream is partitioned by UTC day, so a Seoul day also reads the UTC day before it.
-- parameters: first_key, last_key, first_utc_key, last_key, first_key, last_key
WITH sold AS (
  SELECT business_date, CAST(product_id AS varchar) AS product_id, product_name, category, units, revenue, orders
  FROM daily_product_stats
  WHERE year * 10000 + month * 100 + day BETWEEN ? AND ?
),
events AS (
  SELECT
    CAST(event_time AT TIME ZONE '{business.TIME_ZONE}' AS date) AS business_date,
    product_id,
    category,
    event_type,
    session_id
  FROM clickstream_events
  WHERE year * 10000 + month * 100 + day BETWEEN ? AND ?
    AND NOT is_bot
    AND product_id IS NOT NULL
    AND event_type IN (
      '{business.EventType.PRODUCT_VIEW}', '{business.EventType.ADD_TO_CART}', '{business.EventType.PURCHASE}'
    )
),
funnel AS (
  SELECT
    business_date,
    product_id,
    max(category) AS category,
    count(DISTINCT CASE WHEN event_type = '{business.EventType.PRODUCT_VIEW}' THEN session_id END) AS viewing_sessions,
    count(DISTINCT CASE WHEN event_type = '{business.EventType.ADD_TO_CART}' THEN session_id END) AS carting_sessions,
    count(DISTINCT CASE WHEN event_type = '{business.EventType.PURCHASE}' THEN session_id END) AS buying_sessions
  FROM events
  WHERE year(business_date) * 10000 + month(business_date) * 100 + day(business_date) BETWEEN ? AND ?
  GROUP BY business_date, product_id
)
SELECT
  coalesce(sold.business_date, funnel.business_date) AS business_date,
  coalesce(sold.product_id, funnel.product_id) AS product_id,
  coalesce(sold.product_name, coalesce(sold.product_id, funnel.product_id)) AS product,
  coalesce(sold.category, funnel.category, '{business.UNKNOWN_CATEGORY}') AS category,
  coalesce(sold.units, 0) AS units,
  coalesce(sold.revenue, 0) AS revenue,
  coalesce(sold.orders, 0) AS orders,
  coalesce(funnel.viewing_sessions, 0) AS viewing_sessions,
  coalesce(funnel.carting_sessions, 0) AS carting_sessions,
  coalesce(funnel.buying_sessions, 0) AS buying_sessions,
  round(CAST(funnel.carting_sessions AS double) / nullif(funnel.viewing_sessions, 0), 4) AS view_to_cart,
  round(CAST(funnel.buying_sessions AS double) / nullif(funnel.carting_sessions, 0), 4) AS cart_to_purchase
FROM sold
FULL OUTER JOIN funnel
  ON sold.business_date = funnel.business_date AND sold.product_id = funnel.product_id
ORDER BY business_date, product_id
