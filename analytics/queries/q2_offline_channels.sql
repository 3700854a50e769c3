-- What brings people offline: each offline channel's share of survey answers, overall, by
-- country, by region, by age group and by week (Monday, Korea time), over the Seoul days
-- first_key..last_key. A share is the channel's answers over all answers in its segment.
-- parameters: first_key, last_key
WITH answers AS (
  SELECT
    first_heard_channel AS channel,
    country,
    country || ' ' || coalesce(region, '(no region)') AS region,
    age_group,
    CAST(date_trunc('week', CAST(submitted_at AT TIME ZONE '{business.TIME_ZONE}' AS date)) AS date) AS week
  FROM survey_offline_ads
  WHERE year * 10000 + month * 100 + day BETWEEN ? AND ?
),
counted AS (
  SELECT 'all' AS breakdown, 'all' AS segment, channel, count(*) AS answers FROM answers GROUP BY channel
  UNION ALL
  SELECT 'country', country, channel, count(*) FROM answers GROUP BY country, channel
  UNION ALL
  SELECT 'region', region, channel, count(*) FROM answers GROUP BY region, channel
  UNION ALL
  SELECT 'age_group', age_group, channel, count(*) FROM answers GROUP BY age_group, channel
  UNION ALL
  SELECT 'week', CAST(week AS varchar), channel, count(*) FROM answers GROUP BY week, channel
)
SELECT
  breakdown,
  segment,
  channel,
  answers,
  round(CAST(answers AS double) / sum(answers) OVER (PARTITION BY breakdown, segment), 4) AS share
FROM counted
ORDER BY breakdown, segment, answers DESC, channel
