"""Analytics: the marketing questions as Athena SQL (queries/), run unchanged on DuckDB over the local lake,
and the static report that shows their answers."""
