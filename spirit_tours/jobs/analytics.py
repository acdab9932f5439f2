"""The analytics job: refresh the rollups on the schedule ``SPIRIT_ANALYTICS_REFRESH_MINUTES``
sets, so the reports never read the raw tables."""

from __future__ import annotations

import logging
from typing import Any

from saq import CronJob

from spirit_tours.resolvers.analytics.refresh import refresh_rollups

log = logging.getLogger(__name__)

REFRESH_TIMEOUT_SECONDS = 600


async def refresh_analytics(ctx: dict[str, Any]) -> dict[str, int]:
    """Refresh every rollup in one transaction; returns each one's duration (ms)."""
    async with ctx["sessions"]() as session, session.begin():
        refreshed = await refresh_rollups(session)
    durations = {done.view: done.duration_ms for done in refreshed}
    log.info("analytics rollups refreshed: %s", durations)
    return durations


def refresh_schedule(minutes: int) -> str:
    """The cron expression of a refresh every ``minutes`` (1 to 60) minutes."""
    if not 1 <= minutes <= 60:
        raise ValueError("the analytics refresh runs every 1 to 60 minutes")
    return "0 * * * *" if minutes == 60 else f"*/{minutes} * * * *"


def analytics_cron(minutes: int) -> CronJob:
    return CronJob(
        refresh_analytics, cron=refresh_schedule(minutes), timeout=REFRESH_TIMEOUT_SECONDS
    )
