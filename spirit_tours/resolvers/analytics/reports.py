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

from spirit_tours.core.analytics import DateRange, FunnelGroupBy, HotelGroupBy, RevenueGroupBy
from spirit_tours.core.money import normalised
from spirit_tours.persistence.analytics.views import (
    CANCELLATIONS_VIEW,
    FUNNEL_VIEW,
    HOTELS_MONTHLY_VIEW,
    HOTELS_VIEW,
    PAYMENTS_VIEW,
    REVENUE_VIEW,
)
from spirit_tours.resolvers.analytics.cancellations import cancellation_report
from spirit_tours.resolvers.analytics.funnel import quotation_funnel
from spirit_tours.resolvers.analytics.hotels import hotel_report
from spirit_tours.resolvers.analytics.payments import payment_report
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


async def hotel_table(
    session: AsyncSession, days: DateRange, group_by: HotelGroupBy
) -> ReportTable:
    report = await hotel_report(session, days, group_by, None, limit=EXPORT_LIMIT)
    rows: list[list[Cell]] = [
        [str(row.hotel_id), row.hotel_name, row.destination, row.invitations, row.responses,
         row.response_rate, row.offers, row.offer_rate, row.median_response_hours, row.wins,
         row.win_rate, row.priced_losses, row.median_gap_percent]
        for row in report.rows
    ]  # fmt: skip
    columns = ["hotel_id", "hotel", "destination", "invitations", "responses", "response_rate",
               "offers", "offer_rate", "median_response_hours", "wins", "win_rate",
               "priced_losses", "median_gap_percent"]  # fmt: skip
    return ReportTable(columns, rows, report.refreshed_at, report.truncated)


async def cancellation_table(session: AsyncSession, days: DateRange, _: None) -> ReportTable:
    report = await cancellation_report(session, days, None, limit=EXPORT_LIMIT)
    rows: list[list[Cell]] = [
        [row.month, row.destination, row.currency, row.bookings, row.cancelled_bookings,
         row.cancellation_rate, row.median_days_before_start, row.refunds,
         normalised(row.refund_amount, row.currency),
         normalised(row.refunded_amount, row.currency), row.average_refund_percent]
        for row in report.rows
    ]  # fmt: skip
    columns = ["month", "destination", "currency", "bookings", "cancelled_bookings",
               "cancellation_rate", "median_days_before_start", "refunds", "refund_amount",
               "refunded_amount", "average_refund_percent"]  # fmt: skip
    return ReportTable(columns, rows, report.refreshed_at, report.truncated)


async def payment_outcome_table(session: AsyncSession, days: DateRange, _: None) -> ReportTable:
    report = await payment_report(session, days, limit=EXPORT_LIMIT, parts=frozenset({"outcomes"}))
    rows: list[list[Cell]] = [
        [row.provider, row.method, row.status, row.currency, row.payments,
         normalised(row.amount, row.currency)]
        for row in report.outcomes
    ]  # fmt: skip
    columns = ["provider", "method", "status", "currency", "payments", "amount"]
    return ReportTable(columns, rows, report.refreshed_at, report.truncated)


async def payment_route_table(session: AsyncSession, days: DateRange, _: None) -> ReportTable:
    report = await payment_report(session, days, limit=EXPORT_LIMIT, parts=frozenset({"routes"}))
    rows: list[list[Cell]] = [
        [row.provider, row.method, row.payments, row.settled, row.succeeded, row.success_rate,
         row.median_minutes_to_credit]
        for row in report.routes
    ]  # fmt: skip
    columns = ["provider", "method", "payments", "settled", "succeeded", "success_rate",
               "median_minutes_to_credit"]  # fmt: skip
    return ReportTable(columns, rows, report.refreshed_at, False)


async def payment_failure_table(session: AsyncSession, days: DateRange, _: None) -> ReportTable:
    report = await payment_report(session, days, limit=EXPORT_LIMIT, parts=frozenset({"failures"}))
    rows: list[list[Cell]] = [
        [row.provider, row.method, row.failure, row.payments] for row in report.failures
    ]
    columns = ["provider", "method", "failure", "payments"]
    return ReportTable(columns, rows, report.refreshed_at, False)


_REPORTS = [
    Report("quotation-funnel", "quotationFunnel", FunnelGroupBy, FunnelGroupBy.MONTH,
           (FUNNEL_VIEW,), funnel_table),
    Report("revenue", "revenue", RevenueGroupBy, RevenueGroupBy.MONTH_AND_DESTINATION,
           (REVENUE_VIEW,), revenue_table),
    Report("hotel-performance", "hotelPerformance", HotelGroupBy, HotelGroupBy.HOTEL,
           (HOTELS_VIEW, HOTELS_MONTHLY_VIEW), hotel_table),
    Report("cancellations", "cancellations", None, None, (CANCELLATIONS_VIEW,),
           cancellation_table),
    Report("payments", "payments", None, None, (PAYMENTS_VIEW,), payment_outcome_table),
    Report("payment-routes", "payments", None, None, (PAYMENTS_VIEW,), payment_route_table),
    Report("payment-failures", "payments", None, None, (PAYMENTS_VIEW,),
           payment_failure_table),
]  # fmt: skip

REPORTS: dict[str, Report] = {report.name: report for report in _REPORTS}
