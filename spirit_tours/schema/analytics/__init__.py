"""Analytics (ADMIN only): the root field ``analytics``, its reports and the refresh."""
