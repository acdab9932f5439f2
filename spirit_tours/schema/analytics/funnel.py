"""The quotation funnel as GraphQL types, and its field on ``Analytics``."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import strawberry

from spirit_tours.context import Context
from spirit_tours.core.analytics import DateRange, FunnelGroupBy, FunnelStep
from spirit_tours.resolvers.analytics import funnel
from spirit_tours.schema.analytics import enums  # noqa: F401 - registers the GraphQL enums

GRAPHQL_GROUP_LIMIT = 500
"""The most groups one answer holds (the ones with most quotations); ``truncated`` tells."""


@strawberry.type(description="One step of the funnel for one group of quotations.")
class FunnelStepFigures:
    step: FunnelStep = strawberry.field(description="The step.")
    count: int = strawberry.field(
        description="How many of the group's quotations reached this step."
    )
    conversion_from_previous: float | None = strawberry.field(
        description="count / the previous step's count, 0 to 1, 4 decimals (rounded half up); "
        "null for CREATED or when the previous step's count is 0."
    )
    conversion_from_created: float | None = strawberry.field(
        description="count / CREATED's count, 0 to 1, 4 decimals; null for CREATED itself or "
        "when nothing was created."
    )
    median_hours_from_previous: float | None = strawberry.field(
        description="Median of the hours from the previous step to this one, over the "
        "quotations that reached both (2 decimals); null for CREATED or when none did."
    )


@strawberry.type(description="The funnel of one group of quotations.")
class FunnelGroup:
    key: str | None = strawberry.field(
        description="What identifies the group: YYYY-MM, the destination, the agency's or the "
        "client's id; null for the total."
    )
    label: str = strawberry.field(
        description="How to show the group: the month, the destination, the agency's or "
        'client\'s name; "All" for the total.'
    )
    steps: list[FunnelStepFigures] = strawberry.field(
        description="CREATED → INVITED → OFFERED → PROPOSED → APPROVED → BOOKED → COMPLETED, "
        "in that order."
    )

    @classmethod
    def build(cls, group: funnel.FunnelGroup) -> FunnelGroup:
        return cls(
            key=group.key,
            label=group.label,
            steps=[
                FunnelStepFigures(
                    step=figures.step,
                    count=figures.count,
                    conversion_from_previous=figures.conversion_from_previous,
                    conversion_from_created=figures.conversion_from_created,
                    median_hours_from_previous=figures.median_hours_from_previous,
                )
                for figures in group.steps
            ],
        )


@strawberry.type(
    description="The quotations created in the range (UTC days of `createdAt`) and how far "
    "they got, from the rollup (see `refreshedAt`)."
)
class QuotationFunnel:
    refreshed_at: datetime | None = strawberry.field(
        description="When the rollup these figures come from was refreshed (ISO 8601, UTC): "
        "changes since then are not counted yet. Null if it never was."
    )
    group_by: FunnelGroupBy = strawberry.field(description="How the groups are made.")
    total: FunnelGroup = strawberry.field(description="Every quotation of the range together.")
    groups: list[FunnelGroup] = strawberry.field(
        description="One funnel per group: months in order, the others by most quotations; "
        f"at most {GRAPHQL_GROUP_LIMIT}."
    )
    truncated: bool = strawberry.field(
        description=f"More than {GRAPHQL_GROUP_LIMIT} groups: the smallest are left out (the "
        "CSV export holds up to 10,000)."
    )


@strawberry.type
class FunnelReports:
    days: strawberry.Private[DateRange]

    @strawberry.field(
        description="The quotation funnel: created → invited → offered → proposed → approved "
        "→ booked → completed, with conversion rates and median hours between steps."
    )
    async def quotation_funnel(
        self,
        info: strawberry.Info[Context, None],
        group_by: Annotated[
            FunnelGroupBy,
            strawberry.argument(description="How to group the quotations; default MONTH."),
        ] = FunnelGroupBy.MONTH,
    ) -> QuotationFunnel:
        async with info.context.session() as session:
            report = await funnel.quotation_funnel(
                session, self.days, group_by, limit=GRAPHQL_GROUP_LIMIT
            )
        return QuotationFunnel(
            refreshed_at=report.refreshed_at,
            group_by=report.group_by,
            total=FunnelGroup.build(report.total),
            groups=[FunnelGroup.build(group) for group in report.groups],
            truncated=report.truncated,
        )
