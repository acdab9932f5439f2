"""The registry of reports: what the CSV export serves at ``/analytics/<name>.csv`` and the
benchmark times. A new report adds one entry to ``REPORTS``: its name, its GraphQL field on
``Analytics``, its grouping enum, the views it reads and the function that makes its table.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from spirit_tours.core.analytics import DateRange, FunnelGroupBy, RevenueGroupBy
from spirit_tours.core.money import normalised
from spirit_tours.persistence.analytics.views import FUNNEL_VIEW, REVENUE_VIEW
from spirit_tours.resolvers.analytics.funnel import quotation_funnel
from spirit_tours.resolvers.analytics.revenue import revenue_report

EXPORT_LIMIT = 10_000
"""The most groups (rows of a report) one export holds."""

Cell = str | int | float | Decimal | None


@dataclass(frozen=True)
class ReportTable:
    """A report as rows of cells under named columns (the CSV's header line)."""

    columns: list[str]
    rows: list[list[Cell]]
    refreshed_at: datetime | None
    truncated: bool


TableMaker = Callable[[AsyncSession, DateRange, Any], Awaitable[ReportTable]]


@dataclass(frozen=True)
class Report:
    name: str
    """The export's URL: ``/analytics/<name>.csv``."""
    graphql_field: str
    """The report's field on the GraphQL type ``Analytics``."""
    group_by: type[StrEnum] | None
    """The values ``groupBy`` takes (their names), or None: the report has no grouping."""
    default_group_by: StrEnum | None
    views: tuple[str, ...]
    """The rollups it reads."""
    table: TableMaker


async def funnel_table(
    session: AsyncSession, days: DateRange, group_by: FunnelGroupBy
) -> ReportTable:
    report = await quotation_funnel(session, days, group_by, limit=EXPORT_LIMIT)
    rows: list[list[Cell]] = []
    for group in report.groups:
        for figures in group.steps:
            rows.append([
                group.key, group.label, figures.step.value, figures.count,
                figures.conversion_from_previous, figures.conversion_from_created,
                figures.median_hours_from_previous,
            ])  # fmt: skip
    columns = ["group_key", "group", "step", "count", "conversion_from_previous",
               "conversion_from_created", "median_hours_from_previous"]  # fmt: skip
    return ReportTable(columns, rows, report.refreshed_at, report.truncated)


async def revenue_table(
    session: AsyncSession, days: DateRange, group_by: RevenueGroupBy
) -> ReportTable:
    report = await revenue_report(session, days, group_by, limit=EXPORT_LIMIT)
    rows: list[list[Cell]] = []
    for row in report.rows:
        amounts = [row.selling_total, row.hotel_net_total, row.margin]
        paid = [row.paid_total, row.refunds_total, row.net_revenue]
        rows.append([
            row.month, row.destination, row.currency, row.bookings, row.cancelled_bookings,
            *(normalised(amount, row.currency) for amount in amounts),
            row.average_markup_percent,
            *(normalised(amount, row.currency) for amount in paid),
        ])  # fmt: skip
    columns = ["month", "destination", "currency", "bookings", "cancelled_bookings",
               "selling_total", "hotel_net_total", "margin", "average_markup_percent",
               "paid_total", "refunds_total", "net_revenue"]  # fmt: skip
    return ReportTable(columns, rows, report.refreshed_at, report.truncated)


_REPORTS = [
    Report("quotation-funnel", "quotationFunnel", FunnelGroupBy, FunnelGroupBy.MONTH,
           (FUNNEL_VIEW,), funnel_table),
    Report("revenue", "revenue", RevenueGroupBy, RevenueGroupBy.MONTH_AND_DESTINATION,
           (REVENUE_VIEW,), revenue_table),
]  # fmt: skip

REPORTS: dict[str, Report] = {report.name: report for report in _REPORTS}
