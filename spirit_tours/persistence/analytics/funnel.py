"""The quotation funnel's rollup (``analytics_quotation_funnel``: one row per quotation with
the time it reached each step) and the query that aggregates it over a range of creation days.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    Date,
    DateTime,
    Float,
    String,
    Uuid,
    cast,
    column,
    func,
    literal,
    literal_column,
    select,
    table,
    tuple_,
)
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


def _group(group_by: FunnelGroupBy) -> tuple[ColumnElement[Any], ColumnElement[str]]:
    """The group's key and its label (a month's are its first day, written YYYY-MM here: a
    date sorts and groups faster than its text)."""
    v = funnel_view.c
    if group_by is FunnelGroupBy.MONTH:
        # 'month' written inline: a bound parameter would make each mention of the key a
        # different expression to PostgreSQL (GROUP BY, GROUPING(), ORDER BY). The date is
        # truncated as a timestamp without time zone: a bare date would become a timestamptz
        # at midnight in the session's TimeZone, and east of UTC its month would read as the
        # month before.
        month = func.date_trunc(literal_column("'month'"), cast(v.created_on, DateTime()))
        return month, literal(None, String())
    if group_by is FunnelGroupBy.DESTINATION:
        return v.destination, v.destination
    if group_by is FunnelGroupBy.AGENCY:
        return cast(v.agency_id, String()), v.agency_name
    return cast(v.client_id, String()), v.client_name


def _counts(row: Any, key: str | None, label: str) -> FunnelCounts:
    return FunnelCounts(
        key=key,
        label=label,
        counts={step: int(row[step.value]) for step in STEP_TIMES},
        median_hours={step: row[f"h_{step.value}"] for step in STEP_HOURS},
    )


async def funnel_counts(
    session: AsyncSession, days: DateRange, group_by: FunnelGroupBy, *, limit: int
) -> tuple[FunnelCounts, list[FunnelCounts], bool]:
    """The funnel of every quotation created in ``days``, the funnel per group (the ``limit``
    groups with most quotations; months in order), and whether groups were left out.

    One scan: ``GROUPING SETS ((key), ())`` gives the groups and the total together. The total
    row comes first; quotations outside the grouping (an agency's under CLIENT, a client's
    under AGENCY) make a group of a null key, sorted last and left out.
    """
    v = funnel_view.c
    key, label = _group(group_by)
    counts = [func.count(v[name]).label(step.value) for step, name in STEP_TIMES.items()]
    medians = [
        func.percentile_cont(0.5).within_group(v[name]).label(f"h_{step.value}")
        for step, name in STEP_HOURS.items()
    ]
    total = func.grouping(key)
    order = [key] if group_by is FunnelGroupBy.MONTH else [func.count().desc(), key]
    query = (
        select(key.label("key"), func.max(label).label("label"), total.label("total"),
               *counts, *medians)
        .where(v.created_on >= days.start, v.created_on <= days.end)
        .group_by(func.grouping_sets(tuple_(key), tuple_()))
        .order_by(total.desc(), key.is_(None), *order)
        .limit(limit + 2)
    )  # fmt: skip
    rows = (await session.execute(query)).mappings().all()
    everything = _counts(rows[0], None, "All")
    groups = []
    for row in rows[1:]:
        if row["key"] is None:
            continue
        if group_by is FunnelGroupBy.MONTH:
            month = row["key"].strftime("%Y-%m")
            groups.append(_counts(row, month, month))
        else:
            groups.append(_counts(row, row["key"], row["label"] or ""))
    return everything, groups[:limit], len(groups) > limit
