"""``refreshAnalytics``: refresh the rollups now (ADMIN only)."""

from __future__ import annotations

from datetime import datetime

import strawberry

from spirit_tours.context import Context
from spirit_tours.permissions.classes import IsAdmin
from spirit_tours.resolvers.analytics.refresh import refresh_rollups


@strawberry.type(description="One rollup refreshed.")
class RefreshedRollup:
    name: str = strawberry.field(description="The materialized view's name.")
    refreshed_at: datetime = strawberry.field(
        description="When its refresh began (ISO 8601, UTC): it holds everything committed by then."
    )
    duration_ms: int = strawberry.field(description="How long the refresh took, milliseconds.")


@strawberry.type(description="What `refreshAnalytics` refreshed.")
class RefreshAnalyticsPayload:
    rollups: list[RefreshedRollup] = strawberry.field(
        description="Every rollup, in the order they were refreshed."
    )


@strawberry.type
class AnalyticsMutations:
    @strawberry.mutation(
        permission_classes=[IsAdmin],
        description="Refresh every analytics rollup now, instead of waiting for the schedule "
        "(ADMIN only; audited). Readers keep the previous figures until it commits. CONFLICT "
        "(nothing done) while another refresh is running.",
    )
    async def refresh_analytics(
        self, info: strawberry.Info[Context, None]
    ) -> RefreshAnalyticsPayload:
        viewer = info.context.require_viewer()
        async with info.context.transaction() as session:
            refreshed = await refresh_rollups(session, viewer)
        return RefreshAnalyticsPayload(
            rollups=[
                RefreshedRollup(
                    name=done.view, refreshed_at=done.refreshed_at, duration_ms=done.duration_ms
                )
                for done in refreshed
            ]
        )
