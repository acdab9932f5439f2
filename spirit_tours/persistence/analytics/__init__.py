"""Analytics rollups: the materialized views and the queries that read them."""
