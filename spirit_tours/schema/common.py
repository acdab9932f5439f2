"""Types shared by several domains: money, page info and the ``Node`` interface."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

import strawberry


@strawberry.type(description="An amount in an ISO 4217 currency. Amounts are exact decimals.")
class Money:
    amount: Decimal
    currency: str


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
