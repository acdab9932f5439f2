"""Types shared by several domains: money and page info."""

from __future__ import annotations

from decimal import Decimal

import strawberry


@strawberry.type(description="An amount in an ISO 4217 currency. Amounts are exact decimals.")
class Money:
    amount: Decimal = strawberry.field(
        description='The amount as an exact decimal string, e.g. "1250.00", with no more '
        "decimals than the currency has; never a float."
    )
    currency: str = strawberry.field(description="ISO 4217 currency code, e.g. USD, BRL.")


@strawberry.type(description="Where a page of a list stands, for cursor pagination.")
class PageInfo:
    has_next_page: bool = strawberry.field(description="Whether more items follow this page.")
    end_cursor: str | None = strawberry.field(
        description="The last item's cursor: pass it as `after` for the next page; null on an "
        "empty page."
    )
