"""Payments by provider, method and outcome: how many, how much, how often they succeed, how
long the money takes to be credited, and how they fail."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from spirit_tours.core.analytics import DateRange
from spirit_tours.core.enums import PaymentMethod, Provider
from spirit_tours.persistence.analytics.payments import (
    FailureCounts,
    OutcomeSums,
    RouteCounts,
    failure_counts,
    outcome_sums,
    route_counts,
)
from spirit_tours.persistence.analytics.views import PAYMENTS_VIEW, last_refreshed
from spirit_tours.resolvers.analytics.answers import ANSWERS
from spirit_tours.resolvers.analytics.figures import hours, ratio


@dataclass(frozen=True)
class RouteRow:
    provider: Provider | None
    method: PaymentMethod
    payments: int
    settled: int
    succeeded: int
    success_rate: float | None
    median_minutes_to_credit: float | None


@dataclass(frozen=True)
class PaymentReport:
    refreshed_at: datetime | None
    routes: list[RouteRow]
    outcomes: list[OutcomeSums]
    failures: list[FailureCounts]
    truncated: bool


def _route(counts: RouteCounts) -> RouteRow:
    minutes = counts.median_minutes_to_credit
    return RouteRow(
        provider=counts.provider,
        method=counts.method,
        payments=counts.payments,
        settled=counts.settled,
        succeeded=counts.succeeded,
        success_rate=ratio(counts.succeeded, counts.settled),
        median_minutes_to_credit=hours(float(minutes)) if minutes is not None else None,
    )


async def payment_report(session: AsyncSession, days: DateRange, *, limit: int) -> PaymentReport:
    """The payments started on ``days`` (UTC), read from the rollup (or kept from an earlier
    request since its last refresh)."""
    refreshed_at = await last_refreshed(session, [PAYMENTS_VIEW])

    async def compute() -> PaymentReport:
        outcomes, truncated = await outcome_sums(session, days, limit=limit)
        routes = [_route(row) for row in await route_counts(session, days)]
        failures = await failure_counts(session, days)
        return PaymentReport(refreshed_at, routes, outcomes, failures, truncated)

    return await ANSWERS.get_or_compute(("payments", days, limit), refreshed_at, compute)
