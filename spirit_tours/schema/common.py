"""Types shared by several domains: money and page info."""

from __future__ import annotations

from decimal import Decimal

import strawberry


@strawberry.type(description="An amount in an ISO 4217 currency. Amounts are exact decimals.")
class Money:
    amount: Decimal
    currency: str


@strawberry.type
class PageInfo:
    has_next_page: bool
    end_cursor: str | None
