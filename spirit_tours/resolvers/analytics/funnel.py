"""The quotation funnel: how many quotations reached each step, how many of those before went
on, and how long it took (median hours), per month, destination, agency or client."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from spirit_tours.core.analytics import DateRange, FunnelGroupBy, FunnelStep
from spirit_tours.persistence.analytics.funnel import FunnelCounts, funnel_counts
from spirit_tours.persistence.analytics.views import FUNNEL_VIEW, last_refreshed
from spirit_tours.resolvers.analytics.answers import ANSWERS
from spirit_tours.resolvers.analytics.figures import ratio, two_places

STEPS = list(FunnelStep)


@dataclass(frozen=True)
class StepFigures:
    step: FunnelStep
    count: int
    conversion_from_previous: float | None
    conversion_from_created: float | None
    median_hours_from_previous: float | None


@dataclass(frozen=True)
class FunnelGroup:
    key: str | None
    label: str
    steps: list[StepFigures]


@dataclass(frozen=True)
class FunnelReport:
    refreshed_at: datetime | None
    group_by: FunnelGroupBy
    total: FunnelGroup
    groups: list[FunnelGroup]
    truncated: bool


def _figures(counts: FunnelCounts) -> FunnelGroup:
    created = counts.counts[FunnelStep.CREATED]
    steps = []
    for index, step in enumerate(STEPS):
        count = counts.counts[step]
        previous = counts.counts[STEPS[index - 1]] if index else None
        steps.append(
            StepFigures(
                step=step,
                count=count,
                conversion_from_previous=ratio(count, previous) if previous is not None else None,
                conversion_from_created=ratio(count, created) if index else None,
                median_hours_from_previous=two_places(counts.median_hours.get(step)),
            )
        )
    return FunnelGroup(counts.key, counts.label, steps)


async def quotation_funnel(
    session: AsyncSession, days: DateRange, group_by: FunnelGroupBy, *, limit: int
) -> FunnelReport:
    """The funnel of the quotations created in ``days`` (UTC), read from the rollup (or
    kept from an earlier request since its last refresh)."""
    refreshed_at = await last_refreshed(session, [FUNNEL_VIEW])

    async def compute() -> FunnelReport:
        total, groups, truncated = await funnel_counts(session, days, group_by, limit=limit)
        return FunnelReport(
            refreshed_at=refreshed_at,
            group_by=group_by,
            total=_figures(total),
            groups=[_figures(group) for group in groups],
            truncated=truncated,
        )

    question = ("quotation-funnel", days, group_by, limit)
    return await ANSWERS.get_or_compute(question, refreshed_at, compute)
