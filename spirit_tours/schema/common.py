"""Types shared by several domains: money and page info."""

from __future__ import annotations

from decimal import Decimal

import strawberry

from spirit_tours.core.currencies import Currency
from spirit_tours.core.money import normalised


@strawberry.type(
    description=(
        "An exact amount in an ISO 4217 currency, written with exactly the currency's minor "
        'units: "1000.00" USD, "1000" JPY or CLP, "1000.000" KWD.'
    )
)
class Money:
    amount: Decimal = strawberry.field(
        description='The amount as an exact decimal string, e.g. "1250.00", with exactly '
        "the currency's number of decimals (never rounded from more); never a float."
    )
    currency: Currency = strawberry.field(description="ISO 4217 currency code, e.g. USD, BRL.")

    def __post_init__(self) -> None:
        # The one place money is shaped for the API, whatever scale the row or sum carries.
        self.currency = Currency(self.currency)
        self.amount = normalised(Decimal(self.amount), self.currency)


def money(amount: Decimal, currency: str) -> Money:
    """``Money`` from a row's amount and stored currency code."""
    return Money(amount=amount, currency=Currency(currency))


@strawberry.type(description="Where a page of a list stands, for cursor pagination.")
class PageInfo:
    has_next_page: bool = strawberry.field(description="Whether more items follow this page.")
    end_cursor: str | None = strawberry.field(
        description="The last item's cursor: pass it as `after` for the next page; null on an "
        "empty page."
    )
