-- Busiest hours and days: distinct visitors and sessions per day of week and hour of day,
-- on the visitor's own clock and on Korea's, over the Seoul days first_key..last_key.
-- People only (crawlers are flagged in the lake and left out). A visitor is a signed-in user,
-- or else a session, as in the curated clickstream_hourly. The visitor's clock is their
-- country's main time zone; countries not listed count on UTC.
-- The clickstream is partitioned by UTC day, so a Seoul day also reads the UTC day before it.
-- parameters: first_utc_key, last_key, first_key, last_key
WITH events AS (
  SELECT
    coalesce('u:' || user_id, 's:' || session_id) AS visitor,
    session_id,
    event_time AT TIME ZONE '{business.TIME_ZONE}' AS korea_time,
    CASE country
      WHEN 'KR' THEN event_time AT TIME ZONE 'Asia/Seoul'
      WHEN 'JP' THEN event_time AT TIME ZONE 'Asia/Tokyo'
      WHEN 'CN' THEN event_time AT TIME ZONE 'Asia/Shanghai'
      WHEN 'US' THEN event_time AT TIME ZONE 'America/New_York'
      WHEN 'CA' THEN event_time AT TIME ZONE 'America/Toronto'
      WHEN 'MX' THEN event_time AT TIME ZONE 'America/Mexico_City'
      WHEN 'BR' THEN event_time AT TIME ZONE 'America/Sao_Paulo'
      WHEN 'GB' THEN event_time AT TIME ZONE 'Europe/London'
      WHEN 'DE' THEN event_time AT TIME ZONE 'Europe/Berlin'
      WHEN 'FR' THEN event_time AT TIME ZONE 'Europe/Paris'
      ELSE event_time AT TIME ZONE 'UTC'
    END AS visitor_time
  FROM clickstream_events
  WHERE year * 10000 + month * 100 + day BETWEEN ? AND ?
    AND NOT is_bot
),
in_range AS (
  SELECT * FROM events
  WHERE year(korea_time) * 10000 + month(korea_time) * 100 + day(korea_time) BETWEEN ? AND ?
)
SELECT
  'korea' AS clock,
  day_of_week(korea_time) AS day_of_week,
  hour(korea_time) AS hour_of_day,
  count(DISTINCT visitor) AS visitors,
  count(DISTINCT session_id) AS sessions
FROM in_range
GROUP BY day_of_week(korea_time), hour(korea_time)
UNION ALL
SELECT
  'visitor' AS clock,
  day_of_week(visitor_time) AS day_of_week,
  hour(visitor_time) AS hour_of_day,
  count(DISTINCT visitor) AS visitors,
  count(DISTINCT session_id) AS sessions
FROM in_range
GROUP BY day_of_week(visitor_time), hour(visitor_time)
ORDER BY clock, day_of_week, hour_of_day
