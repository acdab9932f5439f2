"""Refresh the analytics rollups: the job's, the mutation's and the command's one way."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from spirit_tours.permissions.viewer import Viewer
from spirit_tours.persistence.analytics.views import VIEWS, Refreshed, refresh_views
from spirit_tours.persistence.repositories.events import record_audit


async def refresh_rollups(session: AsyncSession, viewer: Viewer | None = None) -> list[Refreshed]:
    """Refresh every rollup in the caller's transaction; a person asking is audited (the
    schedule is not: it would fill the log)."""
    refreshed = await refresh_views(session, VIEWS)
    if viewer is not None:
        record_audit(session, viewer, "analytics.refresh", "Analytics", None,
                     views=[done.view for done in refreshed])  # fmt: skip
    return refreshed
