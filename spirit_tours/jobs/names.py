"""Queue names shared by the API (which enqueues and reports) and the workers."""

MAINTENANCE_QUEUE = "maintenance"
