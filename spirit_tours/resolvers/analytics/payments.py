"""Payments by provider, method and outcome: how many, how much, how often they succeed, how
long the money takes to be credited, and how they fail."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

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
from spirit_tours.resolvers.analytics.figures import ratio, two_places

Part = Literal["outcomes", "routes", "failures"]
"""A part of the report: the GraphQL field has all three, each CSV export one."""
EVERY_PART: frozenset[Part] = frozenset({"outcomes", "routes", "failures"})


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
        median_minutes_to_credit=two_places(minutes),
    )


async def _outcomes(
    session: AsyncSession, days: DateRange, refreshed_at: datetime | None, limit: int
) -> tuple[list[OutcomeSums], bool]:
    async def compute() -> tuple[list[OutcomeSums], bool]:
        return await outcome_sums(session, days, limit=limit)

    question = ("payment-outcomes", days, limit)
    return await ANSWERS.get_or_compute(question, refreshed_at, compute)


async def _routes(
    session: AsyncSession, days: DateRange, refreshed_at: datetime | None
) -> list[RouteRow]:
    async def compute() -> list[RouteRow]:
        return [_route(row) for row in await route_counts(session, days)]

    return await ANSWERS.get_or_compute(("payment-routes", days), refreshed_at, compute)


async def _failures(
    session: AsyncSession, days: DateRange, refreshed_at: datetime | None
) -> list[FailureCounts]:
    async def compute() -> list[FailureCounts]:
        return await failure_counts(session, days)

    return await ANSWERS.get_or_compute(("payment-failures", days), refreshed_at, compute)


async def payment_report(
    session: AsyncSession,
    days: DateRange,
    *,
    limit: int,
    parts: frozenset[Part] = EVERY_PART,
) -> PaymentReport:
    """The payments started on ``days`` (UTC), read from the rollup (each part kept from an
    earlier request since its last refresh); only the ``parts`` asked for are computed (the
    others are empty): a CSV export is one of them."""
    refreshed_at = await last_refreshed(session, [PAYMENTS_VIEW])
    outcomes: list[OutcomeSums] = []
    truncated = False
    if "outcomes" in parts:
        outcomes, truncated = await _outcomes(session, days, refreshed_at, limit)
    routes = await _routes(session, days, refreshed_at) if "routes" in parts else []
    failures = await _failures(session, days, refreshed_at) if "failures" in parts else []
    return PaymentReport(refreshed_at, routes, outcomes, failures, truncated)
