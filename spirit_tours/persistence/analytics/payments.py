"""Payments' rollup (``analytics_payment_outcomes``: one row per payment with whether it
succeeded, whether it settled, how long its credit took and its kind of failure, migration
0013) and the queries that add it up by provider, method and outcome."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import Boolean, Date, Numeric, String, Uuid, column, func, select, table
from sqlalchemy.ext.asyncio import AsyncSession

from spirit_tours.core.analytics import DateRange, PaymentFailure
from spirit_tours.core.enums import PaymentMethod, PaymentStatus, Provider
from spirit_tours.persistence.analytics.medians import exact_median
from spirit_tours.persistence.analytics.views import PAYMENTS_VIEW

payments_view = table(
    PAYMENTS_VIEW,
    column("payment_id", Uuid()),
    column("created_on", Date()),
    column("provider", String()),
    column("method", String()),
    column("status", String()),
    column("currency", String()),
    column("amount", Numeric()),
    column("succeeded", Boolean()),
    column("settled", Boolean()),
    column("minutes_to_credit", Numeric()),
    column("failure", String()),
)


@dataclass(frozen=True)
class OutcomeSums:
    """Payments of one provider (None: no provider took them), method, status and currency."""

    provider: Provider | None
    method: PaymentMethod
    status: PaymentStatus
    currency: str
    payments: int
    amount: Decimal


@dataclass(frozen=True)
class RouteCounts:
    """Payments of one provider and method, whatever their currency."""

    provider: Provider | None
    method: PaymentMethod
    payments: int
    settled: int
    succeeded: int
    median_minutes_to_credit: Decimal | None


@dataclass(frozen=True)
class FailureCounts:
    """Payments of one provider and method that ended in one kind of failure."""

    provider: Provider | None
    method: PaymentMethod
    failure: PaymentFailure
    payments: int


def _provider(value: str | None) -> Provider | None:
    return Provider(value) if value is not None else None


async def outcome_sums(
    session: AsyncSession, days: DateRange, *, limit: int
) -> tuple[list[OutcomeSums], bool]:
    """Payments started on ``days`` (UTC) by provider, method, status and currency (no
    provider last): the first ``limit`` rows, and whether rows were left out."""
    v = payments_view.c
    keys = (v.provider, v.method, v.status, v.currency)
    query = (
        select(*keys, func.count().label("payments"), func.sum(v.amount).label("amount"))
        .where(v.created_on >= days.start, v.created_on <= days.end)
        .group_by(*keys)
        .order_by(v.provider.nulls_last(), *keys[1:])
    )
    rows = (await session.execute(query.limit(limit + 1))).all()
    sums = [
        OutcomeSums(_provider(row.provider), PaymentMethod(row.method), PaymentStatus(row.status),
                    row.currency, row.payments, row.amount)
        for row in rows[:limit]
    ]  # fmt: skip
    return sums, len(rows) > limit


async def route_counts(session: AsyncSession, days: DateRange) -> list[RouteCounts]:
    """Payments started on ``days`` (UTC) by provider and method (no provider last); at most
    one row per provider and method, so never many."""
    v = payments_view.c
    query = (
        select(
            v.provider,
            v.method,
            func.count().label("payments"),
            func.count().filter(v.settled).label("settled"),
            func.count().filter(v.succeeded).label("succeeded"),
            exact_median(v.minutes_to_credit).label("median_minutes_to_credit"),
        )
        .where(v.created_on >= days.start, v.created_on <= days.end)
        .group_by(v.provider, v.method)
        .order_by(v.provider.nulls_last(), v.method)
    )
    return [
        RouteCounts(_provider(row.provider), PaymentMethod(row.method), row.payments,
                    row.settled, row.succeeded, row.median_minutes_to_credit)
        for row in await session.execute(query)
    ]  # fmt: skip


async def failure_counts(session: AsyncSession, days: DateRange) -> list[FailureCounts]:
    """Payments started on ``days`` (UTC) that failed, by provider, method and kind of failure
    (most first); at most one row per provider, method and kind."""
    v = payments_view.c
    count = func.count().label("payments")
    query = (
        select(v.provider, v.method, v.failure, count)
        .where(v.created_on >= days.start, v.created_on <= days.end, v.failure.is_not(None))
        .group_by(v.provider, v.method, v.failure)
        .order_by(v.provider.nulls_last(), v.method, count.desc(), v.failure)
    )
    return [
        FailureCounts(_provider(row.provider), PaymentMethod(row.method),
                      PaymentFailure(row.failure), row.payments)
        for row in await session.execute(query)
    ]  # fmt: skip
