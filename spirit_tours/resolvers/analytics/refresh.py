"""Refresh the analytics rollups: the job's, the mutation's and the command's one way."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from spirit_tours.core.errors import DomainError, ErrorCode
from spirit_tours.permissions.viewer import Viewer
from spirit_tours.persistence.analytics.views import (
    VIEWS,
    Refreshed,
    refresh_views,
    take_refresh_lock,
)
from spirit_tours.persistence.repositories.events import record_audit

RUNNING_MESSAGE = (
    "The analytics rollups are being refreshed already; its figures appear when it commits "
    "(each report's refreshedAt)."
)


async def refresh_rollups(session: AsyncSession, viewer: Viewer | None = None) -> list[Refreshed]:
    """Refresh every rollup in the caller's transaction, one refresh at a time; a person
    asking is audited (the schedule is not: it would fill the log).

    A person's refresh (``viewer``) never waits for a running one: CONFLICT, nothing done —
    so repeated ``refreshAnalytics`` calls hold no connection each, blocked behind the views'
    locks. The schedule and the command wait for it, then refresh."""
    if not await take_refresh_lock(session, wait=viewer is None):
        raise DomainError(ErrorCode.CONFLICT, RUNNING_MESSAGE)
    refreshed = await refresh_views(session, VIEWS)
    if viewer is not None:
        record_audit(session, viewer, "analytics.refresh", "Analytics", None,
                     views=[done.view for done in refreshed])  # fmt: skip
    return refreshed
