"""Types shared by several domains: money, page info and the ``Node`` interface."""

from __future__ import annotations

from collections.abc import Sequence
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


@strawberry.type(description="Where a page of a connection stands in the whole list.")
class PageInfo:
    has_next_page: bool = strawberry.field(
        description="More items follow the last one of this page (ask again `after: endCursor`)."
    )
    end_cursor: str | None = strawberry.field(
        description="The last edge's cursor; null when the page is empty."
    )
    has_previous_page: bool = strawberry.field(
        description=(
            "Items come before the first one of this page: when it was asked `after` a "
            "cursor, or, paging backwards (`last`), when more lie before it."
        ),
    )
    start_cursor: str | None = strawberry.field(
        description="The first edge's cursor; null when the page is empty."
    )


def page_info(cursors: Sequence[str], *, has_next: bool, has_previous: bool) -> PageInfo:
    return PageInfo(
        has_next_page=has_next,
        end_cursor=cursors[-1] if cursors else None,
        has_previous_page=has_previous,
        start_cursor=cursors[0] if cursors else None,
    )


def forward_page(cursors: Sequence[str], *, has_next: bool, after: str | None) -> PageInfo:
    """The page info of a page read forwards (``first``/``after``): items precede it exactly
    when it starts after a cursor, which costs nothing to know."""
    return page_info(cursors, has_next=has_next, has_previous=after is not None)


FIRST = strawberry.argument(description="Page size, 1 to 100; default 20.")
AFTER = strawberry.argument(
    description="Start after this cursor (an edge's cursor or pageInfo.endCursor); null: from "
    "the first item."
)
LAST = strawberry.argument(
    description="Page backwards: the last this many (1 to 100; default `first`) before `before`."
)
BEFORE = strawberry.argument(
    description="Page backwards: before this cursor (e.g. `pageInfo.startCursor`); none: the end."
)


@strawberry.interface(
    description=(
        "An object with an identity: its `id` is a UUID unique across every type, so "
        "`node(id:)` fetches it again, under the same visibility rules as its typed lookup."
    )
)
class Node:
    id: strawberry.ID = strawberry.field(description="Unique across every type (a UUID).")
