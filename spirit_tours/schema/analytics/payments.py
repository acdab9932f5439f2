"""Payments by provider, method and outcome as GraphQL types, and their field on
``Analytics``."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import strawberry

from spirit_tours.context import Context
from spirit_tours.core.analytics import DateRange, PaymentFailure
from spirit_tours.core.currencies import Currency
from spirit_tours.core.enums import PaymentMethod, PaymentStatus, Provider
from spirit_tours.core.money import normalised
from spirit_tours.persistence.analytics.payments import FailureCounts, OutcomeSums
from spirit_tours.resolvers.analytics import payments as payment_reports
from spirit_tours.schema.analytics import enums  # noqa: F401 - registers the GraphQL enums

GRAPHQL_ROW_LIMIT = 2000
"""The most outcome rows one answer holds; ``truncated`` tells."""

_PROVIDER = "The provider that took the payment; null when none did (none was available, none "
_PROVIDER += "takes the method and currency, or the first one asked refused it)."


@strawberry.type(description="The payments of one provider and method, whatever the currency.")
class PaymentRouteRow:
    provider: Provider | None = strawberry.field(description=_PROVIDER)
    method: PaymentMethod = strawberry.field(description="How the payer pays.")
    payments: int = strawberry.field(description="Payments started on the range's days.")
    settled: int = strawberry.field(
        description="Of those, the ones with an outcome: every status but CREATED, "
        "REQUIRES_ACTION and PENDING."
    )
    succeeded: int = strawberry.field(
        description="Of those, the ones the provider took the money of: SUCCEEDED, "
        "PARTIALLY_REFUNDED or REFUNDED (only a succeeded payment is refunded)."
    )
    success_rate: float | None = strawberry.field(
        description="succeeded / settled, 0 to 1, 4 decimals (rounded half up); null when none "
        "settled."
    )
    median_minutes_to_credit: float | None = strawberry.field(
        description="Median, over the payments credited to their booking, of the minutes from "
        "the payment's start to its credit (2 decimals); null when none was credited."
    )

    @classmethod
    def build(cls, row: payment_reports.RouteRow) -> PaymentRouteRow:
        return cls(
            provider=row.provider, method=row.method, payments=row.payments,
            settled=row.settled, succeeded=row.succeeded, success_rate=row.success_rate,
            median_minutes_to_credit=row.median_minutes_to_credit,
        )  # fmt: skip


@strawberry.type(
    description="The payments of one provider, method, status and currency, and their amount."
)
class PaymentOutcomeRow:
    provider: Provider | None = strawberry.field(description=_PROVIDER)
    method: PaymentMethod = strawberry.field(description="How the payer pays.")
    status: PaymentStatus = strawberry.field(description="The payments' status now.")
    currency: Currency = strawberry.field(
        description="The payments' currency: `amount` is in it, written with exactly its minor "
        "units."
    )
    payments: int = strawberry.field(description="How many.")
    amount: Decimal = strawberry.field(
        description="The sum of their amounts (what the payers were asked, refunds not deducted)."
    )

    @classmethod
    def build(cls, row: OutcomeSums) -> PaymentOutcomeRow:
        return cls(
            provider=row.provider, method=row.method, status=row.status,
            currency=Currency(row.currency), payments=row.payments,
            amount=normalised(row.amount, row.currency),
        )  # fmt: skip


@strawberry.type(description="The payments of one provider and method that failed one way.")
class PaymentFailureRow:
    provider: Provider | None = strawberry.field(description=_PROVIDER)
    method: PaymentMethod = strawberry.field(description="How the payer pays.")
    failure: PaymentFailure = strawberry.field(description="How they failed.")
    payments: int = strawberry.field(description="How many.")

    @classmethod
    def build(cls, row: FailureCounts) -> PaymentFailureRow:
        return cls(
            provider=row.provider, method=row.method, failure=row.failure, payments=row.payments
        )


@strawberry.type(
    description="The payments started in the range (UTC days of their start), by provider, "
    "method and outcome, from the rollup (see `refreshedAt`)."
)
class PaymentReport:
    refreshed_at: datetime | None = strawberry.field(
        description="When the rollup these figures come from was refreshed (ISO 8601, UTC): "
        "changes since then are not counted yet. Null if it never was."
    )
    routes: list[PaymentRouteRow] = strawberry.field(
        description="Per provider and method: counts, success rate, median time to credit; "
        "by provider (none last), then method."
    )
    outcomes: list[PaymentOutcomeRow] = strawberry.field(
        description="Per provider, method, status and currency: counts and amounts; in that "
        f"order, at most {GRAPHQL_ROW_LIMIT}."
    )
    failures: list[PaymentFailureRow] = strawberry.field(
        description="Per provider, method and kind of failure (the free-text reasons, which "
        "hold provider messages and amounts, are not grouped); most first within a provider "
        "and method."
    )
    truncated: bool = strawberry.field(
        description=f"More than {GRAPHQL_ROW_LIMIT} outcome rows: the last are left out (the "
        "CSV export holds up to 10,000)."
    )


@strawberry.type
class PaymentReports:
    days: strawberry.Private[DateRange]

    @strawberry.field(
        description="Payments by provider, method and outcome: counts, amounts per currency, "
        "success rate, median time to credit, failures by kind."
    )
    async def payments(self, info: strawberry.Info[Context, None]) -> PaymentReport:
        async with info.context.session() as session:
            report = await payment_reports.payment_report(
                session, self.days, limit=GRAPHQL_ROW_LIMIT
            )
        return PaymentReport(
            refreshed_at=report.refreshed_at,
            routes=[PaymentRouteRow.build(row) for row in report.routes],
            outcomes=[PaymentOutcomeRow.build(row) for row in report.outcomes],
            failures=[PaymentFailureRow.build(row) for row in report.failures],
            truncated=report.truncated,
        )
