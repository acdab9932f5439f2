"""Analytics (ADMIN): the reports built from the rollups, their CSV tables, the refresh."""
