-- Sales rate: per Seoul business day and product, units, revenue and orders (the curated
-- daily_product_stats) beside the clickstream's funnel: sessions that viewed the product,
-- added it to a cart and bought it, and the view → cart and cart → purchase rates, over the
-- Seoul days first_key..last_key. Crawlers are left out of the funnel.
-- A product is its id: each row names it by the product dimension of the newest day published on or
-- before the range's last day (its name and category as the shop lists them then), else by the latest
-- day of the range the shop sold it (its id and the unknown category if neither names it).
-- The clickstream is partitioned by UTC day, so a Seoul day also reads the UTC day before it.
-- parameters: last_key, first_key, last_key, first_utc_key, last_key, first_key, last_key
WITH {shared.product_dim(?)},
sold AS (
  SELECT business_date, CAST(product_id AS varchar) AS product_id, product_name, category, units, revenue, orders
  FROM daily_product_stats
  WHERE year * 10000 + month * 100 + day BETWEEN ? AND ?
),
{shared.named_products(sold)},
events AS (
  SELECT
    CAST(event_time AT TIME ZONE '{business.TIME_ZONE}' AS date) AS business_date,
    product_id,
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
    count(DISTINCT CASE WHEN event_type = '{business.EventType.PRODUCT_VIEW}' THEN session_id END) AS viewing_sessions,
    count(DISTINCT CASE WHEN event_type = '{business.EventType.ADD_TO_CART}' THEN session_id END) AS carting_sessions,
    count(DISTINCT CASE WHEN event_type = '{business.EventType.PURCHASE}' THEN session_id END) AS buying_sessions
  FROM events
  WHERE year(business_date) * 10000 + month(business_date) * 100 + day(business_date) BETWEEN ? AND ?
  GROUP BY business_date, product_id
),
joined AS (
  SELECT
    coalesce(sold.business_date, funnel.business_date) AS business_date,
    coalesce(sold.product_id, funnel.product_id) AS product_id,
    sold.units, sold.revenue, sold.orders,
    funnel.viewing_sessions, funnel.carting_sessions, funnel.buying_sessions
  FROM sold
  FULL OUTER JOIN funnel
    ON sold.business_date = funnel.business_date AND sold.product_id = funnel.product_id
)
SELECT
  joined.business_date,
  joined.product_id,
  coalesce(named.product_name, joined.product_id) AS product,
  coalesce(named.category, '{business.UNKNOWN_CATEGORY}') AS category,
  coalesce(joined.units, 0) AS units,
  coalesce(joined.revenue, 0) AS revenue,
  coalesce(joined.orders, 0) AS orders,
  coalesce(joined.viewing_sessions, 0) AS viewing_sessions,
  coalesce(joined.carting_sessions, 0) AS carting_sessions,
  coalesce(joined.buying_sessions, 0) AS buying_sessions,
  round(CAST(joined.carting_sessions AS double) / nullif(joined.viewing_sessions, 0), 4) AS view_to_cart,
  round(CAST(joined.buying_sessions AS double) / nullif(joined.carting_sessions, 0), 4) AS cart_to_purchase
FROM joined
LEFT JOIN named ON joined.product_id = named.product_id
ORDER BY business_date, product_id
