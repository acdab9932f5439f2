"""The quotation funnel's rollup (``analytics_quotation_funnel``: one row per quotation with
the time it reached each step) and the query that aggregates it over a range of creation days.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Date, Float, String, Uuid, cast, column, func, literal, select, table
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from spirit_tours.core.analytics import DateRange, FunnelGroupBy, FunnelStep
from spirit_tours.persistence.analytics.views import FUNNEL_VIEW

STEP_TIMES = {
    FunnelStep.CREATED: "created_at",
    FunnelStep.INVITED: "invited_at",
    FunnelStep.OFFERED: "offered_at",
    FunnelStep.PROPOSED: "proposed_at",
    FunnelStep.APPROVED: "approved_at",
    FunnelStep.BOOKED: "booked_at",
    FunnelStep.COMPLETED: "completed_at",
}
"""The view's column holding when a quotation reached each step (null: not reached)."""

STEP_HOURS = {
    FunnelStep.INVITED: "invited_hours",
    FunnelStep.OFFERED: "offered_hours",
    FunnelStep.PROPOSED: "proposed_hours",
    FunnelStep.APPROVED: "approved_hours",
    FunnelStep.BOOKED: "booked_hours",
    FunnelStep.COMPLETED: "completed_hours",
}
"""The view's column holding the hours from the step before to this one."""

funnel_view = table(
    FUNNEL_VIEW,
    column("quotation_id", Uuid()),
    column("created_on", Date()),
    column("destination", String()),
    column("agency_id", Uuid()),
    column("agency_name", String()),
    column("client_id", Uuid()),
    column("client_name", String()),
    *(column(name) for name in STEP_TIMES.values()),
    *(column(name, Float()) for name in STEP_HOURS.values()),
)


@dataclass(frozen=True)
class FunnelCounts:
    """One group's figures as the view gives them."""

    key: str | None
    label: str
    counts: dict[FunnelStep, int]
    median_hours: dict[FunnelStep, float | None]


def _group(group_by: FunnelGroupBy | None) -> tuple[ColumnElement[Any], ColumnElement[str]]:
    """The group's key and its label (a month's are its first day, written YYYY-MM here: a
    date sorts and groups faster than its text)."""
    v = funnel_view.c
    if group_by is None:
        return literal(None, String()), literal("All", String())
    if group_by is FunnelGroupBy.MONTH:
        month = func.date_trunc("month", v.created_on)
        return month, literal(None, String())
    if group_by is FunnelGroupBy.DESTINATION:
        return v.destination, v.destination
    if group_by is FunnelGroupBy.AGENCY:
        return cast(v.agency_id, String()), v.agency_name
    return cast(v.client_id, String()), v.client_name


def _month(first_day: datetime) -> str:
    return first_day.strftime("%Y-%m")


async def funnel_counts(
    session: AsyncSession, days: DateRange, group_by: FunnelGroupBy | None, *, limit: int
) -> tuple[list[FunnelCounts], bool]:
    """The funnel of the quotations created in ``days``, per group (the ``limit`` groups with
    most quotations; months in order), and whether groups were left out."""
    v = funnel_view.c
    key, label = _group(group_by)
    counts = [func.count(v[name]).label(step.value) for step, name in STEP_TIMES.items()]
    medians = [
        func.percentile_cont(0.5).within_group(v[name]).label(f"h_{step.value}")
        for step, name in STEP_HOURS.items()
    ]
    query = select(key.label("key"), func.max(label).label("label"), *counts, *medians).where(
        v.created_on >= days.start, v.created_on <= days.end
    )
    if group_by is not None:
        query = query.group_by(key)
    if group_by is FunnelGroupBy.AGENCY:
        query = query.where(v.agency_id.is_not(None))
    elif group_by is FunnelGroupBy.CLIENT:
        query = query.where(v.client_id.is_not(None))
    if group_by is FunnelGroupBy.MONTH:
        query = query.order_by(key)
    elif group_by is not None:
        query = query.order_by(func.count().desc(), key)
    rows = (await session.execute(query.limit(limit + 1))).mappings().all()
    groups = [
        FunnelCounts(
            key=_month(row["key"]) if group_by is FunnelGroupBy.MONTH else row["key"],
            label=_month(row["key"]) if group_by is FunnelGroupBy.MONTH else row["label"] or "",
            counts={step: int(row[step.value]) for step in STEP_TIMES},
            median_hours={step: row[f"h_{step.value}"] for step in STEP_HOURS},
        )
        for row in rows[:limit]
    ]
    return groups, len(rows) > limit
